/**
 * connectInWorker() end to end, against the feed server in its own process:
 * messages and sends in order through the two rings (text, binary, large,
 * pings), a full receive ring that pauses the Worker without losing a
 * message, messages larger than the ring refused (at configuration, and
 * 1009 at run time), close and terminate from the main side, the server's
 * close, and every failure as a typed error: options, dial, handshake, the
 * Worker itself.
 */
import assert from "node:assert/strict";
import {
  connectInWorker,
  ConnectionClosedError,
  HandshakeError,
  NetworkError,
  ProtocolError,
  WorkerError,
} from "../../mod.ts";
import { workerModule } from "../../src/worker/worker_client.ts";
import {
  buildBlock,
  FRAME_BYTES,
  startFeedServer,
  TICK_BYTES,
} from "../../bench/feed_server.ts";
import { startDenoServer } from "../support/http_servers.ts";
import { rawServer, serverFrame } from "../support/raw_server.ts";
import { bounded } from "../support/timers.ts";
import { moreThanSocketsHold } from "../support/socket_buffers.ts";
import { freePort } from "../support/process.ts";

const dec = new TextDecoder();

function pattern(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + 3) & 0xff;
  return b;
}

Deno.test("text, binary, large messages and pings go through the rings in order, and close() ends cleanly", async () => {
  await using feed = await startFeedServer();
  const c = await connectInWorker(feed.url({ path: "/echo" }), {
    sendRingSize: 1 << 18,
  });
  try {
    const big = pattern(100_000);
    await c.sendText("one");
    await c.sendBinary(new Uint8Array([1, 2, 3]));
    await c.ping(new Uint8Array([9]));
    await c.sendBinary(big);
    await c.sendText("héllo ✓");
    const m1 = await c.recv();
    assert.equal(m1?.type, "text");
    assert.equal(m1?.text(), "one");
    const m2 = await c.recv();
    assert.equal(m2?.type, "binary");
    assert.deepEqual(m2?.data, new Uint8Array([1, 2, 3]));
    const m3 = await c.recv();
    assert.deepEqual(m3?.data, big);
    assert.equal(
      m3?.bytes.buffer instanceof SharedArrayBuffer,
      true,
      "a view of the ring",
    );
    const m4 = c.tryRecv() ?? await c.recv();
    assert.equal(m4?.text(), "héllo ✓");
    assert.equal(m4?.json === undefined, false);
    // a borrowed view (of the ring) echoed back
    const view = m4!.data;
    await c.sendBinary(view);
    const echoed = await c.recv();
    assert.equal(echoed?.type, "binary");
    assert.equal(dec.decode(echoed!.data), "héllo ✓");
    await c.close(1000, "bye");
    assert.equal(c.closed, true);
    assert.equal(c.closeCode, 1000);
    assert.equal(await c.recv(), null);
    assert.throws(() => c.sendText("late"), TypeError);
  } finally {
    c.terminate();
  }
});

Deno.test("a full receive ring pauses the Worker's reads: every message arrives, in order, and the ring never grows", async () => {
  await using feed = await startFeedServer();
  const count = 20_000; // 1.5 MB of ticks through a 4 KiB ring
  const c = await connectInWorker(feed.url({ count }), { ringSize: 4096 });
  try {
    await new Promise((r) => setTimeout(r, 300)); // the main side stalls
    const block = buildBlock();
    let n = 0;
    for (
      let m = c.tryRecv() ?? await c.recv();
      m !== null;
      m = c.tryRecv() ?? await c.recv()
    ) {
      const o = (n % (block.length / FRAME_BYTES)) * FRAME_BYTES + 2;
      assert.deepEqual(m.data, block.subarray(o, o + TICK_BYTES), `tick ${n}`);
      assert.equal(m.bytes.length, 4096 + 256, "the same 4 KiB ring");
      n++;
    }
    assert.equal(n, count);
    assert.equal(c.closeCode, 1000);
  } finally {
    c.terminate();
  }
});

Deno.test("messages larger than half the ring: refused at configuration, and a 1009 ProtocolError when the server sends one", async () => {
  await assert.rejects(
    () =>
      connectInWorker("ws://127.0.0.1:1/", {
        ringSize: 4096,
        maxMessageSize: 3000,
      }),
    (e: Error) =>
      e instanceof RangeError && /maxMessageSize <= 2040/.test(e.message),
  );
  await using feed = await startFeedServer();
  const c = await connectInWorker(feed.url({ path: "/echo" }), {
    ringSize: 4096,
  });
  try {
    await c.sendBinary(pattern(3000)); // echoed back: over the 2040 bytes a record may hold
    await assert.rejects(
      () => c.recv(),
      (e: Error) => e instanceof ProtocolError && e.code === 1009,
    );
    assert.equal(c.closeCode, 1009);
    await assert.rejects(
      () => c.recv(),
      ProtocolError,
      "the same outcome again",
    );
    const small = await connectInWorker(feed.url({ path: "/echo" }), {
      sendRingSize: 1024,
    });
    assert.throws(() => small.sendBinary(pattern(600)), RangeError);
    small.terminate();
  } finally {
    c.terminate();
  }
});

Deno.test("options that cannot cross to a Worker, or are bad, are refused before it starts", async () => {
  const url = "ws://127.0.0.1:1/";
  for (
    const [options, type] of [
      [{ onPing: () => {} }, TypeError],
      [{ transport: {} }, TypeError],
      [{ appPingReply: () => undefined }, TypeError],
      [{
        appHeartbeat: { message: "ping", interval: 1000, isPong: () => true },
      }, TypeError],
      [{ appHeartbeat: { message: () => "ping", interval: 1000 } }, TypeError],
      [{ appHeartbeat: { message: "ping" } }, TypeError],
      [{ ringSize: 3000 }, RangeError],
      [{ ringSize: 512 }, RangeError],
      [{ sendRingSize: "big" }, TypeError],
      [{ bufferCapcity: 1 }, TypeError],
    ] as const
  ) {
    await assert.rejects(
      () => connectInWorker(url, options as never),
      (e: Error) => e instanceof type && /^Expected /.test(e.message),
      JSON.stringify(options),
    );
  }
  await assert.rejects(() => connectInWorker("ftp://x/"), TypeError);
});

Deno.test("options connect() would refuse only in combination are refused before a Worker is started", async () => {
  const real = globalThis.Worker;
  let started = 0;
  globalThis.Worker = class extends real {
    constructor(...args: ConstructorParameters<typeof Worker>) {
      started++;
      super(...args);
    }
  };
  try {
    for (
      const options of [
        { minBufferCapacity: 8192, bufferCapacity: 4096 },
        { compactAt: 70000 },
      ]
    ) {
      await assert.rejects(
        () => connectInWorker("ws://127.0.0.1:1/", options),
        RangeError,
        JSON.stringify(options),
      );
    }
    await assert.rejects(
      () =>
        connectInWorker("ws://u:p@127.0.0.1:1/", {
          headers: { Authorization: "Bearer t" },
        }),
      TypeError,
    );
    assert.equal(started, 0, "a Worker was started for options refused anyway");
  } finally {
    globalThis.Worker = real;
  }
});

Deno.test("close() while the Worker waits for room in a full receive ring ends cleanly: close code 1000, then recv() gives null", async () => {
  await using feed = await startFeedServer();
  const c = await connectInWorker(feed.url({ count: 200_000 }), {
    ringSize: 4096,
  });
  try {
    await new Promise((r) => setTimeout(r, 300)); // the ring fills: the Worker holds a message it cannot put
    await c.close();
    assert.equal(c.closeCode, 1000);
    assert.equal(await c.recv(), null);
  } finally {
    c.terminate();
  }
});

Deno.test(
  "the end of a connection gets through the smallest ring whatever its strings: a long close reason is cut to fit, recv() gives null",
  bounded(20_000, async () => {
    const reason = "\x01".repeat(123); // valid UTF-8, 6 bytes each in JSON
    const server = rawServer(async (conn) => {
      await conn.write(
        serverFrame(1, new TextEncoder().encode("x".repeat(400))),
      );
      const close = new Uint8Array(2 + reason.length);
      close.set([0x03, 0xe8]);
      close.set(new TextEncoder().encode(reason), 2);
      await conn.write(serverFrame(8, close));
      await conn.read(new Uint8Array(1024)); // the client's close frame
      conn.close();
    });
    const c = await connectInWorker(server.url, { ringSize: 1024 });
    try {
      assert.equal((await c.recv())?.byteLength, 400); // the end record must wrap
      assert.equal(await c.recv(), null);
      assert.equal(c.closeCode, 1000);
      assert.ok(c.closeReason.length < reason.length);
      assert.equal(c.closeReason, reason.slice(0, c.closeReason.length));
    } finally {
      c.terminate();
      await server.close();
    }
  }),
);

Deno.test(
  "close() is bounded by closeTimeout when the server stops reading and the close request waits behind sends in the ring: closeCode 1006, recv() gives null",
  bounded(20_000, async () => {
    let stop!: () => void;
    const stopped = new Promise<void>((r) => stop = r);
    const server = rawServer(() => stopped); // takes nothing after the handshake
    const total = moreThanSocketsHold(); // the Worker's sends get stuck
    let ring = 1 << 20;
    while (ring < total + (4 << 20)) ring *= 2; // every send fits in the ring
    const c = await connectInWorker(server.url, {
      closeTimeout: 300,
      sendRingSize: ring,
      maxBufferedAmount: 1 << 16,
    });
    try {
      const chunk = new Uint8Array(1 << 20);
      for (let n = 0; n < total; n += chunk.length) await c.sendBinary(chunk);
      await c.close(); // its request is behind them all
      assert.equal(c.closed, true);
      assert.equal(c.closeCode, 1006);
      assert.equal(await c.recv(), null);
    } finally {
      c.terminate();
      stop();
      await server.close();
    }
  }),
);

Deno.test("the server's close ends the connection after its messages: recv() gives null and the close code", async () => {
  await using feed = await startFeedServer();
  const c = await connectInWorker(feed.url({ count: 5 }));
  let n = 0;
  while ((await c.recv()) !== null) n++;
  assert.equal(n, 5);
  assert.equal(c.closed, true);
  assert.equal(c.closeCode, 1000);
  assert.equal(c.closeReason, "");
});

Deno.test("terminate() ends at once: a pending recv() rejects, a borrowed message is invalidated, sends are refused", async () => {
  await using feed = await startFeedServer();
  const c = await connectInWorker(feed.url({ every: 60_000 })); // one tick at once, then quiet
  const m = await c.recv();
  assert.ok(m !== null && m.byteLength === TICK_BYTES);
  const pending = c.recv();
  assert.throws(() => m.data, TypeError, "released by the next recv()");
  c.terminate();
  await assert.rejects(
    () => pending,
    (e: Error) => e instanceof ConnectionClosedError && e.code === 1006,
  );
  assert.equal(c.closeCode, 1006);
  assert.throws(() => c.sendText("x"), TypeError);
  c.terminate(); // idempotent
});

Deno.test("close() while a recv() is pending: the recv() gets null", async () => {
  await using feed = await startFeedServer();
  const c = await connectInWorker(feed.url({ every: 60_000 }));
  await c.recv();
  const pending = c.recv();
  await c.close();
  assert.equal(await pending, null);
  assert.equal(c.closeCode, 1000);
});

Deno.test("dial and handshake failures in the Worker come back as the same typed errors", async () => {
  const port = freePort();
  await assert.rejects(
    () => connectInWorker(`ws://127.0.0.1:${port}/`),
    (e: Error) =>
      e instanceof NetworkError && e.stage === "connect" &&
      e.host === "127.0.0.1" && e.port === port &&
      e.message.includes(`127.0.0.1:${port}`),
  );
  const server = await startDenoServer();
  try {
    await assert.rejects(
      () =>
        connectInWorker(
          `${server.origin.replace("http", "ws")}/status?code=403`,
        ),
      (e: Error) => e instanceof HandshakeError && e.status === 403,
    );
  } finally {
    await server.close();
  }
  const ac = new AbortController();
  ac.abort(new Error("stop"));
  await assert.rejects(
    () => connectInWorker(`ws://127.0.0.1:${port}/`, { signal: ac.signal }),
    /stop/,
  );
});

Deno.test("a Worker that fails by itself is a WorkerError, before and after the connection opened", async () => {
  const original = workerModule.href;
  try {
    workerModule.href = `data:text/javascript,${
      encodeURIComponent('throw new Error("the module is broken");')
    }`;
    await assert.rejects(
      () => connectInWorker("ws://127.0.0.1:1/"),
      (e: Error) =>
        e instanceof WorkerError && /the module is broken/.test(e.message),
    );
    workerModule.href = `data:text/javascript,${
      encodeURIComponent(
        'self.onmessage = () => { postMessage({ type: "open", protocol: "" }); setTimeout(() => { throw new Error("a late bug"); }, 20); };',
      )
    }`;
    const c = await connectInWorker("ws://127.0.0.1:1/");
    await assert.rejects(
      () => c.recv(),
      (e: Error) => e instanceof WorkerError && /a late bug/.test(e.message),
    );
    assert.equal(c.closed, true);
    assert.equal(c.closeCode, 1006);
  } finally {
    workerModule.href = original;
  }
});

Deno.test("decoded text of a ring message matches TextDecoder", async () => {
  await using feed = await startFeedServer();
  const c = await connectInWorker(feed.url({ path: "/echo" }));
  try {
    const s = "tick ∑ 🚀 " + "x".repeat(200);
    await c.sendText(s);
    const m = await c.recv();
    assert.equal(m?.text(), s);
    assert.equal(dec.decode(m!.copy()), s);
  } finally {
    c.terminate();
  }
});
