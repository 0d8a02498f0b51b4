/**
 * A local market-data WebSocket server for the examples and their tests:
 * a `Deno.serve` upgrade server that speaks a tiny subscribe protocol.
 *
 * - The client sends `{"op":"subscribe","channel":"BTC-USD"}` (any channel
 *   name). The server answers `{"type":"subscribed","channel":...,"conn":N}`
 *   and then streams ticks for that channel at `rate` ticks per second, each
 *   a 77-byte JSON quote in the shape of `bench/feed_server.ts`:
 *   `{"s":"BTC-USD","b":64123.50,"a":64124.00,"bq":1.2,"aq":0.8,"t":1732500000123}`.
 * - `{"op":"ping"}` is answered with `{"op":"pong"}` (an application
 *   heartbeat in the Bybit shape).
 * - A subscribe carrying `"token":"revoked"` is answered with close code
 *   4001 ("token revoked"); anything else that is not a subscribe gets 4002.
 * - Plain HTTP: `GET /ticker?channel=BTC-USD` answers one tick as JSON (a
 *   REST endpoint for the HTTP client examples); any other path a short
 *   text.
 * - With `dropEvery`, each connection is closed with 1012 ("service
 *   restart") after that many milliseconds, so clients have to reconnect.
 *
 * Run alone: `deno run --allow-net examples/tick_server.ts [--port 8080]
 * [--rate 200] [--drop-every 3000]`. It prints one JSON line per event on
 * stdout (`listening`, `subscribed`, `closed`).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { makeTick } from "../bench/feed_server.ts";

/** Options for {@link startTickServer}. */
export interface TickServerOptions {
  /** Port on 127.0.0.1; 0 picks a free one. Default 0. */
  port?: number;
  /** Ticks per second per connection. Default 200. */
  rate?: number;
  /** Close every connection with 1012 after this many ms. Default never. */
  dropEvery?: number;
  /** Called with each event (`listening`, `subscribed`, `closed`). */
  onEvent?: (event: Record<string, unknown>) => void;
}

/** A running tick server. */
export interface TickServer extends AsyncDisposable {
  /** The port it listens on. */
  readonly port: number;
  /** `ws://127.0.0.1:<port>/`. */
  readonly url: string;
  /** Closes every connection (code 1001) and stops listening. */
  close(): Promise<void>;
}

/** Starts a tick server in this process. */
export async function startTickServer(
  options: TickServerOptions = {},
): Promise<TickServer> {
  const rate = options.rate ?? 200;
  const emit = options.onEvent ?? (() => {});
  const sockets = new Set<WebSocket>();
  let conns = 0;
  let bid = 6_412_350;
  const nextTick = (channel: string) => {
    bid = Math.min(
      6_999_000,
      Math.max(6_000_000, bid + Math.round((Math.random() - 0.5) * 400)),
    );
    const r = () => 1 + Math.floor(Math.random() * 99);
    return makeTick(bid, r(), r(), r(), Date.now()).replace(
      '"BTC-USD"',
      JSON.stringify(channel.slice(0, 7).padEnd(7, "-")),
    );
  };

  const handler = (req: Request): Response => {
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      const url = new URL(req.url);
      if (url.pathname === "/ticker") {
        return new Response(
          nextTick(url.searchParams.get("channel") ?? "BTC-USD"),
          {
            headers: { "content-type": "application/json" },
          },
        );
      }
      return new Response("tick server: connect with a WebSocket client\n");
    }
    const { socket, response } = Deno.upgradeWebSocket(req);
    const conn = ++conns;
    let ticker: ReturnType<typeof setInterval> | undefined;
    let dropper: ReturnType<typeof setTimeout> | undefined;
    const stop = () => {
      clearInterval(ticker);
      clearTimeout(dropper);
    };
    socket.onopen = () => {
      sockets.add(socket);
      if (options.dropEvery !== undefined) {
        dropper = setTimeout(
          () => socket.close(1012, "service restart"),
          options.dropEvery,
        );
      }
    };
    socket.onmessage = (e) => {
      let msg: { op?: unknown; channel?: unknown; token?: unknown };
      try {
        msg = JSON.parse(String(e.data));
      } catch {
        msg = {};
      }
      if (msg.op === "ping") {
        socket.send('{"op":"pong"}');
        return;
      }
      if (msg.op !== "subscribe" || typeof msg.channel !== "string") {
        socket.close(4002, "expected a subscribe message");
        return;
      }
      if (msg.token === "revoked") {
        socket.close(4001, "token revoked");
        return;
      }
      if (ticker !== undefined) return; // already subscribed
      const channel = msg.channel;
      socket.send(JSON.stringify({ type: "subscribed", channel, conn }));
      emit({ event: "subscribed", conn, channel });
      const start = performance.now();
      let sent = 0;
      ticker = setInterval(() => {
        if (socket.readyState !== WebSocket.OPEN) return stop();
        const due = Math.floor((performance.now() - start) * rate / 1000);
        for (; sent < due; sent++) socket.send(nextTick(channel));
      }, 10);
    };
    socket.onclose = (e) => {
      stop();
      sockets.delete(socket);
      emit({ event: "closed", conn, code: e.code });
    };
    socket.onerror = () => {};
    return response;
  };

  const listening = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: options.port ?? 0,
    onListen: (addr) => listening.resolve(addr as Deno.NetAddr),
  }, handler);
  const { port } = await listening.promise;
  emit({ event: "listening", port });
  let closing: Promise<void> | undefined;
  const close = () =>
    closing ??= (async () => {
      const closed = [...sockets].map((s) =>
        new Promise<void>((resolve) => {
          s.addEventListener("close", () => resolve());
          s.close(1001, "server shutting down");
        })
      );
      await Promise.all(closed);
      await server.shutdown();
    })();
  return {
    port,
    url: `ws://127.0.0.1:${port}/`,
    close,
    [Symbol.asyncDispose]: close,
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      port: { type: "string", default: "0" },
      rate: { type: "string", default: "200" },
      "drop-every": { type: "string" },
    },
  });
  const dropEvery = values["drop-every"];
  await startTickServer({
    port: Number(values.port),
    rate: Number(values.rate),
    dropEvery: dropEvery === undefined ? undefined : Number(dropEvery),
    onEvent: (e) => console.log(JSON.stringify(e)),
  });
}
