/**
 * A diagnostic for the thousands-of-connections bench (`scale.ts`): where
 * a JavaScript client's fixed memory under load comes from. For each client
 * kind it runs `--connections` connections to the feed server's ticks (a
 * tick every `connections / 10` ms, as `scale.ts`), twice: as `scale.ts`
 * does, and with one full GC forced 2 s after the connections are open
 * (what any process does sooner or later). It samples V8's old space every
 * 250 ms and reports how fast it grows while no full GC runs, the full GCs
 * it saw (old space shrinking), and the RSS growth per connection after a
 * final full GC, the way `scale.ts` reads it.
 *
 * ```sh
 * deno run --allow-net --allow-read --allow-run bench/scale_gc.ts [--connections=1000] [--seconds=10]
 * ```
 *
 * What it shows (docs/performance.md, "Thousands of connections"): a
 * `Deno.Conn.read()` keeps its pending promise in a per-connection `Set`,
 * and adding then deleting one entry per read makes V8 give the Set a new
 * hash table at every read, allocated in the generation of the table it
 * replaces. Once a full GC has moved a connection's current table to the
 * old generation, every following read allocates its table (and part of
 * what the read leaves behind ends up) in the old space until the next full
 * GC: about 1 KiB per connection and second at 10 reads per connection and
 * second, whose pages then stay in V8's page pool for 8 s after the full
 * GC that frees them. The raw floor escapes it only while no full GC has
 * run under load; the "mid-run GC" rows show it paying the same. The row
 * `raw reads through the runtime's read op, no Conn.read()` (diagnostic
 * only: it uses `Deno[Deno.internal].core`, which no library may) shows
 * that without that `Set` the growth stops.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { getHeapSpaceStatistics } from "node:v8";
import { startFeedServer } from "./feed_server.ts";
import { periodFor, runReport } from "./scale.ts";
import {
  rawUpgrade,
  SCALE_CLIENTS,
  type ScaleClient,
  Stats,
} from "./scale_client.ts";

/** What a child process runs. */
interface GcJob {
  url: string;
  client: string;
  connections: number;
  seconds: number;
  midGc: boolean;
}

/** What a child process reports. */
interface GcResult {
  client: string;
  midGc: boolean;
  /** RSS growth per connection after a final full GC, bytes. */
  rssPerConnection: number;
  /** Old-space growth while no full GC ran, bytes per second. */
  oldGrowthPerSecond: number;
  /** Full GCs seen (old space shrinking between two samples). */
  fullGcs: number;
}

/**
 * Plain reads through the runtime's read op, skipping `Conn.read()` and its
 * `Set` of pending reads. Diagnostic only: `Deno[Deno.internal]` is not an
 * API, no library may use it.
 */
const opReads: ScaleClient = async (url, i, stats) => {
  // deno-lint-ignore no-explicit-any
  const core = (Deno as any)[(Deno as any).internal].core;
  const buf = new Uint8Array(1024);
  const conn = await rawUpgrade(url, buf);
  const rid = (conn as unknown as Record<symbol, number>)[
    core.internalRidSymbol
  ];
  (async () => {
    try {
      for (let r; (r = await core.read(rid, buf)) !== 0;) {
        if (r > 0) stats.hit(i);
      }
    } catch { /* the process is ending */ }
  })();
  return { close: () => conn.close() };
};

const CLIENTS: Record<string, ScaleClient> = {
  "native WebSocket": SCALE_CLIENTS["native WebSocket"],
  "nexus (defaults)": SCALE_CLIENTS["nexus (defaults)"],
  "raw socket reads (the floor)": SCALE_CLIENTS[
    "raw socket reads, no WebSocket parsing (the floor of a JS client)"
  ],
  "raw reads through the runtime's read op, no Conn.read()": opReads,
};

const gc = (globalThis as { gc?: () => void }).gc!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const oldUsed = () =>
  getHeapSpaceStatistics().find((s) => s.space_name === "old_space")!
    .space_used_size;

/** Runs a job in this process. */
async function runJob(job: GcJob): Promise<GcResult> {
  const client = CLIENTS[job.client];
  (await client(job.url, 0, new Stats(1), undefined)).close(); // code loaded
  await sleep(200);
  gc();
  gc();
  const before = Deno.memoryUsage().rss;
  const stats = new Stats(job.connections);
  const open: { close(): void }[] = [];
  for (let i = 0; i < job.connections; i += 100) {
    const n = Math.min(100, job.connections - i);
    open.push(
      ...await Promise.all(
        Array.from(
          { length: n },
          (_, k) => client(job.url, i + k, stats, undefined),
        ),
      ),
    );
  }
  let grown = 0, fullGcs = 0, last = oldUsed();
  const t0 = performance.now();
  let forced = !job.midGc;
  while (performance.now() - t0 < job.seconds * 1000) {
    await sleep(250);
    if (!forced && performance.now() - t0 >= 2000) {
      gc();
      forced = true;
      last = oldUsed();
      continue;
    }
    const now = oldUsed();
    if (now < last) fullGcs++;
    else grown += now - last;
    last = now;
  }
  const seconds = (performance.now() - t0) / 1000;
  gc();
  gc();
  const rss = Deno.memoryUsage().rss;
  for (const c of open) c.close();
  return {
    client: job.client,
    midGc: job.midGc,
    rssPerConnection: (rss - before) / job.connections,
    oldGrowthPerSecond: grown / seconds,
    fullGcs,
  };
}

/** Runs `job` in a child process of its own. */
async function runChild(job: GcJob): Promise<GcResult> {
  return await runReport<GcResult>(job.client, [
    "run",
    "--quiet",
    "--no-config",
    "--allow-net",
    "--allow-read",
    "--v8-flags=--expose-gc",
    new URL(import.meta.url).pathname,
    JSON.stringify(job),
  ]);
}

if (import.meta.main) {
  if (Deno.args[0]?.startsWith("{")) {
    console.log(JSON.stringify(await runJob(JSON.parse(Deno.args[0]))));
    Deno.exit(0);
  }
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      connections: { type: "string", default: "1000" },
      seconds: { type: "string", default: "10" },
    },
  });
  const connections = Number(values.connections);
  await using feed = await startFeedServer({ raiseFdLimit: true });
  const url = feed.url({ every: periodFor(connections) });
  console.log(
    "| client | full GC forced 2 s in | old space growth between full GCs | full GCs seen | RSS per connection (after GC) |",
  );
  console.log("| --- | --- | ---: | ---: | ---: |");
  for (const client of Object.keys(CLIENTS)) {
    for (const midGc of [false, true]) {
      const r = await runChild({
        url,
        client,
        connections,
        seconds: Number(values.seconds),
        midGc,
      });
      console.log(
        `| ${client} | ${midGc ? "yes" : "no"} | ${
          (r.oldGrowthPerSecond / 1024).toFixed(0)
        } KiB/s | ${r.fullGcs} | ${
          (r.rssPerConnection / 1024).toFixed(1)
        } KiB |`,
      );
    }
  }
}
