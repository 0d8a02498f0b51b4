/**
 * `wss://` feed: what the client itself spends per message, in-place nexus
 * loop against the bare TLS read loop (its ceiling), in CPU time of this
 * process (`process.cpuUsage()`) as well as wall time. `ws_feed_bench.ts`
 * gives the wall-time rates; on a machine where the feed server cannot keep
 * up, both loops wait for it and wall time hides the client's cost, which
 * this shows.
 *
 * ```sh
 * deno run --allow-net --allow-read --allow-run bench/wss_cpu.ts [rounds]
 * ```
 *
 * Rounds interleave the two loops (1,000,000 77-byte ticks each), medians
 * reported; the first two rounds warm up.
 *
 * @module
 */

import process from "node:process";
import { FRAME_BYTES, startFeedServer, TLS_CA_FILE } from "./feed_server.ts";
import { recvNexusInPlace, recvRawTls } from "./feed_clients.ts";

const MESSAGES = 1_000_000;
const ROUNDS = Number(Deno.args[0] ?? 8);

await using feed = await startFeedServer({ tls: true });
const ca = [await Deno.readTextFile(TLS_CA_FILE)];
const url = feed.url({ count: MESSAGES });

const loops: [string, () => Promise<unknown>][] = [
  [
    "bare TLS reads (64 KiB), no parsing",
    () => recvRawTls(feed.port, `/?count=${MESSAGES}`, FRAME_BYTES, ca),
  ],
  [
    "nexus: tryRecv() ?? await recv(), m.bytes[m.offset] in place",
    () => recvNexusInPlace(url, { client: { caCerts: ca } }),
  ],
];
const walls = loops.map(() => [] as number[]);
const cpus = loops.map(() => [] as number[]);
for (let r = 0; r < ROUNDS + 2; r++) {
  for (let k = 0; k < loops.length; k++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await loops[k][1]();
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    if (r < 2) continue;
    walls[k].push(wall);
    cpus[k].push((cpu.user + cpu.system) / 1000);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
console.log(
  `${ROUNDS} interleaved rounds of ${MESSAGES} ticks over wss:// per loop (medians)`,
);
console.log(
  "| loop | wall ms | M msg/s | client CPU ms | share of the bare loop (wall) | share (CPU) |",
);
console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
for (let k = 0; k < loops.length; k++) {
  const w = median(walls[k]), c = median(cpus[k]);
  console.log(
    `| ${loops[k][0]} | ${w.toFixed(1)} | ${
      (MESSAGES / w / 1000).toFixed(2)
    } | ${c.toFixed(1)} | ${(median(walls[0]) / w * 100).toFixed(0)} % | ${
      (median(cpus[0]) / c * 100).toFixed(0)
    } % |`,
  );
}
