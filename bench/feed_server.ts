/**
 * A local market-data feed server for the benches, the demo, the soak and
 * their tests. No network beyond 127.0.0.1 and no dependencies.
 *
 * Run as a program (`deno run --allow-net bench/feed_server.ts`), it listens
 * on `127.0.0.1:<port>` (port 0 = any free port, or the first argument),
 * prints one JSON line `{"port":N}` on stdout, and serves until its stdin
 * reaches end of stream (so it dies with the process that spawned it).
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

const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const CLOSE_1000 = new Uint8Array([0x88, 0x02, 0x03, 0xe8]);

async function acceptKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-1",
    encoder.encode(key + WS_GUID),
  );
  let bin = "";
  for (const b of new Uint8Array(digest)) bin += String.fromCharCode(b);
  return btoa(bin);
}

async function writeAll(
  conn: { write(p: Uint8Array): Promise<number> },
  p: Uint8Array,
): Promise<void> {
  let off = 0;
  while (off < p.length) off += await conn.write(p.subarray(off));
}

/** Reads the HTTP request head; `null` when the peer left or sent junk. */
async function readHead(conn: Deno.Conn): Promise<string | null> {
  const buf = new Uint8Array(16384);
  let len = 0;
  while (len < buf.length) {
    const n = await conn.read(buf.subarray(len));
    if (n === null) return null;
    len += n;
    const text = new TextDecoder().decode(buf.subarray(0, len));
    if (text.includes("\r\n\r\n")) return text;
  }
  return null;
}

async function handle(conn: Deno.Conn, block: Uint8Array): Promise<void> {
  try {
    (conn as Deno.TcpConn).setNoDelay(true);
    const head = await readHead(conn);
    if (head === null) return;
    const [requestLine, ...lines] = head.split("\r\n");
    const target = requestLine.split(" ")[1] ?? "/";
    let key = "";
    for (const line of lines) {
      const i = line.indexOf(":");
      if (
        i > 0 && line.slice(0, i).trim().toLowerCase() === "sec-websocket-key"
      ) {
        key = line.slice(i + 1).trim();
      }
    }
    if (!key) {
      await writeAll(
        conn,
        encoder.encode(
          "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        ),
      );
      return;
    }
    const query = new URL(target, "http://feed").searchParams;
    const countParam = query.get("count");
    const msParam = query.get("ms");
    const count = countParam === null ? Infinity : Number(countParam);
    const deadline = msParam === null
      ? Infinity
      : performance.now() + Number(msParam);
    await writeAll(
      conn,
      encoder.encode(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n" +
          `Connection: Upgrade\r\nSec-WebSocket-Accept: ${await acceptKey(
            key,
          )}\r\n\r\n`,
      ),
    );
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
    await writeAll(conn, CLOSE_1000);
    // Wait for the client's close frame (or end of stream), then hang up.
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
  } catch {
    // The client went away mid-stream (reset, broken pipe): nothing to do.
  } finally {
    try {
      conn.close();
    } catch { /* already closed */ }
  }
}

async function serve(port: number): Promise<void> {
  const block = buildBlock();
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
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
  /** `ws://127.0.0.1:<port>/` plus the query, e.g. `url({ count: 1000 })`. */
  url(query?: { count?: number; ms?: number }): string;
  /** Stops the process and waits for it to exit. */
  close(): Promise<void>;
  /**
   * Lets this process exit without calling {@link FeedServer.close} (for
   * benches): the server exits when its stdin closes with this process.
   */
  unref(): void;
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
export async function startFeedServer(): Promise<FeedServer> {
  const proc = await spawnServer(import.meta.url, "feed server");
  const port = proc.port;
  return {
    port,
    url(query = {}) {
      const q = new URLSearchParams();
      if (query.count !== undefined) q.set("count", String(query.count));
      if (query.ms !== undefined) q.set("ms", String(query.ms));
      const s = q.toString();
      return `ws://127.0.0.1:${port}/${s ? "?" + s : ""}`;
    },
    close: proc.close,
    unref: proc.unref,
    [Symbol.asyncDispose]: proc.close,
  };
}

if (import.meta.main) {
  await serve(Number(Deno.args[0] ?? 0));
}
