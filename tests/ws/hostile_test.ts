/**
 * Hostile servers: each test is bounded in time and must end with a typed
 * error (or the clean close the RFC asks for), with bounded memory and
 * nothing left open: Deno's sanitizers catch sockets, `noTimersLeft` timers.
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
import { noTimersLeft } from "../support/timers.ts";
import { moreThanSocketsHold } from "../support/socket_buffers.ts";

/** Every hostile-server test must also leave no timer behind. */
const test = (name: string, fn: () => Promise<void>) =>
  Deno.test(name, noTimersLeft(fn));

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

test("a server trickling the handshake one byte at a time hits handshakeTimeout", async () => {
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

test("a server trickling a frame one byte at a time is caught by the heartbeat", async () => {
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

test("an endless response head fails the handshake at maxHeadSize", async () => {
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

test("a frame header claiming 2^63 bytes fails with 1002, one claiming 2^62 with 1009, without allocating", async () => {
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

test("a flood of zero-length continuation fragments stops at maxFragments with 1009", async () => {
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

test("a ping flood while the client sends keeps pongs bounded and the feed alive", async () => {
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
  // written by the client; wait (bounded) until the server has read them
  for (let t = 0; received <= 8 * 32 * 1024 && t < 200; t++) await sleep(10);
  assert.ok(received > 8 * 32 * 1024, `server read ${received} bytes`);
  ws.terminate();
  await srv.close();
});

test("a server that never answers the client's close is dropped after closeTimeout", async () => {
  const srv = rawServer(drain); // reads the close frame, never answers, keeps TCP open
  const ws = await connect(srv.url, { closeTimeout: 300 });
  const took = await timed(() => ws.close(1000, "bye"));
  assert.ok(took >= 250 && took < 1500, `took ${took} ms`);
  assert.ok(ws.closed);
  assert.equal(ws.closeCode, 1006);
  await srv.close();
});

test("a server that closes TCP mid-frame gives ConnectionClosedError 1006", async () => {
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

test("a handshake answer with a wrong accept key is refused", async () => {
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

test("a 403 answer is a HandshakeError carrying the status", async () => {
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

test("invalid UTF-8 fails fast inside a frame that has not fully arrived", async () => {
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

test("a server that sends its close frame but reads nothing gets recv() settled within closeTimeout", async () => {
  const hold = Promise.withResolvers<void>();
  const srv = rawServer(async (c) => {
    await sleep(100); // long enough for the client's writes to back up
    await c.write(serverFrame(8, new Uint8Array([0x03, 0xe8])));
    await hold.promise; // never reads, keeps TCP open
  });
  const ws = await connect(srv.url, { closeTimeout: 300 });
  ws.sendBinary(new Uint8Array(32 << 20)).catch(() => {});
  let result: unknown = "pending";
  const recv = ws.recv().then((m) => result = m, (e) => result = e);
  await sleep(1500);
  assert.equal(result, null);
  assert.ok(ws.closed);
  assert.equal(ws.closeCode, 1000);
  await recv;
  hold.resolve();
  await srv.close();
});

test("a server's close code stands when it answers a close but keeps TCP open past closeTimeout", async () => {
  // the client closes first
  const a = rawServer(async (c) => {
    await c.read(new Uint8Array(256));
    await c.write(
      serverFrame(8, new Uint8Array([0x03, 0xe8, ...enc.encode("bye")])),
    );
    await drain(c);
  });
  const wsA = await connect(a.url, { closeTimeout: 200 });
  const took = await timed(() => wsA.close());
  assert.ok(took >= 150 && took < 1500, `took ${took} ms`);
  assert.ok(wsA.closed);
  assert.equal(wsA.closeCode, 1000);
  assert.equal(wsA.closeReason, "bye");
  await a.close();
  // the server closes first: every recv() after says so the same way
  const b = rawServer(async (c) => {
    await c.write(
      serverFrame(8, new Uint8Array([0x0f, 0xa0, ...enc.encode("later")])),
    );
    await drain(c);
  });
  const wsB = await connect(b.url, { closeTimeout: 200 });
  assert.equal(await wsB.recv(), null);
  assert.equal(await wsB.recv(), null);
  assert.equal(wsB.closeCode, 4000);
  assert.equal(wsB.closeReason, "later");
  await b.close();
});

test("terminate() while a protocol error's close frame waits on a stuck write leaves no close timer behind", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--allow-net",
      "--allow-read=/proc/sys/net/ipv4",
      new URL("./_stuck_fail_probe.ts", import.meta.url).pathname,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.ok(out.success);
  const r = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.equal(r.failing, true, "the failure was not waiting on the write");
  assert.equal(r.code, 1002);
  // a close timer armed after terminate() would keep the process for 3 s
  assert.ok(r.lingered < 1500, `the process lived ${r.lingered} ms more`);
});

/** Opcodes of the masked client frames in `b`, in order. */
function clientOpcodes(b: Uint8Array): number[] {
  const ops: number[] = [];
  for (let i = 0; i + 2 <= b.length;) {
    let len = b[i + 1] & 0x7f, hl = 2;
    if (len === 126) [len, hl] = [(b[i + 2] << 8) | b[i + 3], 4];
    else if (len === 127) {
      [len, hl] = [Number(new DataView(b.buffer).getBigUint64(i + 2)), 10];
    }
    ops.push(b[i] & 0x0f);
    i += hl + 4 + len;
  }
  return ops;
}

test("sends waiting their turn when the server closes are refused, never written after the close frame", async () => {
  const wire = Promise.withResolvers<Uint8Array>(); // all the client wrote
  const srv = rawServer(async (c) => {
    await sleep(100); // the client's writes have backed up by now
    await c.write(serverFrame(8, new Uint8Array([0x03, 0xe8])));
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(1 << 16);
    for (let n; (n = await c.read(buf)) !== null;) chunks.push(buf.slice(0, n));
    const all = new Uint8Array(chunks.reduce((s, x) => s + x.length, 0));
    let off = 0;
    for (const x of chunks) all.set(x, (off += x.length) - x.length);
    wire.resolve(all);
  });
  const ws = await connect(srv.url, {
    maxBufferedAmount: 64 * 1024,
    closeTimeout: 500,
  });
  const big = ws.sendBinary(new Uint8Array(moreThanSocketsHold()));
  await sleep(50);
  assert.ok(ws.bufferedAmount > 64 * 1024, "the big write was not stuck");
  const late = ["a", "b", "c"].map((s) => ws.sendText(s));
  assert.equal(await ws.recv(), null);
  assert.equal(ws.closeCode, 1000);
  await big;
  for (const p of late) await assert.rejects(p, ConnectionClosedError);
  assert.deepEqual(clientOpcodes(await wire.promise), [2, 8]);
  await srv.close();
});

test("an echoed borrowed payload that must wait its turn is sent as it was, not as the next message", async () => {
  const big = moreThanSocketsHold();
  let echoed: Uint8Array | null = null;
  const srv = rawServer(async (c) => {
    await c.write(serverFrame(2, new Uint8Array(100).fill(0x61))); // "a" × 100
    await sleep(200); // meanwhile the client's big write is stuck
    // "b" × 1000: wherever "a" sat in the buffer, "b" is read over it
    await c.write(serverFrame(2, new Uint8Array(1000).fill(0x62)));
    await sleep(200);
    // now read what the client sent: the big frame, then the echo
    const buf = new Uint8Array(big + 1024);
    let have = 0;
    const frameLen = (at: number) => {
      const l7 = buf[at + 1] & 0x7f;
      const hl = l7 < 126 ? 2 : l7 === 126 ? 4 : 10;
      const len = l7 < 126
        ? l7
        : l7 === 126
        ? (buf[at + 2] << 8) | buf[at + 3]
        : Number(new DataView(buf.buffer).getBigUint64(at + 2));
      return { hl: hl + 4, len };
    };
    for (;;) {
      const n = await c.read(buf.subarray(have));
      if (n === null) break;
      have += n;
      const first = frameLen(0);
      const second = first.hl + first.len;
      if (have >= second + 2) {
        const f = frameLen(second);
        if (have >= second + f.hl + f.len) {
          const key = buf.subarray(second + f.hl - 4, second + f.hl);
          echoed = buf.slice(second + f.hl, second + f.hl + f.len)
            .map((b, i) => b ^ key[i & 3]);
          break;
        }
      }
    }
  });
  const ws = await connect(srv.url, { maxBufferedAmount: 1024 });
  const a = await ws.recv();
  assert.equal(a?.data[0], 0x61);
  const stuck = ws.sendBinary(new Uint8Array(big)); // fills the socket buffers
  const echo = ws.sendBinary(a!.data); // over the mark: waits its turn
  assert.ok(ws.bufferedAmount > 1024, "the echo did not have to wait");
  let stuckDone = false;
  stuck.then(() => stuckDone = true);
  const b = await ws.recv(); // reads "b" over the bytes "a" was in
  assert.equal(b?.data[0], 0x62);
  assert.ok(
    !stuckDone,
    "the big write was not stuck, so the echo never waited",
  );
  await stuck;
  await echo;
  await sleep(100);
  assert.ok(echoed !== null, "the server did not get the echo");
  assert.deepEqual([...new Set(echoed as Uint8Array)], [0x61]);
  ws.terminate();
  await srv.close();
});
