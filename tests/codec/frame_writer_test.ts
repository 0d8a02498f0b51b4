import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { FrameWriter, Opcode, WriteBuf } from "../../src/codec/mod.ts";
import { discardKeys } from "../../src/codec/ws/frame_writer.ts";
import {
  asciiText,
  bytes,
  type ClientFrame,
  closePayload,
  decodeClientFrames,
  enc,
  pattern,
  readFrames,
  textEv,
  throwsA,
  unmaskedStream,
} from "./_helpers.ts";

const { Text, Binary, Close, Ping, Pong, Continuation } = Opcode;
const SIZES = [0, 1, 125, 126, 127, 65535, 65536];

function formFor(n: number): 7 | 16 | 64 {
  return n <= 125 ? 7 : n <= 65535 ? 16 : 64;
}

function one(out: WriteBuf): ClientFrame {
  const frames = decodeClientFrames(out.view());
  strictEqual(frames.length, 1);
  const f = frames[0];
  ok(f.masked, "client frames are masked");
  strictEqual(f.rsv, 0);
  return f;
}

/** Runs `fn` with crypto.getRandomValues filling with `fill` and counting calls. */
function withRandom<T>(
  fill: (b: Uint8Array) => void,
  fn: () => T,
): [T, number] {
  const original = crypto.getRandomValues;
  let calls = 0;
  discardKeys(); // the key pool is shared: start a fresh batch
  crypto.getRandomValues = (<A extends ArrayBufferView | null>(a: A): A => {
    calls++;
    fill(a as unknown as Uint8Array);
    return a;
  }) as typeof crypto.getRandomValues;
  try {
    return [fn(), calls];
  } finally {
    crypto.getRandomValues = original;
    discardKeys(); // no stubbed key may outlive the stub
  }
}

Deno.test("binary frames decode to the same bytes at sizes 0, 1, 125, 126, 127, 65535, 65536", () => {
  const w = new FrameWriter();
  for (const n of SIZES) {
    const out = new WriteBuf(16);
    const p = pattern(n, n + 1);
    w.binary(out, p);
    const f = one(out);
    strictEqual(f.fin, true);
    strictEqual(f.op, Binary);
    strictEqual(f.lengthForm, formFor(n), `length form for ${n}`);
    deepStrictEqual(f.payload, p);
  }
});

Deno.test("text frames decode to the UTF-8 of the string at sizes 0, 1, 125, 126, 127, 65535, 65536", () => {
  const w = new FrameWriter();
  for (const n of SIZES) {
    const out = new WriteBuf();
    const s = asciiText(n);
    w.text(out, s);
    const f = one(out);
    strictEqual(f.op, Text);
    strictEqual(f.lengthForm, formFor(n), `length form for ${n}`);
    deepStrictEqual(f.payload, enc.encode(s));
  }
});

Deno.test("multibyte text uses the length form of its UTF-8 size", () => {
  const w = new FrameWriter();
  const cases = [
    "€".repeat(41), // 123 bytes, short form from the 3-byte bound
    "€".repeat(42), // 126 bytes
    "é".repeat(62) + "a", // 125 bytes from 63 units (bound 189)
    "é".repeat(63), // 126 bytes
    "€".repeat(21845), // 65535 bytes
    "€".repeat(21846), // 65538 bytes from 21846 units
    "😀".repeat(16384), // 65536 bytes from 32768 units
    "a".repeat(65535) + "é", // 65537 bytes, over 65535 units
    "😀".repeat(40000), // 160000 bytes
    "ü€😀 mixed ASCII",
  ];
  for (const s of cases) {
    const out = new WriteBuf(64);
    w.text(out, s);
    const f = one(out);
    const want = enc.encode(s);
    strictEqual(f.lengthForm, formFor(want.length), `${want.length} bytes`);
    strictEqual(f.payload.length, want.length);
    deepStrictEqual(f.payload, want);
    strictEqual(out.length, f.payloadOffset + want.length, "no slack bytes");
  }
});

Deno.test("lone surrogates in text are sent as U+FFFD", () => {
  const w = new FrameWriter();
  for (
    const s of [
      "\ud800",
      "a\udc00b",
      "\udbff\ud800",
      "x".repeat(200) + "\ud83d",
    ]
  ) {
    const out = new WriteBuf();
    w.text(out, s);
    const f = one(out);
    deepStrictEqual(f.payload, enc.encode(s));
    ok(f.payload.length > 0);
    const r = readFrames([unmaskedStream([f])]);
    deepStrictEqual(r.events, [
      textEv(s.replace(/[\ud800-\udfff]/g, "\ufffd")),
    ]);
  }
});

Deno.test("ping, pong and close frames decode to their payloads", () => {
  const w = new FrameWriter();
  for (const n of [0, 1, 125]) {
    const p = pattern(n, 3);
    for (const [op, write] of [[Ping, w.ping], [Pong, w.pong]] as const) {
      const out = new WriteBuf();
      write.call(w, out, p);
      const f = one(out);
      strictEqual(f.op, op);
      strictEqual(f.fin, true);
      deepStrictEqual(f.payload, p);
    }
  }
  const out = new WriteBuf();
  w.ping(out);
  w.pong(out);
  w.close(out);
  w.close(out, 1000);
  w.close(out, 4999, "bye ✓");
  w.close(out, 3000, asciiText(123));
  const frames = decodeClientFrames(out.view());
  deepStrictEqual(frames.map((f) => [f.op, f.fin]), [
    [Ping, true],
    [Pong, true],
    [Close, true],
    [Close, true],
    [Close, true],
    [Close, true],
  ]);
  deepStrictEqual(frames[0].payload, new Uint8Array(0));
  deepStrictEqual(frames[2].payload, new Uint8Array(0));
  deepStrictEqual(frames[3].payload, closePayload(1000));
  deepStrictEqual(frames[4].payload, closePayload(4999, "bye ✓"));
  deepStrictEqual(frames[5].payload, closePayload(3000, asciiText(123)));
});

Deno.test("fragments carry FIN and the continuation opcode as asked", () => {
  const w = new FrameWriter();
  const out = new WriteBuf();
  w.text(out, "He", false);
  w.text(out, "ll", false, true);
  w.text(out, "o", true, true);
  w.binary(out, bytes(1), false);
  w.binary(out, bytes(2), true, true);
  const frames = decodeClientFrames(out.view());
  deepStrictEqual(frames.map((f) => [f.op, f.fin]), [
    [Text, false],
    [Continuation, false],
    [Continuation, true],
    [Binary, false],
    [Continuation, true],
  ]);
  const r = readFrames([unmaskedStream(frames)]);
  deepStrictEqual(r.events.map((e) => e.op), [Text, Binary]);
  deepStrictEqual(r.events[0], textEv("Hello"));
});

Deno.test("masking is correct at every payload alignment, for frames appended back to back", () => {
  const w = new FrameWriter();
  const out = new WriteBuf(16);
  const sent: Uint8Array[] = [];
  const offsets = new Set<number>();
  // sizes chosen so payloads start at every offset mod 4, short and long
  const sizes = [
    0,
    1,
    2,
    3,
    31,
    32,
    33,
    34,
    35,
    64,
    100,
    125,
    126,
    127,
    129,
    200,
    1000,
    4097,
    65536,
    70001,
  ];
  for (let round = 0; round < 3; round++) {
    for (const n of sizes) {
      const p = pattern(n, n * 7 + round);
      w.binary(out, p);
      sent.push(p);
      const s = asciiText(n + round);
      w.text(out, s);
      sent.push(enc.encode(s));
    }
    w.ping(out, pattern(round + 5));
    sent.push(pattern(round + 5));
  }
  const frames = decodeClientFrames(out.view());
  strictEqual(frames.length, sent.length);
  for (let i = 0; i < frames.length; i++) {
    deepStrictEqual(frames[i].payload, sent[i], `frame ${i}`);
    if (frames[i].payload.length >= 32) {
      offsets.add(frames[i].payloadOffset & 3);
    }
  }
  deepStrictEqual([...offsets].sort(), [0, 1, 2, 3], "every alignment was hit");
});

Deno.test("the payload really is masked on the wire", () => {
  const out = new WriteBuf();
  const p = new Uint8Array(64);
  const [, calls] = withRandom((b) => b.fill(0xa5), () => {
    new FrameWriter().binary(out, p);
  });
  strictEqual(calls, 1);
  const f = one(out);
  deepStrictEqual(f.key, bytes(0xa5, 0xa5, 0xa5, 0xa5));
  ok(out.view().subarray(f.payloadOffset).every((x) => x === 0xa5));
  deepStrictEqual(f.payload, p);
});

Deno.test("an all-zero key leaves the payload as is", () => {
  const out = new WriteBuf();
  const p = pattern(100);
  withRandom((b) => b.fill(0), () => new FrameWriter().binary(out, p));
  deepStrictEqual(out.view().subarray(out.length - 100), p);
  deepStrictEqual(one(out).payload, p);
});

Deno.test("masking keys come from crypto.getRandomValues, drawn in batches", () => {
  let counter = 0;
  const [keys, calls] = withRandom((b) => {
    for (let i = 0; i < b.length; i++) b[i] = (counter++ * 13) & 0xff;
  }, () => {
    const w = new FrameWriter();
    const out = new WriteBuf();
    for (let i = 0; i < 300; i++) w.ping(out);
    return decodeClientFrames(out.view()).map((f) => Array.from(f.key));
  });
  strictEqual(calls, 2, "300 keys need two batches of 256");
  deepStrictEqual(keys[0], [0, 13, 26, 39]);
  deepStrictEqual(keys[1], [52, 65, 78, 91]);
  strictEqual(
    keys[256][0],
    (1024 * 13) & 0xff,
    "the second batch is a new draw",
  );
});

Deno.test("every frame gets a fresh masking key", () => {
  const w = new FrameWriter();
  const out = new WriteBuf();
  for (let i = 0; i < 600; i++) w.binary(out, pattern(i % 40));
  const keys = decodeClientFrames(out.view()).map((f) =>
    new DataView(f.key.buffer).getUint32(0)
  );
  strictEqual(keys.length, 600);
  // 600 random 32-bit keys: a repeat has odds of about 4e-5, two of ~1e-9
  ok(new Set(keys).size >= 599, `only ${new Set(keys).size} distinct keys`);
  for (let i = 1; i < keys.length; i++) {
    ok(keys[i] !== keys[i - 1], `frames ${i - 1} and ${i} share a key`);
  }
});

Deno.test("a control payload over 125 bytes throws RangeError and writes nothing", () => {
  const w = new FrameWriter();
  const out = new WriteBuf();
  throwsA(() => w.ping(out, new Uint8Array(126)), RangeError);
  throwsA(() => w.pong(out, new Uint8Array(1000)), RangeError);
  strictEqual(out.length, 0);
});

Deno.test("close codes that may not be sent throw RangeError", () => {
  const w = new FrameWriter();
  const out = new WriteBuf();
  for (
    const code of [
      0,
      999,
      1004,
      1005,
      1006,
      1015,
      1016,
      2999,
      5000,
      1000.5,
      NaN,
      -1000,
    ]
  ) {
    throwsA(() => w.close(out, code), RangeError);
  }
  strictEqual(out.length, 0);
  for (const code of [1000, 1003, 1007, 1014, 3000, 4999]) w.close(out, code);
  strictEqual(decodeClientFrames(out.view()).length, 6);
});

Deno.test("a close reason over 123 UTF-8 bytes throws RangeError", () => {
  const w = new FrameWriter();
  const out = new WriteBuf();
  throwsA(() => w.close(out, 1000, asciiText(124)), RangeError);
  throwsA(() => w.close(out, 1000, "€".repeat(42)), RangeError); // 126 bytes
  strictEqual(out.length, 0);
  w.close(out, 1000, "€".repeat(41)); // 123 bytes
  deepStrictEqual(one(out).payload, closePayload(1000, "€".repeat(41)));
});

Deno.test("a close reason without a code throws TypeError", () => {
  throwsA(
    () => new FrameWriter().close(new WriteBuf(), undefined, "why"),
    TypeError,
  );
});

Deno.test("the writer copies: the caller's bytes may change right after the call", () => {
  const w = new FrameWriter();
  const out = new WriteBuf();
  const p = pattern(50);
  const copy = p.slice();
  w.binary(out, p);
  p.fill(0);
  deepStrictEqual(one(out).payload, copy);
});

Deno.test("WriteBuf grows by doubling and keeps pending bytes", () => {
  const out = new WriteBuf(3);
  strictEqual(out.bytes.length, 16);
  out.ensure(3);
  out.bytes.set([1, 2, 3]);
  out.length = 3;
  out.ensure(100);
  ok(out.bytes.length >= 103 && out.bytes.length % 4 === 0);
  deepStrictEqual(out.view(), bytes(1, 2, 3));
  strictEqual(out.words.buffer, out.bytes.buffer);
  out.clear();
  strictEqual(out.length, 0);
});
