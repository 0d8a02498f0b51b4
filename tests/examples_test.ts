/**
 * Every example in examples/ runs here as its own program, with a short
 * duration, and its output is checked: examples cannot rot.
 */
import assert from "node:assert/strict";
import { connect } from "../mod.ts";
import { startFeedServer } from "../bench/feed_server.ts";
import { Example } from "./examples/_spawn.ts";

Deno.test("examples/market_feed.ts subscribes, reconnects after each 1012 drop and prints stats lines", async () => {
  const ex = new Example("market_feed.ts", [
    "--duration",
    "2600",
    "--drop-every",
    "700",
    "--rate",
    "1000",
  ]);
  const { code, stdout, stderr } = await ex.exit();
  assert.equal(code, 0, stderr);
  assert.match(stdout, /^connected #1, subscribed to BTC-USD$/m);
  assert.match(stdout, /^connected #2, subscribed to BTC-USD$/m);
  assert.match(
    stdout,
    /^disconnected \(1012 service restart\); attempt \d+ in \d+ ms$/m,
  );
  const stats = ex.lines.filter((l) => l.startsWith("stats gen "));
  assert.ok(stats.length >= 2, stdout);
  assert.match(
    stats.join("\n"),
    /\| [1-9]\d* msg\/s \| .* \| last BTC-USD \d+\.\d\d\/\d+\.\d\d \|/,
  );
  const done = stdout.match(
    /^done: (\d+) messages over (\d+) connections, (\d+) disconnects \(duration elapsed\)$/m,
  );
  assert.ok(done, stdout);
  assert.ok(Number(done[1]) > 500, done[0]);
  assert.ok(Number(done[2]) >= 3, done[0]);
});

Deno.test("examples/market_feed.ts runs against the raw-TCP bench feed server and reconnects after each of its clean closes", async () => {
  await using feed = await startFeedServer();
  const ex = new Example("market_feed.ts", [
    "--url",
    feed.url({ ms: 300 }),
    "--duration",
    "3000", // ten server closes' worth: at least two connections even on a loaded machine
  ]);
  const { code, stdout, stderr } = await ex.exit();
  assert.equal(code, 0, stderr);
  assert.match(stdout, /^disconnected \(1000\); attempt 1 in \d+ ms$/m);
  const done = stdout.match(/^done: (\d+) messages over (\d+) connections/m);
  assert.ok(done, stdout);
  assert.ok(Number(done[1]) > 10_000, done[0]);
  assert.ok(Number(done[2]) >= 2, done[0]);
});

Deno.test("examples/echo.ts echoes text and binary messages without a mismatch and closes with 1000", async () => {
  const ex = new Example("echo.ts", ["--count", "400", "--size", "100"]);
  const { code, stdout, stderr } = await ex.exit();
  assert.equal(code, 0, stderr);
  assert.match(stdout, /^connected to ws:\/\/127\.0\.0\.1:\d+\/ /m);
  assert.match(
    stdout,
    /^echoed 400 messages of 100 bytes, 0 mismatches; rtt p50 [\d.]+ ms p99 [\d.]+ ms max [\d.]+ ms$/m,
  );
  assert.match(stdout, /^closed with code 1000$/m);
});

Deno.test("examples/edge_fanout.ts relays upstream ticks to WebSocket and server-sent-event clients and serves its page", async () => {
  const ex = new Example("edge_fanout.ts", [
    "--port",
    "0",
    "--rate",
    "200",
    "--duration",
    "20000",
  ]);
  let result;
  try {
    const [, base] = await ex.waitFor(/^listening on (http:\/\/\S+)$/);
    await ex.waitFor(/^upstream #1 connected, subscribed to BTC-USD$/);

    const page = await fetch(base);
    assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
    assert.match(await page.text(), /<ul id="ticks"><\/ul>/);

    // A WebSocket client (this library's own) gets ticks.
    const ws = await connect(new URL("/ws", base));
    const ticks: { s: string; b: number; a: number }[] = [];
    while (ticks.length < 5) {
      const m = await ws.recv();
      assert.ok(m !== null);
      const t = m.json<{ s: string; b: number; a: number }>();
      if ("b" in t) ticks.push(t);
    }
    assert.ok(ticks.every((t) => t.s === "BTC-USD" && t.a >= t.b));

    // So does an EventSource, at the same time.
    const es = new EventSource(new URL("/events", base));
    const sse: string[] = [];
    await new Promise<void>((resolve, reject) => {
      es.onerror = () =>
        reject(new Error("Expected the event stream to stay open"));
      es.onmessage = (e) => {
        if (sse.push(e.data) === 5) resolve();
      };
    });
    es.close();
    assert.ok(sse.every((d) => JSON.parse(d).s === "BTC-USD"));

    const stats = await (await fetch(new URL("/stats", base))).json();
    assert.equal(stats.generation, 1);
    assert.equal(stats.wsClients, 1);
    assert.ok(stats.ticksIn >= 5 && stats.sent >= 10, JSON.stringify(stats));
    await ws.close();
    assert.equal(
      (await fetch(new URL("/nope", base)).then((r) => (r.body?.cancel(), r)))
        .status,
      404,
    );
  } finally {
    ex.kill("SIGINT");
    result = await ex.exit();
  }
  const { code, stdout, stderr } = result;
  assert.equal(code, 0, stderr);
  assert.match(
    stdout,
    /^done \(interrupted\): \d+ ticks in, \d+ sent, \d+ skipped$/m,
  );
});

Deno.test("examples/rest_orders.ts fires a burst of orders through an 8-connection pool, then reads and cancels on one lease", async () => {
  const ex = new Example("rest_orders.ts", ["--count", "120"]);
  const { code, stdout, stderr } = await ex.exit();
  assert.equal(code, 0, stderr);
  assert.match(
    stdout,
    /^sent 120 orders in \d+ ms \(\d+ orders\/s\): 120 accepted, 0 rejected; latency p50 [\d.]+ ms p99 [\d.]+ ms$/m,
  );
  assert.match(stdout, /^order o-\d+: (buy|sell) [\d.]+ @ \d+ accepted$/m);
  assert.match(stdout, /^cancelled 5 orders; unknown order -> 404$/m);
  assert.match(stdout, /^with a wrong key -> 401 bad api key$/m);
  // Keep-alive: 120 requests and more went over at most 8 TCP connections.
  const peers = stdout.match(/^server saw (\d+) TCP connections$/m);
  assert.ok(peers, stdout);
  assert.ok(Number(peers[1]) >= 1 && Number(peers[1]) <= 8, peers[0]);
});

Deno.test("examples/feed_stats.ts prints the feed's, the connection's and the pool's stats once a second, drops counted by reason", async () => {
  const ex = new Example("feed_stats.ts", [
    "--duration",
    "3300",
    "--drop-every",
    "1300",
    "--rate",
    "500",
  ], ["--allow-net", "--allow-read"]);
  const { code, stdout, stderr } = await ex.exit();
  assert.equal(code, 0, stderr);
  const feeds = ex.lines.filter((l) => l.startsWith("feed gen "));
  const wss = ex.lines.filter((l) => l.startsWith("ws in "));
  const https = ex.lines.filter((l) => l.startsWith("http "));
  assert.ok(feeds.length >= 3 && https.length >= 3, stdout);
  assert.ok(wss.length >= 2, stdout);
  assert.match(
    wss[0],
    /^ws in [1-9]\d* msg \d+ B \d+ frames \| out \d+ msg \d+ B \| pings \d+\/\d+ rtt (-|[\d.]+ ms) \| app \d+\/\d+ rtt (-|[\d.]+ ms) \| last message [\d.]+ ms ago \| connect tcp [\d.]+ ms tls 0\.00 ms handshake [\d.]+ ms$/,
  );
  assert.match(
    https.at(-1)!,
    /^http [1-9]\d* req \| [12] dials \| \d+ reused \| \d+ stale \| in use \d idle \d waiting \d \| last [\d.]+ ms$/,
  );
  assert.match(
    feeds.join("\n"),
    /^feed gen [2-9] \| (up|down) [\d.]+ s, total [\d.]+ s \| [1-9] drops \{"close 1012":[1-9]\} \| \d+ attempts$/m,
  );
  assert.match(stdout, /^done: [1-9]\d* messages \(duration elapsed\)$/m);
});

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.test(`examples/deploy_feed.ts serves ticks, then on ${signal} ends its streams and closes its upstream feed cleanly before the deadline`, async () => {
    const ex = new Example("deploy_feed.ts", ["--port", "0"], [
      "--allow-net",
      "--allow-read",
      "--allow-env",
    ]);
    let result, signalled = false;
    try {
      const [, base] = await ex.waitFor(/^listening on (http:\/\/\S+)$/);
      await ex.waitFor(/^upstream #1 connected$/);
      const events = await fetch(new URL("/events", base));
      const reader = events.body!.pipeThrough(new TextDecoderStream())
        .getReader();
      // The first event may be the upstream's "subscribed" answer; then ticks.
      let seen = "";
      while (!/^data: \{"s":"BTC-USD",/m.test(seen)) {
        const r = await reader.read();
        assert.ok(!r.done, `Expected ticks as events, got ${seen}`);
        seen += r.value;
      }
      const state = await (await fetch(base)).json();
      assert.equal(state.generation, 1);
      assert.equal(state.connected, true);
      assert.equal(state.latest.s, "BTC-USD");
      ex.kill(signal);
      signalled = true;
      // The event stream ends (the server closes it), it does not hang.
      for (let r = await reader.read(); !r.done; r = await reader.read()) {
        // ticks sent before the shutdown
      }
    } finally {
      if (!signalled) ex.kill(signal); // a second one would kill it at once
      result = await ex.exit();
    }
    const { code, stdout, stderr } = result;
    assert.equal(code, 0, stderr);
    assert.match(
      stdout,
      new RegExp(
        `^shutdown on ${signal}: upstream closed \\(1001\\) in \\d+ ms, server drained$`,
        "m",
      ),
    );
    assert.doesNotMatch(stdout, /deadline passed/);
  });
}
