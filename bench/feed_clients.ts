/**
 * The receive loops the benches, the demo and the soak run against the feed
 * server (`feed_server.ts`): each connects, receives until the server closes,
 * and returns how many messages and payload bytes it saw. Every loop touches
 * each message the way a real consumer would at least have to (its length),
 * so no engine can skip the work.
 *
 * @module
 */

import { connect, type ConnectOptions } from "../mod.ts";

/** What a receive loop saw. */
export interface FeedResult {
  /** Text messages received. */
  messages: number;
  /** Payload bytes received (sum of message lengths). */
  bytes: number;
}

/**
 * Called every `progressEvery` messages (a power of two) with the running
 * totals; for live progress lines. Not called at all when absent.
 */
export type Progress = (messages: number, bytes: number) => void;

/** Options shared by the receive loops. */
export interface FeedLoopOptions {
  /** Progress callback. */
  onProgress?: Progress;
  /** Messages between progress calls; a power of two. Default 65536. */
  progressEvery?: number;
  /** Client options, for the nexus loops. */
  client?: ConnectOptions;
}

/** @internal */
export function maskOf(options: FeedLoopOptions): number {
  return (options.progressEvery ?? 65536) - 1;
}

/**
 * nexus, borrowed bytes, the fastest loop the API offers:
 * `ws.tryRecv() ?? await ws.recv()` (no `await` for messages already in the
 * buffer) and the payload read in place through `m.bytes` / `m.offset` /
 * `m.byteLength` (no view, no copy, no decoding: nothing allocated per
 * message).
 */
export async function recvNexusBorrowed(
  url: string,
  options: FeedLoopOptions = {},
): Promise<FeedResult> {
  const ws = await connect(url, options.client);
  const mask = maskOf(options), onProgress = options.onProgress;
  let messages = 0, bytes = 0, check = 0;
  try {
    for (
      let m = ws.tryRecv() ?? await ws.recv();
      m !== null;
      m = ws.tryRecv() ?? await ws.recv()
    ) {
      check += m.bytes[m.offset]; // touch the payload in place: its first byte
      bytes += m.byteLength;
      if ((++messages & mask) === 0 && onProgress) onProgress(messages, bytes);
    }
  } finally {
    ws.terminate();
  }
  if (check !== messages * 0x7b) {
    throw new Error(
      `Expected every payload to start with "{", got sum ${check}`,
    );
  }
  return { messages, bytes };
}

/**
 * nexus, the plain awaited loop with a view: `await ws.recv()` and
 * `m.data.length` (a `Uint8Array` view of the receive buffer per message).
 */
export async function recvNexusView(
  url: string,
  options: FeedLoopOptions = {},
): Promise<FeedResult> {
  const ws = await connect(url, options.client);
  const mask = maskOf(options), onProgress = options.onProgress;
  let messages = 0, bytes = 0;
  try {
    for (let m = await ws.recv(); m !== null; m = await ws.recv()) {
      bytes += m.data.length;
      if ((++messages & mask) === 0 && onProgress) onProgress(messages, bytes);
    }
  } finally {
    ws.terminate();
  }
  return { messages, bytes };
}

/**
 * nexus, decoded: `ws.tryRecv() ?? await ws.recv()` and `m.text()` (one
 * string per message).
 */
export async function recvNexusText(
  url: string,
  options: FeedLoopOptions = {},
): Promise<FeedResult> {
  const ws = await connect(url, options.client);
  const mask = maskOf(options), onProgress = options.onProgress;
  let messages = 0, bytes = 0;
  try {
    for (
      let m = ws.tryRecv() ?? await ws.recv();
      m !== null;
      m = ws.tryRecv() ?? await ws.recv()
    ) {
      bytes += m.text().length; // ASCII ticks: UTF-16 length = byte length
      if ((++messages & mask) === 0 && onProgress) onProgress(messages, bytes);
    }
  } finally {
    ws.terminate();
  }
  return { messages, bytes };
}

/** The runtime's native `WebSocket` (`message` events, `data` is a string). */
export function recvNative(
  url: string,
  options: FeedLoopOptions = {},
): Promise<FeedResult> {
  const mask = maskOf(options), onProgress = options.onProgress;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    let messages = 0, bytes = 0, failed = false;
    ws.onmessage = (e: MessageEvent<string>) => {
      bytes += e.data.length;
      if ((++messages & mask) === 0 && onProgress) onProgress(messages, bytes);
    };
    ws.onerror = (e) => {
      failed = true;
      reject(
        new Error(`Native WebSocket error: ${(e as ErrorEvent).message ?? e}`),
      );
    };
    ws.onclose = () => {
      if (!failed) resolve({ messages, bytes });
    };
  });
}

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";

/**
 * No WebSocket at all: the handshake by hand, then plain `conn.read()` into
 * a 256 KiB buffer until the server's close frame, counting bytes. This is
 * the ceiling the feed server and the loopback can deliver to one reader.
 * `bytes` is every byte after the handshake response (frames + close frame);
 * `messages` is estimated as `bytes / frameBytes`.
 */
export async function recvRawTcp(
  port: number,
  path: string,
  frameBytes: number,
): Promise<FeedResult> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(
      new TextEncoder().encode(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ),
    );
    const buf = new Uint8Array(256 * 1024);
    let total = 0, n: number | null;
    let tail = 0; // last 4 bytes seen, to spot the close frame 88 02 03 e8
    while ((n = await conn.read(buf)) !== null) {
      total += n;
      for (let i = Math.max(0, n - 4); i < n; i++) {
        tail = ((tail << 8) | buf[i]) >>> 0;
      }
      if (tail === 0x880203e8) break;
    }
    // every byte after the 101 response (its length is fixed for this key)
    const bytes = total - HANDSHAKE_RESPONSE_BYTES;
    return { messages: Math.floor(bytes / frameBytes), bytes };
  } finally {
    conn.close();
  }
}

const HANDSHAKE_RESPONSE_BYTES =
  "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n".length +
  "Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
    .length;
