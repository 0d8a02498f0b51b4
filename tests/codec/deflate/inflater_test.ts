import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import * as zlib from "node:zlib";
import {
  InflateError,
  InflateLimitError,
  Inflater,
  type InflaterOptions,
} from "../../../src/codec/mod.ts";
import {
  bytes,
  concat,
  digest,
  feedSplits,
  noise,
  pattern,
  throwsA,
} from "../_helpers.ts";
import { Bits, bomb, code, flatLitLens } from "./_bits.ts";
import {
  HELLO,
  HELLO_AGAIN,
  HELLO_FINAL,
  HELLO_STORED,
  HELLO_TWO_BLOCKS,
} from "../_rfc7692.ts";
import {
  compressMessages,
  SYNC_TAIL,
  ZlibSync,
} from "../../../bench/zlib_sync.ts";
import { ticks } from "../../../bench/deflate_fixtures.ts";

const enc = new TextEncoder();

/** What an inflater made of the chunks: output and end state, or the error. */
function inflate(chunks: Uint8Array[], opts: InflaterOptions = {}) {
  const inf = new Inflater(opts);
  try {
    let used = 0;
    for (const c of chunks) used += inf.push(c);
    return {
      out: digest(inf.output()),
      ended: inf.ended,
      boundary: inf.atBlockBoundary,
      used,
    };
  } catch (err) {
    return { error: (err as Error).name, message: (err as Error).message };
  }
}

/** {@link inflate} of a stream delivered whole, split at every byte, and byte by byte. */
function inflateSplits(stream: Uint8Array, opts: InflaterOptions = {}) {
  return feedSplits(stream, (chunks) => inflate(chunks, opts));
}

function expectOutput(stream: Uint8Array, out: Uint8Array, opts = {}) {
  const r = inflateSplits(stream, opts);
  deepStrictEqual(r, {
    out: digest(out),
    ended: true,
    boundary: true,
    used: stream.length,
  });
}

function expectCorrupt(stream: Uint8Array, message: RegExp, opts = {}) {
  const r = inflateSplits(stream, opts) as { error?: string; message?: string };
  strictEqual(r.error, "InflateError", JSON.stringify(r));
  ok(message.test(r.message!), `${r.message} should match ${message}`);
  ok(r.message!.startsWith("Expected "), r.message);
}

// --- RFC 7692 §7.2.3 examples ------------------------------------------------------

Deno.test("the RFC 7692 'Hello' examples inflate, with the window shared between messages", () => {
  const inf = new Inflater();
  inf.push(HELLO);
  inf.push(SYNC_TAIL);
  strictEqual(new TextDecoder().decode(inf.output()), "Hello");
  inf.beginMessage();
  inf.push(HELLO_AGAIN); // a match into the first
  inf.push(SYNC_TAIL);
  strictEqual(new TextDecoder().decode(inf.output()), "Hello");
  ok(inf.atBlockBoundary && !inf.ended);
});

Deno.test("the RFC 7692 no-compression, BFINAL and two-block examples inflate", () => {
  const hello = enc.encode("Hello");
  for (const payload of [HELLO_STORED, HELLO_TWO_BLOCKS]) {
    const inf = new Inflater();
    inf.push(payload);
    inf.push(SYNC_TAIL);
    deepStrictEqual(inf.output(), hello);
    ok(inf.atBlockBoundary && !inf.ended);
  }
  // a final block; what follows it is not read
  const inf = new Inflater();
  const used = inf.push(HELLO_FINAL);
  ok(inf.ended);
  strictEqual(used, 7);
  strictEqual(inf.push(SYNC_TAIL), 0);
  deepStrictEqual(inf.output(), hello);
});

// --- block types and RFC 1951 edge cases -------------------------------------------

Deno.test("stored blocks of 0, 1 and 65535 bytes inflate", () => {
  const big = pattern(65535);
  const stream = new Bits().stored([]).stored([7]).stored(big, true).bytes();
  const r = inflate([stream]);
  deepStrictEqual(r, {
    out: digest(concat([bytes(7), big])),
    ended: true,
    boundary: true,
    used: stream.length,
  });
  // split at every byte on a smaller one
  expectOutput(
    new Bits().stored([]).stored(pattern(300), true).bytes(),
    pattern(300),
  );
});

Deno.test("empty fixed and dynamic blocks inflate to nothing", () => {
  expectOutput(new Bits().header(true, 1).eob().bytes(), new Uint8Array(0));
  const lit = flatLitLens();
  expectOutput(
    new Bits().header(false, 1).eob().dynamic(true, lit, [1, 1]).eob().bytes(),
    new Uint8Array(0),
  );
});

Deno.test("every fixed-code literal and every length and distance code decode", () => {
  const all = Array.from({ length: 256 }, (_, i) => i);
  const b = new Bits().header(false, 1).literals(all);
  const expected = [...all];
  // lengths 3..258 at distance 1..256, overlapping copies included
  for (let len = 3; len <= 258; len++) {
    const dist = 1 + (len % 256);
    b.match(len, dist);
    for (let i = 0; i < len; i++) {
      expected.push(expected[expected.length - dist]);
    }
  }
  b.eob();
  // every distance code at its base and its largest value
  const dists = [
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    12,
    13,
    16,
    17,
    24,
    25,
    32,
    33,
    48,
    49,
    64,
    65,
    96,
    97,
    128,
    129,
    192,
    193,
    256,
    257,
    384,
    385,
    512,
    513,
    768,
    769,
    1024,
    1025,
    1536,
    1537,
    2048,
    2049,
    3072,
    3073,
    4096,
    4097,
    6144,
    6145,
    8192,
    8193,
    12288,
    12289,
    16384,
    16385,
    24576,
    24577,
    32768,
  ];
  ok(expected.length > 32768); // enough history for the longest distance
  b.header(true, 1);
  for (const d of dists) {
    b.match(3, d);
    for (let i = 0; i < 3; i++) expected.push(expected[expected.length - d]);
  }
  b.eob();
  const stream = b.bytes();
  const r = inflate([stream]);
  deepStrictEqual(r, {
    out: digest(new Uint8Array(expected)),
    ended: true,
    boundary: true,
    used: stream.length,
  });
});

Deno.test("a match of 258 bytes at distance 1 repeats one byte (overlapping copy)", () => {
  const s = new Bits().header(true, 1).literals([0x41]).match(258, 1).match(
    258,
    1,
  ).eob().bytes();
  expectOutput(s, new Uint8Array(517).fill(0x41));
  // distance 2 and 3 patterns
  const t = new Bits().header(true, 1).literals([1, 2, 3]).match(10, 2).match(
    9,
    3,
  ).eob().bytes();
  expectOutput(
    t,
    bytes(1, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 3, 2, 3, 3, 2, 3, 3, 2, 3),
  );
});

Deno.test("a dynamic block with all 286 literal/length codes and 30 distance codes inflates", () => {
  const data = [...pattern(40, 5)];
  const b = new Bits().dynamic(
    true,
    flatLitLens(),
    new Array(30).fill(5).map((l, i) => (i < 2 ? 4 : l)),
  );
  // 2 codes of 4 bits and 28 of 5: 2/16 + 28/32 = 1
  b.literals(data).match(40, 40).match(258, 80).eob();
  const expected = [...data, ...data];
  for (let i = 0; i < 258; i++) expected.push(expected[expected.length - 80]);
  expectOutput(b.bytes(), new Uint8Array(expected));
});

Deno.test("one distance code of one bit (allowed incomplete) and no distance codes inflate", () => {
  const lit = flatLitLens();
  const one = new Bits().dynamic(true, lit, [1]).literals([9, 8]).match(4, 1)
    .eob().bytes();
  expectOutput(one, bytes(9, 8, 8, 8, 8, 8));
  const none = new Bits().dynamic(true, lit, [0]).literals([1, 2, 3]).eob()
    .bytes();
  expectOutput(none, bytes(1, 2, 3));
});

Deno.test("code lengths sent with the repeat codes 16, 17 and 18 inflate", () => {
  // 'a'..'e', end of block and lengths 3 and 4, all 3 bits (8 × 1/8)
  const lit = new Array(286).fill(0);
  for (const s of [97, 98, 99, 100, 101, 256, 257, 258]) lit[s] = 3;
  const items: [number, number][] = [
    [18, 97 - 11], // 0..96: zeros
    [3, 0], // 97
    [16, 0], // 98..100: the previous length three times
    [3, 0], // 101
    [18, 127], // 102..239: 138 zeros
    [18, 5], // 240..255: 16 zeros
    [3, 0],
    [3, 0],
    [3, 0], // 256..258
    [18, 6], // 259..275: 17 zeros
    [17, 7], // 276..285: 10 zeros
    [1, 0], // one distance code
  ];
  // code length code: 1, 2, 3 and 16 at 3 bits, 17 and 18 at 2
  const clenLens = [0, 3, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 2, 2];
  const s = new Bits()
    .dynamic(true, lit, [1], { items, clenLens })
    .literals([97, 98, 99, 100, 101]).match(4, 1).eob().bytes();
  expectOutput(s, enc.encode("abcdeeeee"));
  deepStrictEqual(
    new Uint8Array(zlib.inflateRawSync(s)),
    enc.encode("abcdeeeee"),
  );
});

// --- corrupt streams -------------------------------------------------------------

Deno.test("the reserved block type 3 is corrupt data", () => {
  expectCorrupt(
    new Bits().header(true, 3).put(0, 13).bytes(),
    /reserved block type 3/,
  );
});

Deno.test("a stored block whose NLEN is not the complement of LEN is corrupt", () => {
  expectCorrupt(
    new Bits().stored([1, 2, 3], true, 0x1234).bytes(),
    /mismatched complement/,
  );
});

Deno.test("fixed codes 286, 287 and distance codes 30, 31 are corrupt data", () => {
  expectCorrupt(
    new Bits().header(true, 1).sym(286).put(0, 16).bytes(),
    /invalid literal\/length code/,
  );
  expectCorrupt(
    new Bits().header(true, 1).sym(287).put(0, 16).bytes(),
    /invalid literal\/length code/,
  );
  expectCorrupt(
    new Bits().header(true, 1).literals([1]).sym(257).distCode(30).put(0, 16)
      .bytes(),
    /invalid distance code/,
  );
  expectCorrupt(
    new Bits().header(true, 1).literals([1]).sym(257).distCode(31).put(0, 16)
      .bytes(),
    /invalid distance code/,
  );
});

Deno.test("a distance before the start of the output is corrupt data", () => {
  expectCorrupt(
    new Bits().header(true, 1).literals([1]).match(3, 2).eob().bytes(),
    /distance of 2 with only 1 bytes of history/,
  );
  expectCorrupt(
    new Bits().header(true, 1).match(3, 1).eob().bytes(),
    /distance of 1 with only 0 bytes/,
  );
});

Deno.test("a distance beyond the window is corrupt even when the bytes are there", () => {
  for (const bits of [8, 9, 12, 14]) {
    const w = 1 << bits;
    const ok1 = new Bits().stored(pattern(w + 10)).header(true, 1).match(3, w)
      .eob().bytes();
    strictEqual(
      inflate([ok1], { windowBits: bits }).ended,
      true,
      `window ${bits}`,
    );
    const over = new Bits().stored(pattern(w + 10)).header(true, 1).match(
      3,
      w + 1,
    ).eob().bytes();
    const r = inflate([over], { windowBits: bits }) as { message?: string };
    ok(/beyond the \d+-byte window/.test(r.message ?? ""), JSON.stringify(r));
  }
});

Deno.test("over-subscribed, incomplete and EOB-less dynamic codes are corrupt data", () => {
  const lit = flatLitLens();
  const over = [...lit];
  over[0] = 7; // one code shorter: over-subscribed
  expectCorrupt(
    new Bits().dynamic(true, over, [1, 1]).bytes(),
    /over-subscribed literal\/length code/,
  );
  const incomplete = [...lit];
  incomplete[285] = 0;
  expectCorrupt(
    new Bits().dynamic(true, incomplete, [1, 1]).bytes(),
    /incomplete literal\/length code/,
  );
  expectCorrupt(
    new Bits().dynamic(true, lit, [1, 1, 1]).bytes(),
    /over-subscribed distance code/,
  );
  expectCorrupt(
    new Bits().dynamic(true, lit, [2, 2, 2]).bytes(),
    /incomplete distance code/,
  );
  const noEob = new Array(286).fill(0);
  noEob[65] = 1;
  noEob[66] = 1;
  expectCorrupt(
    new Bits().dynamic(true, noEob, [1, 1]).bytes(),
    /without an end-of-block code/,
  );
});

Deno.test("bad dynamic headers are corrupt data", () => {
  const lit = flatLitLens();
  // 287 literal/length codes
  expectCorrupt(
    new Bits().header(true, 2).put(30, 5).put(0, 5).put(15, 4).bytes(),
    /287 length and 1 distance codes/,
  );
  // an incomplete code length code
  expectCorrupt(
    new Bits().dynamic(true, lit, [1, 1], {
      clenLens: [...new Array(15).fill(4), 0, 0, 0, 0],
    }).bytes(),
    /incomplete code length code/,
  );
  const clenLens = [...new Array(13).fill(4), 5, 5, 5, 5, 5, 5];
  // repeat (16) with no previous length
  expectCorrupt(
    new Bits().dynamic(true, lit, [1, 1], { items: [[16, 0]], clenLens })
      .bytes(),
    /repeated code length with no previous length/,
  );
  // zeros past the number of codes
  expectCorrupt(
    new Bits().dynamic(true, lit, [1, 1], {
      items: [[18, 127], [18, 127], [18, 127]],
      clenLens,
    }).bytes(),
    /repeats past the number of codes/,
  );
  // no code length code at all: the first code length cannot be read
  expectCorrupt(
    new Bits().dynamic(true, lit, [1, 1], {
      items: [],
      clenLens: new Array(19).fill(0),
    }).put(0, 16).bytes(),
    /invalid code length code/,
  );
});

Deno.test("a truncated stream is not at a block boundary and not ended", () => {
  const full = zlib.deflateRawSync(pattern(5000, 9).map((b) => b & 7));
  for (const cut of [1, 2, full.length >> 1, full.length - 1]) {
    const inf = new Inflater();
    inf.push(full.subarray(0, cut));
    ok(!inf.ended, `cut at ${cut}`);
  }
  const inf = new Inflater();
  inf.push(full.subarray(0, full.length - 1));
  ok(!inf.atBlockBoundary);
});

Deno.test("corrupt data is a typed error even after the inflater output some bytes", () => {
  const s = new Bits().header(false, 1).literals([1, 2, 3]).eob().header(
    true,
    3,
  ).put(0, 8).bytes();
  throwsA(
    () => new Inflater().push(s),
    InflateError,
    /^Expected valid DEFLATE data, got reserved block type 3$/,
  );
});

// --- against node:zlib: every window size, with and without context takeover -----

/** Messages with repeats at distances up to the whole window. */
function windowMessages(bits: number): Uint8Array[] {
  const w = 1 << bits;
  const base = noise(w, bits);
  return [
    base,
    base.subarray(0, 100), // a match a whole window back
    concat([pattern(50, 1), base.subarray(w - 300)]),
    enc.encode("x".repeat(w * 3)),
    new Uint8Array(0),
    noise(3 * w, 77),
  ];
}

for (const takeover of [true, false]) {
  Deno.test(`node:zlib messages inflate for every window size 8-15 ${takeover ? "with" : "without"} context takeover`, () => {
    for (let bits = 8; bits <= 15; bits++) {
      const msgs = windowMessages(bits);
      const compressed = compressMessages(msgs, {
        windowBits: bits,
        contextTakeover: takeover,
      });
      const inf = new Inflater({ windowBits: bits });
      msgs.forEach((m, i) => {
        if (takeover) inf.beginMessage();
        else inf.reset();
        inf.push(compressed[i]);
        inf.push(SYNC_TAIL);
        ok(inf.atBlockBoundary);
        deepStrictEqual(
          digest(inf.output()),
          digest(m),
          `bits ${bits}, message ${i}`,
        );
      });
    }
  });
}

Deno.test("a tick feed compressed with context takeover inflates message by message, split anywhere", () => {
  const t = ticks(300);
  const c = compressMessages(t);
  const stream = concat(c.map((m) => concat([m, SYNC_TAIL])));
  // the whole feed as one stream, split at every byte: the same output
  const r = feedSplits(stream, (chunks) => {
    const inf = new Inflater();
    for (const ch of chunks) inf.push(ch);
    return digest(inf.output());
  });
  strictEqual(r, digest(concat(t)));
});

Deno.test("zlib streams at every level and window inflate whole and in random pieces", () => {
  const data = concat([
    enc.encode("hello hello hello ".repeat(300)),
    noise(20000),
    new Uint8Array(30000),
  ]);
  let seed = 1;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  for (const level of [0, 1, 6, 9]) {
    for (const windowBits of [9, 12, 15]) {
      const c = zlib.deflateRawSync(data, { level, windowBits });
      const inf = new Inflater({ windowBits, maxOutputSize: 1 << 20 });
      for (let i = 0; i < c.length;) {
        const k = Math.min(c.length, i + 1 + Math.floor(rnd() * 700));
        inf.push(c, i, k);
        i = k;
      }
      ok(inf.ended);
      strictEqual(
        digest(inf.output()),
        digest(data),
        `level ${level}, window ${windowBits}`,
      );
    }
  }
});

// --- buffer, memory, bounds -----------------------------------------------------

Deno.test("in steady state the output buffer is reused: no allocation per message", () => {
  const t = ticks(4096);
  const c = compressMessages(t);
  const inf = new Inflater();
  let buffer = null as Uint8Array | null;
  c.forEach((m, i) => {
    inf.beginMessage();
    inf.push(m);
    inf.push(SYNC_TAIL);
    deepStrictEqual(inf.output(), t[i]);
    if (i === 10) buffer = inf.buffer;
  });
  ok(
    buffer === inf.buffer,
    "the same buffer after 4096 messages (4 window moves)",
  );
  strictEqual(inf.buffer.length, 49152); // 1.5 × the window
  // buffer, 832-byte carry, dynamic tables (one tick came as a dynamic block)
  ok(inf.memory <= 48 * 1024 + 8 * 1024, `memory ${inf.memory}`);
});

Deno.test("a large message grows the buffer and the next small one shrinks it back", () => {
  const big = pattern(1 << 20, 3).map((b) => b & 15);
  const msgs = [enc.encode("small"), big, enc.encode("small again")];
  const c = compressMessages(msgs);
  const inf = new Inflater({ maxOutputSize: 2 << 20 });
  const sizes: number[] = [];
  c.forEach((m, i) => {
    inf.beginMessage();
    inf.push(m);
    inf.push(SYNC_TAIL);
    deepStrictEqual(digest(inf.output()), digest(msgs[i]));
    sizes.push(inf.buffer.length);
  });
  inf.beginMessage();
  sizes.push(inf.buffer.length);
  deepStrictEqual([sizes[0], sizes[3]], [49152, 49152]);
  ok(
    // the message stays contiguous; history older than the window is dropped
    sizes[1] >= 1 << 20 && sizes[1] <= 2 << 20, // doubling, within the bound
    `grown to ${sizes[1]}`,
  );
});

Deno.test("a bomb fails at maxOutputSize with InflateLimitError, never allocating past it", () => {
  const kb = bomb(1024); // 1 KiB inflating to 1 MiB
  ok(kb.length > 1024 && kb.length < 1200, `${kb.length} bytes`);
  const inf = new Inflater({ maxOutputSize: 1 << 20 + 8 });
  inf.push(kb);
  strictEqual(inf.end - inf.start, 1 + 4096 * 258);
  // 4 MiB that would inflate to 4 GiB, bounded at 1 MiB
  const huge = bomb(4 << 20);
  const bounded = new Inflater({ maxOutputSize: 1 << 20 });
  const err = throwsA(
    () => bounded.push(huge),
    InflateLimitError,
    /^Expected at most 1048576 decompressed bytes, got more$/,
  );
  strictEqual(err.max, 1 << 20);
  ok(
    bounded.buffer.length <= (1 << 20) + 65536,
    `buffer ${bounded.buffer.length}`,
  );
  ok(bounded.end - bounded.start <= 1 << 20);
});

Deno.test("the bound counts from beginMessage: each message gets its own maxOutputSize", () => {
  const msgs = [pattern(900), pattern(900, 2), pattern(1001, 3)];
  const c = compressMessages(msgs);
  const inf = new Inflater({ maxOutputSize: 1000 });
  for (let i = 0; i < 2; i++) {
    inf.beginMessage();
    inf.push(c[i]);
    inf.push(SYNC_TAIL);
    strictEqual(inf.end - inf.start, 900);
  }
  inf.beginMessage();
  throwsA(() => {
    inf.push(c[2]);
    inf.push(SYNC_TAIL);
  }, InflateLimitError);
});

Deno.test("a maxOutputSize of 0 accepts only empty messages", () => {
  const empty = new Inflater({ maxOutputSize: 0 });
  empty.push(new Bits().header(false, 1).eob().header(true, 1).eob().bytes());
  ok(empty.ended);
  const one = new Inflater({ maxOutputSize: 0 });
  throwsA(
    () =>
      one.push(
        new Bits().header(false, 1).eob().header(true, 1).literals([1]).eob()
          .bytes(),
      ),
    InflateLimitError,
  );
});

// --- streams, leftovers, restarts -----------------------------------------------

Deno.test("bytes after the final block are reported, even when held back from an earlier push", () => {
  const s = concat([
    new Bits().header(true, 1).literals([1, 2]).eob().bytes(),
    bytes(0xaa, 0xbb),
  ]);
  const inf = new Inflater();
  strictEqual(inf.push(s), s.length - 2);
  ok(inf.ended);
  // the final block's last byte and the trailing bytes arrive in pieces
  const split = new Inflater();
  split.push(s, 0, s.length - 3);
  strictEqual(split.push(s, s.length - 3, s.length - 2), 1);
  ok(split.ended);
  strictEqual(split.push(s, s.length - 2), 0);
});

Deno.test("after restartStream a new stream continues the output but cannot reach back", () => {
  const first = new Bits().header(true, 1).literals([1, 2, 3]).eob().bytes();
  const inf = new Inflater();
  inf.push(first);
  inf.restartStream();
  inf.push(new Bits().header(true, 1).literals([4]).eob().bytes());
  deepStrictEqual(inf.output(), bytes(1, 2, 3, 4));
  inf.restartStream();
  throwsA(
    () => inf.push(new Bits().header(true, 1).match(3, 1).eob().bytes()),
    InflateError,
    /with only 0 bytes of history/,
  );
});

Deno.test("after a final block, beginMessage starts a new stream on the same history", () => {
  const inf = new Inflater();
  inf.push(new Bits().header(true, 1).literals([5, 6, 7]).eob().bytes());
  inf.beginMessage();
  inf.push(new Bits().header(true, 1).match(3, 3).eob().bytes());
  deepStrictEqual(inf.output(), bytes(5, 6, 7));
});

Deno.test("bad options are RangeErrors that name them", () => {
  throwsA(
    () => new Inflater({ windowBits: 7 }),
    RangeError,
    /windowBits .* 8 to 15, got 7/,
  );
  throwsA(() => new Inflater({ windowBits: 16 }), RangeError, /got 16/);
  throwsA(
    () => new Inflater({ maxOutputSize: -1 }),
    RangeError,
    /maxOutputSize/,
  );
  throwsA(
    () => new Inflater({ bufferSize: 100 }),
    RangeError,
    /bufferSize .* at least 1024, got 100/,
  );
});

Deno.test("node:zlib, the reference: it decodes what the hand-made vectors encode", () => {
  // keeps the vector writer honest: zlib agrees with it on a mixed stream
  const lit = flatLitLens();
  const s = new Bits().stored([1, 2, 3]).header(false, 1).literals([4, 5])
    .match(5, 5)
    .eob().dynamic(true, lit, [1, 1]).literals([9]).match(3, 1).eob().bytes();
  deepStrictEqual(
    new Uint8Array(zlib.inflateRawSync(s)),
    bytes(1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 9, 9, 9, 9),
  );
  expectOutput(s, bytes(1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 9, 9, 9, 9));
  ok(code([1, 1]).codes[1] === 1);
  const z = new ZlibSync("inflate");
  deepStrictEqual(z.write(s, zlib.constants.Z_SYNC_FLUSH).length, 14);
});
