/**
 * Firing orders at a REST API through a `ClientPool`: a burst of concurrent
 * `POST /v1/orders` over a few keep-alive connections, latency percentiles,
 * then a status check and cancels on one leased connection with borrowed
 * response bodies.
 *
 * ```sh
 * # Against a local mock exchange this example starts:
 * deno run --allow-net examples/rest_orders.ts
 * # Against your API (same routes, X-Api-Key header):
 * deno run --allow-net examples/rest_orders.ts --url https://api.example.com --key $KEY --count 50
 * ```
 *
 * What it shows:
 * - `pool.post(path, { json })`: acquire, request, copy the body, release;
 *   the response is owned. At most `connections` requests are in flight;
 *   the rest wait their turn, first come first served.
 * - `using conn = await pool.acquire()`: a lease for a sequence of requests
 *   on one connection; each response body is borrowed until the next
 *   request on that connection, so read it (`res.json()`) first.
 * - Headers for every request (`headers` option), a per-request bound
 *   (`timeout`), and non-2xx answers handled by status, not by exceptions.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { ClientPool } from "../mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    url: { type: "string" },
    key: { type: "string", default: "demo-key" },
    count: { type: "string", default: "200" },
    connections: { type: "string", default: "8" },
  },
});
const count = Number(values.count);

interface Order {
  id: string;
  clientId: string;
  symbol: string;
  side: "buy" | "sell";
  qty: number;
  price: number;
  status: "accepted" | "cancelled";
}

/** A mock exchange: create, read and cancel orders; counts TCP connections. */
function startMockExchange(key: string) {
  const orders = new Map<string, Order>();
  const peers = new Set<string>();
  let next = 1;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req, info) => {
      peers.add(`${info.remoteAddr.hostname}:${info.remoteAddr.port}`);
      if (req.headers.get("x-api-key") !== key) {
        return Response.json({ error: "bad api key" }, { status: 401 });
      }
      const { pathname } = new URL(req.url);
      if (req.method === "POST" && pathname === "/v1/orders") {
        const o = await req.json().catch(() => null);
        if (
          !o || typeof o.symbol !== "string" || !(o.qty > 0) ||
          !(o.price > 0) || (o.side !== "buy" && o.side !== "sell")
        ) {
          return Response.json({ error: "invalid order" }, { status: 400 });
        }
        const order: Order = {
          id: `o-${next++}`,
          clientId: String(o.clientId),
          symbol: o.symbol,
          side: o.side,
          qty: o.qty,
          price: o.price,
          status: "accepted",
        };
        orders.set(order.id, order);
        return Response.json(order, { status: 201 });
      }
      const m = pathname.match(/^\/v1\/orders\/([\w-]+)$/);
      const order = m ? orders.get(m[1]) : undefined;
      if (!order) {
        return Response.json({ error: "no such order" }, { status: 404 });
      }
      if (req.method === "GET") return Response.json(order);
      if (req.method === "DELETE") {
        order.status = "cancelled";
        return Response.json(order);
      }
      return new Response(null, { status: 405 });
    },
  );
  return { server, peers, url: `http://127.0.0.1:${server.addr.port}` };
}

const mock = values.url === undefined
  ? startMockExchange(values.key)
  : undefined;
const origin = values.url ?? mock!.url;
const pool = new ClientPool(origin, {
  connections: Number(values.connections),
  headers: { "x-api-key": values.key, "user-agent": "nexus-ws-example/1" },
  timeout: 5_000,
});
console.log(`origin ${origin}, ${values.connections} connections`);

// 1. A burst: every order at once; the pool bounds what is in flight.
const latencies: number[] = [];
const statuses = new Map<number, number>();
const ids: string[] = [];
const t0 = performance.now();
await Promise.all(
  Array.from({ length: count }, async (_, i) => {
    const t = performance.now();
    const res = await pool.post("/v1/orders", {
      json: {
        clientId: `c-${i}`,
        symbol: "BTC-USD",
        side: i % 2 ? "sell" : "buy",
        qty: 0.01 * (1 + (i % 5)),
        price: 64_000 + (i % 50),
      },
    });
    latencies.push(performance.now() - t);
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    if (res.status === 201) ids.push(res.json<Order>().id); // owned body
  }),
);
const elapsed = performance.now() - t0;
latencies.sort((a, b) => a - b);
const pct = (p: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]
    .toFixed(2);
console.log(
  `sent ${count} orders in ${elapsed.toFixed(0)} ms (${
    Math.round(count / (elapsed / 1000))
  } orders/s): ${statuses.get(201) ?? 0} accepted, ${
    count - (statuses.get(201) ?? 0)
  } rejected; latency p50 ${pct(0.5)} ms p99 ${pct(0.99)} ms`,
);
console.log(`pool: ${pool.size} connections open, ${pool.idle} idle`);

// 2. One lease, several requests in a row; bodies are borrowed.
{
  using conn = await pool.acquire();
  const first = await conn.get(`/v1/orders/${ids[0]}`);
  const order = first.json<Order>(); // read before the next request
  console.log(
    `order ${order.id}: ${order.side} ${order.qty} @ ${order.price} ${order.status}`,
  );
  let cancelled = 0;
  for (const id of ids.slice(0, 5)) {
    const res = await conn.delete(`/v1/orders/${id}`);
    if (res.ok && res.json<Order>().status === "cancelled") cancelled++;
  }
  const missing = await conn.get("/v1/orders/o-unknown");
  console.log(
    `cancelled ${cancelled} orders; unknown order -> ${missing.status}`,
  );
} // the lease is released here

// 3. What a wrong key gets: a status, not an exception.
{
  const res = await pool.request({
    method: "POST",
    path: "/v1/orders",
    headers: { "x-api-key": "wrong" },
    json: { symbol: "BTC-USD", side: "buy", qty: 1, price: 1 },
  });
  console.log(
    `with a wrong key -> ${res.status} ${res.json<{ error: string }>().error}`,
  );
}

await pool.close();
if (mock) {
  await mock.server.shutdown();
  console.log(`server saw ${mock.peers.size} TCP connections`);
}
