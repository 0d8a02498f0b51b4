import assert from "node:assert/strict";
import {
  ConnectionClosedError,
  type DisconnectInfo,
  type Message,
  NetworkError,
  reconnecting,
  TimeoutError,
} from "../../mod.ts";
import { acceptKey } from "../../src/codec/ws/handshake.ts";
import { backoffDelay } from "../../src/ws/reconnect.ts";
import { startTickServer } from "../../examples/tick_server.ts";

const SUBSCRIBE = JSON.stringify({ op: "subscribe", channel: "BTC-USD" });
const SERVER = new URL("../../examples/tick_server.ts", import.meta.url);

/** A port nothing listens on (bound, then released). */
function deadPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Matches the NetworkError of a refused connection to 127.0.0.1:`port`. */
function refused(port: number) {
  return (e: unknown) =>
    e instanceof NetworkError && e.stage === "connect" &&
    e.host === "127.0.0.1" && e.port === port &&
    e.cause instanceof Deno.errors.ConnectionRefused;
}

/** The tick server in its own process, so it can be killed for real. */
class ServerProcess {
  #child: Deno.ChildProcess;
  #lines: Promise<Record<string, unknown>[]>;
  port: Promise<number>;

  constructor(port: number) {
    const child = this.#child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        "--allow-net",
        SERVER.pathname,
        "--port",
        String(port),
        "--rate",
        "500",
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const listening = Promise.withResolvers<number>();
    this.port = listening.promise;
    this.#lines = (async () => {
      const events: Record<string, unknown>[] = [];
      let buf = "";
      for await (
        const chunk of child.stdout.pipeThrough(new TextDecoderStream())
      ) {
        buf += chunk;
        let i;
        while ((i = buf.indexOf("\n")) >= 0) {
          const e = JSON.parse(buf.slice(0, i));
          buf = buf.slice(i + 1);
          events.push(e);
          if (e.event === "listening") listening.resolve(e.port);
        }
      }
      listening.reject(new Error("Expected the server to listen, it exited"));
      return events;
    })();
  }

  /** SIGKILL, then the events it printed. */
  async kill(): Promise<Record<string, unknown>[]> {
    try {
      this.#child.kill("SIGKILL");
    } catch { /* already exited */ }
    await this.#child.status;
    return await this.#lines;
  }
}

Deno.test("a reconnecting feed survives its server being killed and restarted three times, re-subscribing on every connection", async () => {
  let server = new ServerProcess(0);
  const port = await server.port;
  const infos: DisconnectInfo[] = [];
  const subscribedOn: number[] = [];
  const feed = reconnecting(`ws://127.0.0.1:${port}/`, {
    onConnect: async (ws, { generation }) => {
      subscribedOn.push(generation);
      await ws.sendText(SUBSCRIBE);
    },
    onDisconnect: (info) => infos.push(info),
    backoff: { initial: 10, max: 80, factor: 2, jitter: 0.5 },
  });
  const serverEvents: Record<string, unknown>[][] = [];
  const firstMessage = new Map<number, Record<string, unknown>>();
  const ticks = new Map<number, number>();
  let killed = 0;
  let restarted = Promise.resolve();
  try {
    for (;;) {
      const m = await feed.recv();
      assert.ok(m !== null);
      const gen = feed.generation;
      const obj = m.json<Record<string, unknown>>();
      if (!firstMessage.has(gen)) firstMessage.set(gen, obj);
      else ticks.set(gen, (ticks.get(gen) ?? 0) + 1);
      if ((ticks.get(gen) ?? 0) < 5 || gen === killed) continue;
      if (gen === 4) break;
      killed = gen; // ticks already buffered still arrive with this generation
      await restarted;
      serverEvents.push(await server.kill());
      // Down for a while (recv() meanwhile gets refused attempts), then back
      // on the same port.
      restarted = (async () => {
        await new Promise((r) => setTimeout(r, 100));
        server = new ServerProcess(port);
        assert.equal(await server.port, port);
      })();
    }
  } finally {
    await feed.close();
    await restarted;
    serverEvents.push(await server.kill());
  }

  assert.equal(feed.generation, 4);
  assert.deepEqual(subscribedOn, [1, 2, 3, 4]);
  // Each server process saw exactly one connection, and it subscribed.
  assert.equal(serverEvents.length, 4);
  for (const events of serverEvents) {
    const subs = events.filter((e) => e.event === "subscribed");
    assert.deepEqual(subs, [{
      event: "subscribed",
      conn: 1,
      channel: "BTC-USD",
    }]);
  }
  // The first message of every generation is its own subscription's answer:
  // nothing of the old connection leaked into the new one.
  for (let g = 1; g <= 4; g++) {
    assert.deepEqual(firstMessage.get(g), {
      type: "subscribed",
      channel: "BTC-USD",
      conn: 1,
    });
    assert.ok(ticks.get(g)! >= 5);
  }
  const drops = infos.filter((i) => i.connected);
  assert.equal(drops.length, 3);
  assert.deepEqual(drops.map((i) => i.generation), [1, 2, 3]);
  for (const d of drops) {
    assert.equal(d.code, 1006);
    assert.equal(d.clean, false);
    assert.ok(d.error instanceof Error);
  }
  const refused = infos.filter((i) => !i.connected);
  assert.ok(refused.length >= 1, "expected refused attempts while down");
  for (const r of refused) {
    assert.ok(
      r.error instanceof NetworkError && r.error.stage === "connect" &&
        r.error.cause instanceof Deno.errors.ConnectionRefused,
      String(r.error),
    );
  }
  for (const i of infos) {
    assert.ok(
      i.delay !== null && i.delay >= 0 && i.delay <= 80,
      `delay ${i.delay}`,
    );
  }
});

Deno.test("backoff waits grow by the factor, stay within max, and maxAttempts stops the feed with the last error", async () => {
  const port = deadPort();
  const calls: number[] = [];
  const infos: DisconnectInfo[] = [];
  const feed = reconnecting(() => {
    calls.push(performance.now());
    return `ws://127.0.0.1:${port}/`;
  }, {
    backoff: { initial: 20, max: 80, factor: 2, jitter: 0 },
    maxAttempts: 5,
    initialAttempts: Infinity, // only maxAttempts bounds the retries
    onDisconnect: (i) => infos.push(i),
  });
  await assert.rejects(feed.recv(), refused(port));
  assert.ok(feed.stopped);
  assert.equal(feed.generation, 0);
  assert.deepEqual(infos.map((i) => i.delay), [20, 40, 80, 80, 80, null]);
  assert.deepEqual(infos.map((i) => i.attempt), [1, 2, 3, 4, 5, 6]);
  assert.ok(infos.every((i) => !i.connected && i.code === 1006));
  assert.equal(calls.length, 6);
  const gaps = calls.slice(1).map((t, i) => t - calls[i]);
  const expected = [20, 40, 80, 80, 80];
  gaps.forEach((g, i) => {
    assert.ok(
      g >= expected[i] - 2,
      `gap ${i} was ${g} ms, expected >= ${expected[i]}`,
    );
    assert.ok(
      g < expected[i] + 400,
      `gap ${i} was ${g} ms, expected ~${expected[i]}`,
    );
  });
  // Once stopped, recv() keeps giving the same outcome and sends are refused.
  await assert.rejects(feed.recv(), refused(port));
  assert.throws(() => feed.sendText("x"), refused(port));
  await feed.close();
});

Deno.test("backoffDelay applies jitter within [base * (1 - jitter), base] and never exceeds max", () => {
  const b = { initial: 100, max: 1000, factor: 3, jitter: 0.5 };
  for (let attempt = 1; attempt <= 12; attempt++) {
    const base = Math.min(1000, 100 * 3 ** (attempt - 1));
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(attempt, b);
      assert.ok(
        d >= Math.floor(base * 0.5) && d <= base,
        `attempt ${attempt}: ${d}`,
      );
    }
  }
  assert.equal(backoffDelay(2, { jitter: 0 }), 200); // defaults: 100, x2
  assert.equal(backoffDelay(30, { jitter: 0 }), 10_000); // default max
  assert.equal(backoffDelay(3, { jitter: 1 }, () => 0.75), 100);
  assert.throws(() => backoffDelay(0), RangeError);
  assert.throws(() => backoffDelay(1, { jitter: 2 }), RangeError);
});

Deno.test("aborting the signal makes a pending recv() reject with the reason and closes the connection with 1000", async () => {
  const closes: unknown[] = [];
  await using server = await startTickServer({
    rate: 0,
    onEvent: (e) => e.event === "closed" && closes.push(e.code),
  });
  const ac = new AbortController();
  const feed = reconnecting(server.url, {
    onConnect: (ws) => ws.sendText(SUBSCRIBE),
    signal: ac.signal,
  });
  const ack = await feed.recv();
  assert.equal(ack?.json<{ type: string }>().type, "subscribed");
  const ws = feed.ws!;
  const pending = feed.recv();
  setTimeout(() => ac.abort(new Error("shutting down")), 20);
  await assert.rejects(pending, { message: "shutting down" });
  assert.ok(feed.stopped);
  assert.ok(ws.closed);
  assert.equal(ws.closeCode, 1000);
  assert.equal(feed.ws, null);
  await assert.rejects(feed.recv(), { message: "shutting down" });
  await feed.close();
  while (closes.length === 0) await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(closes, [1000]);
});

Deno.test("aborting the signal cancels a backoff wait at once", async () => {
  const ac = new AbortController();
  const infos: DisconnectInfo[] = [];
  const feed = reconnecting(`ws://127.0.0.1:${deadPort()}/`, {
    backoff: { initial: 10_000, jitter: 0 },
    onDisconnect: (i) => infos.push(i),
    signal: ac.signal,
  });
  const t0 = performance.now();
  const pending = feed.recv();
  setTimeout(() => ac.abort(), 50);
  await assert.rejects(pending, { name: "AbortError" });
  assert.ok(performance.now() - t0 < 2000);
  assert.deepEqual(infos.map((i) => i.delay), [10_000]);
});

Deno.test("an already aborted signal stops the feed before it connects", async () => {
  const feed = reconnecting("ws://127.0.0.1:1/", {
    signal: AbortSignal.abort(new Error("never")),
  });
  assert.ok(feed.stopped);
  await assert.rejects(feed.recv(), { message: "never" });
});

Deno.test("a close code marked final stops the feed with a ConnectionClosedError carrying code and reason", async () => {
  const subscribed: unknown[] = [];
  const closes: unknown[] = [];
  await using server = await startTickServer({
    onEvent: (e) => {
      if (e.event === "subscribed") subscribed.push(e);
      if (e.event === "closed") closes.push(e.code);
    },
  });
  const infos: DisconnectInfo[] = [];
  const feed = reconnecting(server.url, {
    onConnect: (ws) =>
      ws.sendText(
        JSON.stringify({ op: "subscribe", channel: "X", token: "revoked" }),
      ),
    onDisconnect: (i) => infos.push(i),
    finalCodes: [4001],
    backoff: { initial: 1 },
  });
  const err = await feed.recv().then(
    () => assert.fail("expected recv() to reject"),
    (e) => e,
  );
  assert.ok(err instanceof ConnectionClosedError);
  assert.equal(err.code, 4001);
  assert.equal(err.reason, "token revoked");
  assert.equal(err.clean, true);
  assert.match(err.message, /4001.*final/);
  assert.equal(infos.length, 1);
  assert.equal(infos[0].code, 4001);
  assert.equal(infos[0].delay, null);
  assert.equal(feed.generation, 1);
  assert.equal(subscribed.length, 0);
  await feed.close();
  while (closes.length === 0) await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(closes, [4001]);
});

Deno.test("a close code not marked final (1012 service restart) reconnects and is reported with its reason", async () => {
  await using server = await startTickServer({ rate: 1000, dropEvery: 80 });
  const infos: DisconnectInfo[] = [];
  const feed = reconnecting(server.url, {
    onConnect: (ws) => ws.sendText(SUBSCRIBE),
    onDisconnect: (i) => infos.push(i),
    finalCodes: [4001],
    backoff: { initial: 5, max: 20 },
  });
  while (feed.generation < 3) {
    const m = await feed.recv();
    assert.ok(m !== null);
  }
  await feed.close();
  assert.equal(await feed.recv(), null);
  assert.equal(infos.length, 2);
  for (const i of infos) {
    assert.equal(i.connected, true);
    assert.equal(i.code, 1012);
    assert.equal(i.reason, "service restart");
    assert.equal(i.clean, true);
    assert.equal(i.error, null);
  }
});

Deno.test("onConnect may read its acknowledgement from the new connection, and the feed returns only what follows", async () => {
  await using server = await startTickServer({ rate: 1000 });
  const acks: string[] = [];
  const feed = reconnecting(server.url, {
    onConnect: async (ws) => {
      await ws.sendText(SUBSCRIBE);
      const ack = await ws.recv();
      acks.push(ack!.json<{ type: string }>().type);
    },
  });
  const m = await feed.recv();
  assert.deepEqual(acks, ["subscribed"]);
  assert.equal(m?.json<{ s: string }>().s, "BTC-USD");
  await feed.close();
});

Deno.test("an onConnect that throws counts as a failed attempt and the next attempt goes ahead", async () => {
  await using server = await startTickServer({ rate: 1000 });
  const infos: DisconnectInfo[] = [];
  let calls = 0;
  const feed = reconnecting(server.url, {
    onConnect: async (ws) => {
      if (++calls === 1) throw new Error("subscribe refused");
      await ws.sendText(SUBSCRIBE);
    },
    onDisconnect: (i) => infos.push(i),
    backoff: { initial: 5 },
  });
  const m = await feed.recv();
  assert.equal(m?.json<{ type: string }>().type, "subscribed");
  assert.equal(calls, 2);
  assert.equal(feed.generation, 1);
  assert.equal(infos.length, 1);
  assert.equal(infos[0].connected, false);
  assert.equal(infos[0].error?.message, "subscribe refused");
  await feed.close();
});

Deno.test("onDisconnect can stop the feed by throwing, and recv() rejects with what it threw", async () => {
  const feed = reconnecting(`ws://127.0.0.1:${deadPort()}/`, {
    onDisconnect: (i) => {
      throw new Error(`giving up on ${i.code}`);
    },
  });
  await assert.rejects(feed.recv(), { message: "giving up on 1006" });
  assert.ok(feed.stopped);
});

Deno.test("close() resolves a pending recv() with null, and sends are refused before the first connection and after close", async () => {
  await using server = await startTickServer({ rate: 0 });
  const feed = reconnecting(server.url, {
    onConnect: (ws) => ws.sendText(SUBSCRIBE),
  });
  assert.equal(feed.ws, null);
  assert.throws(() => feed.sendText("early"), ConnectionClosedError);
  await feed.recv(); // the ack
  const pending = feed.recv();
  await assert.rejects(feed.recv(), TypeError); // one recv() at a time
  await feed.close(4000, "bye");
  assert.equal(await pending, null);
  assert.equal(await feed.recv(), null);
  assert.throws(() => feed.sendText("late"), TypeError);
  await feed.close(); // idempotent
});

Deno.test("owned iteration yields copies across reconnects and leaving the loop closes the feed", async () => {
  await using server = await startTickServer({ rate: 1000, dropEvery: 60 });
  const feed = reconnecting(server.url, {
    onConnect: (ws) => ws.sendText(SUBSCRIBE),
    backoff: { initial: 5 },
  });
  const kept: { gen: number; text: string; data: Uint8Array }[] = [];
  for await (const m of feed) {
    kept.push({ gen: feed.generation, text: m.text(), data: m.data });
    if (feed.generation === 2 && kept.length > 3) break;
  }
  assert.ok(feed.stopped);
  assert.equal(kept.filter((k) => k.text.includes("subscribed")).length, 2);
  for (const k of kept) assert.equal(new TextDecoder().decode(k.data), k.text);
});

Deno.test("bad arguments throw TypeError or RangeError at the call", () => {
  const url = "ws://127.0.0.1:1/";
  assert.throws(() => reconnecting("not a url"), TypeError);
  assert.throws(() => reconnecting("ftp://example.com/"), TypeError);
  assert.throws(() => reconnecting(42 as unknown as string), TypeError);
  assert.throws(
    () => reconnecting(url, { connect: { transport: {} as Deno.Conn } }),
    TypeError,
  );
  assert.throws(
    () => reconnecting(url, { onConnect: 1 as unknown as () => void }),
    TypeError,
  );
  assert.throws(() => reconnecting(url, { finalCodes: [999] }), RangeError);
  assert.throws(() => reconnecting(url, { finalCodes: [4000.5] }), RangeError);
  assert.throws(() => reconnecting(url, { maxAttempts: -1 }), RangeError);
  assert.throws(
    () => reconnecting(url, { backoff: { initial: -1 } }),
    RangeError,
  );
  assert.throws(
    () => reconnecting(url, { backoff: { initial: 500, max: 100 } }),
    RangeError,
  );
  assert.throws(
    () => reconnecting(url, { backoff: { factor: 0.5 } }),
    RangeError,
  );
  assert.throws(
    () => reconnecting(url, { backoff: { jitter: 1.5 } }),
    RangeError,
  );
  assert.throws(
    () => reconnecting(url, { signal: {} as AbortSignal }),
    TypeError,
  );
  const feed = reconnecting(url);
  assert.throws(() => feed.close(1005), RangeError);
  assert.throws(() => feed.close(1000, "x".repeat(124)), RangeError);
  assert.equal(feed.stopped, false);
});

Deno.test("connect options that connect() refuses are refused by reconnecting() itself, naming the option", () => {
  assert.throws(
    () =>
      reconnecting("ws://127.0.0.1:1/", { connect: { handshakeTimeout: -5 } }),
    (e) =>
      e instanceof RangeError && /"connect\.handshakeTimeout"/.test(e.message),
  );
  assert.throws(
    () =>
      reconnecting("ws://127.0.0.1:1/", {
        connect: { bufferCapcity: 1 } as never,
      }),
    (e) =>
      e instanceof TypeError && /did you mean "bufferCapacity"/.test(e.message),
  );
  assert.throws(
    () => reconnecting("ws://127.0.0.1:1/", { maxAttempt: 3 } as never),
    (e) =>
      e instanceof TypeError && /unknown option "maxAttempt"/.test(e.message),
  );
  assert.throws(
    () =>
      reconnecting("ws://127.0.0.1:1/", { backoff: { initial: "5" } as never }),
    (e) =>
      e instanceof TypeError &&
      /"backoff\.initial" to be a number/.test(e.message),
  );
});

Deno.test("a URL function returning a URL connect() refuses stops the feed at the first recv() instead of being retried", async () => {
  let calls = 0;
  const bad = reconnecting(() => {
    calls++;
    return "nope://x/";
  });
  await assert.rejects(bad.recv(), TypeError);
  assert.equal(calls, 1);
});

Deno.test("a feed that never connects gives up after initialAttempts (3 by default) with the NetworkError naming host and port", async () => {
  const port = deadPort();
  const infos: DisconnectInfo[] = [];
  const feed = reconnecting(`ws://127.0.0.1:${port}/`, {
    backoff: { initial: 10, jitter: 0 },
    onDisconnect: (i) => infos.push(i),
  });
  await assert.rejects(feed.recv(), refused(port));
  assert.ok(feed.stopped);
  assert.deepEqual(infos.map((i) => i.delay), [10, 20, null]);
  let tries = 0;
  const two = reconnecting(() => {
    tries++;
    return `ws://127.0.0.1:${port}/`;
  }, { initialAttempts: 2, backoff: { initial: 10, jitter: 0 } });
  await assert.rejects(two.recv(), refused(port));
  assert.equal(tries, 2);
  assert.throws(
    () => reconnecting(`ws://127.0.0.1:${port}/`, { initialAttempts: 0.5 }),
    RangeError,
  );
});

Deno.test("a message is borrowed like WsClient.recv(): the same object is reused for the next message of a connection", async () => {
  await using server = await startTickServer({ rate: 2000 });
  const feed = reconnecting(server.url, {
    onConnect: (ws) => ws.sendText(SUBSCRIBE),
  });
  const a: Message | null = await feed.recv();
  const first = a!.text();
  const b = await feed.recv();
  assert.equal(a, b);
  assert.notEqual(b!.text(), first);
  await feed.close();
});

Deno.test("a heartbeat timeout on a server gone silent is a disconnect with a TimeoutError, followed by a reconnect", async () => {
  // Completes the handshake, then never sends anything (not even a pong).
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) {
      conns.push(conn);
      const buf = new Uint8Array(4096);
      const n = await conn.read(buf);
      const head = new TextDecoder().decode(buf.subarray(0, n ?? 0));
      const key = head.match(/sec-websocket-key: *(\S+)/i)![1];
      await conn.write(new TextEncoder().encode(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n" +
          `Connection: Upgrade\r\nSec-WebSocket-Accept: ${
            acceptKey(key)
          }\r\n\r\n`,
      ));
      (async () => {
        try {
          while ((await conn.read(buf)) !== null) { /* discard pings */ }
        } catch { /* closed */ }
      })();
    }
  })();
  const infos: DisconnectInfo[] = [];
  const feed = reconnecting(
    `ws://127.0.0.1:${(listener.addr as Deno.NetAddr).port}/`,
    {
      connect: { heartbeat: { interval: 20, timeout: 60 } },
      onDisconnect: (i) => infos.push(i),
      backoff: { initial: 5 },
      maxAttempts: 1,
    },
  );
  const t0 = performance.now();
  try {
    await assert.rejects(feed.recv(), TimeoutError);
  } finally {
    await feed.close();
    listener.close();
    await accepting;
    for (const c of conns) {
      try {
        c.close();
      } catch { /* closed by the client */ }
    }
  }
  assert.ok(performance.now() - t0 < 3000);
  assert.equal(feed.generation, 2);
  assert.equal(conns.length, 2);
  assert.deepEqual(infos.map((i) => [i.connected, i.code, i.delay !== null]), [
    [true, 1006, true],
    [true, 1006, false],
  ]);
  assert.ok(infos.every((i) => i.error instanceof TimeoutError));
});

Deno.test("close() during a connect attempt stuck in the handshake cancels it promptly and leaves nothing open", async () => {
  // Accepts TCP, never answers the handshake.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) conns.push(conn);
  })();
  const feed = reconnecting(
    `ws://127.0.0.1:${(listener.addr as Deno.NetAddr).port}/`,
  );
  const pending = feed.recv();
  while (conns.length === 0) await new Promise((r) => setTimeout(r, 5));
  const t0 = performance.now();
  await feed.close();
  assert.equal(await pending, null);
  assert.ok(performance.now() - t0 < 1000);
  assert.equal(feed.generation, 0);
  listener.close();
  await accepting;
  // The client hung up: past the handshake request, the server side reads
  // end of stream.
  const buf = new Uint8Array(4096);
  let total = 0;
  for (let n; (n = await conns[0].read(buf)) !== null;) total += n;
  assert.ok(total > 0);
  conns[0].close();
});
