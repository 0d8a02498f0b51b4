/**
 * Rate-aware reconnecting: paced re-subscription against a venue that
 * closes with 1008 when subscribed too fast, longer backoff after the
 * caller's "slow" close codes, `Retry-After` on a 429/503 handshake, and
 * the per-host connect budget in a reconnect storm of 50 feeds.
 */
import assert from "node:assert/strict";
import {
  connectBudgetStats,
  type DisconnectInfo,
  HandshakeError,
  reconnecting,
  type ReconnectingFeed,
  setConnectBudget,
} from "../../mod.ts";
import { paceSends } from "../../src/ws/client.ts";
import { openMemory } from "../support/memory_transport.ts";
import { bounded, noTimersLeft } from "../support/timers.ts";
import {
  busiestWindow,
  rateLimitedVenue,
  retryAfterVenue,
  stormVenue,
} from "../support/venues.ts";

const SUBSCRIPTIONS = ["BTC-USD", "ETH-USD", "SOL-USD", "XRP-USD", "ADA-USD"]
  .map((s) => JSON.stringify({ op: "subscribe", args: [s] }));

Deno.test(
  "paced re-subscription survives three reconnects to a venue that closes with 1008 when subscribed faster than its limit; unpaced, the first connection gets 1008",
  bounded(15_000, async () => {
    // At most 3 messages in any 300 ms; 5 subscriptions per connection.
    const venue = rateLimitedVenue({
      max: 3,
      window: 300,
      subscriptions: 5,
      ticks: 2,
    });
    const infos: DisconnectInfo[] = [];
    const feed = reconnecting(venue.url, {
      subscribeRate: 5, // one every 200 ms: at most 2 in any 300 ms
      onConnect: (ws) => {
        // Not awaited one by one: the pacing spreads them, in order.
        for (const s of SUBSCRIPTIONS) ws.sendText(s);
      },
      onDisconnect: (i) => infos.push(i),
      backoff: { initial: 10, jitter: 0 },
      slowCodes: [1008],
    });
    let ticks = 0;
    while (feed.generation < 4 || ticks < 8) {
      const m = await feed.recv();
      assert.ok(m !== null);
      assert.match(m.text(), /^\{"tick":\d\}$/);
      ticks++;
    }
    await feed.close();
    assert.equal(feed.generation, 4);
    assert.equal(venue.seen.completed, 4);
    assert.equal(venue.seen.closes.filter((c) => c === 1008).length, 0);
    assert.deepEqual(infos.map((i) => [i.code, i.reason]), [
      [1012, "Service restart"],
      [1012, "Service restart"],
      [1012, "Service restart"],
    ]);
    assert.ok(venue.seen.busiest <= 3, `${venue.seen.busiest} in a window`);
    const stats = feed.stats();
    assert.deepEqual(stats.reasons, { "close 1012": 3 });
    assert.equal(stats.disconnects, 3);

    // The same feed without pacing: the venue refuses the burst at once.
    const unpaced: DisconnectInfo[] = [];
    const fast = reconnecting(venue.url, {
      onConnect: (ws) => {
        for (const s of SUBSCRIPTIONS) ws.sendText(s);
      },
      onDisconnect: (i) => unpaced.push(i),
      finalCodes: [1008],
    });
    await assert.rejects(fast.recv(), /code 1008 \("Too many requests"\)/);
    assert.equal(unpaced[0].code, 1008);
    await venue.close();
  }),
);

Deno.test(
  "a close code marked slow backs off from backoff.slowInitial, growing by the factor, instead of the normal backoff",
  bounded(15_000, async () => {
    const venue = rateLimitedVenue({
      max: 1,
      window: 10_000,
      subscriptions: 2,
      ticks: 0,
    });
    const infos: DisconnectInfo[] = [];
    const feed = reconnecting(venue.url, {
      onConnect: async (ws) => {
        await ws.sendText("a");
        await ws.sendText("b"); // too fast: 1008
      },
      onDisconnect: (i) => {
        infos.push(i);
        if (infos.length === 2) throw new Error("enough");
      },
      backoff: { initial: 5, slowInitial: 150, factor: 2, jitter: 0 },
      slowCodes: [1008, 1013],
    });
    await assert.rejects(feed.recv(), /enough/);
    assert.deepEqual(infos.map((i) => [i.code, i.delay]), [[1008, 150], [
      1008,
      300,
    ]]);
    await venue.close();
  }),
);

Deno.test(
  "a handshake answered 429 with Retry-After: 1 waits a second before the next attempt, and the HandshakeError carries the header",
  bounded(15_000, async () => {
    const venue = retryAfterVenue({
      status: 429,
      retryAfter: "1",
      refusals: 1,
    });
    const infos: DisconnectInfo[] = [];
    const feed = reconnecting(venue.url, {
      onDisconnect: (i) => infos.push(i),
      backoff: { initial: 10, jitter: 0 },
    });
    const m = await feed.recv();
    assert.equal(m?.text(), '{"tick":1}');
    await feed.close();
    assert.equal(infos.length, 1);
    const [info] = infos;
    assert.ok(info.error instanceof HandshakeError);
    assert.equal(info.error.status, 429);
    assert.equal(info.error.headers.get("retry-after"), "1");
    assert.equal(info.delay, 1000);
    const [first, second] = venue.seen.requests;
    assert.ok(second - first >= 1000, `retried after ${second - first} ms`);
    assert.deepEqual(feed.stats().reasons, { "handshake 429": 1 });
    await venue.close();
  }),
);

Deno.test(
  "a 503 with an HTTP-date Retry-After is honoured up to backoff.maxRetryAfter, and holds every feed to that host",
  bounded(15_000, async () => {
    const later = new Date(Date.now() + 3_600_000).toUTCString();
    const venue = retryAfterVenue({
      status: 503,
      retryAfter: later,
      refusals: 1,
    });
    const infos: DisconnectInfo[] = [];
    const feed = reconnecting(venue.url, {
      onDisconnect: (i) => infos.push(i),
      backoff: { initial: 10, jitter: 0, maxRetryAfter: 300 },
    });
    const pending = feed.recv();
    // While the first feed waits out the Retry-After, the host's budget is
    // held: a second feed that starts now waits too.
    while (infos.length === 0) await new Promise((r) => setTimeout(r, 5));
    assert.equal(infos[0].delay, 300);
    const other = reconnecting(venue.url, { backoff: { initial: 0 } });
    assert.equal((await other.recv())?.text(), '{"tick":1}');
    assert.equal((await pending)?.text(), '{"tick":1}');
    // The server's clock: both later handshakes came 300 ms after the 503.
    const [refused, ...afterwards] = venue.seen.requests;
    assert.equal(afterwards.length, 2);
    for (const t of afterwards) {
      assert.ok(t - refused >= 300, `a handshake ${t - refused} ms after`);
    }
    await Promise.all([feed.close(), other.close()]);
    await venue.close();
  }),
);

Deno.test(
  "a storm: 50 feeds dropped at once come back within the host's budget, never more handshakes per 100 ms window than it allows",
  noTimersLeft(bounded(15_000, async () => {
    const venue = stormVenue();
    setConnectBudget(venue.url, { attempts: 5, window: 100 });
    const feeds: ReconnectingFeed[] = [];
    const gens: number[] = [];
    try {
      for (let i = 0; i < 50; i++) {
        feeds.push(reconnecting(venue.url, {
          onConnect: (ws) => ws.sendText("subscribe"),
          backoff: { initial: 0, jitter: 0 },
        }));
      }
      // Each feed reads two ticks: one per connection, across the drop.
      let ticked = 0; // feeds that got their first connection's tick
      const reading = feeds.map(async (feed, i) => {
        for (let n = 0; n < 2; n++) {
          const m = await feed.recv();
          assert.equal(m?.text(), '{"tick":1}');
          gens[i] = feed.generation;
          if (n === 0) ticked++;
        }
      });
      // Drop them all only once every feed is subscribed and served.
      while (ticked < 50) await new Promise((r) => setTimeout(r, 20));
      const firstWave = venue.seen.handshakes.length;
      assert.equal(firstWave, 50);
      assert.equal(venue.dropAll(), 50);
      await Promise.all(reading);
      assert.equal(venue.seen.handshakes.length, 100);
      assert.ok(gens.every((g) => g === 2), `generations ${gens}`);
      const t = venue.seen.handshakes;
      assert.ok(busiestWindow(t, 100) <= 5, `busiest ${busiestWindow(t, 100)}`);
      // Also over every sliding 100 ms window.
      const sorted = [...t].sort((a, b) => a - b);
      for (let i = 0; i < sorted.length; i++) {
        let k = i;
        while (k < sorted.length && sorted[k] < sorted[i] + 100) k++;
        assert.ok(k - i <= 5, `${k - i} handshakes in [${sorted[i]}, +100)`);
      }
      const stats = connectBudgetStats(venue.url);
      assert.equal(stats.started, 100);
      assert.equal(stats.running, 0);
      assert.equal(stats.waiting, 0);
      assert.ok(feeds.some((f) => f.stats().budgetWaits > 0));
    } finally {
      await Promise.all(feeds.map((f) => f.close()));
      setConnectBudget(venue.url, null);
      await venue.close();
    }
  })),
);

Deno.test("setConnectBudget checks its arguments and applies to a host:port, a URL with its default port, or every host", () => {
  setConnectBudget("Example.COM:443", { attempts: 2, window: 50 });
  assert.equal(connectBudgetStats("wss://example.com/feed").attempts, 2);
  assert.equal(connectBudgetStats("https://example.com").window, 50);
  assert.equal(connectBudgetStats("ws://example.com").attempts, 10); // port 80
  setConnectBudget("*", { attempts: 3, window: 10 });
  assert.equal(connectBudgetStats("ws://example.com").attempts, 3);
  assert.equal(connectBudgetStats("example.com:443").attempts, 2); // its own
  setConnectBudget("*", null);
  setConnectBudget("example.com:443", null);
  assert.equal(connectBudgetStats("example.com:443").attempts, 10);
  // port 80 given: the URL it is parsed into drops it (ws:'s default)
  setConnectBudget("Example.com:80", { attempts: 4, window: 50 });
  assert.equal(connectBudgetStats("ws://example.com/").attempts, 4);
  setConnectBudget("example.com:80", null);
  assert.throws(() => setConnectBudget("example.com", null), /with a port/);
  assert.throws(
    () => setConnectBudget("h:1", { attempts: 0, window: 1 }),
    RangeError,
  );
  assert.throws(
    () => setConnectBudget("h:1", { attempts: 1 } as never),
    /"window" of setConnectBudget\(\) to be given/,
  );
  assert.throws(
    () =>
      setConnectBudget("h:1", { attempts: 1, window: 1, burst: 2 } as never),
    /unknown option "burst"/,
  );
});

Deno.test("subscribeRate and slowCodes are checked by reconnecting()", () => {
  const url = "ws://127.0.0.1:1/";
  assert.throws(() => reconnecting(url, { subscribeRate: 0 }), RangeError);
  assert.throws(
    () => reconnecting(url, { subscribeRate: "5" as never }),
    TypeError,
  );
  assert.throws(() => reconnecting(url, { slowCodes: [999] }), RangeError);
  assert.throws(
    () => reconnecting(url, { backoff: { maxRetryAfter: -1 } }),
    RangeError,
  );
});

Deno.test(
  "paced sends go out one per interval in call order; sends queued while pacing keep their pace after it is turned off; pings are not paced",
  bounded(15_000, async () => {
    const { ws, server } = await openMemory();
    const keep = setInterval(() => {}, 1000);
    try {
      paceSends(ws, 60);
      const t0 = performance.now();
      const done: number[] = [];
      const sends = ["a", "b", "c"].map((s, i) =>
        ws.sendText(s).then(() => done[i] = performance.now() - t0)
      );
      paceSends(ws, 0); // later sends are not paced, but wait behind these
      const late = ws.sendText("d").then(() => performance.now() - t0);
      await ws.ping(); // not paced: it goes before b (see the wire below)
      await Promise.all(sends);
      const d = await late;
      assert.ok(done[1] >= 60 && done[2] >= 120, `paced at ${done}`);
      assert.ok(d >= done[2], "d kept its place in line");
      // On the wire: a (its slot was free), the ping, then b, c, d in order.
      const wire = server.take();
      const ops: number[] = [];
      for (let o = 0; o < wire.length; o += 2 + 4 + (wire[o + 1] & 0x7f)) {
        ops.push(wire[o] & 0x0f);
      }
      assert.deepEqual(ops, [0x1, 0x9, 0x1, 0x1, 0x1]);
      assert.equal(ws.stats().messagesOut, 4);
    } finally {
      clearInterval(keep);
      ws.terminate();
    }
  }),
);

Deno.test(
  "closing a connection with paced sends waiting rejects them and leaves no timer",
  noTimersLeft(async () => {
    const { ws } = await openMemory();
    paceSends(ws, 10_000);
    await ws.sendText("first");
    const waiting = ws.sendText("second");
    ws.terminate();
    await assert.rejects(waiting, /terminated by the caller/);
  }),
);

Deno.test(
  "a feed refused with 429 and Retry-After more often than initialAttempts still connects: the server exists and asked to wait",
  bounded(15_000, async () => {
    const venue = retryAfterVenue({
      status: 429,
      retryAfter: "0",
      refusals: 4,
    });
    const feed = reconnecting(venue.url, {
      backoff: { initial: 5, jitter: 0 },
    });
    assert.equal((await feed.recv())?.text(), '{"tick":1}');
    const s = feed.stats();
    assert.deepEqual(
      [s.attempts, s.failedAttempts, s.generation, s.reasons],
      [5, 4, 1, { "handshake 429": 4 }],
    );
    await feed.close();
    await venue.close();
  }),
);
