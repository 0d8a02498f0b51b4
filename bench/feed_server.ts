/**
 * A local market-data feed server for the benches, the demo, the soak and
 * their tests. No network beyond 127.0.0.1 and no dependencies.
 *
 * Run as a program (`deno run --allow-net bench/feed_server.ts [port]
 * [--tls]`), it listens on `127.0.0.1:<port>` (port 0 = any free port),
 * prints one JSON line `{"port":N}` on stdout, and serves until its stdin
 * reaches end of stream (so it dies with the process that spawned it). With
 * `--tls` (and `--allow-read` of `bench/tls/`) it serves `wss://` with the
 * bench CA's `localhost` certificate (`bench/tls/`, see its README).
 *
 * Each connection: the server side of the WebSocket upgrade, done by hand
 * (SHA-1 accept via `crypto.subtle`, no extensions, no subprotocol), then a
 * precomputed block of {@link TICKS_PER_BLOCK} unmasked text frames, each
 * carrying one {@link TICK_BYTES}-byte JSON quote tick, written again and
 * again in large writes. Every connection starts at the same tick, so every
 * client receives identical bytes. The request query bounds the stream:
 *
 * - `?count=N`: exactly N ticks, then a close frame with code 1000;
 * - `?ms=T`: whole blocks for about T milliseconds, then a close frame 1000;
 * - neither: ticks until the client goes away.
 *
 * Two other shapes serve the scale benches:
 *
 * - `?every=T`: one tick every T ms (the ticks of all such connections
 *   spread over the period by one shared timer), until the client goes
 *   away (or `count` ticks, then close 1000);
 * - `/echo`: every text or binary message comes back as the same frame,
 *   pings get pongs, a close frame its echo.
 *
 * After its close frame the server waits (at most 5 s) for the client's
 * close frame or end of stream, then closes the TCP connection.
 *
 * Imported, it exports {@link startFeedServer} (spawns the program in its own
 * process with `Deno.Command` and `Deno.execPath()`), and the tick shape
 * ({@link makeTick}, {@link buildBlock}) for tests.
 *
 * @module
 */
import { spawnServer, stdinClosed } from "./server_process.ts";
import {
  ClientFrames,
  serverFrame,
  upgrade,
  writeAll,
} from "./server_upgrade.ts";

/** Bytes of JSON in every tick. */
export const TICK_BYTES = 77;
/** Bytes of one tick frame on the wire: 2-byte header + payload. */
export const FRAME_BYTES = TICK_BYTES + 2;
/** Ticks in the precomputed block the server writes repeatedly (~160 KiB). */
export const TICKS_PER_BLOCK = 2048;

const encoder = new TextEncoder();

/** A small deterministic PRNG (mulberry32), so every run sends the same bytes. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * One tick as JSON, exactly {@link TICK_BYTES} bytes: bid/ask in cents
 * (clamped to a 5-digit dollar price), sizes in tenths (0.1 .. 9.9), a
 * 13-digit epoch-millisecond timestamp.
 *
 * `{"s":"BTC-USD","b":64123.50,"a":64124.00,"bq":1.2,"aq":0.8,"t":1732500000123}`
 */
export function makeTick(
  bidCents: number,
  spreadCents: number,
  bidTenths: number,
  askTenths: number,
  timeMs: number,
): string {
  const price = (c: number) => (c / 100).toFixed(2);
  const size = (t: number) => (t / 10).toFixed(1);
  const s = `{"s":"BTC-USD","b":${price(bidCents)},"a":${
    price(bidCents + spreadCents)
  },"bq":${size(bidTenths)},"aq":${size(askTenths)},"t":${timeMs}}`;
  if (s.length !== TICK_BYTES) {
    throw new RangeError(
      `Expected a ${TICK_BYTES}-byte tick, got ${s.length}: ${s}`,
    );
  }
  return s;
}

/**
 * The block of `ticks` text frames the server repeats: a random walk of a
 * BTC-USD quote, seeded so it is the same in every process.
 */
export function buildBlock(ticks: number = TICKS_PER_BLOCK): Uint8Array {
  const out = new Uint8Array(ticks * FRAME_BYTES);
  const rnd = prng(0x6e657875);
  let bid = 6_412_350; // cents
  let t = 1_732_500_000_123;
  for (let i = 0; i < ticks; i++) {
    bid += Math.round((rnd() - 0.5) * 400);
    bid = Math.min(6_999_000, Math.max(6_000_000, bid));
    const spread = 1 + Math.floor(rnd() * 99);
    const bq = 1 + Math.floor(rnd() * 99);
    const aq = 1 + Math.floor(rnd() * 99);
    t += 1 + Math.floor(rnd() * 3);
    const json = makeTick(bid, spread, bq, aq, t);
    const o = i * FRAME_BYTES;
    out[o] = 0x81; // FIN + text
    out[o + 1] = TICK_BYTES; // unmasked, 7-bit length
    encoder.encodeInto(json, out.subarray(o + 2, o + FRAME_BYTES));
  }
  return out;
}

const CLOSE_1000 = new Uint8Array([0x88, 0x02, 0x03, 0xe8]);

/** Streams the block (`count` / `ms` bound), then closes. */
async function stream(
  conn: Deno.Conn,
  block: Uint8Array,
  query: URLSearchParams,
): Promise<void> {
  const countParam = query.get("count");
  const msParam = query.get("ms");
  const count = countParam === null ? Infinity : Number(countParam);
  const deadline = msParam === null
    ? Infinity
    : performance.now() + Number(msParam);
  const perBlock = block.length / FRAME_BYTES;
  let left = count;
  while (left > 0 && performance.now() < deadline) {
    const n = Math.min(left, perBlock);
    await writeAll(
      conn,
      n === perBlock ? block : block.subarray(0, n * FRAME_BYTES),
    );
    left -= n;
  }
  await closeAndLinger(conn);
}

/** Sends close 1000, then waits (≤ 5 s) for the client's close frame or end of stream. */
async function closeAndLinger(conn: Deno.Conn): Promise<void> {
  await writeAll(conn, CLOSE_1000);
  const sink = new Uint8Array(4096);
  const timer = setTimeout(() => {
    try {
      conn.close();
    } catch { /* already closed */ }
  }, 5000);
  try {
    for (;;) {
      const n = await conn.read(sink);
      if (n === null) break;
      // A close frame from the client starts with 0x88 (FIN + close).
      if ((sink[0] & 0x0f) === 0x08) break;
    }
  } finally {
    clearTimeout(timer);
  }
}

/** The scheduler granularity of `?every=` ticks, in ms. */
const SLOT_MS = 5;

/** A connection receiving a tick every `every` ms. */
interface Ticking {
  conn: Deno.Conn;
  next: number; // index of its next tick in the block
  left: number; // ticks still to send
  owed: number; // ticks due while a write was in flight
  writing: boolean;
  done: () => void;
}

/**
 * One timer for every connection with the same tick period: the period is
 * cut into slots of {@link SLOT_MS} and connection `i` is served in slot
 * `i mod slots`, so ticks are spread over the period instead of sent in one
 * burst. A connection whose previous write is still in flight owes its
 * ticks and gets them in one write when that completes.
 */
class Ticker {
  #slots: Set<Ticking>[];
  #slotMs: number;
  #start = performance.now();
  #served = 0; // slots served since #start
  #added = 0;
  #block: Uint8Array;

  constructor(every: number, block: Uint8Array) {
    const n = Math.max(1, Math.round(every / SLOT_MS));
    this.#slots = Array.from({ length: n }, () => new Set<Ticking>());
    this.#slotMs = every / n;
    this.#block = block;
    setInterval(() => this.#tick(), this.#slotMs);
  }

  add(t: Ticking): void {
    this.#slots[this.#added++ % this.#slots.length].add(t);
  }

  /** Serves every slot due by now (a late timer catches up). */
  #tick(): void {
    const due = Math.floor((performance.now() - this.#start) / this.#slotMs);
    for (; this.#served < due; this.#served++) {
      this.#serve(this.#slots[this.#served % this.#slots.length]);
    }
  }

  #serve(slot: Set<Ticking>): void {
    for (const t of slot) {
      if (t.left === 0) {
        slot.delete(t);
        t.done();
      } else if (t.writing) t.owed++;
      else this.#send(t, slot, 1);
    }
  }

  #send(t: Ticking, slot: Set<Ticking>, n: number): void {
    n = Math.min(n, t.left);
    let frames: Uint8Array;
    if (n === 1) {
      const o = t.next * FRAME_BYTES;
      frames = this.#block.subarray(o, o + FRAME_BYTES);
      t.next = (t.next + 1) % TICKS_PER_BLOCK;
    } else {
      frames = new Uint8Array(n * FRAME_BYTES);
      for (let i = 0; i < n; i++) {
        const o = t.next * FRAME_BYTES;
        frames.set(this.#block.subarray(o, o + FRAME_BYTES), i * FRAME_BYTES);
        t.next = (t.next + 1) % TICKS_PER_BLOCK;
      }
    }
    t.left -= n;
    t.writing = true;
    writeAll(t.conn, frames).then(() => {
      t.writing = false;
      const owed = t.owed;
      t.owed = 0;
      if (owed > 0) this.#send(t, slot, owed);
    }, () => {
      slot.delete(t);
      t.done();
    });
  }
}

const tickers = new Map<number, Ticker>();

/**
 * `?every=T`: a tick every `T` ms (at most `count` of them, then close
 * 1000), until the client goes away.
 */
async function tick(
  conn: Deno.Conn,
  block: Uint8Array,
  query: URLSearchParams,
): Promise<void> {
  const every = Math.max(1, Number(query.get("every")));
  const countParam = query.get("count");
  let ticker = tickers.get(every);
  if (ticker === undefined) {
    tickers.set(every, ticker = new Ticker(every, block));
  }
  const ended = Promise.withResolvers<void>();
  ticker.add({
    conn,
    next: 0,
    left: countParam === null ? Infinity : Number(countParam),
    owed: 0,
    writing: false,
    done: ended.resolve,
  });
  // The client sends nothing but pongs and its close frame: reading spots
  // it leaving, and its close frame is answered.
  const reading = (async () => {
    const frames = new ClientFrames(conn);
    try {
      for (let f = await frames.next(); f !== null; f = await frames.next()) {
        if (f.op === 0x8) {
          await writeAll(conn, serverFrame(0x8, f.payload));
          return;
        }
      }
    } catch { /* reset */ }
  })();
  if (await Promise.race([ended.promise.then(() => true), reading])) {
    await closeAndLinger(conn).catch(() => {});
  }
}

/**
 * `/echo`: every text or binary message comes back as the same unmasked
 * frame, a ping gets its pong, a close frame its echo (then the server
 * hangs up).
 */
async function echo(conn: Deno.Conn): Promise<void> {
  const frames = new ClientFrames(conn);
  for (let f = await frames.next(); f !== null; f = await frames.next()) {
    if (f.op === 0x8) {
      await writeAll(conn, serverFrame(0x8, f.payload));
      return;
    }
    if (f.op === 0xa) continue; // a pong needs no answer
    await writeAll(conn, serverFrame(f.op === 0x9 ? 0xa : f.op, f.payload));
  }
}

async function handle(conn: Deno.Conn, block: Uint8Array): Promise<void> {
  try {
    if ("setNoDelay" in conn) (conn as Deno.TcpConn).setNoDelay(true);
    const target = await upgrade(conn);
    if (target === null) return;
    if (target.pathname === "/echo") await echo(conn);
    else if (target.searchParams.has("every")) {
      await tick(conn, block, target.searchParams);
    } else await stream(conn, block, target.searchParams);
  } catch {
    // The client went away mid-stream (reset, broken pipe): nothing to do.
  } finally {
    try {
      conn.close();
    } catch { /* already closed */ }
  }
}

/** The bench TLS files, next to this module: a local CA and a `localhost` leaf. */
export const TLS_DIR = new URL("./tls/", import.meta.url);
/** The bench CA's certificate (PEM path) that `wss://` clients must trust. */
export const TLS_CA_FILE: string = new URL("ca.pem", TLS_DIR).pathname;

async function serve(port: number, tls: boolean): Promise<void> {
  const block = buildBlock();
  const listener = tls
    ? Deno.listenTls({
      hostname: "127.0.0.1",
      port,
      cert: await Deno.readTextFile(new URL("localhost.pem", TLS_DIR)),
      key: await Deno.readTextFile(new URL("localhost.key", TLS_DIR)),
    })
    : Deno.listen({ hostname: "127.0.0.1", port });
  const addr = listener.addr as Deno.NetAddr;
  await writeAll(
    Deno.stdout,
    encoder.encode(JSON.stringify({ port: addr.port }) + "\n"),
  );
  // Exit when the parent closes our stdin (or dies).
  stdinClosed().then(() => Deno.exit(0));
  for await (const conn of listener) handle(conn, block);
}

/** A running feed server process. */
export interface FeedServer extends AsyncDisposable {
  /** The port it listens on at 127.0.0.1. */
  readonly port: number;
  /** Whether it serves TLS (`wss://localhost:<port>`, see {@link TLS_CA_FILE}). */
  readonly tls: boolean;
  /**
   * `ws://127.0.0.1:<port>/` (or `wss://localhost:<port>/`), plus a path
   * and the query, e.g. `url({ count: 1000 })`, `url({ every: 100 })`,
   * `url({ path: "/echo" })`.
   */
  url(
    query?: { count?: number; ms?: number; every?: number; path?: string },
  ): string;
  /** Stops the process and waits for it to exit. */
  close(): Promise<void>;
  /**
   * Lets this process exit without calling {@link FeedServer.close} (for
   * benches): the server exits when its stdin closes with this process.
   */
  unref(): void;
}

/** Options of {@link startFeedServer}. */
export interface FeedServerOptions {
  /** Serve `wss://` with the bench CA's `localhost` certificate. */
  tls?: boolean;
  /** Raise the server's open-file limit to the hard limit (thousands of connections). */
  raiseFdLimit?: boolean;
}

/**
 * Spawns the feed server in its own process (`Deno.execPath() run
 * --allow-net`) and resolves once it listens. Needs `--allow-run`.
 *
 * @example
 * ```ts ignore
 * await using feed = await startFeedServer();
 * const ws = new WebSocket(feed.url({ count: 1000 }));
 * ```
 */
export async function startFeedServer(
  options: FeedServerOptions = {},
): Promise<FeedServer> {
  const tls = options.tls === true;
  const proc = await spawnServer(import.meta.url, "feed server", {
    args: tls ? ["0", "--tls"] : ["0"],
    allowRead: tls ? [TLS_DIR.pathname] : [],
    raiseFdLimit: options.raiseFdLimit,
  });
  const port = proc.port;
  const base = tls ? `wss://localhost:${port}` : `ws://127.0.0.1:${port}`;
  return {
    port,
    tls,
    url(query = {}) {
      const q = new URLSearchParams();
      if (query.count !== undefined) q.set("count", String(query.count));
      if (query.ms !== undefined) q.set("ms", String(query.ms));
      if (query.every !== undefined) q.set("every", String(query.every));
      const s = q.toString();
      return `${base}${query.path ?? "/"}${s ? "?" + s : ""}`;
    },
    close: proc.close,
    unref: proc.unref,
    [Symbol.asyncDispose]: proc.close,
  };
}

if (import.meta.main) {
  await serve(Number(Deno.args[0] ?? 0), Deno.args.includes("--tls"));
}
