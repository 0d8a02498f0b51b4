/**
 * Hostile servers and permessage-deflate, over real sockets: a
 * decompression bomb, RSV1 without the extension, answers the offer does
 * not allow, corrupt compressed data. Each ends with a typed error, the
 * right close code on the wire and bounded memory.
 */
import assert from "node:assert/strict";
import {
  connect,
  HandshakeError,
  InflateError,
  InflateLimitError,
  ProtocolError,
} from "../../mod.ts";
import { rawServer, serverFrame } from "../support/raw_server.ts";
import { noTimersLeft } from "../support/timers.ts";
import { bomb } from "../codec/deflate/_bits.ts";

const test = (name: string, fn: () => Promise<void>) =>
  Deno.test(name, noTimersLeft(fn));

/** The close code of the first close frame the client wrote (masked), or null. */
async function closeCodeFrom(c: Deno.Conn): Promise<number | null> {
  const buf = new Uint8Array(256);
  let have = 0;
  while (have < 8) {
    const n = await c.read(buf.subarray(have));
    if (n === null) return null;
    have += n;
  }
  if ((buf[0] & 0x0f) !== 8) return null;
  return ((buf[6] ^ buf[2]) << 8) | (buf[7] ^ buf[3]);
}

/**
 * Serves `frames` on a connection that accepted permessage-deflate (or not,
 * with `extensions` null), then reports the close code the client sent.
 */
function serve(
  frames: Uint8Array[],
  extensions: string | null = "permessage-deflate",
) {
  let sent: (code: number | null) => void;
  const closeCode = new Promise<number | null>((r) => sent = r);
  const srv = rawServer(async (c) => {
    for (const f of frames) await c.write(f);
    sent(await closeCodeFrom(c));
    c.close();
  }, { extensions: extensions ?? undefined });
  return { srv, closeCode };
}

test("a decompression bomb fails with 1009, memory bounded by maxMessageSize (defaults included)", async () => {
  // 256 KiB that would inflate to 256 MiB; 1 MiB that would inflate to 1 GiB
  for (
    const [maxMessageSize, size] of [[1 << 20, 256 << 10], [undefined, 1 << 20]]
  ) {
    const payload = bomb(size!);
    const { srv, closeCode } = serve([serverFrame(2, payload, true, 0x40)]);
    const ws = await connect(
      srv.url,
      maxMessageSize === undefined ? {} : { maxMessageSize },
    );
    const before = Deno.memoryUsage();
    await assert.rejects(
      ws.recv(),
      (e) =>
        e instanceof ProtocolError && e.code === 1009 &&
        e.cause instanceof InflateLimitError,
    );
    const after = Deno.memoryUsage();
    const grew = after.external + after.heapUsed - before.external -
      before.heapUsed;
    const bound = (maxMessageSize ?? 16 << 20) * 3 + (8 << 20);
    assert.ok(grew < bound, `memory grew by ${grew} bytes (bound ${bound})`);
    assert.equal(await closeCode, 1009);
    assert.equal(ws.closeCode, 1009);
    await srv.close();
  }
});

test("RSV1 from a server that did not accept permessage-deflate fails with 1002", async () => {
  const { srv, closeCode } = serve(
    [serverFrame(
      1,
      new Uint8Array([0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]),
      true,
      0x40,
    )],
    null,
  );
  const ws = await connect(srv.url);
  assert.equal(ws.perMessageDeflate, null);
  await assert.rejects(
    ws.recv(),
    (e) =>
      e instanceof ProtocolError && e.code === 1002 && /RSV/.test(e.message),
  );
  assert.equal(await closeCode, 1002);
  await srv.close();
});

test("RSV1 on a control frame or a continuation fails with 1002 even when negotiated", async () => {
  for (
    const frames of [
      [serverFrame(9, new Uint8Array(0), true, 0x40)],
      [
        serverFrame(1, new Uint8Array([0x61]), false),
        serverFrame(0, new Uint8Array([0x62]), true, 0x40),
      ],
    ]
  ) {
    const { srv, closeCode } = serve(frames);
    const ws = await connect(srv.url);
    await assert.rejects(
      ws.recv(),
      (e) => e instanceof ProtocolError && e.code === 1002,
    );
    assert.equal(await closeCode, 1002);
    await srv.close();
  }
});

test("answers with parameters the offer did not allow fail the handshake and close the socket", async () => {
  for (
    const [answer, options, why] of [
      ["permessage-deflate; server_max_window_bits=12", {
        serverMaxWindowBits: 10,
      }, /server_max_window_bits=12 \(at most 10/],
      ["permessage-deflate; client_max_window_bits=15", {
        clientMaxWindowBits: 9,
      }, /client_max_window_bits=15 \(at most 9/],
      ["permessage-deflate; mem_level=9", {}, /unknown parameter mem_level=9/],
      [
        "permessage-deflate; server_no_context_takeover=yes",
        {},
        /with a value/,
      ],
      ["permessage-deflate; server_max_window_bits=16", {}, /8-15/],
      [
        "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
        {},
        /twice/,
      ],
      ["permessage-deflate, permessage-deflate", {}, /once/],
      ["x-webkit-deflate-frame", {}, /x-webkit-deflate-frame/],
    ] as const
  ) {
    let closed = false;
    const srv = rawServer(async (c) => {
      const buf = new Uint8Array(64);
      closed = (await c.read(buf).catch(() => null)) === null;
    }, { extensions: answer });
    await assert.rejects(
      connect(srv.url, { perMessageDeflate: options }),
      (e) =>
        e instanceof HandshakeError && e.status === 101 && why.test(e.message),
      answer,
    );
    await srv.close();
    assert.ok(closed, `${answer}: the client closed the socket`);
  }
});

test("corrupt compressed data fails with 1007 and the InflateError as cause", async () => {
  const { srv, closeCode } = serve([
    serverFrame(
      1,
      new Uint8Array([0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]),
      true,
      0x40,
    ),
    serverFrame(1, new Uint8Array([0xff, 0xff, 0xff]), true, 0x40),
  ]);
  const ws = await connect(srv.url);
  assert.equal((await ws.recv())?.text(), "Hello");
  await assert.rejects(
    ws.recv(),
    (e) =>
      e instanceof ProtocolError && e.code === 1007 &&
      e.cause instanceof InflateError,
  );
  assert.equal(await closeCode, 1007);
  await srv.close();
});
