/**
 * Edge fan-out, Deno Deploy style: one `Deno.serve` app holds ONE upstream
 * market-data connection (a reconnecting feed of this client) and relays
 * every tick to any number of browsers, over WebSocket (`/ws`) and over
 * server-sent events (`/events`). `/` serves a page that shows live ticks;
 * `/stats` reports counters as JSON.
 *
 * ```sh
 * # Upstream = a local tick server this example starts:
 * deno run --allow-net examples/edge_fanout.ts
 * # Upstream = your feed (it must accept {"op":"subscribe","channel":...}):
 * deno run --allow-net examples/edge_fanout.ts --upstream wss://feed.example.com/ws --port 8000
 * # then open http://127.0.0.1:8000/ (or /?transport=sse)
 * ```
 *
 * The cost per tick does not grow with the audience beyond one send per
 * client: the upstream message is decoded to a string once, the SSE frame
 * is encoded once. A client that cannot keep up (its WebSocket
 * `bufferedAmount` or its SSE queue over a bound) skips ticks instead of
 * growing memory: for quotes, the next tick replaces the one it missed.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { reconnecting } from "../mod.ts";
import { startTickServer, type TickServer } from "./tick_server.ts";

/** Options for {@link createFanout}. */
export interface FanoutOptions {
  /** Upstream feed URL. */
  upstream: string;
  /** Channel to subscribe to upstream. Default "BTC-USD". */
  channel?: string;
  /** Log lines (connects, disconnects) go here. Default `console.log`. */
  log?: (line: string) => void;
}

/** A running fan-out: its request handler and its counters. */
export interface Fanout {
  /** The `Deno.serve` handler. */
  fetch(req: Request): Response;
  /** Counters, as served on `/stats`. */
  stats(): {
    generation: number;
    wsClients: number;
    sseClients: number;
    ticksIn: number;
    sent: number;
    skipped: number;
  };
  /** Closes the upstream feed and every client. */
  close(): Promise<void>;
}

const MAX_WS_BUFFERED = 64 * 1024;
const SSE_HIGH_WATER = 256; // SSE frames queued per client before skipping
const encoder = new TextEncoder();

/** Creates the fan-out app and starts its upstream feed. */
export function createFanout(options: FanoutOptions): Fanout {
  const log = options.log ?? console.log;
  const channel = options.channel ?? "BTC-USD";
  const sockets = new Set<WebSocket>();
  const streams = new Set<ReadableStreamDefaultController<Uint8Array>>();
  let ticksIn = 0, sent = 0, skipped = 0;

  const feed = reconnecting(options.upstream, {
    connect: { heartbeat: { interval: 2_000, timeout: 6_000 } },
    onConnect: async (ws, { generation }) => {
      await ws.sendText(JSON.stringify({ op: "subscribe", channel }));
      log(`upstream #${generation} connected, subscribed to ${channel}`);
    },
    onDisconnect: ({ code, error, delay }) =>
      log(
        `upstream lost (${error?.message ?? code}), retry in ${delay} ms`,
      ),
    backoff: { initial: 100, max: 5_000 },
  });

  function broadcast(text: string): void {
    ticksIn++;
    for (const s of sockets) {
      if (s.readyState !== WebSocket.OPEN) continue;
      if (s.bufferedAmount > MAX_WS_BUFFERED) {
        skipped++;
        continue;
      }
      s.send(text);
      sent++;
    }
    if (streams.size === 0) return;
    const frame = encoder.encode(`data: ${text}\n\n`); // once for all
    for (const c of streams) {
      if ((c.desiredSize ?? 0) <= 0) {
        skipped++;
        continue;
      }
      c.enqueue(frame);
      sent++;
    }
  }

  const pump = (async () => {
    try {
      for (let m = await feed.recv(); m !== null; m = await feed.recv()) {
        if (m.type === "text") broadcast(m.text()); // one decode per tick
      }
    } catch (err) {
      log(`upstream stopped: ${err}`);
    }
  })();

  function upgrade(req: Request): Response {
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.onopen = () => sockets.add(socket);
    socket.onclose = () => sockets.delete(socket);
    socket.onerror = () => {};
    return response;
  }

  function events(): Response {
    let self: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        self = c;
        streams.add(c);
        c.enqueue(encoder.encode("retry: 1000\n\n"));
      },
      cancel() {
        streams.delete(self);
      },
    }, new CountQueuingStrategy({ highWaterMark: SSE_HIGH_WATER }));
    return new Response(body, {
      headers: {
        "content-type": "text/event-stream",
        "cache-control": "no-store",
      },
    });
  }

  const stats = () => ({
    generation: feed.generation,
    wsClients: sockets.size,
    sseClients: streams.size,
    ticksIn,
    sent,
    skipped,
  });

  return {
    fetch(req) {
      const { pathname } = new URL(req.url);
      if (pathname === "/ws") {
        if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
          return new Response("Expected a WebSocket upgrade\n", {
            status: 426,
          });
        }
        return upgrade(req);
      }
      if (pathname === "/events") return events();
      if (pathname === "/stats") return Response.json(stats());
      if (pathname === "/") {
        return new Response(PAGE, {
          headers: { "content-type": "text/html; charset=utf-8" },
        });
      }
      return new Response("Not found\n", { status: 404 });
    },
    stats,
    async close() {
      await feed.close();
      await pump;
      for (const c of streams) c.close();
      streams.clear();
      await Promise.all([...sockets].map((s) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 1000);
          s.addEventListener("close", () => {
            clearTimeout(timer);
            resolve();
          });
          s.close(1001, "server going away");
        })
      ));
    },
  };
}

const PAGE = `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>nexus-ws fan-out: live ticks</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; margin: 2rem; }
  #quote { font: 600 2rem ui-monospace, monospace; }
  ul { font: 13px ui-monospace, monospace; padding: 0; list-style: none; white-space: pre; }
  .up { color: #080; } .down { color: #b00; }
</style>
<h1>Live ticks</h1>
<p>transport <b id="transport">-</b> &middot; status <b id="status">connecting</b>
  &middot; ticks <b id="count">0</b></p>
<div id="quote">-</div>
<ul id="ticks"></ul>
<script type="module">
  const $ = (id) => document.getElementById(id);
  const sse = new URLSearchParams(location.search).get("transport") === "sse";
  $("transport").textContent = sse ? "server-sent events" : "WebSocket";
  let count = 0, lastBid = 0;
  function onTick(text) {
    const t = JSON.parse(text);
    if (t.b === undefined) return; // not a tick (e.g. the subscribe answer)
    count++;
    $("count").textContent = String(count);
    $("quote").textContent = t.s + " " + t.b.toFixed(2) + " / " + t.a.toFixed(2);
    const li = document.createElement("li");
    li.className = t.b >= lastBid ? "up" : "down";
    lastBid = t.b;
    li.textContent = new Date(t.t).toISOString().slice(11, 23) + "  " +
      t.b.toFixed(2) + " x " + t.bq.toFixed(1) + "   " + t.a.toFixed(2) + " x " + t.aq.toFixed(1);
    const list = $("ticks");
    list.prepend(li);
    while (list.children.length > 20) list.lastChild.remove();
  }
  if (sse) {
    const es = new EventSource("/events");
    es.onopen = () => $("status").textContent = "live";
    es.onerror = () => $("status").textContent = "reconnecting";
    es.onmessage = (e) => onTick(e.data);
  } else {
    (function open() {
      const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
      ws.onopen = () => $("status").textContent = "live";
      ws.onmessage = (e) => onTick(e.data);
      ws.onclose = () => { $("status").textContent = "reconnecting"; setTimeout(open, 1000); };
    })();
  }
</script>
</html>
`;

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      port: { type: "string", default: "8000" },
      upstream: { type: "string" },
      channel: { type: "string", default: "BTC-USD" },
      rate: { type: "string", default: "50" }, // local upstream only
      duration: { type: "string" }, // ms; default: until Ctrl-C
    },
  });
  let local: TickServer | undefined;
  if (values.upstream === undefined) {
    local = await startTickServer({ rate: Number(values.rate) });
  }
  const app = createFanout({
    upstream: values.upstream ?? local!.url,
    channel: values.channel,
  });
  const ac = new AbortController();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: Number(values.port),
    signal: ac.signal,
    onListen: ({ hostname, port }) =>
      console.log(`listening on http://${hostname}:${port}/`),
  }, app.fetch);

  const stop = Promise.withResolvers<string>();
  const onSigint = () => stop.resolve("interrupted");
  Deno.addSignalListener("SIGINT", onSigint);
  const timer = values.duration === undefined ? undefined : setTimeout(
    () => stop.resolve("duration elapsed"),
    Number(values.duration),
  );
  let last = app.stats(), t0 = performance.now();
  const ticker = setInterval(() => {
    const s = app.stats(), now = performance.now(), dt = (now - t0) / 1000;
    console.log(
      `fanout upstream #${s.generation} | in ${
        Math.round((s.ticksIn - last.ticksIn) / dt)
      }/s | clients ws ${s.wsClients} sse ${s.sseClients} | out ${
        Math.round((s.sent - last.sent) / dt)
      }/s | skipped ${s.skipped}`,
    );
    last = s;
    t0 = now;
  }, 1_000);

  const why = await stop.promise;
  clearInterval(ticker);
  clearTimeout(timer);
  Deno.removeSignalListener("SIGINT", onSigint);
  await app.close();
  ac.abort();
  await server.finished;
  await local?.close();
  const s = app.stats();
  console.log(
    `done (${why}): ${s.ticksIn} ticks in, ${s.sent} sent, ${s.skipped} skipped`,
  );
}
