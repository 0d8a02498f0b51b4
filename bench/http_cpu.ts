/**
 * Client cost per request, wall time and CPU time, for the sequential
 * keep-alive GET of `http_bench.ts` (same server in its own process, same
 * clients). `deno bench` reports wall time only, which on a small VM is
 * dominated by loopback wake-up latency that no client controls; the CPU
 * time this process spends per request is what the client itself costs.
 *
 * `deno run --allow-net --allow-read --allow-run --allow-env --allow-sys bench/http_cpu.ts [requests]`
 *
 * @module
 */

import process from "node:process";
import { ClientPool, HttpConnection } from "../mod.ts";
import { Pool } from "undici";
import { HELLO, startHttpServer } from "./http_server.ts";

const N = Number(Deno.args[0] ?? 20000);
const server = await startHttpServer();
const origin = server.origin;
const url = `${origin}/hello`;

function check(n: number): void {
  if (n !== HELLO.length) throw new Error(`Expected 11 bytes, got ${n}`);
}

const conn = new HttpConnection(origin);
const pool = new ClientPool(origin, { connections: 1 });
const undici = new Pool(origin, { connections: 1 });

const clients: [string, () => Promise<void>][] = [
  ["fetch (native)", async () => {
    check((await (await fetch(url)).arrayBuffer()).byteLength);
  }],
  ["nexus HttpConnection, borrowed", async () => {
    check((await conn.get("/hello")).body.length);
  }],
  ["nexus ClientPool.get, owned", async () => {
    check((await pool.get("/hello")).body.length);
  }],
  ["undici Pool.request (npm)", async () => {
    const res = await undici.request({ path: "/hello", method: "GET" });
    check((await res.body.arrayBuffer()).byteLength);
  }],
];

// Rounds interleave the clients, so a change in machine state (other
// processes, CPU wake-up latency) affects them all alike; medians reported.
const ROUNDS = 10;
const per = Math.max(1, Math.floor(N / ROUNDS));
const walls = clients.map(() => [] as number[]);
const cpus = clients.map(() => [] as number[]);
for (const [, one] of clients) {
  for (let i = 0; i < 2000; i++) await one(); // warm up
}
for (let r = 0; r < ROUNDS; r++) {
  for (let c = 0; c < clients.length; c++) {
    const one = clients[c][1];
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < per; i++) await one();
    walls[c].push((performance.now() - t0) * 1000 / per);
    const cpu = process.cpuUsage(cpu0);
    cpus[c].push((cpu.user + cpu.system) / per);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
console.log(
  `${ROUNDS} interleaved rounds of ${per} sequential keep-alive GETs of /hello per client (medians)`,
);
console.log(
  `| ${
    "client".padEnd(32)
  } | wall µs/req | client CPU µs/req | wall vs fetch | CPU vs fetch |`,
);
console.log(`| ${"-".repeat(32)} | ---: | ---: | ---: | ---: |`);
const fw = median(walls[0]), fc = median(cpus[0]);
for (let c = 0; c < clients.length; c++) {
  const w = median(walls[c]), u = median(cpus[c]);
  console.log(
    `| ${clients[c][0].padEnd(32)} | ${w.toFixed(1)} | ${u.toFixed(1)} | ${
      (fw / w).toFixed(2)
    }x | ${(fc / u).toFixed(2)}x |`,
  );
}

conn.close();
await pool.close();
await undici.close();
await server.close();
