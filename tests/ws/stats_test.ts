/**
 * Statistics asserted exactly: known traffic gives known counters, on a
 * WebSocket connection, a reconnecting feed, an HTTP connection and a pool.
 */
import assert from "node:assert/strict";
import {
  ClientPool,
  connect,
  HttpConnection,
  matchText,
  reconnecting,
} from "../../mod.ts";
import { openMemory } from "../support/memory_transport.ts";
import { serverFrame } from "../support/raw_server.ts";
import { testTls } from "../support/tls.ts";
import { deadPort } from "../support/ports.ts";
import {
  delay,
  type RawConn,
  startRawServer,
} from "../support/http_servers.ts";
import { bounded, noTimersLeft } from "../support/timers.ts";

const encoder = new TextEncoder();
const text = (s: string) => serverFrame(0x1, encoder.encode(s));

Deno.test(
  "a connection's stats count exactly the frames, messages and bytes of known traffic both ways",
  noTimersLeft(async () => {
    const { ws, server } = await openMemory();
    const before = ws.stats();
    assert.deepEqual(
      { ...before, openFor: 0, connect: null },
      {
        messagesIn: 0,
        bytesIn: 0,
        framesIn: 0,
        messagesOut: 0,
        bytesOut: 0,
        framesOut: 0,
        pingsIn: 0,
        pongsIn: 0,
        pingsOut: 0,
        pongsOut: 0,
        rtt: null,
        appPingsOut: 0,
        appPongsIn: 0,
        appPingsIn: 0,
        appRtt: null,
        sinceLastMessage: null,
        openFor: 0,
        connect: null,
      },
    );
    // In: text "hello" (7 bytes on the wire), binary [1,2,3] (5), a ping
    // "p1" (4), 200 bytes of text (2 + 2-byte length + 200 = 204).
    server.send(text("hello"));
    server.send(serverFrame(0x2, new Uint8Array([1, 2, 3])));
    server.send(serverFrame(0x9, encoder.encode("p1")));
    server.send(text("x".repeat(200)));
    assert.equal((await ws.recv())?.text(), "hello");
    assert.equal(ws.tryRecv()?.byteLength, 3);
    assert.equal(ws.tryRecv()?.byteLength, 200); // the ping was answered on the way
    // Out: text "abc" (2 + 4 mask + 3 = 9), binary of 4 (10), a ping (6);
    // the pong to "p1" went first (2 + 4 + 2 = 8).
    await ws.sendText("abc");
    await ws.sendBinary(new Uint8Array(4));
    await ws.ping();
    assert.equal(server.take().length, 8 + 9 + 10 + 6);
    // In again: the pong (2), text "end" (5).
    server.send(serverFrame(0xa, new Uint8Array(0)));
    server.send(text("end"));
    assert.equal((await ws.recv())?.text(), "end");
    const s = ws.stats();
    assert.ok(s.rtt !== null && s.rtt >= 0);
    assert.ok(s.sinceLastMessage !== null && s.sinceLastMessage >= 0);
    assert.ok(s.openFor >= s.sinceLastMessage);
    assert.deepEqual(s.connect, {
      tcp: 0,
      tls: 0,
      handshake: s.connect.handshake,
    });
    assert.ok(s.connect.handshake >= 0);
    assert.deepEqual(
      { ...s, rtt: 0, sinceLastMessage: 0, openFor: 0, connect: null },
      {
        messagesIn: 4,
        bytesIn: 7 + 5 + 4 + 204 + 2 + 5,
        framesIn: 6,
        messagesOut: 2,
        bytesOut: 8 + 9 + 10 + 6,
        framesOut: 4,
        pingsIn: 1,
        pongsIn: 1,
        pingsOut: 1,
        pongsOut: 1,
        rtt: 0,
        appPingsOut: 0,
        appPongsIn: 0,
        appPingsIn: 0,
        appRtt: null,
        sinceLastMessage: 0,
        openFor: 0,
        connect: null,
      },
    );
    // The close frame counts as a frame out (2 + 4 + 2 bytes for 1000).
    const closing = ws.close();
    await server.written(8);
    server.send(serverFrame(0x8, new Uint8Array([0x03, 0xe8])));
    server.end();
    await closing;
    const c = ws.stats();
    assert.equal(c.framesOut, 5);
    assert.equal(c.bytesOut, 33 + 8);
    assert.equal(c.framesIn, 7);
    assert.equal(c.bytesIn, 227 + 4);
  }),
);

Deno.test(
  "time since the last message grows while nothing arrives, from the read that carried it",
  bounded(15_000, async () => {
    const { ws, server } = await openMemory();
    server.send(text("a"));
    await ws.recv();
    await delay(60);
    const s = ws.stats().sinceLastMessage!;
    assert.ok(s >= 60, `${s} ms`);
    server.send(text("b"));
    await ws.recv();
    assert.ok(ws.stats().sinceLastMessage! < s);
    ws.terminate();
  }),
);

Deno.test(
  "application heartbeat counters: pings sent, answers recognised and hidden, server pings answered",
  bounded(15_000, async () => {
    const keep = setInterval(() => {}, 1000);
    const { ws, server } = await openMemory({
      appHeartbeat: {
        message: "ping",
        interval: 30,
        isPong: matchText("pong"),
      },
      appPingReply: (m) => m.text() === "srv-ping" ? "srv-pong" : undefined,
    });
    try {
      await server.written(2 + 4 + 4); // the first heartbeat: masked "ping"
      server.take();
      server.send(text("pong"));
      server.send(text("srv-ping"));
      server.send(text("srv-ping"));
      server.send(text("data"));
      assert.equal((await ws.recv())?.text(), "data");
      await server.written(2 * (2 + 4 + 8)); // two masked "srv-pong"
      const s = ws.stats();
      assert.equal(s.appPingsOut, 1);
      assert.equal(s.appPongsIn, 1);
      assert.equal(s.appPingsIn, 2);
      assert.equal(s.messagesIn, 4);
      assert.equal(s.messagesOut, 3);
      assert.ok(s.appRtt !== null && s.appRtt >= 0);
    } finally {
      clearInterval(keep);
      ws.terminate();
    }
  }),
);

Deno.test(
  "connect timing splits DNS/TCP, TLS and the handshake: no TLS time for ws:, some for wss:",
  bounded(15_000, async () => {
    const tls = await testTls();
    const ac = new AbortController();
    const handler = (req: Request) => {
      const { socket, response } = Deno.upgradeWebSocket(req);
      socket.onopen = () => socket.send("hi");
      return response;
    };
    const plain = Deno.serve(
      { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
      handler,
    );
    const secure = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      signal: ac.signal,
      cert: tls.cert,
      key: tls.key,
      onListen() {},
    }, handler);
    try {
      const a = await connect(`ws://127.0.0.1:${plain.addr.port}/`);
      const b = await connect(`wss://localhost:${secure.addr.port}/`, {
        caCerts: [tls.caCert],
      });
      for (const ws of [a, b]) assert.equal((await ws.recv())?.text(), "hi");
      const ta = a.stats().connect, tb = b.stats().connect;
      assert.ok(ta.tcp > 0 && ta.handshake > 0, JSON.stringify(ta));
      assert.equal(ta.tls, 0);
      assert.ok(
        tb.tcp > 0 && tb.tls > 0 && tb.handshake > 0,
        JSON.stringify(tb),
      );
      await Promise.all([a.close(), b.close()]);
    } finally {
      ac.abort();
      await Promise.all([plain.finished, secure.finished]);
    }
  }),
);

Deno.test(
  "a feed's stats count its connects, disconnects by reason, failed attempts and time connected",
  bounded(15_000, async () => {
    // Each connection gets one tick and is closed with 1012, twice; then
    // ticks until the test closes the feed.
    let connections = 0;
    const ac = new AbortController();
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
      (req) => {
        const { socket, response } = Deno.upgradeWebSocket(req);
        const n = ++connections;
        socket.onopen = () => {
          socket.send(`{"conn":${n}}`);
          if (n <= 2) socket.close(1012, "restart");
        };
        return response;
      },
    );
    const feed = reconnecting(`ws://127.0.0.1:${server.addr.port}/`, {
      backoff: { initial: 5, jitter: 0 },
    });
    try {
      const empty = feed.stats();
      assert.deepEqual(empty, {
        generation: 0,
        connected: false,
        attempts: 0,
        failedAttempts: 0,
        disconnects: 0,
        reasons: {},
        lastDisconnect: null,
        connectedFor: 0,
        uptime: 0,
        budgetWaits: 0,
        budgetWaited: 0,
        ws: null,
      });
      for (let i = 1; i <= 3; i++) {
        assert.equal((await feed.recv())?.text(), `{"conn":${i}}`);
      }
      await delay(20);
      const s = feed.stats();
      assert.equal(s.generation, 3);
      assert.equal(s.connected, true);
      assert.equal(s.attempts, 3);
      assert.equal(s.failedAttempts, 0);
      assert.equal(s.disconnects, 2);
      assert.deepEqual(s.reasons, { "close 1012": 2 });
      assert.equal(s.lastDisconnect?.code, 1012);
      assert.equal(s.lastDisconnect?.reason, "restart");
      assert.equal(s.lastDisconnect?.generation, 2);
      assert.ok(s.connectedFor >= 20, `${s.connectedFor}`);
      assert.ok(s.uptime >= s.connectedFor);
      assert.equal(s.ws?.messagesIn, 1);
      assert.equal(s.ws?.bytesIn, 2 + 10); // {"conn":3}
    } finally {
      await feed.close();
      ac.abort();
      await server.finished;
    }
    assert.equal(feed.stats().connected, false);
    assert.equal(feed.stats().ws, null);

    // Failed attempts are counted by reason too.
    const port = deadPort();
    const dead = reconnecting(`ws://127.0.0.1:${port}/`, {
      backoff: { initial: 1, jitter: 0 },
      initialAttempts: 2,
    });
    await assert.rejects(dead.recv());
    const d = dead.stats();
    assert.equal(d.attempts, 2);
    assert.equal(d.failedAttempts, 2);
    assert.equal(d.disconnects, 0);
    assert.deepEqual(d.reasons, { "network connect": 2 });
  }),
);

async function keepAlive(c: RawConn) {
  for (let r = await c.readRequest(); r !== null; r = await c.readRequest()) {
    await c.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
  }
}

Deno.test(
  "an HTTP connection counts requests, dials, reuses and stale retries exactly, with the last latency",
  bounded(15_000, async () => {
    // First socket: answers one request, then closes on the next without
    // answering (the keep-alive race); later sockets keep alive.
    const server = startRawServer(async (c) => {
      if (c.index === 0) {
        if (!await c.readRequest()) return;
        await c.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
        await c.readRequest();
        return;
      }
      await keepAlive(c);
    });
    try {
      using conn = new HttpConnection(server.origin, { idleTimeout: 0 });
      assert.deepEqual(conn.stats(), {
        requests: 0,
        dials: 0,
        reuses: 0,
        staleRetries: 0,
        busy: false,
        connected: false,
        lastLatency: null,
      });
      await conn.get("/1"); // socket 0
      await conn.get("/2"); // socket 0 is stale: retried on socket 1
      await conn.get("/3"); // socket 1, reused
      await conn.get("/4"); // socket 1, reused
      const s = conn.stats();
      assert.ok(s.lastLatency !== null && s.lastLatency > 0);
      assert.deepEqual({ ...s, lastLatency: 0 }, {
        requests: 4,
        dials: 2,
        reuses: 2,
        staleRetries: 1,
        busy: false,
        connected: true,
        lastLatency: 0,
      });
    } finally {
      await server.close();
    }
  }),
);

Deno.test(
  "a pool's stats sum its connections, closed ones included, and show who is in use, idle and waiting",
  bounded(15_000, async () => {
    const server = startRawServer(keepAlive);
    try {
      const pool = new ClientPool(server.origin, { connections: 2 });
      const a = await pool.acquire();
      const b = await pool.acquire();
      const waiting = pool.acquire();
      await delay(0);
      let s = pool.stats();
      assert.deepEqual(
        [s.inUse, s.idle, s.waiting, s.size, s.requests],
        [2, 0, 1, 2, 0],
      );
      await a.get("/a1");
      await a.get("/a2");
      await b.get("/b1");
      a.release();
      const c = await waiting;
      await c.get("/c1"); // a's connection, reused
      c.connection.close(); // its user closes it: the pool replaces it
      c.release();
      b.release();
      for (let i = 0; i < 3; i++) await pool.get("/p"); // one idle connection
      s = pool.stats();
      assert.ok(s.lastLatency !== null && s.lastLatency > 0);
      assert.deepEqual({ ...s, lastLatency: 0 }, {
        requests: 7,
        dials: 2,
        reuses: 5, // a2, c1, and the three /p on b's socket
        staleRetries: 0,
        inUse: 0,
        idle: 1,
        waiting: 0,
        size: 1,
        lastLatency: 0,
      });
      await pool.close();
      const after = pool.stats();
      assert.deepEqual([after.requests, after.dials, after.size], [7, 2, 0]);
    } finally {
      await server.close();
    }
  }),
);
