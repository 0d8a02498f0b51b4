/**
 * HTTP/1.1 client benches against a `Deno.serve` server in its own process
 * (`http_server.ts`), over loopback.
 *
 * `deno bench --allow-net --allow-read --allow-run --allow-env --allow-sys bench/http_bench.ts`
 *
 * Group 1, sequential keep-alive GET: one iteration is {@link SEQ} GETs of
 * `/hello` (an 11-byte body), one after the other on one kept-alive
 * connection, each body read whole. Native `fetch` is the baseline.
 *
 * Group 2, pool throughput: one iteration is {@link TOTAL} GETs of `/hello`
 * kept {@link IN_FLIGHT} in flight over {@link CONNECTIONS} connections.
 * undici's `Pool` with the same connection count is the baseline.
 *
 * @module
 */

import { ClientPool, HttpConnection } from "../mod.ts";
import { Pool } from "undici";
import { HELLO, startHttpServer } from "./http_server.ts";

/** Sequential GETs per iteration. */
export const SEQ = 2000;
/** GETs per pool iteration. */
export const TOTAL = 4000;
/** Requests kept in flight in the pool group. */
export const IN_FLIGHT = 64;
/** Connections in the pool group (both clients). */
export const CONNECTIONS = 8;

const server = await startHttpServer();
server.unref();
const origin = server.origin;
const url = `${origin}/hello`;

function expect(n: number): void {
  if (n !== HELLO.length) {
    throw new Error(`Expected a ${HELLO.length}-byte body, got ${n} bytes`);
  }
}

// Long-lived clients, created once: each bench measures steady keep-alive.
const conn = new HttpConnection(origin);
const single = new ClientPool(origin, { connections: 1 });
const undiciSingle = new Pool(origin, { connections: 1 });
const pool = new ClientPool(origin, { connections: CONNECTIONS });
const undiciPool = new Pool(origin, { connections: CONNECTIONS });

const SEQ_GROUP =
  `http sequential keep-alive GET (${SEQ} per iter, 11-byte body)`;
const seq = { group: SEQ_GROUP, n: 20, warmup: 5 };

Deno.bench({
  name: "fetch (native), arrayBuffer()",
  baseline: true,
  ...seq,
  async fn() {
    for (let i = 0; i < SEQ; i++) {
      const res = await fetch(url);
      expect((await res.arrayBuffer()).byteLength);
    }
  },
});

Deno.bench({
  name: "nexus HttpConnection, borrowed body",
  ...seq,
  async fn() {
    for (let i = 0; i < SEQ; i++) {
      const res = await conn.get("/hello");
      expect(res.body.length);
    }
  },
});

Deno.bench({
  name: "nexus ClientPool.get, owned body",
  ...seq,
  async fn() {
    for (let i = 0; i < SEQ; i++) {
      const res = await single.get("/hello");
      expect(res.body.length);
    }
  },
});

Deno.bench({
  name: "undici Pool.request (npm), arrayBuffer()",
  ...seq,
  async fn() {
    for (let i = 0; i < SEQ; i++) {
      const res = await undiciSingle.request({ path: "/hello", method: "GET" });
      expect((await res.body.arrayBuffer()).byteLength);
    }
  },
});

const POOL_GROUP =
  `http pool throughput (${TOTAL} GETs per iter, ${IN_FLIGHT} in flight, ${CONNECTIONS} connections)`;
const pooled = { group: POOL_GROUP, n: 10, warmup: 3 };

/** Runs TOTAL requests with IN_FLIGHT workers pulling from a shared counter. */
async function drive(one: () => Promise<void>): Promise<void> {
  let left = TOTAL;
  const worker = async () => {
    while (left > 0) {
      left--;
      await one();
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
}

Deno.bench({
  name: "undici Pool.request (npm), arrayBuffer()",
  baseline: true,
  ...pooled,
  async fn() {
    await drive(async () => {
      const res = await undiciPool.request({ path: "/hello", method: "GET" });
      expect((await res.body.arrayBuffer()).byteLength);
    });
  },
});

Deno.bench({
  name: "nexus ClientPool.get, owned body",
  ...pooled,
  async fn() {
    await drive(async () => {
      expect((await pool.get("/hello")).body.length);
    });
  },
});

Deno.bench({
  name: "nexus ClientPool.acquire + borrowed body",
  ...pooled,
  async fn() {
    await drive(async () => {
      using lease = await pool.acquire();
      expect((await lease.get("/hello")).body.length);
    });
  },
});
