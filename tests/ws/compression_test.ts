/**
 * permessage-deflate in the client, over an in-memory transport: the offer
 * `connect()` makes, what it settles, compressed messages received in
 * place (synchronously when buffered), compressed sends, and
 * `Message.decompress()` for payloads compressed inside ordinary frames.
 */
import assert from "node:assert/strict";
import * as zlib from "node:zlib";
import {
  connect,
  HandshakeError,
  InflateError,
  InflateLimitError,
  type Message,
  ProtocolError,
} from "../../mod.ts";
import { MessageInflater } from "../../src/codec/mod.ts";
import { noTimersLeft } from "../support/timers.ts";
import {
  acceptFor,
  memoryPipe,
  openMemory,
} from "../support/memory_transport.ts";
import { serverFrame } from "../support/raw_server.ts";
import { decodeClientFrames } from "../codec/_helpers.ts";
import { compressMessages } from "../../bench/zlib_sync.ts";
import { bookJson, ticks } from "../../bench/deflate_fixtures.ts";

const test = (name: string, fn: () => Promise<void>) =>
  Deno.test(name, noTimersLeft(fn));

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A compressed server frame (RSV1) carrying `payload`. */
const compressedFrame = (op: number, payload: Uint8Array) =>
  serverFrame(op, payload, true, 0x40);

/** The client's frames written so far, decoded (masking removed). */
function written(server: { take(): Uint8Array }) {
  return decodeClientFrames(server.take());
}

/** Closes a memory client: the server answers the close frame and ends the stream. */
async function closeMemory(
  ws: { close(): Promise<void> },
  server: { send(b: Uint8Array): void; end(): void },
) {
  const closing = ws.close();
  server.send(serverFrame(8, new Uint8Array([0x03, 0xe8])));
  server.end();
  await closing;
}

/** The Sec-WebSocket-Extensions line of a request, or null. */
function offerOf(request: string): string | null {
  return /\r\nSec-WebSocket-Extensions: ([^\r]*)\r\n/.exec(request)?.[1] ??
    null;
}

// --- the offer ----------------------------------------------------------------------

test("by default connect() offers a 1 KiB server window first, then no limit", async () => {
  const { ws, server, request } = await openMemory();
  assert.equal(
    offerOf(request),
    "permessage-deflate; client_max_window_bits; server_max_window_bits=10, permessage-deflate; client_max_window_bits",
  );
  assert.equal(ws.perMessageDeflate, null); // the answer declined
  await closeMemory(ws, server);
});

test("perMessageDeflate: false offers nothing; an object makes one offer when it sets the server window", async () => {
  const off = await openMemory({ perMessageDeflate: false });
  assert.equal(offerOf(off.request), null);
  await closeMemory(off.ws, off.server);
  const one = await openMemory({
    perMessageDeflate: {
      serverMaxWindowBits: 12,
      clientMaxWindowBits: 11,
      serverNoContextTakeover: true,
      clientNoContextTakeover: true,
    },
  });
  assert.equal(
    offerOf(one.request),
    "permessage-deflate; client_max_window_bits=11; client_no_context_takeover; server_no_context_takeover; server_max_window_bits=12",
  );
  await closeMemory(one.ws, one.server);
});

test("the perMessageDeflate option is checked before anything is dialed", async () => {
  const bad: [unknown, ErrorConstructor, RegExp][] = [
    ["yes", TypeError, /"perMessageDeflate" to be a boolean or an object/],
    [null, TypeError, /boolean or an object, got null/],
    [{ serverMaxWindowBits: 16 }, RangeError, /serverMaxWindowBits/],
    [{ clientMaxWindowBits: 7 }, RangeError, /clientMaxWindowBits/],
    [{ threshold: -1 }, RangeError, /threshold/],
    [{ threshold: "0" }, TypeError, /threshold/],
    [
      { serverNoContextTakover: true },
      TypeError,
      /did you mean "serverNoContextTakeover"/,
    ],
  ];
  for (const [value, cls, message] of bad) {
    await assert.rejects(
      connect("ws://127.0.0.1:9/", {
        perMessageDeflate: value as boolean,
        transport: memoryPipe().transport,
      }),
      (e) => e instanceof cls && message.test((e as Error).message),
      String(value),
    );
  }
});

test("an answer the offer does not allow fails connect() with a HandshakeError naming it", async () => {
  for (
    const [answer, why] of [
      [
        "permessage-deflate; server_max_window_bits=11",
        /server_max_window_bits=11/,
      ],
      ["permessage-deflate; foo", /unknown parameter foo/],
      ["x-webkit-deflate-frame", /x-webkit-deflate-frame/],
    ] as const
  ) {
    const { transport, server } = memoryPipe();
    const connecting = connect("ws://memory.test/", {
      transport,
      perMessageDeflate: { serverMaxWindowBits: 10 },
    });
    await server.written(1);
    server.send(acceptFor(server.take(), answer));
    await assert.rejects(
      connecting,
      (e) => e instanceof HandshakeError && why.test(e.message),
      answer,
    );
    assert.ok(server.closed, "the socket is closed");
  }
});

// --- receiving ---------------------------------------------------------------------------

test("compressed messages already buffered come out of tryRecv() synchronously, in the inflater's reused buffer", async () => {
  // a receive buffer of 64 KiB from the start: one read takes every frame
  const { ws, server } = await openMemory(
    { minBufferCapacity: 65536 },
    "permessage-deflate",
  );
  assert.deepEqual(ws.perMessageDeflate, {
    serverMaxWindowBits: 15,
    serverNoContextTakeover: false,
    clientMaxWindowBits: 15,
    clientNoContextTakeover: false,
  });
  const msgs = ticks(2000);
  const c = compressMessages(msgs);
  const frames = new Uint8Array(c.reduce((n, m) => n + m.length + 2, 0));
  let off = 0;
  for (const m of c) {
    frames.set(compressedFrame(1, m), off);
    off += m.length + 2;
  }
  server.send(frames);
  const first = await ws.recv();
  assert.ok(first !== null);
  assert.equal(first.text(), dec.decode(msgs[0]));
  const buffer = first.bytes;
  for (let i = 1; i < msgs.length; i++) {
    const m = ws.tryRecv();
    assert.ok(m !== undefined, `message ${i} without a socket read`);
    assert.equal(m.type, "text");
    assert.equal(m.bytes, buffer, `message ${i} in the same buffer`);
    assert.equal(m.text(), dec.decode(msgs[i]));
  }
  assert.equal(ws.tryRecv(), undefined);
  await closeMemory(ws, server);
});

test("a fragmented compressed message with a ping between its frames arrives whole", async () => {
  const { ws, server } = await openMemory({}, "permessage-deflate");
  const book = bookJson(30000);
  const [c] = compressMessages([book]);
  const cut = c.length >> 1;
  const a = compressedFrame(2, c.subarray(0, cut));
  a[0] &= 0x7f; // not FIN
  server.send(a);
  server.send(serverFrame(9, enc.encode("mid")));
  server.send(serverFrame(0, c.subarray(cut)));
  const m = await ws.recv();
  assert.ok(m !== null);
  assert.equal(m.type, "binary");
  assert.deepEqual(m.data, book);
  const pong = written(server).find((f) => f.op === 10);
  assert.equal(dec.decode(pong?.payload), "mid");
  await closeMemory(ws, server);
});

test("corrupt compressed data fails the connection with 1007 and a ProtocolError", async () => {
  const { ws, server } = await openMemory({}, "permessage-deflate");
  server.send(compressedFrame(1, new Uint8Array([0x07])));
  server.end();
  await assert.rejects(
    ws.recv(),
    (e) =>
      e instanceof ProtocolError && e.code === 1007 &&
      e.cause instanceof InflateError,
  );
  const close = written(server).find((f) => f.op === 8);
  assert.equal(close?.payload[0], 0x03);
  assert.equal(close?.payload[1], 0xef); // 1007
  await ws.close();
  assert.equal(ws.closeCode, 1007);
});

test("a message inflating past maxMessageSize fails the connection with 1009", async () => {
  const { ws, server } = await openMemory(
    { maxMessageSize: 65536 },
    "permessage-deflate",
  );
  const [c] = compressMessages([new Uint8Array(1 << 20)]);
  server.send(compressedFrame(2, c));
  server.end();
  await assert.rejects(
    ws.recv(),
    (e) => e instanceof ProtocolError && e.code === 1009,
  );
  await ws.close();
  assert.equal(ws.closeCode, 1009);
});

// --- sending -------------------------------------------------------------------------

/** Inflates the client's compressed frames in order (its window, its takeover). */
function inflateAll(
  frames: ReturnType<typeof decodeClientFrames>,
  noContextTakeover = false,
): string[] {
  const inf = new MessageInflater({ noContextTakeover });
  return frames.map((f) => {
    if ((f.rsv & 0x40) === 0) return `plain:${dec.decode(f.payload)}`;
    inf.begin();
    inf.push(f.payload);
    inf.finish();
    return dec.decode(inf.output());
  });
}

test("sends at or above the threshold are compressed with RSV1, with context takeover", async () => {
  const { ws, server } = await openMemory(
    { perMessageDeflate: { threshold: 100 } },
    "permessage-deflate",
  );
  const big = dec.decode(bookJson(2000));
  await ws.sendText(big);
  await ws.sendText(big);
  await ws.sendText("small");
  await ws.sendBinary(enc.encode(big));
  const frames = written(server);
  assert.deepEqual(frames.map((f) => [f.op, f.rsv, f.fin, f.masked]), [
    [1, 0x40, true, true],
    [1, 0x40, true, true],
    [1, 0, true, true],
    [2, 0x40, true, true],
  ]);
  assert.ok(
    frames[1].payload.length < frames[0].payload.length / 4,
    "the second copy is mostly a match into the first",
  );
  assert.deepEqual(inflateAll(frames), [big, big, "plain:small", big]);
  await closeMemory(ws, server);
});

test("{ compress: false } sends a message as it is and { compress: true } compresses a small one", async () => {
  const { ws, server } = await openMemory({}, "permessage-deflate");
  const long = "y".repeat(5000);
  await ws.sendText(long, { compress: false });
  await ws.sendText("tiny", { compress: true });
  await ws.sendBinary(enc.encode("bin"), { compress: true });
  await ws.sendBinary(enc.encode(long), { compress: false });
  await ws.sendText(long); // the default threshold (1024): compressed
  const frames = written(server);
  assert.deepEqual(frames.map((f) => f.rsv), [0, 0x40, 0x40, 0, 0x40]);
  assert.deepEqual(inflateAll(frames), [
    `plain:${long}`,
    "tiny",
    "bin",
    `plain:${long}`,
    long,
  ]);
  await closeMemory(ws, server);
});

test("send options are checked: an unknown name or a wrong type is a TypeError", async () => {
  const { ws, server } = await openMemory({}, "permessage-deflate");
  assert.throws(
    () => ws.sendText("a", { compres: true } as never),
    (e) => e instanceof TypeError && /did you mean "compress"/.test(e.message),
  );
  assert.throws(
    () => ws.sendBinary(new Uint8Array(1), { compress: 1 } as never),
    (e) =>
      e instanceof TypeError && /"compress" to be a boolean/.test(e.message),
  );
  await closeMemory(ws, server);
});

test("without the extension negotiated every message goes uncompressed, even with compress: true", async () => {
  const { ws, server } = await openMemory();
  await ws.sendText("z".repeat(5000), { compress: true });
  await ws.sendBinary(new Uint8Array(3000));
  assert.deepEqual(written(server).map((f) => f.rsv), [0, 0]);
  await closeMemory(ws, server);
});

test("client_no_context_takeover from the server makes every compressed send stand alone", async () => {
  const { ws, server } = await openMemory(
    { perMessageDeflate: { threshold: 0 } },
    "permessage-deflate; client_no_context_takeover; client_max_window_bits=9",
  );
  assert.equal(ws.perMessageDeflate?.clientNoContextTakeover, true);
  assert.equal(ws.perMessageDeflate?.clientMaxWindowBits, 9);
  const msg = JSON.stringify(bookJson(3000, 5));
  await ws.sendText(msg);
  await ws.sendText(msg);
  const frames = written(server);
  assert.equal(frames[0].payload.length, frames[1].payload.length);
  // each inflates on its own, and within a 512-byte window
  for (const f of frames) {
    const inf = new MessageInflater({ windowBits: 9, noContextTakeover: true });
    inf.begin();
    inf.push(f.payload);
    inf.finish();
    assert.equal(dec.decode(inf.output()), msg);
  }
  await closeMemory(ws, server);
});

test("an echoed compressed message that must wait its turn is sent as it was received", async () => {
  const { ws, server } = await openMemory(
    { maxBufferedAmount: 0 },
    "permessage-deflate",
  );
  const msgs = [enc.encode("first message"), enc.encode("second message")];
  const c = compressMessages(msgs);
  server.send(compressedFrame(2, c[0]));
  server.send(compressedFrame(2, c[1]));
  server.hold = true;
  const stuck = ws.sendBinary(new Uint8Array(10)); // its write is held
  const m = await ws.recv();
  assert.ok(m !== null);
  const echo = ws.sendBinary(m.data); // waits: must copy the borrowed view now
  assert.ok(ws.bufferedAmount > 0);
  const next = await ws.recv(); // the inflater reuses its buffer
  assert.equal(dec.decode(next?.data), "second message");
  server.hold = false;
  server.release();
  await stuck;
  await echo;
  const frames = written(server).filter((f) => f.op === 2);
  assert.equal(dec.decode(frames.at(-1)?.payload), "first message");
  await closeMemory(ws, server);
});

// --- Message.decompress ---------------------------------------------------------------

test("decompress() decodes gzip, zlib and raw DEFLATE payloads into a reused buffer", async () => {
  const { ws, server } = await openMemory();
  const json = JSON.stringify({ ch: "market.btcusdt.trade.detail", ts: 1 });
  const raw = enc.encode(json);
  server.send(serverFrame(2, new Uint8Array(zlib.gzipSync(raw))));
  server.send(serverFrame(2, new Uint8Array(zlib.deflateSync(raw))));
  server.send(serverFrame(2, new Uint8Array(zlib.deflateRawSync(raw))));
  server.send(serverFrame(2, new Uint8Array(zlib.deflateRawSync(raw))));
  const formats = ["gzip", "zlib", "deflate-raw", "deflate"] as const;
  let buffer: Uint8Array | null = null;
  for (const format of formats) {
    const m = await ws.recv();
    assert.ok(m !== null);
    const p = m.decompress(format);
    assert.equal(p.text(), json, format);
    assert.deepEqual(p.json(), JSON.parse(json));
    assert.equal(p.byteLength, raw.length);
    assert.deepEqual(p.data, raw);
    assert.deepEqual(p.bytes.subarray(p.offset, p.offset + p.byteLength), raw);
    buffer ??= p.bytes;
    assert.equal(p.bytes, buffer, `${format}: the same buffer`);
  }
  await closeMemory(ws, server);
});

test("a decompressed payload is invalidated with its message", async () => {
  const { ws, server } = await openMemory();
  server.send(serverFrame(2, new Uint8Array(zlib.gzipSync(enc.encode("one")))));
  server.send(serverFrame(2, new Uint8Array(zlib.gzipSync(enc.encode("two")))));
  const m = (await ws.recv()) as Message;
  const p = m.decompress("gzip");
  const kept = p.copy();
  assert.equal(p.valid, true);
  await ws.recv();
  assert.equal(p.valid, false);
  for (
    const read of [() => p.data, () => p.text(), () => p.bytes, () => p.copy()]
  ) {
    assert.throws(
      read,
      (e) =>
        e instanceof TypeError && /still borrowed/.test((e as Error).message),
    );
  }
  assert.equal(dec.decode(kept), "one");
  // the message now shows "two", and so does a new decompress()
  assert.equal(m.decompress("gzip").text(), "two");
  await closeMemory(ws, server);
  assert.throws(() => m.decompress("gzip"), TypeError);
});

test("decompress() throws InflateError on corrupt data and InflateLimitError past maxMessageSize, and the connection goes on", async () => {
  const { ws, server } = await openMemory({ maxMessageSize: 100_000 });
  server.send(serverFrame(2, enc.encode("not gzip at all")));
  server.send(
    serverFrame(2, new Uint8Array(zlib.gzipSync(new Uint8Array(1 << 20)))),
  );
  server.send(serverFrame(1, enc.encode("still here")));
  const a = (await ws.recv()) as Message;
  assert.throws(() => a.decompress("gzip"), InflateError);
  assert.throws(() => a.decompress("zip" as "gzip"), TypeError);
  const b = (await ws.recv()) as Message;
  const err = assert.throws(() => b.decompress("gzip"), InflateLimitError);
  void err;
  assert.equal((await ws.recv())?.text(), "still here");
  await closeMemory(ws, server);
});
