/**
 * Local servers that behave like crypto venues, for the venue-feed tests.
 * Each runs `Deno.serve` on 127.0.0.1 with a free port, records what it
 * saw, and stops with `close()` (closing every socket it accepted).
 * `Deno.serve` answers RFC 6455 pings by itself.
 */

type Timer = ReturnType<typeof setTimeout>;

/** A venue server: its URL, what it saw, and how to stop it. */
export interface Venue<Seen> {
  url: string;
  port: number;
  seen: Seen;
  close(): Promise<void>;
}

function serve<Seen>(
  seen: Seen,
  onRequest: (req: Request, sockets: Set<WebSocket>) => Response,
): Venue<Seen> {
  const ac = new AbortController();
  const sockets = new Set<WebSocket>();
  const s = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    (req) => onRequest(req, sockets),
  );
  return {
    url: `ws://127.0.0.1:${s.addr.port}/`,
    port: s.addr.port,
    seen,
    async close() {
      for (const ws of sockets) {
        try {
          ws.close(1001, "server stopping");
        } catch { /* already closed */ }
      }
      ac.abort();
      await s.finished;
    },
  };
}

/** Upgrades `req`; the socket is tracked until it closes; `timers` are cleared then. */
function upgrade(
  req: Request,
  sockets: Set<WebSocket>,
  setup: (ws: WebSocket, timers: Set<Timer>) => void,
): Response {
  const { socket, response } = Deno.upgradeWebSocket(req);
  const timers = new Set<Timer>();
  sockets.add(socket);
  socket.addEventListener("close", () => {
    sockets.delete(socket);
    for (const t of timers) {
      clearTimeout(t);
      clearInterval(t);
    }
  });
  setup(socket, timers);
  return response;
}

/**
 * OKX-like: every connection must send the text `ping` at least every
 * `within` ms (counted from the open, then from each ping), or it is closed
 * with 4004; each ping is answered with the text `pong`. A tick goes out
 * every `tickEvery` ms.
 */
export function textPingVenue(options: { within: number; tickEvery: number }) {
  const seen = { pings: 0, closes: [] as number[], connections: 0 };
  return serve(seen, (req, sockets) =>
    upgrade(req, sockets, (ws, timers) => {
      seen.connections++;
      let deadline: Timer | undefined;
      const arm = () => {
        clearTimeout(deadline);
        if (deadline !== undefined) timers.delete(deadline);
        deadline = setTimeout(() => {
          seen.closes.push(4004);
          ws.close(4004, `No ping received in ${options.within} ms`);
        }, options.within);
        timers.add(deadline);
      };
      ws.onopen = () => {
        arm();
        let n = 0;
        const t = setInterval(
          () => ws.send(`{"tick":${++n}}`),
          options.tickEvery,
        );
        timers.add(t);
      };
      ws.onmessage = (e) => {
        if (e.data !== "ping") return;
        seen.pings++;
        ws.send("pong");
        arm();
      };
    }));
}

/**
 * Binance-style application pings: every `every` ms the server sends
 * `{"ping": n}` and closes with 4003 unless `{"pong": n}` (the same n)
 * arrives within `within` ms. A tick goes out between pings.
 */
export function jsonPingVenue(options: { every: number; within: number }) {
  const seen = { pings: 0, pongs: 0, closes: [] as number[] };
  return serve(seen, (req, sockets) =>
    upgrade(req, sockets, (ws, timers) => {
      let waiting = 0; // the ping number awaiting its pong, 0 when none
      ws.onopen = () => {
        let n = 0;
        const t = setInterval(() => {
          ws.send(`{"tick":${n}}`);
          if (waiting !== 0) return;
          waiting = ++n + 1_700_000_000_000;
          seen.pings++;
          ws.send(`{"ping":${waiting}}`);
          const d = setTimeout(() => {
            if (waiting === 0) return;
            seen.closes.push(4003);
            ws.close(4003, "Pong timeout");
          }, options.within);
          timers.add(d);
        }, options.every);
        timers.add(t);
      };
      ws.onmessage = (e) => {
        const m = JSON.parse(String(e.data));
        if (typeof m.pong === "number" && m.pong === waiting) {
          seen.pongs++;
          waiting = 0;
        }
      };
    }));
}

/**
 * A venue that goes quiet: `ticks` data messages after each subscription,
 * then nothing, while it keeps answering RFC pings (by `Deno.serve`) and
 * the text `ping` with `pong`.
 */
export function quietVenue(options: { ticks: number }) {
  const seen = { subscriptions: 0, pings: 0, connections: 0 };
  return serve(seen, (req, sockets) =>
    upgrade(req, sockets, (ws) => {
      seen.connections++;
      ws.onmessage = (e) => {
        if (e.data === "ping") {
          seen.pings++;
          ws.send("pong");
          return;
        }
        if (e.data !== "subscribe") return;
        seen.subscriptions++;
        for (let i = 1; i <= options.ticks; i++) ws.send(`{"tick":${i}}`);
      };
    }));
}

/**
 * A venue with a message-rate limit: a connection that sends more than
 * `max` messages within any `window` ms is closed with 1008 (50 ms later,
 * reading what else comes meanwhile: a socket closed with unread bytes is
 * reset, and the reset would overtake the close frame). Once a connection
 * has sent `subscriptions` messages it gets `ticks` ticks and is closed
 * with 1012 (a restart), so the feed must reconnect and subscribe again.
 * A window, not a minimum gap, so that two messages the server happens to
 * read together (its event loop busy for a moment) are not a violation.
 */
export function rateLimitedVenue(
  options: {
    max: number;
    window: number;
    subscriptions: number;
    ticks: number;
  },
) {
  const seen = {
    connections: 0,
    completed: 0, // connections that sent every subscription in time
    closes: [] as number[],
    busiest: 0, // the most messages seen within one window
  };
  return serve(seen, (req, sockets) =>
    upgrade(req, sockets, (ws) => {
      seen.connections++;
      const times: number[] = [];
      let refused = false;
      ws.onmessage = () => {
        if (refused) return;
        const now = performance.now();
        times.push(now);
        const inWindow = times.filter((t) => t > now - options.window).length;
        seen.busiest = Math.max(seen.busiest, inWindow);
        if (inWindow > options.max) {
          refused = true;
          seen.closes.push(1008);
          setTimeout(() => ws.close(1008, "Too many requests"), 50);
          return;
        }
        if (times.length < options.subscriptions) return;
        seen.completed++;
        for (let i = 1; i <= options.ticks; i++) ws.send(`{"tick":${i}}`);
        seen.closes.push(1012);
        ws.close(1012, "Service restart");
      };
    }));
}

/**
 * Answers the first `refusals` handshakes with `status` and the given
 * `Retry-After`, then upgrades and sends one tick.
 */
export function retryAfterVenue(
  options: { status: number; retryAfter: string; refusals: number },
) {
  const seen = { requests: [] as number[] }; // performance.now() of each handshake
  return serve(seen, (req, sockets) => {
    seen.requests.push(performance.now());
    if (seen.requests.length <= options.refusals) {
      return new Response("slow down", {
        status: options.status,
        headers: { "retry-after": options.retryAfter },
      });
    }
    return upgrade(req, sockets, (ws) => {
      ws.onopen = () => ws.send('{"tick":1}');
    });
  });
}

/**
 * A venue for storms: records the time of every handshake it answers and
 * keeps the sockets; `dropAll()` closes every open one at once with 1012.
 * Each connection gets a tick once it subscribes.
 */
export function stormVenue() {
  const seen = { handshakes: [] as number[], open: 0 };
  let all: Set<WebSocket> | null = null;
  const venue = serve(seen, (req, sockets) => {
    all = sockets;
    seen.handshakes.push(performance.now());
    return upgrade(req, sockets, (ws) => {
      ws.onopen = () => seen.open++;
      ws.onclose = () => seen.open--;
      ws.onmessage = () => ws.send('{"tick":1}');
    });
  });
  return {
    ...venue,
    /** Closes every open connection with 1012. */
    dropAll(): number {
      let n = 0;
      for (const ws of all ?? []) {
        if (ws.readyState !== WebSocket.OPEN) continue;
        ws.close(1012, "Service restart");
        n++;
      }
      return n;
    },
  };
}

/** The most handshakes in any fixed `window` ms bucket of `times`. */
export function busiestWindow(times: number[], window: number): number {
  const buckets = new Map<number, number>();
  for (const t of times) {
    const k = Math.floor(t / window);
    buckets.set(k, (buckets.get(k) ?? 0) + 1);
  }
  return Math.max(0, ...buckets.values());
}
