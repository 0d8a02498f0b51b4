import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import * as zlib from "node:zlib";
import { adler32 } from "../../../src/codec/deflate/adler32.ts";
import { crc32 } from "../../../src/codec/deflate/crc32.ts";
import {
  InflateError,
  InflateLimitError,
  PayloadDecoder,
  type PayloadFormat,
} from "../../../src/codec/mod.ts";
import {
  bytes,
  concat,
  digest,
  feedSplits,
  pattern,
  throwsA,
} from "../_helpers.ts";
import { bookJson } from "../../../bench/deflate_fixtures.ts";
import { Bits } from "./_bits.ts";

const enc = new TextEncoder();
const DATA = concat([enc.encode("payload ".repeat(200)), pattern(3000)]);

/** What a decoder made of the chunks: the output, or the error. */
function decode(format: PayloadFormat, chunks: Uint8Array[], max?: number) {
  const d = new PayloadDecoder({ maxOutputSize: max });
  try {
    d.begin(format);
    for (const c of chunks) d.push(c);
    d.finish();
    return { out: digest(d.output()) };
  } catch (err) {
    return { error: (err as Error).name, message: (err as Error).message };
  }
}

function expectDecoded(
  format: PayloadFormat,
  payload: Uint8Array,
  out: Uint8Array,
) {
  deepStrictEqual(
    feedSplits(payload, (chunks) => decode(format, chunks)),
    { out: digest(out) },
  );
}

function expectError(
  format: PayloadFormat,
  payload: Uint8Array,
  message: RegExp,
) {
  const r = feedSplits(payload, (chunks) => decode(format, chunks)) as {
    error?: string;
    message?: string;
  };
  strictEqual(r.error, "InflateError", JSON.stringify(r));
  ok(message.test(r.message!), `${r.message} should match ${message}`);
}

/** A gzip member built by hand, with the optional header fields. */
function gzipMember(
  data: Uint8Array,
  opts: {
    extra?: Uint8Array;
    name?: string;
    comment?: string;
    headerCrc?: boolean | number;
    flags?: number;
    crc?: number;
    size?: number;
  } = {},
): Uint8Array {
  let flags = opts.flags ?? 0;
  const head: number[] = [0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 0, 255];
  const fields: number[] = [];
  if (opts.extra) {
    flags |= 4;
    fields.push(
      opts.extra.length & 0xff,
      opts.extra.length >> 8,
      ...opts.extra,
    );
  }
  if (opts.name !== undefined) {
    flags |= 8;
    fields.push(...enc.encode(opts.name), 0);
  }
  if (opts.comment !== undefined) {
    flags |= 16;
    fields.push(...enc.encode(opts.comment), 0);
  }
  if (opts.headerCrc !== undefined) flags |= 2;
  head[3] = flags;
  const header = new Uint8Array([...head, ...fields]);
  const parts: Uint8Array[] = [header];
  if (opts.headerCrc !== undefined) {
    const c = typeof opts.headerCrc === "number"
      ? opts.headerCrc
      : crc32(0, header) & 0xffff;
    parts.push(bytes(c & 0xff, c >> 8));
  }
  const crc = opts.crc ?? crc32(0, data);
  const size = opts.size ?? data.length;
  parts.push(
    new Uint8Array(zlib.deflateRawSync(data)),
    bytes(crc & 0xff, (crc >>> 8) & 0xff, (crc >>> 16) & 0xff, crc >>> 24),
    bytes(size & 0xff, (size >>> 8) & 0xff, (size >>> 16) & 0xff, size >>> 24),
  );
  return concat(parts);
}

// --- gzip ---------------------------------------------------------------------

Deno.test("gzip from node:zlib decodes, split at every byte", () => {
  expectDecoded("gzip", new Uint8Array(zlib.gzipSync(DATA)), DATA);
  expectDecoded(
    "gzip",
    new Uint8Array(zlib.gzipSync(new Uint8Array(0))),
    new Uint8Array(0),
  );
});

Deno.test("gzip headers with extra field, name, comment and header CRC decode", () => {
  const small = enc.encode("hello, gzip");
  expectDecoded(
    "gzip",
    gzipMember(small, {
      extra: pattern(300),
      name: "file.json",
      comment: "a comment",
      headerCrc: true,
    }),
    small,
  );
  expectDecoded("gzip", gzipMember(small, { name: "" }), small);
});

Deno.test("gzip members back to back decode to their concatenation", () => {
  const a = enc.encode("first member, ");
  const b = pattern(5000, 3);
  expectDecoded(
    "gzip",
    concat([gzipMember(a), gzipMember(b, { name: "b" }), gzipMember(a)]),
    concat([a, b, a]),
  );
});

Deno.test("a second gzip member cannot reach into the first one's output", () => {
  const first = gzipMember(enc.encode("abc"));
  // a second member whose data starts with a match: valid only with history
  const body = new Bits().header(true, 1).match(3, 3).eob().bytes();
  const trailer = bytes(0, 0, 0, 0, 3, 0, 0, 0);
  const second = concat([first.subarray(0, 10), body, trailer]);
  const r = decode("gzip", [concat([first, second])]) as { message?: string };
  strictEqual(
    r.message,
    "Expected valid DEFLATE data, got a distance of 3 with only 0 bytes of history",
  );
});

Deno.test("bad gzip headers, checksums and sizes are InflateErrors", () => {
  const ok1 = gzipMember(DATA);
  expectError(
    "gzip",
    concat([bytes(0x1f, 0x8c), ok1.subarray(2)]),
    /^Expected a gzip header \(1f 8b\), got 1f 8c$/,
  );
  const m = ok1.slice();
  m[2] = 7;
  expectError("gzip", m, /compression method 8, got 7/);
  expectError(
    "gzip",
    gzipMember(DATA, { flags: 0x20 }),
    /reserved bits, got 0x20/,
  );
  expectError("gzip", gzipMember(DATA, { headerCrc: 0x1234 }), /header CRC/);
  expectError("gzip", gzipMember(DATA, { crc: 12345 }), /CRC-32 that matches/);
  expectError(
    "gzip",
    gzipMember(DATA, { size: DATA.length + 1 }),
    /gzip size of/,
  );
  expectError(
    "gzip",
    concat([ok1, bytes(0)]),
    /end of the gzip payload or another member/,
  );
});

Deno.test("a gzip payload cut anywhere is a truncation error naming where", () => {
  const g = gzipMember(enc.encode("short"), { name: "n" });
  const seen = new Set<string>();
  for (let cut = 0; cut < g.length; cut++) {
    const r = decode("gzip", [g.subarray(0, cut)]) as { message?: string };
    ok(
      /^Expected a complete gzip payload, got the end inside its (header|compressed data|trailer)$/
        .test(r.message ?? ""),
      `cut ${cut}: ${r.message}`,
    );
    seen.add(r.message!.split(" ").pop()!);
  }
  deepStrictEqual([...seen].sort(), ["data", "header", "trailer"]);
});

// --- zlib and deflate -------------------------------------------------------------

Deno.test("zlib from node:zlib decodes at every level and window, split at every byte", () => {
  expectDecoded("zlib", new Uint8Array(zlib.deflateSync(DATA)), DATA);
  for (const windowBits of [8, 9, 12, 15]) {
    for (const level of [0, 1, 9]) {
      deepStrictEqual(
        decode("zlib", [
          new Uint8Array(zlib.deflateSync(DATA, { windowBits, level })),
        ]),
        { out: digest(DATA) },
      );
    }
  }
});

Deno.test("bad zlib headers and checksums are InflateErrors", () => {
  const z = new Uint8Array(zlib.deflateSync(DATA));
  expectError(
    "zlib",
    concat([bytes(0x79, 0x9c), z.subarray(2)]),
    /compression method 8, got 9/,
  );
  expectError(
    "zlib",
    concat([bytes(0x88, 0x98), z.subarray(2)]),
    /at most 32 KiB, got 2\^16/,
  );
  expectError(
    "zlib",
    concat([bytes(0x78, 0x9d), z.subarray(2)]),
    /multiple of 31/,
  );
  expectError(
    "zlib",
    concat([bytes(0x78, 0xbb), z.subarray(2)]),
    /preset dictionary/,
  );
  const bad = z.slice();
  bad[bad.length - 1] ^= 1;
  expectError("zlib", bad, /Adler-32 that matches/);
  expectError(
    "zlib",
    concat([z, bytes(0)]),
    /end of the zlib payload, got more bytes/,
  );
});

Deno.test("HTTP deflate is zlib when it has a zlib header, else raw DEFLATE", () => {
  expectDecoded("deflate", new Uint8Array(zlib.deflateSync(DATA)), DATA);
  expectDecoded("deflate", new Uint8Array(zlib.deflateRawSync(DATA)), DATA);
  expectDecoded(
    "deflate",
    new Uint8Array(zlib.deflateRawSync(new Uint8Array(0))),
    new Uint8Array(0),
  );
  // a zlib stream with a wrong checksum is not retried as raw
  const z = new Uint8Array(zlib.deflateSync(DATA));
  z[z.length - 1] ^= 1;
  strictEqual(
    (decode("deflate", [z]) as { error?: string }).error,
    "InflateError",
  );
});

Deno.test("raw DEFLATE must end with a final block and nothing after it", () => {
  const raw = new Uint8Array(zlib.deflateRawSync(DATA));
  expectDecoded("deflate-raw", raw, DATA);
  expectError(
    "deflate-raw",
    concat([raw, bytes(1)]),
    /end of the deflate-raw payload, got more bytes/,
  );
  const synced = new Uint8Array(
    zlib.deflateRawSync(DATA, { finishFlush: zlib.constants.Z_SYNC_FLUSH }),
  );
  expectError(
    "deflate-raw",
    synced,
    /complete deflate-raw payload, got the end inside its compressed data/,
  );
});

// --- bounds and reuse -----------------------------------------------------------

Deno.test("a gzip bomb fails at maxOutputSize while decoding", () => {
  const bomb = new Uint8Array(zlib.gzipSync(new Uint8Array(64 << 20)));
  ok(bomb.length < 100_000);
  const d = new PayloadDecoder({ maxOutputSize: 1 << 20 });
  const err = throwsA(
    () => d.decode("gzip", bomb),
    InflateLimitError,
    /at most 1048576 decompressed bytes/,
  );
  strictEqual(err.max, 1 << 20);
  ok(d.buffer.length <= (1 << 20) + 65536, `${d.buffer.length}`);
  // the whole payload counts, not each member
  const members = concat([
    gzipMember(pattern(600_000)),
    gzipMember(pattern(600_000)),
  ]);
  throwsA(() => d.decode("gzip", members), InflateLimitError);
});

Deno.test("decode returns a view of a reused buffer; a streaming consumer can discard output", () => {
  const d = new PayloadDecoder();
  const a = d.decode("gzip", new Uint8Array(zlib.gzipSync(enc.encode("one"))));
  const buffer = d.buffer;
  strictEqual(new TextDecoder().decode(a), "one");
  d.decode("gzip", new Uint8Array(zlib.gzipSync(enc.encode("two"))));
  ok(d.buffer === buffer);
  // stream 2 MiB through a decoder bounded at 4 MiB, taking the output as it comes
  const big = bookJson(2 << 20);
  const g = new Uint8Array(zlib.gzipSync(big));
  const s = new PayloadDecoder({ maxOutputSize: 4 << 20 });
  s.begin("gzip");
  const parts: Uint8Array[] = [];
  for (let i = 0; i < g.length; i += 8192) {
    s.push(g, i, Math.min(g.length, i + 8192));
    parts.push(s.output().slice());
    s.discardOutput();
  }
  s.finish();
  ok(s.done);
  strictEqual(digest(concat(parts)), digest(big));
  ok(s.buffer.length <= 256 * 1024, `buffer ${s.buffer.length}`);
});

Deno.test("an unknown format is a TypeError naming it", () => {
  throwsA(
    () => new PayloadDecoder().begin("br" as PayloadFormat),
    TypeError,
    /Expected format "gzip", "zlib", "deflate" or "deflate-raw", got "br"/,
  );
});

// --- checksums ---------------------------------------------------------------------

Deno.test("crc32 and adler32 match node:zlib and the published check values", () => {
  strictEqual(crc32(0, enc.encode("123456789")), 0xcbf43926);
  strictEqual(adler32(1, enc.encode("Wikipedia")), 0x11e60398);
  strictEqual(crc32(0, new Uint8Array(0)), 0);
  strictEqual(adler32(1, new Uint8Array(0)), 1);
  for (const n of [1, 3, 4, 5, 100, 5552, 5553, 100_003]) {
    const p = pattern(n, n);
    strictEqual(crc32(0, p), zlib.crc32(p), `crc32 of ${n}`);
    // in two pieces
    const k = n >> 1;
    strictEqual(crc32(crc32(0, p, 0, k), p, k), zlib.crc32(p));
    const z = zlib.deflateSync(p); // ends with the big-endian Adler-32
    const want = ((z[z.length - 4] << 24) | (z[z.length - 3] << 16) |
      (z[z.length - 2] << 8) | z[z.length - 1]) >>> 0;
    strictEqual(adler32(1, p), want, `adler32 of ${n}`);
    strictEqual(adler32(adler32(1, p, 0, k), p, k), want);
  }
  // all 0xff bytes: the sums reach their largest values before reduction
  const ff = new Uint8Array(100_000).fill(0xff);
  const z = zlib.deflateSync(ff);
  strictEqual(
    adler32(1, ff),
    ((z[z.length - 4] << 24) | (z[z.length - 3] << 16) |
      (z[z.length - 2] << 8) | z[z.length - 1]) >>> 0,
  );
});

Deno.test("InflateError and InflateLimitError are what decode failures are", () => {
  throwsA(
    () => new PayloadDecoder().decode("zlib", bytes(0x78)),
    InflateError,
    /end inside its header/,
  );
});
