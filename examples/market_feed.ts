/**
 * A market-data feed client: subscribe, survive disconnects, detect a dead
 * peer, print a stats line every second.
 *
 * ```sh
 * # Against a local tick server this example starts (it drops every
 * # connection every 3 s, so you see reconnects):
 * deno run --allow-net --allow-read examples/market_feed.ts
 * # Against your own feed (it must accept {"op":"subscribe","channel":...}):
 * deno run --allow-net examples/market_feed.ts --url wss://feed.example.com/ws
 * # Stop after 5 s instead of Ctrl-C:
 * deno run --allow-net --allow-read examples/market_feed.ts --duration 5000
 * ```
 *
 * What it shows:
 * - `reconnecting()` with an `onConnect` hook that re-subscribes on every
 *   connection, and `onDisconnect` logging each disconnect with its reason;
 * - the heartbeat (`connect.heartbeat`): a ping after 1 s of silence, the
 *   connection fails with `TimeoutError` (and is replaced) after 3 s;
 * - the fast path: `recv()` returns borrowed bytes; the loop only counts
 *   them and keeps a copy of the latest tick, so nothing is decoded per
 *   message; the stats line decodes one tick a second.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { reconnecting } from "../mod.ts";
import { startTickServer } from "./tick_server.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    url: { type: "string" },
    channel: { type: "string", default: "BTC-USD" },
    duration: { type: "string" }, // ms; default: until Ctrl-C
    rate: { type: "string", default: "2000" }, // local server only
    "drop-every": { type: "string", default: "3000" }, // local server only
  },
});

const ac = new AbortController();
const onSigint = () => ac.abort(new Error("interrupted"));
Deno.addSignalListener("SIGINT", onSigint);
const duration = values.duration === undefined
  ? Infinity
  : Number(values.duration);
const timer = Number.isFinite(duration)
  ? setTimeout(() => ac.abort(new Error("duration elapsed")), duration)
  : undefined;

// No URL given: run the local tick server in this process.
const local = values.url === undefined
  ? await startTickServer({
    rate: Number(values.rate),
    dropEvery: Number(values["drop-every"]),
  })
  : undefined;
const url = values.url ?? local!.url;
console.log(`feed ${url} channel ${values.channel}`);

let disconnects = 0;
const feed = reconnecting(url, {
  connect: {
    heartbeat: { interval: 1_000, timeout: 3_000 },
    closeTimeout: 1_000, // on shutdown, wait at most 1 s for the server's close
  },
  onConnect: async (ws, { generation }) => {
    await ws.sendText(
      JSON.stringify({ op: "subscribe", channel: values.channel }),
    );
    console.log(`connected #${generation}, subscribed to ${values.channel}`);
  },
  onDisconnect: ({ connected, code, reason, error, attempt, delay }) => {
    disconnects++;
    const why = error?.message ?? `${code}${reason ? ` ${reason}` : ""}`;
    console.log(
      `${connected ? "disconnected" : "connect failed"} (${why}); ` +
        (delay === null ? "giving up" : `attempt ${attempt} in ${delay} ms`),
    );
  },
  backoff: { initial: 100, max: 5_000, factor: 2, jitter: 0.5 },
  finalCodes: [4001], // e.g. a revoked token: retrying will not help
  signal: ac.signal,
});

// Counters the hot loop updates; the stats timer reads and resets them.
let msgs = 0, bytes = 0, total = 0;
const last = new Uint8Array(1024);
let lastLen = 0;
let t0 = performance.now();
const decoder = new TextDecoder();
const stats = setInterval(() => {
  const now = performance.now(), s = (now - t0) / 1000;
  let quote = "-";
  if (lastLen > 0) {
    try {
      const t = JSON.parse(decoder.decode(last.subarray(0, lastLen)));
      if (t.b !== undefined) {
        quote = `${t.s} ${t.b.toFixed(2)}/${t.a.toFixed(2)}`;
      }
    } catch { /* not a tick */ }
  }
  console.log(
    `stats gen ${feed.generation} | ${Math.round(msgs / s)} msg/s | ` +
      `${(bytes / s / 1024).toFixed(1)} KiB/s | last ${quote} | ` +
      `disconnects ${disconnects}`,
  );
  msgs = bytes = 0;
  t0 = now;
}, 1_000);

try {
  for (let m = await feed.recv(); m !== null; m = await feed.recv()) {
    const data = m.data; // borrowed: valid until the next recv()
    msgs++;
    total++;
    bytes += data.length;
    if (data.length <= last.length) {
      last.set(data);
      lastLen = data.length;
    }
  }
} catch (err) {
  if (!ac.signal.aborted) throw err; // a final code or a bug, not Ctrl-C
} finally {
  clearInterval(stats);
  clearTimeout(timer);
  Deno.removeSignalListener("SIGINT", onSigint);
  await feed.close();
  await local?.close();
}
console.log(
  `done: ${total} messages over ${feed.generation} connections, ` +
    `${disconnects} disconnects (${ac.signal.reason?.message ?? "closed"})`,
);
