/**
 * Where does the feed's latency go? Prints the built-in statistics once a
 * second: the reconnecting feed's (`feed.stats()`: generation, drops by
 * reason, time connected), its current connection's (`stats().ws`:
 * messages and bytes both ways, ping round trip, application heartbeat
 * round trip, time since the last message, connect time split into TCP,
 * TLS and handshake), and a REST pool's (`pool.stats()`: requests, dials,
 * reuses, in use / idle / waiting, last latency).
 *
 * ```sh
 * # Against a local tick server this example starts (it drops every
 * # connection every 2.5 s, so the drop counters move):
 * deno run --allow-net --allow-read examples/feed_stats.ts
 * # Stop after 5 s instead of Ctrl-C:
 * deno run --allow-net --allow-read examples/feed_stats.ts --duration 5000
 * ```
 *
 * The counters cost the receive loop nothing it would notice: increments
 * where the work already happens, one clock read per socket read (not per
 * message); the snapshot objects are made only when `stats()` is called.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { ClientPool, matchText, reconnecting } from "../mod.ts";
import { startTickServer } from "./tick_server.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    duration: { type: "string" }, // ms; default: until Ctrl-C
    rate: { type: "string", default: "1000" },
    "drop-every": { type: "string", default: "2500" },
  },
});

const ac = new AbortController();
const onSigint = () => ac.abort(new Error("interrupted"));
Deno.addSignalListener("SIGINT", onSigint);
const timer = values.duration === undefined ? undefined : setTimeout(
  () => ac.abort(new Error("duration elapsed")),
  Number(values.duration),
);

const server = await startTickServer({
  rate: Number(values.rate),
  dropEvery: Number(values["drop-every"]),
});
const feed = reconnecting(server.url, {
  connect: {
    heartbeat: { interval: 500 }, // RFC pings: the rtt column
    appHeartbeat: { // Bybit-style {"op":"ping"}: the app rtt column
      message: '{"op":"ping"}',
      interval: 500,
      isPong: matchText('{"op":"pong"}'),
    },
    staleTimeout: 5_000,
  },
  onConnect: (ws) => ws.sendText('{"op":"subscribe","channel":"BTC-USD"}'),
  signal: ac.signal,
});
const pool = new ClientPool(`http://127.0.0.1:${server.port}`, {
  connections: 2,
});

const ms = (x: number | null) => x === null ? "-" : `${x.toFixed(2)} ms`;
const print = () => {
  const f = feed.stats(), w = f.ws, p = pool.stats();
  console.log(
    `feed gen ${f.generation} | ${f.connected ? "up" : "down"} ${
      (f.connectedFor / 1000).toFixed(1)
    } s, total ${(f.uptime / 1000).toFixed(1)} s | ${f.disconnects} drops ${
      JSON.stringify(f.reasons)
    } | ${f.attempts} attempts`,
  );
  if (w !== null) {
    console.log(
      `ws in ${w.messagesIn} msg ${w.bytesIn} B ${w.framesIn} frames | out ${w.messagesOut} msg ${w.bytesOut} B | ` +
        `pings ${w.pingsOut}/${w.pongsIn} rtt ${
          ms(w.rtt)
        } | app ${w.appPingsOut}/${w.appPongsIn} rtt ${
          ms(w.appRtt)
        } | last message ${ms(w.sinceLastMessage)} ago | connect tcp ${
          ms(w.connect.tcp)
        } tls ${ms(w.connect.tls)} handshake ${ms(w.connect.handshake)}`,
    );
  }
  console.log(
    `http ${p.requests} req | ${p.dials} dials | ${p.reuses} reused | ${p.staleRetries} stale | ` +
      `in use ${p.inUse} idle ${p.idle} waiting ${p.waiting} | last ${
        ms(p.lastLatency)
      }`,
  );
};
const printer = setInterval(() => {
  print();
  // A busy feed needs no heartbeat ping; one a second measures the rtt.
  if (feed.ws !== null) feed.ping().catch(() => {});
}, 1_000);
// A REST poll next to the feed, every 100 ms.
const poller = setInterval(() => {
  pool.get("/ticker", { query: { channel: "BTC-USD" } }).catch(() => {});
}, 100);

let total = 0;
try {
  for (let m = await feed.recv(); m !== null; m = await feed.recv()) total++;
} catch (err) {
  if (!ac.signal.aborted) throw err;
} finally {
  clearInterval(printer);
  clearInterval(poller);
  clearTimeout(timer);
  Deno.removeSignalListener("SIGINT", onSigint);
  print();
  await feed.close();
  await pool.close();
  await server.close();
}
console.log(
  `done: ${total} messages (${ac.signal.reason?.message ?? "closed"})`,
);
