/**
 * The receive loops the feed bench (`ws_feed_bench.ts`), the demo
 * (`examples/demo.ts`), the tuning bench and their tests run against the feed
 * server (`feed_server.ts`): the one place each native and nexus loop is
 * written (npm `ws`'s are in `feed_clients_npm.ts`).
 *
 * Each loop connects, receives until the server closes, and returns how many
 * messages and payload bytes it saw. Each is described by a {@link FeedLoop}
 * whose `label` says exactly what it runs, and whose `work` says what it
 * makes of every message. Two loops are like for like only when their work
 * is the same: a string per message (nexus `m.text()`, native `e.data`),
 * or a parsed JSON object per message (nexus `m.json()`, native
 * `JSON.parse(e.data)`). The loops that make no string (nexus `m.data`, the
 * in-place byte read) have no native counterpart, since the native
 * `WebSocket` makes a string of every text message: comparing them with
 * native `e.data` is not like for like, and {@link comparisonOf} says so.
 *
 * Every loop touches each message the way a consumer at least would: it adds
 * the length of what it got (string or bytes) to `bytes`; the JSON loops
 * also check each tick's `s` field; the in-place loop checks each first
 * byte. So no engine can skip the work, and a wrong payload fails the loop.
 *
 * @module
 */

import {
  connect,
  type ConnectOptions,
  matchPrefix,
  matchText,
  type Transport,
  type WsClient,
} from "../mod.ts";

const isPing = matchPrefix('{"ping":');

/**
 * The application liveness options the benches run the in-place loop with
 * (by label), their intervals an hour: what is measured is the per-message
 * cost of the matchers.
 */
export const LIVENESS_OPTIONS: [string, ConnectOptions][] = [
  ['appHeartbeat { isPong: matchText("pong") }', {
    appHeartbeat: {
      message: "ping",
      interval: 3_600_000,
      isPong: matchText("pong"),
    },
  }],
  [`appPingReply with matchPrefix('{"ping":')`, {
    appPingReply: (m) => isPing(m) ? "pong" : undefined,
  }],
  ["staleTimeout", { staleTimeout: 3_600_000 }],
];

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
  /** npm `ws` loops: offer permessage-deflate (ws's defaults). Default `false`. */
  npmDeflate?: boolean;
}

/** A receive loop: connects to `url` and receives until the server closes. */
export type FeedRun = (
  url: string,
  options?: FeedLoopOptions,
) => Promise<FeedResult>;

/**
 * What a loop makes of each message; loops with the same work are like for
 * like:
 *
 * - `"string"`: a string per message;
 * - `"json"`: a parsed JSON object per message;
 * - `"bytes"`: the payload as bytes, no string (no native counterpart).
 */
export type Work = "string" | "json" | "bytes";

/** A receive loop and what it runs, for bench rows, demo rows and tests. */
export interface FeedLoop {
  /** The client: `"nexus"`, `"native WebSocket"` or `"npm ws"`. */
  client: string;
  /** Exactly the loop it runs, e.g. `"await recv(), m.text()"`. */
  loop: string;
  /** The row label everywhere: `` `${client}: ${loop}` ``. */
  label: string;
  /** What it makes of each message. */
  work: Work;
  /** Runs it. */
  run: FeedRun;
}

/** Describes a loop; its label is `` `${client}: ${loop}` ``. */
export function feedLoop(
  client: string,
  loop: string,
  work: Work,
  run: FeedRun,
): FeedLoop {
  return { client, loop, label: `${client}: ${loop}`, work, run };
}

/** The symbol of every tick the feed server sends. */
export const SYMBOL = "BTC-USD";
/** `"{"`, the first byte of every tick. */
const OPEN_BRACE = 0x7b;

/** @internal */
export function maskOf(options: FeedLoopOptions): number {
  return (options.progressEvery ?? 65536) - 1;
}

/** @internal Throws unless all `messages` passed the loop's per-message check. */
export function expectEvery(
  passed: number,
  messages: number,
  what: string,
): void {
  if (passed !== messages) {
    throw new Error(
      `Expected ${what} in all ${messages} messages, got ${passed}`,
    );
  }
}

/**
 * @internal The promise of an event-driven client (native, npm `ws`):
 * `start` opens it and wires `closed` / `failed` to its events. Resolves
 * with `result()` on `closed()` (or rejects with what `result()` threw: a
 * failed per-message check), rejects on `failed(e)`.
 */
export function eventSession(
  start: (closed: () => void, failed: (e: unknown) => void) => void,
  result: () => FeedResult,
): Promise<FeedResult> {
  return new Promise((resolve, reject) => {
    let failed = false;
    start(() => {
      if (failed) return;
      try {
        resolve(result());
      } catch (e) {
        reject(e);
      }
    }, (e) => {
      failed = true;
      reject(e);
    });
  });
}

/** Connects, runs `body` on the client, and always terminates it. */
async function nexusSession(
  url: string,
  options: FeedLoopOptions,
  body: (ws: WsClient, mask: number, onProgress?: Progress) => Promise<
    FeedResult
  >,
): Promise<FeedResult> {
  const ws = await connect(url, options.client);
  try {
    return await body(ws, maskOf(options), options.onProgress);
  } finally {
    ws.terminate();
  }
}

/**
 * nexus, `tryRecv() ?? await recv()` (no `await` for messages already in the
 * buffer), reading one byte of each payload in place through `m.bytes` /
 * `m.offset` and its length through `m.byteLength`: no view, no copy, no
 * string, nothing allocated per message. Makes no string: not like for like
 * with any native loop.
 */
export function recvNexusInPlace(
  url: string,
  options: FeedLoopOptions = {},
): Promise<FeedResult> {
  return nexusSession(url, options, async (ws, mask, onProgress) => {
    let messages = 0, bytes = 0, braces = 0;
    for (
      let m = ws.tryRecv() ?? await ws.recv();
      m !== null;
      m = ws.tryRecv() ?? await ws.recv()
    ) {
      if (m.bytes[m.offset] === OPEN_BRACE) braces++; // one byte, in place
      bytes += m.byteLength;
      if ((++messages & mask) === 0 && onProgress) onProgress(messages, bytes);
    }
    expectEvery(braces, messages, `a first byte "{"`);
    return { messages, bytes };
  });
}

/**
 * nexus, the plain awaited loop with `m.data` (a `Uint8Array` view of the
 * receive buffer per message, no string): `await recv()` and
 * `m.data.length`.
 */
export function recvNexusView(
  url: string,
  options: FeedLoopOptions = {},
): Promise<FeedResult> {
  return nexusSession(url, options, async (ws, mask, onProgress) => {
    let messages = 0, bytes = 0;
    for (let m = await ws.recv(); m !== null; m = await ws.recv()) {
      bytes += m.data.length;
      if ((++messages & mask) === 0 && onProgress) onProgress(messages, bytes);
    }
    return { messages, bytes };
  });
}

/** nexus, the plain awaited loop, a string per message: `await recv()` and `m.text()`. */
export function recvNexusText(
  url: string,
  options: FeedLoopOptions = {},
): Promise<FeedResult> {
  return nexusSession(url, options, async (ws, mask, onProgress) => {
    let messages = 0, bytes = 0;
    for (let m = await ws.recv(); m !== null; m = await ws.recv()) {
      bytes += m.text().length; // ASCII ticks: UTF-16 length = byte length
      if ((++messages & mask) === 0 && onProgress) onProgress(messages, bytes);
    }
    return { messages, bytes };
  });
}

/**
 * nexus, a string per message without an `await` for messages already in the
 * buffer: `tryRecv() ?? await recv()` and `m.text()`.
 */
export function recvNexusTryText(
  url: string,
  options: FeedLoopOptions = {},
): Promise<FeedResult> {
  return nexusSession(url, options, async (ws, mask, onProgress) => {
    let messages = 0, bytes = 0;
    for (
      let m = ws.tryRecv() ?? await ws.recv();
      m !== null;
      m = ws.tryRecv() ?? await ws.recv()
    ) {
      bytes += m.text().length; // ASCII ticks: UTF-16 length = byte length
      if ((++messages & mask) === 0 && onProgress) onProgress(messages, bytes);
    }
    return { messages, bytes };
  });
}

/**
 * nexus, the plain awaited loop, a parsed JSON object per message:
 * `await recv()` and `m.json()` (reads the tick's `s`).
 */
export function recvNexusJson(
  url: string,
  options: FeedLoopOptions = {},
): Promise<FeedResult> {
  return nexusSession(url, options, async (ws, mask, onProgress) => {
    let messages = 0, bytes = 0, ticks = 0;
    for (let m = await ws.recv(); m !== null; m = await ws.recv()) {
      if (m.json<{ s: string }>().s === SYMBOL) ticks++;
      bytes += m.byteLength;
      if ((++messages & mask) === 0 && onProgress) onProgress(messages, bytes);
    }
    expectEvery(ticks, messages, `a tick of ${SYMBOL}`);
    return { messages, bytes };
  });
}

/**
 * Opens the runtime's native `WebSocket`, hands every `message` event to
 * `onMessage`, and resolves with `result()` when it closes.
 */
function nativeSession(
  url: string,
  onMessage: (e: MessageEvent<string>) => void,
  result: () => FeedResult,
): Promise<FeedResult> {
  return eventSession((closed, failed) => {
    const ws = new WebSocket(url);
    ws.onmessage = onMessage;
    ws.onerror = (e) =>
      failed(
        new Error(`Native WebSocket error: ${(e as ErrorEvent).message ?? e}`),
      );
    ws.onclose = closed;
  }, result);
}

/**
 * The runtime's native `WebSocket`, a string per message: `onmessage` and
 * `e.data.length` (`e.data` is a string for a text frame).
 */
export function recvNative(
  url: string,
  options: FeedLoopOptions = {},
): Promise<FeedResult> {
  const mask = maskOf(options), onProgress = options.onProgress;
  let messages = 0, bytes = 0;
  return nativeSession(url, (e) => {
    bytes += e.data.length;
    if ((++messages & mask) === 0 && onProgress) onProgress(messages, bytes);
  }, () => ({ messages, bytes }));
}

/**
 * The runtime's native `WebSocket`, a parsed JSON object per message:
 * `onmessage` and `JSON.parse(e.data)` (reads the tick's `s`).
 */
export function recvNativeJson(
  url: string,
  options: FeedLoopOptions = {},
): Promise<FeedResult> {
  const mask = maskOf(options), onProgress = options.onProgress;
  let messages = 0, bytes = 0, ticks = 0;
  return nativeSession(url, (e) => {
    if (JSON.parse(e.data).s === SYMBOL) ticks++;
    bytes += e.data.length;
    if ((++messages & mask) === 0 && onProgress) onProgress(messages, bytes);
  }, () => {
    expectEvery(ticks, messages, `a tick of ${SYMBOL}`);
    return { messages, bytes };
  });
}

/** The native `WebSocket` loop with `e.data`: the baseline of the strings and of the bytes. */
export const NATIVE_STRING: FeedLoop = feedLoop(
  "native WebSocket",
  "onmessage, e.data",
  "string",
  recvNative,
);

/** The native `WebSocket` loop with `JSON.parse(e.data)`: the baseline of the JSON loops. */
export const NATIVE_JSON: FeedLoop = feedLoop(
  "native WebSocket",
  "onmessage, JSON.parse(e.data)",
  "json",
  recvNativeJson,
);

/** The nexus loop that reads one byte of each payload in place. */
export const NEXUS_IN_PLACE: FeedLoop = feedLoop(
  "nexus",
  "tryRecv() ?? await recv(), m.bytes[m.offset] in place",
  "bytes",
  recvNexusInPlace,
);

/**
 * The native and nexus loops (npm `ws`'s are in `feed_clients_npm.ts`), in
 * the order the bench and the demo show them: by work, the native baseline
 * of each work first.
 */
export const FEED_LOOPS: readonly FeedLoop[] = [
  NATIVE_STRING,
  feedLoop("nexus", "await recv(), m.text()", "string", recvNexusText),
  feedLoop(
    "nexus",
    "tryRecv() ?? await recv(), m.text()",
    "string",
    recvNexusTryText,
  ),
  NATIVE_JSON,
  feedLoop("nexus", "await recv(), m.json()", "json", recvNexusJson),
  feedLoop("nexus", "await recv(), m.data", "bytes", recvNexusView),
  NEXUS_IN_PLACE,
];

/** How the rows of one work compare with the native `WebSocket`. */
export interface Comparison {
  /** What every loop of this work makes of a message. */
  title: string;
  /** The native loop the rows are compared with. */
  baseline: FeedLoop;
  /** Whether the baseline does the same work per message as the rows. */
  likeForLike: boolean;
  /** `"like for like"`, or `"NOT like for like: "` and why not. */
  verdict: string;
  /** `` `${title}, vs ${baseline.label}: ${verdict}` ``, for headings. */
  heading: string;
}

const TITLES: Record<Work, string> = {
  string: "a string per message",
  json: "a parsed JSON object per message",
  bytes: "bytes, no string per message",
};

/**
 * The comparison a loop of `work` belongs to: string loops against native
 * `e.data`, JSON loops against native `JSON.parse(e.data)` (both like for
 * like), byte loops against native `e.data`, which is not like for like (the
 * native `WebSocket` makes a string of every text message and has no loop
 * without one).
 */
export function comparisonOf(work: Work): Comparison {
  const title = TITLES[work];
  const baseline = work === "json" ? NATIVE_JSON : NATIVE_STRING;
  const likeForLike = work !== "bytes";
  const verdict = likeForLike
    ? "like for like"
    : "NOT like for like: the native WebSocket makes a string of every message, these loops make none";
  return {
    title,
    baseline,
    likeForLike,
    verdict,
    heading: `${title}, vs ${baseline.label}: ${verdict}`,
  };
}

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";

/**
 * No WebSocket at all: the handshake by hand, then plain `conn.read()` into
 * a 256 KiB buffer until the server's close frame, counting bytes. This is
 * the ceiling the feed server and the loopback can deliver to one reader.
 * `open` opens the connection to `127.0.0.1:port` (default: `Deno.connect`;
 * e.g. a tunnel through a proxy).
 * `bytes` is every byte after the handshake response (frames + close frame);
 * `messages` is estimated as `bytes / frameBytes`.
 */
export function recvRawTcp(
  port: number,
  path: string,
  frameBytes: number,
  open: () => Promise<Transport> = () =>
    Deno.connect({ hostname: "127.0.0.1", port }),
): Promise<FeedResult> {
  return recvRaw(open, path, frameBytes, 256 * 1024);
}

/**
 * The same over TLS (`Deno.connectTls` to `localhost`, trusting `caCerts`):
 * the ceiling of a `wss://` client, where every read also decrypts. A
 * `Deno.TlsConn` read returns at most one TLS record (16 KiB of plaintext)
 * whatever the buffer size, so this loop makes as many reads as any client;
 * it reads into 64 KiB (nexus's largest buffer by default).
 */
export function recvRawTls(
  port: number,
  path: string,
  frameBytes: number,
  caCerts: string[],
): Promise<FeedResult> {
  return recvRaw(
    () => Deno.connectTls({ hostname: "localhost", port, caCerts }),
    path,
    frameBytes,
    64 * 1024,
  );
}

async function recvRaw(
  open: () => Promise<Transport>,
  path: string,
  frameBytes: number,
  bufferSize: number,
): Promise<FeedResult> {
  const conn = await open();
  try {
    await conn.write(
      new TextEncoder().encode(
        `GET ${path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ),
    );
    const buf = new Uint8Array(bufferSize);
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
