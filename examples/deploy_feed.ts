/**
 * A Deno Deploy app with a long-lived upstream feed, written for eviction:
 * Deploy may stop an instance at any time (idle, scaled down, evicted for
 * a host update); it sends `SIGINT` and kills the process with `SIGKILL`
 * five seconds later. This app closes everything cleanly well inside that:
 *
 * 1. on `SIGINT` or `SIGTERM`, it stops taking requests and ends its
 *    server-sent event streams;
 * 2. it closes the upstream feed with 1001 ("going away"), bounded by the
 *    feed's `closeTimeout` (1.5 s);
 * 3. a hard deadline (3.5 s, under Deploy's 5 s) exits anyway if
 *    something still hangs, so the process never meets the `SIGKILL`.
 *
 * ```sh
 * # Upstream: a local tick server this example starts.
 * deno run --allow-net --allow-read --allow-env examples/deploy_feed.ts --port 8000
 * # Upstream: your feed (it must accept {"op":"subscribe","channel":...}).
 * deno run --allow-net --allow-env examples/deploy_feed.ts --upstream wss://feed.example.com/ws
 * # then: curl localhost:8000/   (the latest tick and the feed's stats)
 * #       curl -N localhost:8000/events   (ticks as server-sent events)
 * #       kill -INT <pid>   (what Deploy sends)
 * ```
 *
 * On Deploy the port comes from the platform (`Deno.serve` without a port
 * listens where it should); `--port` is for running it elsewhere. What
 * Deploy's sleeping, eviction and multiple instances mean for an upstream
 * feed is in `docs/patterns.md` ("Deno Deploy: eviction").
 *
 * @module
 */

import { parseArgs } from "node:util";
import { reconnecting, type WsClient } from "../mod.ts";
import { startTickServer } from "./tick_server.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    port: { type: "string" },
    upstream: { type: "string" },
    channel: { type: "string", default: "BTC-USD" },
    rate: { type: "string", default: "100" }, // local upstream only
  },
});

/** Deploy kills the process 5 s after SIGINT: finish well before. */
const DEADLINE_MS = 3_500;

const local = values.upstream === undefined
  ? await startTickServer({ rate: Number(values.rate) })
  : undefined;
const upstreamUrl = values.upstream ?? local!.url;

let upstream: WsClient | null = null; // the current upstream connection
const feed = reconnecting(upstreamUrl, {
  connect: {
    heartbeat: { interval: 5_000, timeout: 5_000 },
    staleTimeout: 15_000, // subscribed but silent: reconnect
    closeTimeout: 1_500, // bounds the clean close at shutdown
  },
  onConnect: async (ws, { generation }) => {
    await ws.sendText(
      JSON.stringify({ op: "subscribe", channel: values.channel }),
    );
    upstream = ws;
    console.log(`upstream #${generation} connected`);
  },
  onDisconnect: ({ code, error, delay }) =>
    console.log(
      `upstream lost (${error?.message ?? code}), retry in ${delay} ms`,
    ),
  initialAttempts: Infinity, // an instance may start before its upstream is up
});

// The latest tick (as text) and the event streams to fan it out to.
let latest = "null";
const encoder = new TextEncoder();
const streams = new Set<ReadableStreamDefaultController<Uint8Array>>();
const reading = (async () => {
  for (let m = await feed.recv(); m !== null; m = await feed.recv()) {
    latest = m.text();
    const event = encoder.encode(`data: ${latest}\n\n`); // encoded once
    for (const c of streams) {
      if ((c.desiredSize ?? 0) > 0) c.enqueue(event); // a slow client skips
    }
  }
})();

const server = Deno.serve({
  port: values.port === undefined ? undefined : Number(values.port),
  hostname: values.port === undefined ? undefined : "127.0.0.1",
  onListen: ({ port }) => console.log(`listening on http://127.0.0.1:${port}`),
}, (req) => {
  const { pathname } = new URL(req.url);
  if (pathname === "/events") {
    let self: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({
      start: (c) => void streams.add(self = c),
      cancel: () => void streams.delete(self),
    }, { highWaterMark: 16 });
    return new Response(body, {
      headers: { "content-type": "text/event-stream" },
    });
  }
  if (pathname !== "/") return new Response("not found", { status: 404 });
  const s = feed.stats();
  return Response.json({
    latest: JSON.parse(latest),
    generation: s.generation,
    connected: s.connected,
    disconnects: s.disconnects,
    sinceLastMessage: s.ws?.sinceLastMessage ?? null,
  });
});

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  const t0 = performance.now();
  const deadline = setTimeout(() => {
    console.log(`shutdown on ${signal}: deadline passed, exiting anyway`);
    Deno.exit(1);
  }, DEADLINE_MS);
  // Stop taking requests, end the event streams (shutdown() waits for
  // responses in flight, and a stream never ends by itself).
  const draining = server.shutdown();
  for (const c of streams) c.close();
  streams.clear();
  // Close the upstream with 1001: no reconnect, a pending recv() gives null.
  await feed.close(1001, "going away");
  await Promise.all([reading, draining, local?.close()]);
  clearTimeout(deadline);
  Deno.removeSignalListener("SIGINT", onSigint);
  Deno.removeSignalListener("SIGTERM", onSigterm);
  console.log(
    `shutdown on ${signal}: upstream closed (${upstream?.closeCode}) in ${
      Math.round(performance.now() - t0)
    } ms, server drained`,
  );
}
const onSigint = () => void shutdown("SIGINT");
const onSigterm = () => void shutdown("SIGTERM");
Deno.addSignalListener("SIGINT", onSigint); // what Deploy sends
Deno.addSignalListener("SIGTERM", onSigterm); // what most other hosts send
