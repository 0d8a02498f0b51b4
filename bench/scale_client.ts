/**
 * One side of the thousands-of-connections bench (`scale.ts`): a process
 * that opens `connections` WebSockets of one client kind to the feed
 * server's `?every=` ticks, and prints one JSON line ({@link ScaleResult})
 * with what they cost and how they were served.
 *
 * `deno run --allow-net --allow-read --v8-flags=--expose-gc
 * bench/scale_client.ts '<ScaleJob as JSON>'` (started by `scale.ts`, in
 * its own process so that its memory is its own, with the open-file limit
 * raised).
 *
 * Memory: a full GC, then `Deno.memoryUsage()` with one connection of the
 * kind opened and closed (code loaded), then again once every connection is
 * open and has received ticks for `warmup` seconds; the difference divided
 * by the connection count is the cost of one connection. RSS is also read
 * before that last GC ("as it runs"), since a process rarely runs right
 * after one.
 *
 * One part of that growth is not per connection: V8's young generation
 * (new space), which grows with the rate at which a process allocates
 * short-lived objects (promises, strings, events) and keeps its size after
 * a GC, up to about 50 MiB; every client reaches that ceiling after some
 * seconds of traffic (a bare `conn.read()` loop too), only sooner or later.
 * So the report also gives the growth without it ("RSS/conn without the
 * young generation") and its size at the end.
 *
 * Service: over the next `seconds`, every connection notes the time of
 * each message; the aggregate rate is all messages over the window, the
 * worst gap is the longest any one connection went without a message
 * (from the window's start, between two messages, or until its end).
 *
 * @module
 */

import { getHeapSpaceStatistics } from "node:v8";
import { connect, type ConnectOptions, type WsClient } from "../mod.ts";

/** What a client process is asked to run. */
export interface ScaleJob {
  /** `ws://…/?every=T` of the feed server. */
  url: string;
  /** The tick period T of `url`, ms. */
  every: number;
  /** The client kind (a key of {@link SCALE_CLIENTS}). */
  client: string;
  /** Connections to open. */
  connections: number;
  /** Seconds of ticks before the memory reading and the window. */
  warmup: number;
  /** Seconds of the measured window. */
  seconds: number;
  /** PEM file of a CA to trust for `wss://` (nexus; native needs `--cert`). */
  caFile?: string;
}

/** What a client process reports. */
export interface ScaleResult {
  /** The client kind. */
  client: string;
  /** Connections open at the end. */
  connections: number;
  /** The tick period, ms. */
  every: number;
  /** RSS of the whole process at the end, after a full GC, bytes. */
  rss: number;
  /** RSS growth per connection after a full GC, bytes. */
  rssPerConnection: number;
  /** RSS growth per connection as it runs (no GC forced before reading), bytes. */
  rssPerConnectionLive: number;
  /** RSS growth per connection after a full GC, without V8's young generation, bytes. */
  rssPerConnectionOld: number;
  /** The young generation's committed size at the end, bytes. */
  youngGeneration: number;
  /** JS heap growth per connection after a full GC, bytes. */
  heapPerConnection: number;
  /** `external` (ArrayBuffers outside the heap) growth per connection, bytes. */
  externalPerConnection: number;
  /** Messages received by all connections per second, over the window. */
  messagesPerSecond: number;
  /** The longest any one connection waited for a message in the window, ms. */
  worstGapMs: number;
  /** The 99th percentile over connections of each one's longest gap, ms. */
  p99GapMs: number;
  /** Connections that got no message at all in the window. */
  starved: number;
  /** Seconds the window lasted. */
  seconds: number;
}

/** Per-connection bookkeeping, in flat arrays (no object per connection). */
export class Stats {
  last: Float64Array;
  gap: Float64Array;
  count: Uint32Array;
  total = 0;

  constructor(n: number) {
    this.last = new Float64Array(n);
    this.gap = new Float64Array(n);
    this.count = new Uint32Array(n);
  }

  /** Connection `i` got a message now. */
  hit(i: number): void {
    const now = performance.now();
    const g = now - this.last[i];
    if (g > this.gap[i]) this.gap[i] = g;
    this.last[i] = now;
    this.count[i]++;
    this.total++;
  }

  /** Starts a window now. */
  reset(): void {
    this.last.fill(performance.now());
    this.gap.fill(0);
    this.count.fill(0);
    this.total = 0;
  }

  /** Ends the window now: the gaps until now count too. */
  close(): { worst: number; p99: number; starved: number } {
    const now = performance.now();
    let starved = 0;
    for (let i = 0; i < this.last.length; i++) {
      const g = now - this.last[i];
      if (g > this.gap[i]) this.gap[i] = g;
      if (this.count[i] === 0) starved++;
    }
    const sorted = Float64Array.from(this.gap).sort();
    return {
      worst: sorted[sorted.length - 1] ?? 0,
      p99: sorted[Math.floor((sorted.length - 1) * 0.99)] ?? 0,
      starved,
    };
  }
}

/** A client kind: opens connection `i` and feeds its messages to `stats`. */
export type ScaleClient = (
  url: string,
  i: number,
  stats: Stats,
  caCerts: string[] | undefined,
) => Promise<{ close(): void }>;

/**
 * Opening ten thousand connections while the first ones already receive
 * ticks keeps both processes busy, and a SYN the server's full accept
 * queue dropped is retried by the kernel after 1, 3, 7, 15, 31, 63 s: the
 * handshakes get two minutes (the native client has no such bound).
 */
const HANDSHAKE_TIMEOUT = 120_000;

/** A nexus client with `options`: `tryRecv() ?? await recv()`, `m.text()`. */
function nexus(options: ConnectOptions): ScaleClient {
  return async (url, i, stats, caCerts) => {
    const ws: WsClient = await connect(url, {
      ...options,
      caCerts,
      handshakeTimeout: HANDSHAKE_TIMEOUT,
    });
    (async () => {
      try {
        for (
          let m = ws.tryRecv() ?? await ws.recv();
          m !== null;
          m = ws.tryRecv() ?? await ws.recv()
        ) {
          if (m.text().length > 0) stats.hit(i);
        }
      } catch { /* the process is ending */ }
    })();
    return { close: () => ws.terminate() };
  };
}

/** The runtime's `WebSocket`: `onmessage`, `e.data` (a string). */
const native: ScaleClient = (url, i, stats) =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.onopen = () => resolve({ close: () => ws.close() });
    ws.onerror = (e) =>
      reject(new Error(`Native WebSocket error: ${(e as ErrorEvent).message}`));
    ws.onmessage = (e) => {
      if ((e.data as string).length > 0) stats.hit(i);
    };
  });

/**
 * The floor of any client written in JavaScript: the socket, the upgrade
 * request written by hand, then plain 1 KiB reads, one hit per read, no
 * WebSocket parsing (a tick arrives alone in a read at these rates).
 */
/**
 * A socket upgraded to a WebSocket by hand (the request written, the 101
 * answer read into `buf`), for the clients that read frames themselves.
 */
export async function rawUpgrade(
  url: string,
  buf: Uint8Array,
  caCerts?: string[],
): Promise<Deno.Conn> {
  const u = new URL(url);
  const hostname = u.hostname, port = Number(u.port);
  const conn = u.protocol === "wss:"
    ? await Deno.connectTls({ hostname, port, caCerts })
    : await Deno.connect({ hostname, port });
  const key = btoa(
    String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))),
  );
  await conn.write(new TextEncoder().encode(
    `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\n` +
      `Upgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  ));
  const n = await conn.read(buf);
  if (
    n === null ||
    !/^HTTP\/1\.1 101 /.test(new TextDecoder().decode(buf.subarray(0, 13)))
  ) {
    conn.close();
    throw new Error(
      `Expected a 101 answer, got ${n === null ? "the end" : "another"}`,
    );
  }
  return conn;
}

const raw: ScaleClient = async (url, i, stats, caCerts) => {
  const buf = new Uint8Array(1024);
  const conn = await rawUpgrade(url, buf, caCerts);
  (async () => {
    try {
      for (let r; (r = await conn.read(buf)) !== null;) if (r > 0) stats.hit(i);
    } catch { /* the process is ending */ }
  })();
  return { close: () => conn.close() };
};

/** The client kinds the bench compares, by name. */
export const SCALE_CLIENTS: Record<string, ScaleClient> = {
  "native WebSocket": native,
  "nexus (defaults)": nexus({}),
  "nexus, fixed 64 KiB buffer (before adaptive buffers)": nexus({
    minBufferCapacity: 65536,
  }),
  "raw socket reads, no WebSocket parsing (the floor of a JS client)": raw,
};

const gc = (globalThis as { gc?: () => void }).gc;

/** Memory after a full GC, with the young generation's committed size. */
function memory(): Deno.MemoryUsage & { young: number } {
  gc?.();
  gc?.();
  const young = getHeapSpaceStatistics()
    .filter((s) => s.space_name.startsWith("new_"))
    .reduce((sum, s) => sum + s.space_size, 0);
  return { ...Deno.memoryUsage(), young };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Opens `n` connections, at most `parallel` handshakes at a time. */
async function openAll(
  job: ScaleJob,
  client: ScaleClient,
  stats: Stats,
  caCerts: string[] | undefined,
  parallel = 100,
): Promise<{ close(): void }[]> {
  const open: { close(): void }[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < job.connections) {
      const i = next++;
      open.push(await client(job.url, i, stats, caCerts));
    }
  }));
  return open;
}

/** Runs a job in this process (see the module doc). */
export async function runJob(job: ScaleJob): Promise<ScaleResult> {
  if (gc === undefined) {
    throw new Error("Expected --v8-flags=--expose-gc, gc() is missing");
  }
  const client = SCALE_CLIENTS[job.client];
  if (client === undefined) {
    throw new TypeError(`Expected a client kind, got "${job.client}"`);
  }
  const caCerts = job.caFile === undefined
    ? undefined
    : [await Deno.readTextFile(job.caFile)];
  const stats = new Stats(job.connections);
  (await client(job.url, 0, new Stats(1), caCerts)).close(); // code loaded
  await sleep(200);
  const before = memory();
  const open = await openAll(job, client, stats, caCerts);
  await sleep(job.warmup * 1000);
  const live = Deno.memoryUsage().rss;
  const after = memory();
  stats.reset();
  const t0 = performance.now();
  await sleep(job.seconds * 1000);
  const seconds = (performance.now() - t0) / 1000;
  const total = stats.total;
  const { worst, p99, starved } = stats.close();
  for (const c of open) c.close();
  const per = (a: number, b: number) => (a - b) / job.connections;
  return {
    client: job.client,
    connections: open.length,
    every: job.every,
    rss: after.rss,
    rssPerConnection: per(after.rss, before.rss),
    rssPerConnectionLive: per(live, before.rss),
    rssPerConnectionOld: per(
      after.rss - after.young,
      before.rss - before.young,
    ),
    youngGeneration: after.young,
    heapPerConnection: per(after.heapUsed, before.heapUsed),
    externalPerConnection: per(after.external, before.external),
    messagesPerSecond: total / seconds,
    worstGapMs: worst,
    p99GapMs: p99,
    starved,
    seconds,
  };
}

if (import.meta.main) {
  const result = await runJob(JSON.parse(Deno.args[0]));
  console.log(JSON.stringify(result));
  Deno.exit(0);
}
