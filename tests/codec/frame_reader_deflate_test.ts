/**
 * FrameReader with permessage-deflate negotiated (RFC 7692 §6-7): RSV1
 * messages inflated into the inflater's reused buffer, every window size,
 * with and without context takeover, fragmented, split anywhere; and every
 * way a server can get it wrong.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import {
  type DeflateParams,
  FrameReader,
  InflateError,
  NEED_MORE,
  Opcode,
  ProtocolError,
  ReadBuf,
} from "../../src/codec/mod.ts";
import {
  binaryEv,
  bytes,
  closeEv,
  closePayload,
  concat,
  deflateParams,
  enc,
  frame,
  noise,
  pingEv,
  readFrames,
  readSplits,
  textEv,
  throwsA,
} from "./_helpers.ts";
import {
  EMPTY_FRAGMENT,
  HELLO,
  HELLO_AGAIN,
  HELLO_FINAL,
  HELLO_FLUSHED,
  HELLO_STORED,
  HELLO_TWO_BLOCKS,
} from "./_rfc7692.ts";
import { bomb } from "./deflate/_bits.ts";
import { compressMessages } from "../../bench/zlib_sync.ts";
import { bookJson, ticks } from "../../bench/deflate_fixtures.ts";

const { Text, Binary, Continuation, Ping, Close } = Opcode;
const RSV1 = 0x40;

/** A compressed message as one frame, or fragmented into frames of `size` compressed bytes. */
function compressedFrames(
  op: number,
  payload: Uint8Array,
  size = Infinity,
): Uint8Array[] {
  if (payload.length <= size) {
    return [frame({ op, rsv: RSV1, payload })];
  }
  const out: Uint8Array[] = [];
  for (let off = 0; off < payload.length; off += size) {
    const end = Math.min(off + size, payload.length);
    out.push(frame({
      op: off === 0 ? op : Continuation,
      rsv: off === 0 ? RSV1 : 0,
      fin: end === payload.length,
      payload: payload.subarray(off, end),
    }));
  }
  return out;
}

/** Reads `stream` with permessage-deflate negotiated as `p`. */
function readDeflate(
  stream: Uint8Array[] | Uint8Array,
  p: Partial<DeflateParams> = {},
  maxMessageSize?: number,
) {
  return readFrames(Array.isArray(stream) ? stream : [stream], {
    reader: { perMessageDeflate: deflateParams(p), maxMessageSize },
  });
}

/** The ProtocolError (with its cause) the stream fails with. */
function failure(
  stream: Uint8Array,
  p: Partial<DeflateParams> | null = {},
  maxMessageSize?: number,
): ProtocolError {
  const rb = new ReadBuf();
  rb.push(stream);
  const reader = new FrameReader({
    perMessageDeflate: p === null ? undefined : deflateParams(p),
    maxMessageSize,
  });
  return throwsA(() => {
    while (reader.next(rb) !== NEED_MORE) { /* events */ }
  }, ProtocolError);
}

Deno.test("the RFC 7692 §7.2.3 examples arrive as text messages, one or two frames each", () => {
  const stream = concat([
    ...compressedFrames(Text, HELLO),
    ...compressedFrames(Text, HELLO_AGAIN),
    ...compressedFrames(Text, HELLO_STORED),
    ...compressedFrames(Text, HELLO_FINAL),
    ...compressedFrames(Binary, HELLO_TWO_BLOCKS),
    frame({ op: Text, rsv: RSV1, fin: false, payload: HELLO_FLUSHED }),
    frame({ op: Continuation, payload: EMPTY_FRAGMENT }),
    ...compressedFrames(Text, HELLO_AGAIN),
  ]);
  const hello = textEv("Hello");
  const r = readSplits(stream, {
    reader: { perMessageDeflate: deflateParams() },
  });
  deepStrictEqual(r, {
    events: [
      hello,
      hello,
      hello,
      hello,
      binaryEv(enc.encode("Hello")),
      hello,
      hello,
    ],
    error: null,
    buffered: 0,
  });
});

Deno.test("zlib's messages inflate at every window size, with and without context takeover", () => {
  const msgs = [...ticks(60), noise(3000), bookJson(20000), ...ticks(40)];
  for (let bits = 8; bits <= 15; bits++) {
    for (const takeover of [true, false]) {
      const c = compressMessages(msgs, {
        windowBits: bits,
        contextTakeover: takeover,
      });
      const stream = concat(
        c.flatMap((m, i) => compressedFrames(i % 3 === 0 ? Binary : Text, m)),
      );
      const r = readDeflate(stream, {
        serverMaxWindowBits: bits,
        serverNoContextTakeover: !takeover,
      });
      deepStrictEqual(
        r.events,
        msgs.map((m, i) => i % 3 === 0 ? binaryEv(m) : textEv(m)),
        `window ${bits}, takeover ${takeover}`,
      );
      strictEqual(r.error, null);
    }
  }
});

Deno.test("fragmented compressed messages inflate frame by frame, with control frames between", () => {
  const msgs = [bookJson(5000), ...ticks(5), bookJson(70000, 3)];
  const c = compressMessages(msgs);
  for (const size of [1, 7, 100, 4096]) {
    const parts: Uint8Array[] = [];
    const want = [];
    for (let i = 0; i < msgs.length; i++) {
      const fs = compressedFrames(Text, c[i], size);
      if (fs.length > 1) {
        fs.splice(1, 0, frame({ op: Ping, payload: "mid" }));
        want.push(pingEv("mid"));
      }
      parts.push(...fs);
      want.push(textEv(msgs[i]));
    }
    parts.push(frame({ op: Close, payload: closePayload(1000) }));
    want.push(closeEv(1000));
    const r = readDeflate(concat(parts));
    deepStrictEqual(r.events, want, `fragments of ${size} bytes`);
  }
});

Deno.test("compressed frames split at every byte and fed one byte at a time give the same messages", () => {
  const msgs = [...ticks(3), bookJson(300)];
  const c = compressMessages(msgs);
  const stream = concat([
    ...compressedFrames(Text, c[0]),
    ...compressedFrames(Text, c[1], 5),
    ...compressedFrames(Binary, c[2]),
    frame({ op: Text, payload: "plain" }),
    ...compressedFrames(Text, c[3], 64),
  ]);
  const r = readSplits(stream, {
    reader: { perMessageDeflate: deflateParams() },
  });
  deepStrictEqual(r.events, [
    textEv(msgs[0]),
    textEv(msgs[1]),
    binaryEv(msgs[2]),
    textEv("plain"),
    textEv(msgs[3]),
  ]);
});

Deno.test("uncompressed messages, whole and fragmented, still arrive as they are", () => {
  const stream = concat([
    frame({ op: Text, payload: "a" }),
    frame({ op: Binary, fin: false, payload: "b" }),
    frame({ op: Continuation, payload: "c" }),
    ...compressedFrames(Text, HELLO),
    frame({ op: Text, payload: "é" }),
  ]);
  deepStrictEqual(readDeflate(stream).events, [
    textEv("a"),
    binaryEv(enc.encode("bc")),
    textEv("Hello"),
    textEv("é"),
  ]);
});

Deno.test("a compressed message borrows the inflater's buffer, reused for 4,096 messages", () => {
  const msgs = ticks(4096);
  const c = compressMessages(msgs);
  const rb = new ReadBuf();
  const reader = new FrameReader({ perMessageDeflate: deflateParams() });
  let buffer: Uint8Array | null = null;
  const capacity = rb.capacity;
  for (let i = 0; i < msgs.length; i++) {
    rb.push(frame({ op: Text, rsv: RSV1, payload: c[i] }));
    strictEqual(reader.next(rb), Text);
    buffer ??= reader.payloadBytes;
    strictEqual(reader.payloadBytes, buffer, `message ${i}: same buffer`);
    deepStrictEqual(reader.payload(), msgs[i]);
    ok(reader.ascii);
  }
  strictEqual(rb.capacity, capacity);
  ok(reader.inflaterMemory <= 64 * 1024, `${reader.inflaterMemory} bytes`);
});

Deno.test("no inflater is allocated before the first compressed message", () => {
  const reader = new FrameReader({ perMessageDeflate: deflateParams() });
  const rb = new ReadBuf();
  rb.push(frame({ op: Text, payload: "plain" }));
  strictEqual(reader.next(rb), Text);
  strictEqual(reader.inflaterMemory, 0);
  rb.push(frame({ op: Text, rsv: RSV1, payload: HELLO }));
  strictEqual(reader.next(rb), Text);
  ok(reader.inflaterMemory > 0);
});

Deno.test("a smaller window and no context takeover cost less inflater memory", () => {
  const memory = (p: Partial<DeflateParams>) => {
    const reader = new FrameReader({ perMessageDeflate: deflateParams(p) });
    const rb = new ReadBuf();
    rb.push(frame({ op: Text, rsv: RSV1, payload: HELLO }));
    strictEqual(reader.next(rb), Text);
    return reader.inflaterMemory;
  };
  const full = memory({});
  ok(memory({ serverMaxWindowBits: 10 }) < full / 8);
  ok(memory({ serverNoContextTakeover: true }) < full / 4);
});

// --- failures ---------------------------------------------------------------------------

Deno.test("RSV1 without permessage-deflate negotiated fails with 1002", () => {
  const err = failure(frame({ op: Text, rsv: RSV1, payload: HELLO }), null);
  strictEqual(err.code, 1002);
  ok(/no extension negotiated/.test(err.message), err.message);
});

Deno.test("RSV2 and RSV3 fail with 1002 even with permessage-deflate", () => {
  for (const rsv of [0x20, 0x10, 0x60, 0x70]) {
    const err = failure(frame({ op: Text, rsv, payload: "x" }));
    strictEqual(err.code, 1002);
    ok(/RSV1 only/.test(err.message), err.message);
  }
});

Deno.test("RSV1 on a continuation frame fails with 1002, compressed message or not", () => {
  for (const first of [RSV1, 0]) {
    const err = failure(concat([
      frame({
        op: Text,
        rsv: first,
        fin: false,
        payload: first === 0 ? "abc" : HELLO_FLUSHED,
      }),
      frame({ op: Continuation, rsv: RSV1, payload: EMPTY_FRAGMENT }),
    ]));
    strictEqual(err.code, 1002);
    ok(/continuation/.test(err.message), err.message);
  }
});

Deno.test("RSV1 on a control frame fails with 1002", () => {
  for (const op of [Ping, Opcode.Pong, Close]) {
    const err = failure(frame({ op, rsv: RSV1, payload: "" }));
    strictEqual(err.code, 1002);
    ok(/control frame/.test(err.message), err.message);
  }
});

Deno.test("a new compressed message inside a fragmented one fails with 1002", () => {
  const err = failure(concat([
    frame({ op: Text, fin: false, payload: "a" }),
    frame({ op: Text, rsv: RSV1, payload: HELLO }),
  ]));
  strictEqual(err.code, 1002);
});

Deno.test("corrupt compressed data fails with 1007, the InflateError as cause", () => {
  for (
    const bad of [
      [0x07], // reserved block type
      [0x04, 0x00], // a dynamic block with an invalid code length code
      [0x00, 0x10, 0x00, 0xef, 0xff, 0x41], // a stored block cut short
      [0x00, 0x05, 0x00, 0xfa, 0xfe, 0x41], // LEN and NLEN that do not match
    ]
  ) {
    const err = failure(frame({ op: Binary, rsv: RSV1, payload: bytes(bad) }));
    strictEqual(err.code, 1007, `${bad}`);
    ok(err.cause instanceof InflateError, `${bad}: cause ${err.cause}`);
  }
});

Deno.test("a distance beyond the negotiated server window fails with 1007", () => {
  const big = compressMessages([bookJson(20000)], { windowBits: 15 })[0];
  const err = failure(
    frame({ op: Text, rsv: RSV1, payload: big }),
    { serverMaxWindowBits: 9 },
  );
  strictEqual(err.code, 1007);
  ok(/beyond the 512-byte window/.test(err.message), err.message);
});

Deno.test("without context takeover, a match into the previous message fails with 1007", () => {
  const err = failure(
    concat([
      ...compressedFrames(Text, HELLO),
      ...compressedFrames(Text, HELLO_AGAIN),
    ]),
    { serverNoContextTakeover: true },
  );
  strictEqual(err.code, 1007);
});

Deno.test("an empty compressed payload fails with 1007 (an empty message compresses to 00)", () => {
  const err = failure(frame({ op: Text, rsv: RSV1, payload: "" }));
  strictEqual(err.code, 1007);
  ok(/at least one byte/.test(err.message), err.message);
});

Deno.test("inflated text that is not UTF-8 fails with 1007, as soon as a fragment shows it", () => {
  const [bad] = compressMessages([bytes("ok", 0xff, "more")]);
  strictEqual(failure(frame({ op: Text, rsv: RSV1, payload: bad })).code, 1007);
  // the first fragment alone is enough to fail: no FIN needed
  const [flushed] = compressMessages([bytes("abc", 0xc0, 0x80)]);
  const rb = new ReadBuf();
  rb.push(frame({ op: Text, rsv: RSV1, fin: false, payload: flushed }));
  const reader = new FrameReader({ perMessageDeflate: deflateParams() });
  strictEqual(throwsA(() => reader.next(rb), ProtocolError).code, 1007);
  // the same bytes in a binary message are fine
  deepStrictEqual(
    readDeflate(frame({ op: Binary, rsv: RSV1, payload: bad })).events,
    [binaryEv(bytes("ok", 0xff, "more"))],
  );
});

Deno.test("inflated text ending inside a character fails with 1007", () => {
  const [cut] = compressMessages([bytes("euro ", 0xe2, 0x82)]);
  const err = failure(frame({ op: Text, rsv: RSV1, payload: cut }));
  strictEqual(err.code, 1007);
  ok(/inside a character/.test(err.message), err.message);
});

Deno.test("a bomb fails with 1009 while inflating, the buffer bounded by maxMessageSize", () => {
  const max = 1 << 20;
  const payload = bomb(1 << 20); // 1 MiB of compressed bytes that would inflate to 1 GiB
  const rb = new ReadBuf({ maxMessageSize: 4 << 20 });
  rb.push(frame({ op: Binary, rsv: RSV1, payload }));
  const reader = new FrameReader({
    perMessageDeflate: deflateParams(),
    maxMessageSize: max,
  });
  const err = throwsA(() => reader.next(rb), ProtocolError);
  strictEqual(err.code, 1009);
  ok(
    reader.inflaterMemory <= max + 96 * 1024,
    `inflater holds ${reader.inflaterMemory}`,
  );
});

Deno.test("a small compressed frame that inflates past maxMessageSize fails with 1009", () => {
  const [c] = compressMessages([new Uint8Array(100_000)]);
  ok(c.length < 200, `${c.length} bytes`);
  const err = failure(frame({ op: Binary, rsv: RSV1, payload: c }), {}, 99_999);
  strictEqual(err.code, 1009);
  // exactly the limit is fine
  deepStrictEqual(
    readDeflate(frame({ op: Binary, rsv: RSV1, payload: c }), {}, 100_000)
      .events,
    [binaryEv(new Uint8Array(100_000))],
  );
});

Deno.test("a compressed frame longer than maxMessageSize fails with 1009 from its header", () => {
  const err = failure(
    bytes(0xc2, 126, 0x10, 0x00), // RSV1 binary, 4096 bytes announced
    {},
    4000,
  );
  strictEqual(err.code, 1009);
});

Deno.test("maxFragments counts the frames of a compressed message", () => {
  const [c] = compressMessages([bookJson(2000)]);
  const stream = concat(compressedFrames(Text, c, 10));
  const rb = new ReadBuf();
  rb.push(stream);
  const reader = new FrameReader({
    perMessageDeflate: deflateParams(),
    maxFragments: 3,
  });
  strictEqual(throwsA(() => reader.next(rb), ProtocolError).code, 1009);
});

Deno.test("the perMessageDeflate option is checked like every other option", () => {
  throwsA(
    () =>
      new FrameReader({
        perMessageDeflate: deflateParams({ serverMaxWindowBits: 16 }),
      }),
    RangeError,
    /perMessageDeflate.serverMaxWindowBits/,
  );
  throwsA(
    () =>
      new FrameReader({
        perMessageDeflate: {
          ...deflateParams(),
          windowBits: 15,
        } as DeflateParams,
      }),
    TypeError,
    /windowBits/,
  );
});
