import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import {
  FrameReader,
  NEED_MORE,
  Opcode,
  ProtocolError,
  ReadBuf,
} from "../../src/codec/mod.ts";
import {
  asciiText,
  binaryEv,
  bytes,
  closeEv,
  closePayload,
  concat,
  frame,
  pattern,
  pingEv,
  pongEv,
  readFrames,
  readSplits,
  textEv,
  throwsA,
} from "./_helpers.ts";

const { Text, Binary, Close, Ping, Pong, Continuation } = Opcode;

function expectEvents(stream: Uint8Array, events: unknown[], buffered = 0) {
  deepStrictEqual(readSplits(stream), { events, error: null, buffered });
}

function expectError(
  stream: Uint8Array,
  code: number,
  events: unknown[] = [],
  opts = {},
) {
  deepStrictEqual(readSplits(stream, opts), {
    events,
    error: code,
    buffered: 0,
  });
}

// --- every opcode -----------------------------------------------------------

Deno.test("a text frame is read as one text event with its UTF-8 payload", () => {
  expectEvents(frame({ op: Text, payload: "hi" }), [textEv("hi")]);
});

Deno.test("a binary frame is read as one binary event with its bytes", () => {
  const p = bytes(0, 1, 0xff, 0x80);
  expectEvents(frame({ op: Binary, payload: p }), [binaryEv(p)]);
});

Deno.test("empty text and binary frames are read as empty messages", () => {
  expectEvents(
    concat([frame({ op: Text }), frame({ op: Binary })]),
    [textEv(""), binaryEv(new Uint8Array(0))],
  );
});

Deno.test("ping and pong frames are read with their payloads", () => {
  expectEvents(
    concat([
      frame({ op: Ping, payload: "p1" }),
      frame({ op: Pong, payload: "p2" }),
      frame({ op: Ping }),
      frame({ op: Pong }),
    ]),
    [pingEv("p1"), pongEv("p2"), pingEv(), pongEv()],
  );
});

Deno.test("a close frame is read with its code and reason", () => {
  const stream = frame({ op: Close, payload: closePayload(1000, "bye ✓") });
  expectEvents(stream, [closeEv(1000, "bye ✓")]);
  const rb = new ReadBuf();
  const reader = new FrameReader();
  rb.push(stream);
  strictEqual(reader.next(rb), Close);
  strictEqual(reader.closeCode, 1000);
  strictEqual(reader.closeReason, "bye ✓");
});

Deno.test("an empty close frame is read as code 1005 with no reason", () => {
  expectEvents(frame({ op: Close }), [closeEv()]);
});

Deno.test("a close frame of exactly 125 bytes (code and 123-byte reason) is accepted", () => {
  const reason = asciiText(123);
  expectEvents(
    frame({ op: Close, payload: closePayload(4000, reason) }),
    [closeEv(4000, reason)],
  );
});

Deno.test("several frames in one buffer are read in order", () => {
  expectEvents(
    concat([
      frame({ op: Text, payload: "a" }),
      frame({ op: Binary, payload: bytes(1, 2) }),
      frame({ op: Ping, payload: "x" }),
      frame({ op: Text, payload: "é" }),
      frame({ op: Close, payload: closePayload(1001) }),
    ]),
    [
      textEv("a"),
      binaryEv(bytes(1, 2)),
      pingEv("x"),
      textEv("é"),
      closeEv(1001),
    ],
  );
});

Deno.test("a partial frame is left in the buffer and reported as need-more", () => {
  const f = frame({ op: Binary, payload: pattern(10) });
  expectEvents(f.subarray(0, 7), [], 7);
  expectEvents(concat([frame({ op: Text, payload: "ok" }), f.subarray(0, 1)]), [
    textEv("ok"),
  ], 1);
});

// --- payload lengths ------------------------------------------------------

Deno.test("payload lengths 0, 1 and 125 use the 7-bit length", () => {
  for (const n of [0, 1, 125]) {
    const p = pattern(n, n);
    const f = frame({ op: Binary, payload: p });
    strictEqual(f.length, 2 + n);
    expectEvents(f, [binaryEv(p)]);
  }
});

Deno.test("payload lengths 126, 127 and 65535 use the 16-bit length", () => {
  for (const n of [126, 127, 65535]) {
    const p = pattern(n, n);
    const f = frame({ op: Binary, payload: p });
    strictEqual(f[1], 126);
    expectEvents(f, [binaryEv(p)]);
  }
});

Deno.test("a payload length of 65536 uses the 64-bit length", () => {
  const p = pattern(65536);
  const f = frame({ op: Binary, payload: p });
  strictEqual(f[1], 127);
  expectEvents(f, [binaryEv(p)]);
});

Deno.test("a 70000-byte text frame is validated and read whole", () => {
  const s = "ü€".repeat(14000); // 70000 bytes
  expectEvents(frame({ op: Text, payload: s }), [textEv(s)]);
});

Deno.test("a 64-bit length with the top bit set fails with 1002", () => {
  const f = bytes(0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1);
  expectError(f, 1002);
  expectError(
    bytes(0x82, 127, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
    1002,
  );
});

// --- fragmentation ----------------------------------------------------------

Deno.test("a fragmented text message is reassembled with control frames interleaved", () => {
  const stream = concat([
    frame({ op: Text, fin: false, payload: "Hel" }),
    frame({ op: Ping, payload: "1" }),
    frame({ op: Continuation, fin: false, payload: "lo, " }),
    frame({ op: Pong, payload: "2" }),
    frame({ op: Close, payload: closePayload(1000) }),
    frame({ op: Continuation, fin: true, payload: "world" }),
  ]);
  expectEvents(stream, [
    pingEv("1"),
    pongEv("2"),
    closeEv(1000),
    textEv("Hello, world"),
  ]);
});

Deno.test("a fragmented binary message is reassembled, empty fragments included", () => {
  const a = pattern(100, 1), b = pattern(300, 2);
  const stream = concat([
    frame({ op: Binary, fin: false }),
    frame({ op: Continuation, fin: false, payload: a }),
    frame({ op: Continuation, fin: false }),
    frame({ op: Continuation, fin: false, payload: b }),
    frame({ op: Continuation, fin: true }),
  ]);
  expectEvents(stream, [binaryEv(concat([a, b]))]);
});

Deno.test("a character split across fragments is valid text", () => {
  const euro = bytes(0xe2, 0x82, 0xac);
  const stream = concat([
    frame({ op: Text, fin: false, payload: bytes("a", euro.subarray(0, 1)) }),
    frame({ op: Continuation, fin: false, payload: euro.subarray(1, 2) }),
    frame({
      op: Continuation,
      fin: true,
      payload: bytes(euro.subarray(2), "b"),
    }),
  ]);
  expectEvents(stream, [textEv("a€b")]);
});

Deno.test("messages after a fragmented one are read normally", () => {
  const stream = concat([
    frame({ op: Binary, fin: false, payload: "ab" }),
    frame({ op: Continuation, payload: "cd" }),
    frame({ op: Text, fin: false, payload: "x" }),
    frame({ op: Continuation, payload: "y" }),
    frame({ op: Text, payload: "z" }),
  ]);
  expectEvents(stream, [binaryEv(bytes("abcd")), textEv("xy"), textEv("z")]);
});

Deno.test("a fragmented message larger than the read buffer is reassembled", () => {
  const parts = [pattern(5000, 1), pattern(7000, 2), pattern(1, 3)];
  const stream = concat([
    frame({ op: Binary, fin: false, payload: parts[0] }),
    frame({ op: Continuation, fin: false, payload: parts[1] }),
    frame({ op: Continuation, payload: parts[2] }),
  ]);
  const r = readFrames([stream], { buf: { bufferCapacity: 256 } });
  deepStrictEqual(r, {
    events: [binaryEv(concat(parts))],
    error: null,
    buffered: 0,
  });
});

Deno.test("a continuation frame without a message in progress fails with 1002", () => {
  expectError(frame({ op: Continuation, payload: "x" }), 1002);
  expectError(
    concat([
      frame({ op: Text, payload: "done" }),
      frame({ op: Continuation, payload: "x" }),
    ]),
    1002,
    [textEv("done")],
  );
});

Deno.test("a new data frame inside a fragmented message fails with 1002", () => {
  for (const op of [Text, Binary]) {
    for (const fin of [true, false]) {
      expectError(
        concat([
          frame({ op: Binary, fin: false, payload: "a" }),
          frame({ op, fin, payload: "b" }),
        ]),
        1002,
      );
    }
  }
});

// --- header rules -----------------------------------------------------------

Deno.test("any RSV bit set fails with 1002, on data and control frames", () => {
  for (const rsv of [0x40, 0x20, 0x10, 0x70]) {
    for (const op of [Text, Binary, Ping, Pong, Close]) {
      expectError(frame({ op, rsv, payload: "" }), 1002);
    }
    expectError(
      concat([
        frame({ op: Text, fin: false, payload: "a" }),
        frame({ op: Continuation, rsv, payload: "b" }),
      ]),
      1002,
    );
  }
});

Deno.test("reserved opcodes 0x3-0x7 and 0xB-0xF fail with 1002", () => {
  for (const op of [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]) {
    expectError(frame({ op, payload: "x" }), 1002);
    expectError(frame({ op }).subarray(0, 2), 1002);
  }
});

Deno.test("a masked frame from the server fails with 1002", () => {
  const mask = bytes(1, 2, 3, 4);
  for (const op of [Text, Binary, Ping, Close]) {
    expectError(frame({ op, mask, payload: "" }), 1002);
  }
});

Deno.test("a control frame over 125 bytes fails with 1002 before its payload arrives", () => {
  for (const op of [Ping, Pong, Close]) {
    const f = frame({ op, payload: pattern(126) });
    strictEqual(f[1], 126);
    expectError(f, 1002);
    expectError(f.subarray(0, 2), 1002);
    expectError(frame({ op, payload: pattern(200), lengthForm: 64 }), 1002);
  }
});

Deno.test("a fragmented control frame fails with 1002", () => {
  for (const op of [Ping, Pong, Close]) {
    expectError(frame({ op, fin: false, payload: "" }), 1002);
    expectError(
      concat([
        frame({ op: Text, fin: false, payload: "a" }),
        frame({ op, fin: false, payload: "" }),
      ]),
      1002,
    );
  }
});

// --- close payload ----------------------------------------------------------

Deno.test("a close payload of 1 byte fails with 1002", () => {
  expectError(frame({ op: Close, payload: bytes(3) }), 1002);
});

Deno.test("close codes outside the allowed ranges fail with 1002", () => {
  const bad = [
    0,
    1,
    999,
    1004,
    1005,
    1006,
    1015,
    1016,
    1100,
    2000,
    2999,
    5000,
    65535,
  ];
  for (const code of bad) {
    expectError(frame({ op: Close, payload: closePayload(code) }), 1002);
  }
});

Deno.test("close codes 1000-1003, 1007-1014 and 3000-4999 are accepted", () => {
  const good = [
    1000,
    1001,
    1002,
    1003,
    1007,
    1008,
    1009,
    1010,
    1011,
    1012,
    1013,
    1014,
    3000,
    3999,
    4000,
    4999,
  ];
  for (const code of good) {
    expectEvents(frame({ op: Close, payload: closePayload(code, "r") }), [
      closeEv(code, "r"),
    ]);
  }
});

Deno.test("a close reason that is not UTF-8 fails with 1007", () => {
  for (
    const reason of [
      bytes(0xff),
      bytes(0xc0, 0x80),
      bytes("ok", 0xe2, 0x82),
      bytes(0xed, 0xa0, 0x80),
    ]
  ) {
    expectError(
      frame({ op: Close, payload: closePayload(1000, reason) }),
      1007,
    );
  }
});

// --- UTF-8 ------------------------------------------------------------------

const INVALID_UTF8: [string, Uint8Array][] = [
  ["a lone continuation byte", bytes(0x80)],
  ["an overlong 2-byte form", bytes(0xc0, 0x80)],
  ["an overlong 2-byte form with C1", bytes(0xc1, 0xbf)],
  ["an overlong 3-byte form", bytes(0xe0, 0x80, 0x80)],
  ["an overlong 4-byte form", bytes(0xf0, 0x80, 0x80, 0x80)],
  ["a UTF-16 surrogate", bytes(0xed, 0xa0, 0x80)],
  ["a code point over U+10FFFF", bytes(0xf4, 0x90, 0x80, 0x80)],
  ["the byte F5", bytes(0xf5, 0x80, 0x80, 0x80)],
  ["the byte FF", bytes(0xff)],
  ["a lead byte followed by ASCII", bytes(0xe2, 0x41)],
  ["a message ending inside a character", bytes("a", 0xe2, 0x82)],
];

Deno.test("text that is not valid UTF-8 fails with 1007", () => {
  for (const [what, p] of INVALID_UTF8) {
    try {
      expectError(frame({ op: Text, payload: bytes("ok ", p) }), 1007);
    } catch (err) {
      throw new Error(`${what}: ${(err as Error).message}`);
    }
  }
});

Deno.test("valid UTF-8 at every length class is accepted and flagged non-ASCII", () => {
  const s = "$ ¢ € 𐍈 \u{10ffff} \ud7ff \ue000";
  expectEvents(frame({ op: Text, payload: s }), [textEv(s)]);
  strictEqual(textEv(s).ascii, false);
  strictEqual(textEv("plain").ascii, true);
});

Deno.test("invalid text fails with 1007 before the rest of its frame arrives", () => {
  // the frame claims 100 bytes; only "ab" and a bad byte have arrived
  const head = frame({ op: Text, payload: pattern(100) }).subarray(0, 2);
  expectError(bytes(head, "ab", 0xff), 1007);
  // an overlong lead pair is already hopeless after 2 bytes
  expectError(bytes(head, 0xe0, 0x80), 1007);
  // a 16-bit length frame, mid-payload
  const big = frame({ op: Text, payload: asciiText(1000) }).subarray(0, 4);
  expectError(bytes(big, asciiText(500), 0xc0), 1007);
});

Deno.test("invalid text fails with 1007 mid-fragment, before the fragment completes", () => {
  const stream = bytes(
    frame({ op: Text, fin: false, payload: "valid €" }),
    frame({ op: Continuation, fin: false, payload: pattern(50) }).subarray(
      0,
      2,
    ),
    "abc",
    0xed,
    0xbf, // ED BF: a surrogate, invalid
  );
  expectError(stream, 1007);
});

Deno.test("text checked while its frame was partial does not excuse the next frame from the check", () => {
  // The first frame's first 30 bytes are checked while it is partial; once
  // it completes, the next frame (invalid at byte 3) is checked from byte 0.
  const first = frame({ op: Text, payload: asciiText(60) });
  const bad = frame({ op: Text, payload: bytes("abc", 0xff, asciiText(40)) });
  for (const head of [0x81, 0x82]) {
    const second = bad.slice();
    second[0] = head;
    const rb = new ReadBuf();
    const reader = new FrameReader();
    rb.push(first.subarray(0, 32));
    strictEqual(reader.next(rb), NEED_MORE);
    rb.push(concat([first.subarray(32), second]));
    strictEqual(reader.next(rb), Text);
    strictEqual(reader.text(), asciiText(60));
    if (head === 0x82) strictEqual(reader.next(rb), Binary);
    else throwsA(() => reader.next(rb), ProtocolError, /UTF-8/);
  }
});

Deno.test("a partial frame whose text could still be valid is not an error", () => {
  const head = frame({ op: Text, payload: pattern(100) }).subarray(0, 2);
  expectEvents(bytes(head, "ab", 0xf0, 0x9f, 0x98), [], 7);
});

Deno.test("a fragment may end inside a character but the message may not", () => {
  expectEvents(
    concat([
      frame({ op: Text, fin: false, payload: bytes(0xf0, 0x9f) }),
      frame({ op: Continuation, fin: false, payload: bytes(0x98) }),
    ]),
    [],
  );
  expectError(
    concat([
      frame({ op: Text, fin: false, payload: bytes(0xf0, 0x9f) }),
      frame({ op: Continuation, fin: true, payload: bytes(0x98) }),
    ]),
    1007,
  );
});

Deno.test("binary payloads are never checked as UTF-8", () => {
  const p = bytes(0xff, 0xc0, 0x80, 0xed, 0xa0, 0x80);
  expectEvents(
    concat([
      frame({ op: Binary, fin: false, payload: p }),
      frame({ op: Continuation, payload: p }),
      frame({ op: Ping, payload: p }),
    ]),
    [binaryEv(concat([p, p])), pingEv(p)],
  );
});

Deno.test("the ascii flag describes the whole fragmented message", () => {
  expectEvents(
    concat([
      frame({ op: Text, fin: false, payload: "abc" }),
      frame({ op: Continuation, payload: "é" }),
      frame({ op: Text, fin: false, payload: "é" }),
      frame({ op: Continuation, payload: "abc" }),
      frame({ op: Text, fin: false, payload: "ab" }),
      frame({ op: Continuation, payload: "c" }),
    ]),
    [textEv("abcé"), textEv("éabc"), textEv("abc")],
  );
});

// --- limits -----------------------------------------------------------------

Deno.test("a header claiming 2^62 bytes fails with 1009 without allocating", () => {
  for (const op of [Text, Binary]) {
    const f = bytes(0x80 | op, 127, 0x40, 0, 0, 0, 0, 0, 0, 0);
    expectError(f, 1009);
    const rb = new ReadBuf({ bufferCapacity: 1024 });
    rb.push(f);
    throwsA(() => new FrameReader().next(rb), ProtocolError);
    strictEqual(rb.capacity, 1024);
  }
});

Deno.test("a message over maxMessageSize fails with 1009 from its header alone", () => {
  const opts = {
    reader: { maxMessageSize: 1000 },
    buf: { maxMessageSize: 1000 },
  };
  const ok1000 = frame({ op: Binary, payload: pattern(1000) });
  deepStrictEqual(readSplits(ok1000, opts).events, [binaryEv(pattern(1000))]);
  const f = frame({ op: Binary, payload: pattern(1001) });
  expectError(f, 1009, [], opts);
  expectError(f.subarray(0, 4), 1009, [], opts);
});

Deno.test("a fragmented message over maxMessageSize fails with 1009 at the fragment that passes it", () => {
  const opts = {
    reader: { maxMessageSize: 100 },
    buf: { maxMessageSize: 100 },
  };
  const s = asciiText(100);
  const first = frame({ op: Text, fin: false, payload: s.slice(0, 60) });
  const ok40 = frame({ op: Continuation, payload: s.slice(60) });
  deepStrictEqual(readSplits(concat([first, ok40]), opts).events, [
    textEv(asciiText(100)),
  ]);
  const over = frame({ op: Continuation, payload: asciiText(41) });
  expectError(concat([first, over.subarray(0, 2)]), 1009, [], opts);
});

Deno.test("control frames do not count toward maxMessageSize", () => {
  const opts = { reader: { maxMessageSize: 0 }, buf: { maxMessageSize: 0 } };
  deepStrictEqual(
    readSplits(
      concat([frame({ op: Ping, payload: pattern(125) }), frame({ op: Text })]),
      opts,
    ),
    { events: [pingEv(pattern(125)), textEv("")], error: null, buffered: 0 },
  );
});

Deno.test("a message in more than maxFragments frames fails with 1009", () => {
  const opts = { reader: { maxFragments: 3 } };
  const three = concat([
    frame({ op: Binary, fin: false, payload: "a" }),
    frame({ op: Continuation, fin: false, payload: "b" }),
    frame({ op: Continuation, payload: "c" }),
  ]);
  deepStrictEqual(readSplits(three, opts).events, [binaryEv(bytes("abc"))]);
  const four = concat([
    frame({ op: Binary, fin: false, payload: "a" }),
    frame({ op: Continuation, fin: false }),
    frame({ op: Continuation, fin: false }),
    frame({ op: Continuation, payload: "d" }),
  ]);
  expectError(four, 1009, [], opts);
  // the limit is per message
  deepStrictEqual(readSplits(concat([three, three]), opts).events, [
    binaryEv(bytes("abc")),
    binaryEv(bytes("abc")),
  ]);
});

Deno.test("the read buffer grows for one message larger than it, bounded by maxMessageSize", () => {
  const p = pattern(3000);
  const checks: number[] = [];
  const r = readFrames([frame({ op: Binary, payload: p })], {
    buf: { bufferCapacity: 256, maxMessageSize: 3000 },
    reader: { maxMessageSize: 3000 },
    check: (rb) => checks.push(rb.capacity),
  });
  deepStrictEqual(r.events, [binaryEv(p)]);
  ok(Math.max(...checks) >= 3004 && Math.max(...checks) <= 3014);
});

Deno.test("bad reader options throw RangeError", () => {
  for (
    const o of [
      { maxMessageSize: -1 },
      { maxMessageSize: 1.5 },
      { maxMessageSize: NaN },
      { maxMessageSize: 2 ** 53 },
      { maxFragments: 0 },
      { maxFragments: -3 },
      { maxFragments: 2.5 },
    ]
  ) {
    throwsA(() => new FrameReader(o), RangeError);
  }
});

// --- API details ------------------------------------------------------------

Deno.test("an unfragmented message borrows the read buffer; a fragmented one does not", () => {
  const rb = new ReadBuf();
  const reader = new FrameReader();
  rb.push(concat([
    frame({ op: Binary, payload: "abc" }),
    frame({ op: Binary, fin: false, payload: "d" }),
    frame({ op: Continuation, payload: "e" }),
  ]));
  strictEqual(reader.next(rb), Binary);
  strictEqual(reader.payloadBytes, rb.bytes);
  strictEqual(reader.payloadStart, 2);
  strictEqual(reader.payloadLength, 3);
  strictEqual(rb.start, 0, "the event's frame is consumed by the next call");
  strictEqual(reader.next(rb), Binary);
  ok(reader.payloadBytes !== rb.bytes);
  deepStrictEqual(reader.payload(), bytes("de"));
  strictEqual(reader.text(), "de");
  strictEqual(reader.next(rb), NEED_MORE);
  strictEqual(rb.length, 0);
});

Deno.test("errors are ProtocolErrors whose message says what was expected", () => {
  const rb = new ReadBuf();
  rb.push(frame({ op: 0x3 }));
  const err = throwsA(() => new FrameReader().next(rb), ProtocolError);
  strictEqual(err.code, 1002);
  ok(/^Expected /.test(err.message), err.message);
});
