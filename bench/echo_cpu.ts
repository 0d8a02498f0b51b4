/**
 * The seed's headline case: a 40-byte echo over `wss://` (and `ws://` for
 * scale), round-trip time and the client's CPU time per round trip
 * (`process.cpuUsage()`), nexus against the native `WebSocket` in one run.
 *
 * ```sh
 * deno run --allow-net --allow-read --allow-run --cert bench/tls/ca.pem bench/echo_cpu.ts [roundTrips]
 * ```
 *
 * The feed server's `/echo` runs in its own process, one over TLS with the
 * bench CA (`bench/tls/`), one plain. Each client keeps one connection and
 * does round trips one after the other; rounds interleave the clients, so
 * a change in machine state affects them alike; medians are reported. The
 * wall time of a round trip on loopback is mostly the two processes waking
 * each other up; the CPU time this process spends per round trip is what
 * the client itself costs (sending, TLS, receiving, the promise it awaits).
 * The native client needs the CA at start (`--cert`); without it its
 * `wss://` row is left out, with a note.
 *
 * @module
 */

import process from "node:process";
import { startFeedServer, TLS_CA_FILE } from "./feed_server.ts";
import { type EchoClient, nativeEcho, nexusEcho } from "./echo_clients.ts";

const N = Number(Deno.args[0] ?? 20000);
const ROUNDS = 10;
const per = Math.max(1, Math.floor(N / ROUNDS));

await using tls = await startFeedServer({ tls: true });
await using plain = await startFeedServer();
const ca = [await Deno.readTextFile(TLS_CA_FILE)];
const wss = tls.url({ path: "/echo" }), ws = plain.url({ path: "/echo" });

const clients: [string, EchoClient][] = [];
try {
  clients.push(["wss", await nativeEcho(wss)]);
} catch {
  console.error(
    "Note: the native wss:// row needs the bench CA at start: deno run --cert bench/tls/ca.pem ...",
  );
}
clients.push(["wss", await nexusEcho(wss, ca)]);
clients.push(["ws", await nativeEcho(ws)]);
clients.push(["ws", await nexusEcho(ws)]);

const walls = clients.map(() => [] as number[]);
const cpus = clients.map(() => [] as number[]);
for (const [, c] of clients) {
  for (let i = 0; i < 2000; i++) await c.roundTrip(); // warm up
}
for (let r = 0; r < ROUNDS; r++) {
  for (let k = 0; k < clients.length; k++) {
    const c = clients[k][1];
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < per; i++) await c.roundTrip();
    walls[k].push((performance.now() - t0) * 1000 / per);
    const cpu = process.cpuUsage(cpu0);
    cpus[k].push((cpu.user + cpu.system) / per);
  }
}
for (const [, c] of clients) c.close();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
console.log(
  `${ROUNDS} interleaved rounds of ${per} sequential 40-byte echoes per client (medians)`,
);
console.log(
  "| scheme | client | round trip µs | client CPU µs per round trip | RTT vs native | CPU vs native |",
);
console.log("| --- | --- | ---: | ---: | ---: | ---: |");
for (let k = 0; k < clients.length; k++) {
  const [scheme, c] = clients[k];
  const native = clients.findIndex(([s, n]) =>
    s === scheme && n.name.startsWith("native")
  );
  const w = median(walls[k]), u = median(cpus[k]);
  const vs = (a: number[], b: number) =>
    native < 0 ? "n/a" : `${(median(a) / b).toFixed(2)}x`;
  console.log(
    `| ${scheme} | ${c.name} | ${w.toFixed(1)} | ${u.toFixed(1)} | ${
      vs(walls[native] ?? [], w)
    } | ${vs(cpus[native] ?? [], u)} |`,
  );
}
