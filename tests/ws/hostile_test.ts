/**
 * Hostile servers: each test is bounded in time and must end with a typed
 * error (or the clean close the RFC asks for), with bounded memory and
 * nothing left open (Deno's sanitizers are on).
 */
import assert from "node:assert/strict";
import {
  connect,
  ConnectionClosedError,
  HandshakeError,
  ProtocolError,
  TimeoutError,
} from "../../mod.ts";
import {
  drain,
  rawServer,
  readUpgrade,
  serverFrame,
} from "../support/raw_server.ts";

const enc = new TextEncoder();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `fn` and returns how long it took, in ms. */
async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** A plain TCP server whose handler gets the socket before any handshake. */
const tcpServer = (onConn: (c: Deno.Conn) => Promise<void>) =>
  rawServer(onConn, { handshake: false });

Deno.test("a server trickling the handshake one byte at a time hits handshakeTimeout", async () => {
  let stop = false;
  const srv = tcpServer(async (c) => {
    await readUpgrade(c);
    const head = enc.encode(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n",
    );
    for (let i = 0; !stop; i = (i + 1) % head.length) {
      await c.write(head.subarray(i, i + 1));
      await sleep(20);
    }
  });
  const took = await timed(() =>
    assert.rejects(connect(srv.url, { handshakeTimeout: 300 }), TimeoutError)
  );
  assert.ok(took < 1500, `took ${took} ms`);
  stop = true;
  await srv.close();
});

Deno.test("a server trickling a frame one byte at a time is caught by the heartbeat", async () => {
  let stop = false;
  const srv = rawServer(async (c) => {
    const frame = serverFrame(1, new Uint8Array(100).fill(0x61));
    for (let i = 0; !stop && i < frame.length; i++) {
      await c.write(frame.subarray(i, i + 1));
      await sleep(20);
    }
  });
  const ws = await connect(srv.url, {
    heartbeat: { interval: 100, timeout: 400 },
  });
  const took = await timed(() => assert.rejects(ws.recv(), TimeoutError));
  assert.ok(took >= 350 && took < 1500, `took ${took} ms`);
  stop = true;
  await srv.close();
});

Deno.test("an endless response head fails the handshake at maxHeadSize", async () => {
  let sent = 0, stop = false;
  const srv = tcpServer(async (c) => {
    await readUpgrade(c);
    await c.write(enc.encode("HTTP/1.1 101 Switching Protocols\r\n"));
    const line = enc.encode("X-Filler: " + "y".repeat(1000) + "\r\n");
    while (!stop) {
      await c.write(line);
      sent += line.length;
    }
  });
  await assert.rejects(
    connect(srv.url, { maxHeadSize: 8192 }),
    (e) => e instanceof HandshakeError && /8192/.test(e.message),
  );
  stop = true;
  await srv.close();
  assert.ok(sent >= 8192);
});

Deno.test("a frame header claiming 2^63 bytes fails with 1002, one claiming 2^62 with 1009, without allocating", async () => {
  for (const [hi, code] of [[0x80, 1002], [0x40, 1009]] as const) {
    let closeFrame: Uint8Array | null = null;
    const srv = rawServer(async (c) => {
      const h = new Uint8Array([0x82, 127, hi, 0, 0, 0, 0, 0, 0, 0]);
      await c.write(h);
      const buf = new Uint8Array(64);
      const n = await c.read(buf);
      if (n) closeFrame = buf.slice(0, n);
      c.close();
    });
    const ws = await connect(srv.url);
    await assert.rejects(
      ws.recv(),
      (e) => e instanceof ProtocolError && e.code === code,
    );
    assert.ok(closeFrame !== null);
    const f = closeFrame as Uint8Array;
    assert.equal(f[0], 0x88);
    const key = f.subarray(2, 6);
    assert.equal(((f[6] ^ key[0]) << 8) | (f[7] ^ key[1]), code);
    await srv.close();
  }
});

Deno.test("a flood of zero-length continuation fragments stops at maxFragments with 1009", async () => {
  const srv = rawServer(async (c) => {
    await c.write(serverFrame(1, enc.encode("a"), false));
    const empty = serverFrame(0, new Uint8Array(0), false);
    const chunk = new Uint8Array(empty.length * 4096);
    for (let i = 0; i < 4096; i++) chunk.set(empty, i * empty.length);
    try {
      for (let i = 0; i < 64; i++) await c.write(chunk); // 262144 fragments
    } catch { /* the client hung up */ }
    await drain(c).catch(() => {});
  });
  const before = Deno.memoryUsage().heapUsed;
  const ws = await connect(srv.url, {
    maxFragments: 100_000,
    closeTimeout: 300,
  });
  await assert.rejects(
    ws.recv(),
    (e) => e instanceof ProtocolError && e.code === 1009,
  );
  assert.ok(Deno.memoryUsage().heapUsed - before < 16 * 1024 * 1024);
  await srv.close();
});

Deno.test("a ping flood while the client sends keeps pongs bounded and the feed alive", async () => {
  let received = 0;
  const srv = rawServer(async (c) => {
    const ping = serverFrame(9, enc.encode("p"));
    const burst = new Uint8Array(ping.length * 10000);
    for (let i = 0; i < 10000; i++) burst.set(ping, i * ping.length);
    // flood pings without reading anything the client sends for a while
    for (let i = 0; i < 20; i++) await c.write(burst);
    await c.write(serverFrame(1, enc.encode("after the flood")));
    const buf = new Uint8Array(1 << 16);
    for (;;) {
      const n = await c.read(buf);
      if (n === null) break;
      received += n;
    }
  });
  const ws = await connect(srv.url, {
    maxBufferedAmount: 64 * 1024,
    closeTimeout: 300,
  });
  const sends: Promise<void>[] = [];
  for (let i = 0; i < 8; i++) {
    sends.push(ws.sendBinary(new Uint8Array(32 * 1024)));
  }
  let maxBuffered = 0;
  const m = await (async () => {
    for (;;) {
      const msg = await ws.recv();
      maxBuffered = Math.max(maxBuffered, ws.bufferedAmount);
      return msg;
    }
  })();
  assert.equal(m?.text(), "after the flood");
  // 200000 pings: pongs are only queued while under the mark
  assert.ok(
    maxBuffered <= 64 * 1024 + 32 * 1024 + 200,
    `buffered ${maxBuffered}`,
  );
  await Promise.all(sends);
  ws.terminate();
  await srv.close();
  assert.ok(received > 8 * 32 * 1024);
});

Deno.test("a server that never answers the client's close is dropped after closeTimeout", async () => {
  const srv = rawServer(drain); // reads the close frame, never answers, keeps TCP open
  const ws = await connect(srv.url, { closeTimeout: 300 });
  const took = await timed(() => ws.close(1000, "bye"));
  assert.ok(took >= 250 && took < 1500, `took ${took} ms`);
  assert.ok(ws.closed);
  assert.equal(ws.closeCode, 1006);
  await srv.close();
});

Deno.test("a server that closes TCP mid-frame gives ConnectionClosedError 1006", async () => {
  const srv = rawServer(async (c) => {
    const f = serverFrame(2, new Uint8Array(1000));
    await c.write(f.subarray(0, 500));
    c.close();
  });
  const ws = await connect(srv.url);
  await assert.rejects(
    ws.recv(),
    (e) => e instanceof ConnectionClosedError && e.code === 1006 && !e.clean,
  );
  assert.equal(
    await ws.recv().catch((e) => e.constructor),
    ConnectionClosedError,
  );
  await srv.close();
});

Deno.test("a handshake answer with a wrong accept key is refused", async () => {
  const srv = tcpServer(async (c) => {
    await readUpgrade(c);
    await c.write(enc.encode(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n",
    ));
    await drain(c);
  });
  await assert.rejects(
    connect(srv.url),
    (e) =>
      e instanceof HandshakeError && e.status === 101 &&
      /Accept/.test(e.message),
  );
  await srv.close();
});

Deno.test("a 403 answer is a HandshakeError carrying the status", async () => {
  const srv = tcpServer(async (c) => {
    await readUpgrade(c);
    await c.write(
      enc.encode("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"),
    );
    await drain(c);
  });
  await assert.rejects(
    connect(srv.url),
    (e) => e instanceof HandshakeError && e.status === 403,
  );
  await srv.close();
});

Deno.test("invalid UTF-8 fails fast inside a frame that has not fully arrived", async () => {
  let closeFrame: Uint8Array | null = null;
  const srv = rawServer(async (c) => {
    const f = serverFrame(
      1,
      new Uint8Array([0x61, 0x62, 0xff, ...new Uint8Array(1000)]),
    );
    await c.write(f.subarray(0, 10)); // the invalid byte is here; the rest never comes
    const buf = new Uint8Array(64);
    const n = await c.read(buf);
    if (n) closeFrame = buf.slice(0, n);
    c.close();
  });
  const ws = await connect(srv.url);
  await assert.rejects(
    ws.recv(),
    (e) => e instanceof ProtocolError && e.code === 1007,
  );
  assert.ok(closeFrame !== null);
  await srv.close();
});
