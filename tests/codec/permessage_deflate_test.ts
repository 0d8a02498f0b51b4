import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import * as zlib from "node:zlib";
import {
  FrameWriter,
  InflateError,
  InflateLimitError,
  MessageDeflater,
  MessageInflater,
  ProtocolError,
  WriteBuf,
} from "../../src/codec/mod.ts";
import {
  bytes,
  concat,
  decodeClientFrames,
  digest,
  noise,
  pattern,
  throwsA,
} from "./_helpers.ts";
import {
  compressMessages,
  SYNC_TAIL,
  ZlibSync,
} from "../../bench/zlib_sync.ts";
import { ticks } from "../../bench/deflate_fixtures.ts";
import {
  EMPTY_FRAGMENT,
  HELLO,
  HELLO_AGAIN,
  HELLO_FINAL,
  HELLO_FLUSHED,
  HELLO_STORED,
  HELLO_TWO_BLOCKS,
} from "./_rfc7692.ts";

const dec = new TextDecoder();
const hex = (b: Uint8Array) =>
  Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");

function message(inf: MessageInflater, ...frames: Uint8Array[]): Uint8Array {
  inf.begin();
  for (const f of frames) inf.push(f);
  inf.finish();
  return inf.buffer.subarray(inf.start, inf.end);
}

Deno.test("the RFC 7692 §7.2.3 examples inflate as messages", () => {
  const inf = new MessageInflater();
  const cases = [
    [HELLO],
    [HELLO_AGAIN], // a match into the first message
    [HELLO_STORED],
    [HELLO_FINAL],
    [HELLO_TWO_BLOCKS],
    [HELLO_FLUSHED, EMPTY_FRAGMENT], // two frames
    [HELLO_AGAIN], // after the BFINAL message the window still holds "Hello"
  ];
  for (const frames of cases) {
    strictEqual(dec.decode(message(inf, ...frames)), "Hello");
  }
  // the compressed bytes split across two frames anywhere
  for (let k = 0; k <= HELLO.length; k++) {
    const f = new MessageInflater();
    strictEqual(
      dec.decode(message(f, HELLO.subarray(0, k), HELLO.subarray(k))),
      "Hello",
    );
  }
});

for (const takeover of [true, false]) {
  Deno.test(`server messages ${takeover ? "with" : "without"} context takeover inflate for every window size, frame by frame`, () => {
    for (let bits = 8; bits <= 15; bits++) {
      const msgs = [
        ...ticks(50),
        pattern(3 << bits, bits),
        new Uint8Array(0),
        pattern(5000).map((b) => b & 3),
      ];
      const compressed = compressMessages(msgs, {
        windowBits: bits,
        contextTakeover: takeover,
      });
      const inf = new MessageInflater({
        windowBits: bits,
        noContextTakeover: !takeover,
      });
      compressed.forEach((c, i) => {
        // in frames of 7 bytes
        const frames: Uint8Array[] = [];
        for (let k = 0; k < c.length; k += 7) frames.push(c.subarray(k, k + 7));
        strictEqual(
          digest(message(inf, ...frames)),
          digest(msgs[i]),
          `bits ${bits}, message ${i}`,
        );
      });
    }
  });
}

Deno.test("a message over maxMessageSize is a 1009 ProtocolError raised while inflating", () => {
  const z = zlib.deflateRawSync(new Uint8Array(10 << 20), {
    finishFlush: zlib.constants.Z_SYNC_FLUSH,
  });
  const inf = new MessageInflater({ maxMessageSize: 1 << 20 });
  inf.begin();
  const err = throwsA(
    () => inf.push(z.subarray(0, z.length - 4)),
    ProtocolError,
    /^Expected at most 1048576 decompressed bytes, got more$/,
  );
  strictEqual(err.code, 1009);
  ok(err.cause instanceof InflateLimitError);
  ok(inf.buffer.length <= (1 << 20) + 65536);
});

Deno.test("corrupt and truncated compressed messages are 1007 ProtocolErrors", () => {
  const inf = new MessageInflater();
  inf.begin();
  const err = throwsA(
    () => inf.push(bytes(0x07)),
    ProtocolError,
    /reserved block type 3/,
  );
  strictEqual(err.code, 1007);
  ok(err.cause instanceof InflateError);
  // cut inside a block: the tail does not complete it
  const cut = new MessageInflater();
  const whole = compressMessages([pattern(3000).map((b) => b & 7)])[0];
  cut.begin();
  cut.push(whole.subarray(0, whole.length >> 1));
  const e2 = throwsA(
    () => cut.finish(),
    ProtocolError,
    /ends between DEFLATE blocks/,
  );
  strictEqual(e2.code, 1007);
  // a message with no compressed bytes at all is not valid either
  const empty = new MessageInflater();
  empty.begin();
  strictEqual(throwsA(() => empty.finish(), ProtocolError).code, 1007);
});

Deno.test("without context takeover the buffer stays small; with it, two windows", () => {
  const t = ticks(1000);
  const small = new MessageInflater({ noContextTakeover: true });
  for (const c of compressMessages(t, { contextTakeover: false })) {
    message(small, c);
  }
  ok(small.memory <= 4096 + 832 + 8 * 1024, `${small.memory}`);
  const shared = new MessageInflater({ windowBits: 12 });
  for (const c of compressMessages(t, { windowBits: 12 })) message(shared, c);
  ok(shared.memory <= 8192 + 832 + 8 * 1024, `${shared.memory}`);
});

for (const takeover of [true, false]) {
  Deno.test(`MessageDeflater output is what node:zlib inflates ${takeover ? "with" : "without"} context takeover, every window size`, () => {
    for (let bits = 8; bits <= 15; bits++) {
      const d = new MessageDeflater({
        windowBits: bits,
        noContextTakeover: !takeover,
      });
      const z = new ZlibSync("inflate", { windowBits: bits });
      const own = new MessageInflater({
        windowBits: bits,
        noContextTakeover: !takeover,
      });
      const out = new WriteBuf();
      const msgs = [
        "Hello",
        "Hello",
        "ünïcødé ".repeat(300),
        "",
        "tick ".repeat(9),
      ];
      for (const m of msgs) {
        out.clear();
        d.compressText(m, out);
        if (!takeover) z.reset();
        z.write(out.view(), zlib.constants.Z_SYNC_FLUSH);
        strictEqual(
          dec.decode(
            z.write(SYNC_TAIL, zlib.constants.Z_SYNC_FLUSH, 0, 4, true),
          ),
          m,
          `bits ${bits}`,
        );
        strictEqual(dec.decode(message(own, out.view())), m);
      }
      const bin = noise(100000);
      out.clear();
      d.compress(bin, out, 10, 90000);
      strictEqual(
        digest(message(own, out.view())),
        digest(bin.subarray(10, 90000)),
      );
      z.close();
    }
  });
}

Deno.test("with context takeover a repeated message compresses to a few bytes", () => {
  const d = new MessageDeflater();
  const out = new WriteBuf();
  d.compressText("Hello", out);
  const first = out.length;
  out.clear();
  d.compressText("Hello", out);
  ok(out.length < first, `${out.length} vs ${first}`);
  const reset = new MessageDeflater({ noContextTakeover: true });
  const a = new WriteBuf(), b = new WriteBuf();
  reset.compressText("Hello", a);
  reset.compressText("Hello", b);
  deepStrictEqual(a.view(), b.view());
  strictEqual(concat([a.view()]).length, 7);
});

Deno.test("FrameWriter.compressed frames a deflated message with RSV1, masked in place, every header size", () => {
  const w = new FrameWriter();
  const out = new WriteBuf(16);
  const deflater = new MessageDeflater();
  const inflater = new MessageInflater({ maxMessageSize: 1 << 20 });
  const messages: (string | Uint8Array)[] = [
    "Hello",
    "",
    "x".repeat(200), // compresses below 126 bytes
    pattern(300), // 7-bit → 16-bit length
    noise(70000), // 64-bit length (stored blocks)
    "Hello",
  ];
  out.ensure(3);
  out.length = 3; // after bytes already queued
  for (const m of messages) w.compressed(out, deflater, m);
  const frames = decodeClientFrames(out.view().subarray(3));
  deepStrictEqual(
    frames.map((f) => [f.fin, f.rsv, f.op, f.masked]),
    messages.map((m) => [true, 0x40, typeof m === "string" ? 1 : 2, true]),
  );
  deepStrictEqual(frames.map((f) => f.lengthForm), [7, 7, 7, 16, 64, 7]);
  frames.forEach((f, i) => {
    const m = messages[i];
    const bytes = typeof m === "string" ? new TextEncoder().encode(m) : m;
    strictEqual(digest(message(inflater, f.payload)), digest(bytes));
  });
  strictEqual(hex(frames[0].payload), "f2 48 cd c9 c9 07 00");
});
