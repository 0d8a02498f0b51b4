/**
 * Memory per connection with compression: 1,000 connections (or the first
 * argument) open and receiving a compressed 77-byte tick every 100 ms from
 * the compressed feed server (`deflate_feed.ts`, context takeover), one
 * client process per kind (nexus with several offers, npm `ws`), each
 * measured alone.
 *
 * `deno run --allow-net --allow-read --allow-run --allow-env --allow-sys bench/deflate_rss.ts [connections]`
 *
 * In each client process: a full GC and `Deno.memoryUsage()` after one
 * connection of the kind was opened and closed (code loaded), then again
 * once every connection is open and has received ticks for 3 s; the growth
 * divided by the connection count is what one connection costs (RSS, and
 * the JS heap + `external` ArrayBuffers inside it). Prints a Markdown table.
 *
 * @module
 */

import { connect, type ConnectOptions } from "../mod.ts";
import { startDeflateFeedServer } from "./deflate_feed.ts";

/** The client kinds measured, by row label. */
const KINDS: Record<string, { npm?: boolean; options?: ConnectOptions }> = {
  "nexus, perMessageDeflate: false (uncompressed)": {
    options: { perMessageDeflate: false },
  },
  "nexus, default offer (server window 10 bits)": { options: {} },
  "nexus, serverMaxWindowBits: 15": {
    options: { perMessageDeflate: { serverMaxWindowBits: 15 } },
  },
  "nexus, serverMaxWindowBits: 15, serverNoContextTakeover": {
    options: {
      perMessageDeflate: {
        serverMaxWindowBits: 15,
        serverNoContextTakeover: true,
      },
    },
  },
  "npm ws, perMessageDeflate: false (uncompressed)": { npm: true },
  "npm ws, perMessageDeflate: true (its default offer: window 15 bits)": {
    npm: true,
    options: { perMessageDeflate: true },
  },
};

const WARMUP_MS = 3000;

interface Job {
  url: string;
  kind: string;
  connections: number;
}

interface Reading {
  rss: number;
  heap: number;
  external: number;
}

function reading(): Reading {
  (globalThis as { gc?: () => void }).gc?.();
  const m = Deno.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed, external: m.external };
}

/** Opens one connection of the kind; `onMessage` counts; returns its closer. */
async function open(
  job: Job,
  onMessage: () => void,
): Promise<() => void> {
  const kind = KINDS[job.kind];
  if (kind.npm) {
    const { default: WebSocket } = await import("ws");
    const ws = new WebSocket(job.url, {
      perMessageDeflate: kind.options?.perMessageDeflate === true,
    });
    await new Promise((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    ws.on("message", (data: Uint8Array) => {
      if (data.length > 0) onMessage();
    });
    return () => ws.terminate();
  }
  const ws = await connect(job.url, kind.options);
  (async () => {
    try {
      for (let m = await ws.recv(); m !== null; m = await ws.recv()) {
        if (m.byteLength > 0) onMessage();
      }
    } catch { /* terminated */ }
  })();
  return () => ws.terminate();
}

/** The client process: opens the connections and prints the growth per connection. */
async function client(job: Job): Promise<void> {
  const closeOne = await open(job, () => {});
  await new Promise((r) => setTimeout(r, 300));
  closeOne();
  await new Promise((r) => setTimeout(r, 300));
  const before = reading();
  const counts = new Uint32Array(job.connections);
  const closers: (() => void)[] = [];
  for (let i = 0; i < job.connections; i += 50) {
    const batch = [];
    for (let j = i; j < Math.min(i + 50, job.connections); j++) {
      batch.push(open(job, () => counts[j]++));
    }
    closers.push(...await Promise.all(batch));
  }
  await new Promise((r) => setTimeout(r, WARMUP_MS));
  const starved = counts.filter((c) => c < 5).length;
  const after = reading();
  const n = job.connections;
  console.log(JSON.stringify({
    rss: (after.rss - before.rss) / n,
    heap: (after.heap - before.heap) / n,
    external: (after.external - before.external) / n,
    starved,
  }));
  for (const close of closers) close();
  Deno.exit(0);
}

async function driver(connections: number): Promise<void> {
  const server = await startDeflateFeedServer();
  const url = server.url({ every: 100 });
  const kib = (b: number) => (b / 1024).toFixed(1);
  console.log(
    `${connections} connections, a compressed tick every 100 ms each\n`,
  );
  console.log(
    "| client (1,000 connections open and receiving) | RSS per connection | JS heap + external per connection |",
  );
  console.log("| --- | ---: | ---: |");
  for (const kind of Object.keys(KINDS)) {
    const job: Job = { url, kind, connections };
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net",
        "--allow-read",
        "--allow-env",
        "--allow-sys",
        "--v8-flags=--expose-gc",
        new URL(import.meta.url).pathname,
        "client",
        JSON.stringify(job),
      ],
      stderr: "inherit",
    }).output();
    const line = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1);
    const r = JSON.parse(line ?? "{}");
    if (r.starved > 0) {
      console.error(`${kind}: ${r.starved} connections starved`);
    }
    console.log(
      `| ${kind} | ${kib(r.rss)} KiB | ${kib(r.heap + r.external)} KiB |`,
    );
  }
  await server.close();
}

if (import.meta.main) {
  if (Deno.args[0] === "client") await client(JSON.parse(Deno.args[1]));
  else await driver(Number(Deno.args[0] ?? 1000));
}
