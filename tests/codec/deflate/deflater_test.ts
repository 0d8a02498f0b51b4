import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import * as zlib from "node:zlib";
import { Deflater, Inflater, WriteBuf } from "../../../src/codec/mod.ts";
import { concat, digest, noise, pattern, throwsA } from "../_helpers.ts";
import { SYNC_TAIL, ZlibSync } from "../../../bench/zlib_sync.ts";
import { bookJson, ticks } from "../../../bench/deflate_fixtures.ts";

const enc = new TextEncoder();
const hex = (b: Uint8Array) =>
  Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");

/** Compresses each message with `d` (reset first unless `takeover`); returns copies. */
function compressAll(
  d: Deflater,
  msgs: Uint8Array[],
  takeover = true,
): Uint8Array[] {
  const out = new WriteBuf(64);
  return msgs.map((m) => {
    if (!takeover) d.reset();
    out.clear();
    const n = d.compress(m, out);
    strictEqual(n, out.length);
    return out.view().slice();
  });
}

/** node:zlib inflates the messages, as a permessage-deflate peer does. */
function zlibInflate(
  compressed: Uint8Array[],
  windowBits: number,
  takeover = true,
): Uint8Array[] {
  const z = new ZlibSync("inflate", { windowBits });
  const out = compressed.map((c) => {
    if (!takeover) z.reset();
    z.write(c, zlib.constants.Z_SYNC_FLUSH);
    return z.write(SYNC_TAIL, zlib.constants.Z_SYNC_FLUSH, 0, 4, true).slice();
  });
  z.close();
  return out;
}

Deno.test("'Hello' compresses to the RFC 7692 §7.2.3.1 bytes, and an empty message to 00", () => {
  const d = new Deflater();
  const out = new WriteBuf();
  d.compress(enc.encode("Hello"), out);
  strictEqual(hex(out.view()), "f2 48 cd c9 c9 07 00");
  out.clear();
  d.reset();
  d.compress(new Uint8Array(0), out);
  strictEqual(hex(out.view()), "00");
});

Deno.test("the second 'Hello' uses the first one's window (context takeover)", () => {
  const d = new Deflater();
  const [a, b] = compressAll(d, [enc.encode("Hello"), enc.encode("Hello")]);
  ok(b.length < a.length, `${hex(b)}`);
  deepStrictEqual(zlibInflate([a, b], 15).map((x) => digest(x)), [
    digest(enc.encode("Hello")),
    digest(enc.encode("Hello")),
  ]);
});

/** Messages that need the whole window: a window of random bytes, then again. */
function windowMessages(bits: number): Uint8Array[] {
  const w = 1 << bits;
  const block = noise(w, bits + 100);
  return [
    block,
    block, // every byte a window back
    concat([block.subarray(7), noise(300, 1)]),
    enc.encode("ab".repeat(5000)),
    new Uint8Array(0),
    noise(3 * w + 17, 5),
    new Uint8Array(70000),
  ];
}

for (const takeover of [true, false]) {
  Deno.test(`for every window size 8-15 node:zlib inflates the output ${takeover ? "with" : "without"} context takeover, never reaching past the window`, () => {
    for (let bits = 8; bits <= 15; bits++) {
      const msgs = windowMessages(bits);
      const compressed = compressAll(
        new Deflater({ windowBits: bits }),
        msgs,
        takeover,
      );
      // zlib's inflater with the same window rejects any distance beyond it
      const back = zlibInflate(compressed, bits, takeover);
      deepStrictEqual(
        back.map((b) => digest(b)),
        msgs.map((m) => digest(m)),
        `bits ${bits}`,
      );
      if (takeover) {
        // the repeat a whole window back was found
        ok(
          compressed[1].length < (1 << bits) / 8 + 40,
          `bits ${bits}: ${compressed[1].length}`,
        );
      }
      // and the codec's own inflater agrees
      const inf = new Inflater({ windowBits: bits });
      compressed.forEach((c, i) => {
        if (takeover) inf.beginMessage();
        else inf.reset();
        inf.push(c);
        inf.push(SYNC_TAIL);
        ok(inf.atBlockBoundary);
        strictEqual(digest(inf.output()), digest(msgs[i]));
      });
    }
  });
}

Deno.test("a tick feed round-trips through node:zlib, compressing about like zlib level 1", () => {
  const t = ticks(2000);
  const c = compressAll(new Deflater(), t);
  deepStrictEqual(
    zlibInflate(c, 15).map((x) => digest(x)),
    t.map((x) => digest(x)),
  );
  const average = c.reduce((s, x) => s + x.length, 0) / c.length;
  ok(average < 26, `average ${average} bytes for 77`);
});

Deno.test("incompressible data goes out as stored blocks, barely larger than itself", () => {
  const random = noise(200000, 42);
  const [c] = compressAll(new Deflater(), [random]);
  strictEqual((c[0] >> 1) & 3, 0, "a stored block first");
  // 5 bytes of stored-block header per block of at most 4096 symbols
  const blocks = Math.ceil(random.length / 4096);
  ok(c.length <= random.length + 5 * blocks + 8, `${c.length}`);
  deepStrictEqual(digest(zlibInflate([c], 15)[0]), digest(random));
});

Deno.test("a large JSON document compresses with dynamic blocks close to zlib's default level", () => {
  const doc = bookJson(1 << 20);
  const [c] = compressAll(new Deflater(), [doc]);
  const level6 = zlib.deflateRawSync(doc).length;
  ok(c.length < level6 * 1.15, `${c.length} vs ${level6}`);
  deepStrictEqual(digest(zlibInflate([c], 15)[0]), digest(doc));
});

Deno.test("compressText compresses the UTF-8 encoding, byte for byte like compress while it fits the buffer", () => {
  const texts = [
    "",
    "Hello",
    "ünïcødé €uro 𝄞 clef ",
    "x".repeat(70000),
    // multi-byte characters across the window buffer's edges
    "é€𝄞".repeat(40000),
    `{"s":"BTC-USD","b":64123.50}`.repeat(3000),
  ];
  for (const takeover of [true, false]) {
    const a = new Deflater(), b = new Deflater();
    const outA = new WriteBuf(), outB = new WriteBuf();
    const inf = new Inflater({ maxOutputSize: 1 << 20 });
    for (const t of texts) {
      if (!takeover) {
        a.reset();
        b.reset();
      }
      outA.clear();
      outB.clear();
      a.compressText(t, outA);
      const utf8 = enc.encode(t);
      b.compress(utf8, outB);
      if (utf8.length < 60000) {
        strictEqual(digest(outA.view()), digest(outB.view()), t.slice(0, 20));
      }
      if (takeover) inf.beginMessage();
      else inf.reset();
      inf.push(outA.view());
      inf.push(SYNC_TAIL);
      strictEqual(digest(inf.output()), digest(utf8), t.slice(0, 20));
    }
  }
});

Deno.test("compressFinal makes a complete raw DEFLATE stream node:zlib accepts", () => {
  const d = new Deflater();
  for (
    const data of [
      new Uint8Array(0),
      enc.encode("Hello"),
      pattern(100000),
      bookJson(20000),
    ]
  ) {
    const out = new WriteBuf();
    d.compressFinal(data, out);
    deepStrictEqual(
      digest(new Uint8Array(zlib.inflateRawSync(out.view()))),
      digest(data),
    );
  }
  // it leaves no history behind: the next message stands alone
  const out = new WriteBuf();
  d.compress(enc.encode("Hello"), out);
  strictEqual(hex(out.view()), "f2 48 cd c9 c9 07 00");
});

Deno.test("output is appended after what the buffer already holds", () => {
  const out = new WriteBuf(16);
  out.ensure(3);
  out.bytes.set([1, 2, 3]);
  out.length = 3;
  const n = new Deflater().compress(pattern(5000), out, 100, 4000);
  strictEqual(out.length, 3 + n);
  deepStrictEqual(Array.from(out.bytes.subarray(0, 3)), [1, 2, 3]);
  const back = zlibInflate([out.view().subarray(3)], 15)[0];
  deepStrictEqual(digest(back), digest(pattern(5000).subarray(100, 4000)));
});

Deno.test("memory is allocated on the first message and bounded by the window", () => {
  const d = new Deflater();
  strictEqual(d.memory, 0);
  compressAll(d, [pattern(1 << 20)]);
  const m = d.memory;
  // window buffer 48 KiB, hash table 32 KiB, symbols 16 KiB, tables
  ok(m > 0 && m <= 48 * 1024 + 32 * 1024 + 20 * 1024, `${m}`);
  compressAll(d, [noise(4 << 20)]);
  strictEqual(d.memory, m, "a larger message does not grow it");
  const small = new Deflater({ windowBits: 9, hashBits: 10 });
  compressAll(small, [pattern(100000)]);
  ok(small.memory <= 8192 + 4096 + 20 * 1024, `${small.memory}`);
});

Deno.test("bad options are RangeErrors that name them", () => {
  throwsA(
    () => new Deflater({ windowBits: 7 }),
    RangeError,
    /windowBits .* 8 to 15, got 7/,
  );
  throwsA(
    () => new Deflater({ hashBits: 17 }),
    RangeError,
    /hashBits .* 8 to 16, got 17/,
  );
});
