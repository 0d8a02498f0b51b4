/**
 * The compressed tick feed: the feed server's ticks (`feed_server.ts`)
 * compressed the way a permessage-deflate server compresses them (zlib,
 * default level, context takeover, each message sync-flushed and its
 * 00 00 ff ff removed), and a server process that sends them, for
 * `ws_deflate_bench.ts` and `deflate_rss.ts`.
 *
 * With context takeover a message's bytes depend on everything before it,
 * so the block is compressed twice in one stream: `first` is the block from
 * an empty window, `again` is the block once the window holds the block.
 * `again` can follow `first` any number of times: every distance in it
 * reaches at most one window back (2^N bytes), which is the end of the
 * previous block, the same every time. Every client asking for the same
 * window gets identical bytes.
 *
 * Run as a program (`deno run --allow-net bench/deflate_feed.ts`), it
 * listens on 127.0.0.1 (a free port), prints `{"port":N}`, and serves until
 * its stdin closes. Each connection: the handshake by hand, accepting the
 * client's first permessage-deflate offer (with its
 * `server_max_window_bits` and `server_no_context_takeover`; no offer: the
 * ticks go uncompressed), then
 *
 * - `?count=N`: N ticks as fast as it can write them, then a close frame
 *   1000;
 * - `?every=MS`: one tick every MS milliseconds until the client goes away.
 *
 * @module
 */

import { acceptKey } from "../src/codec/ws/handshake.ts";
import { buildBlock, FRAME_BYTES, TICK_BYTES } from "./feed_server.ts";
import { spawnServer, stdinClosed } from "./server_process.ts";
import { compressMessages } from "./zlib_sync.ts";
import { readRequest, writeAll } from "./server_upgrade.ts";

/** Tick frames back to back, and where each one ends. */
export interface TickFrames {
  /** The frames. */
  bytes: Uint8Array;
  /** `ends[i]`: the end of frame i in `bytes`. */
  ends: number[];
}

/** What a connection is sent: `first` once, then `again` over and over. */
export interface TickStream {
  /** The server window (8-15) it was compressed with; 0: uncompressed. */
  windowBits: number;
  /** Whether every message was compressed on its own (no context takeover). */
  noContextTakeover: boolean;
  first: TickFrames;
  again: TickFrames;
}

/** RSV1 text frames (FIN set) of the compressed ticks. */
function frames(payloads: Uint8Array[], rsv1: boolean): TickFrames {
  const ends: number[] = [];
  let n = 0;
  for (const p of payloads) {
    if (p.length > 125) throw new RangeError("Expected a short tick");
    n += 2 + p.length;
    ends.push(n);
  }
  const bytes = new Uint8Array(n);
  let o = 0;
  for (const p of payloads) {
    bytes[o] = rsv1 ? 0xc1 : 0x81;
    bytes[o + 1] = p.length;
    bytes.set(p, o + 2);
    o += 2 + p.length;
  }
  return { bytes, ends };
}

function ticks(): Uint8Array[] {
  const block = buildBlock();
  const out: Uint8Array[] = [];
  for (let o = 0; o < block.length; o += FRAME_BYTES) {
    out.push(block.subarray(o + 2, o + 2 + TICK_BYTES));
  }
  return out;
}

/**
 * The feed block as sent with a `windowBits` server window (zlib level 6,
 * context takeover unless `noContextTakeover`), or uncompressed for
 * `windowBits` 0.
 */
export function tickStream(
  windowBits: number,
  noContextTakeover = false,
): TickStream {
  const t = ticks();
  if (windowBits === 0) {
    const plain = frames(t, false);
    return { windowBits, noContextTakeover, first: plain, again: plain };
  }
  const c = compressMessages([...t, ...t], {
    windowBits,
    contextTakeover: !noContextTakeover,
  });
  return {
    windowBits,
    noContextTakeover,
    first: frames(c.slice(0, t.length), true),
    again: frames(c.slice(t.length), true),
  };
}

/** Average bytes on the wire per tick of the repeated block (header included). */
export function wireBytesPerTick(s: TickStream): number {
  return s.again.bytes.length / s.again.ends.length;
}

const encoder = new TextEncoder();
const CLOSE_1000 = new Uint8Array([0x88, 0x02, 0x03, 0xe8]);

/** The server window of the first permessage-deflate offer (15 without one), 0: none. */
function offeredWindow(extensions: string | undefined): number {
  const first = extensions?.split(",")[0] ?? "";
  if (!/^\s*permessage-deflate\b/i.test(first)) return 0;
  const bits = /server_max_window_bits\s*=\s*"?(\d+)/i.exec(first)?.[1];
  return bits === undefined ? 15 : Number(bits);
}

const streams = new Map<string, TickStream>();

async function handle(conn: Deno.Conn): Promise<void> {
  try {
    (conn as Deno.TcpConn).setNoDelay(true);
    const req = await readRequest(conn);
    if (req === null) return;
    const offer = req.fields.get("sec-websocket-extensions");
    const bits = offeredWindow(offer);
    const reset = bits !== 0 &&
      /server_no_context_takeover/i.test(offer?.split(",")[0] ?? "");
    let stream = streams.get(`${bits}/${reset}`);
    if (stream === undefined) {
      streams.set(`${bits}/${reset}`, stream = tickStream(bits, reset));
    }
    const ext = bits === 0
      ? ""
      : `Sec-WebSocket-Extensions: permessage-deflate${
        bits < 15 ? `; server_max_window_bits=${bits}` : ""
      }${reset ? "; server_no_context_takeover" : ""}\r\n`;
    const key = req.fields.get("sec-websocket-key") ?? "";
    await writeAll(
      conn,
      encoder.encode(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n${ext}\r\n`,
      ),
    );
    const query = new URL(req.target, "http://feed").searchParams;
    const every = Number(query.get("every") ?? 0);
    if (every > 0) await paced(conn, stream, every);
    else await burst(conn, stream, Number(query.get("count") ?? 0));
  } catch {
    // The client went away: nothing to do.
  } finally {
    try {
      conn.close();
    } catch { /* already closed */ }
  }
}

/** `count` ticks as fast as the socket takes them, then the close; waits for the client's. */
async function burst(conn: Deno.Conn, stream: TickStream, count: number) {
  let left = count;
  for (let part = stream.first; left > 0; part = stream.again) {
    const n = Math.min(left, part.ends.length);
    await writeAll(
      conn,
      n === part.ends.length
        ? part.bytes
        : part.bytes.subarray(0, part.ends[n - 1]),
    );
    left -= n;
  }
  await writeAll(conn, CLOSE_1000);
  const sink = new Uint8Array(4096);
  const timer = setTimeout(() => conn.close(), 5000);
  try {
    while ((await conn.read(sink)) !== null) {
      if ((sink[0] & 0x0f) === 0x08) break;
    }
  } finally {
    clearTimeout(timer);
  }
}

/** One tick every `ms` until the client goes away (a read ends or fails). */
async function paced(conn: Deno.Conn, stream: TickStream, ms: number) {
  let gone = false;
  (async () => {
    const sink = new Uint8Array(4096);
    try {
      while ((await conn.read(sink)) !== null) { /* pongs, the close */ }
    } catch { /* reset */ }
    gone = true;
  })();
  for (let part = stream.first, i = 0; !gone;) {
    const from = i === 0 ? 0 : part.ends[i - 1];
    await writeAll(conn, part.bytes.subarray(from, part.ends[i]));
    if (++i === part.ends.length) {
      part = stream.again;
      i = 0;
    }
    await new Promise((r) => setTimeout(r, ms));
  }
}

/** A running compressed feed server process. */
export interface DeflateFeedServer {
  /** The port it listens on at 127.0.0.1. */
  readonly port: number;
  /** `ws://127.0.0.1:<port>/?count=N` or `?every=MS`. */
  url(query: { count: number } | { every: number }): string;
  /** Stops the process. */
  close(): Promise<void>;
  /** Lets this process exit without `close()`. */
  unref(): void;
}

/** Spawns the server in its own process; resolves once it listens. Needs `--allow-run`. */
export async function startDeflateFeedServer(): Promise<DeflateFeedServer> {
  const proc = await spawnServer(import.meta.url, "compressed feed server");
  return {
    port: proc.port,
    url: (q) =>
      `ws://127.0.0.1:${proc.port}/?${
        "count" in q ? `count=${q.count}` : `every=${q.every}`
      }`,
    close: proc.close,
    unref: proc.unref,
  };
}

if (import.meta.main) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  await Deno.stdout.write(
    encoder.encode(
      JSON.stringify({ port: (listener.addr as Deno.NetAddr).port }) + "\n",
    ),
  );
  stdinClosed().then(() => Deno.exit(0));
  for await (const conn of listener) handle(conn);
}
