/**
 * The npm `ws` receive loops, apart from `feed_clients.ts` so that programs
 * which do not need them (the demo) do not load the npm package. They follow
 * the rules of `feed_clients.ts`: each counts the messages and payload bytes
 * it received, and its {@link FeedLoop} says exactly what it runs.
 *
 * @module
 */

import WebSocketNpm from "ws";
import type { Buffer } from "node:buffer";
import {
  eventSession,
  expectEvery,
  type FeedLoop,
  feedLoop,
  type FeedLoopOptions,
  type FeedResult,
  maskOf,
  SYMBOL,
} from "./feed_clients.ts";

/**
 * Opens an npm `ws` client (offering permessage-deflate with its defaults
 * when `deflate`, else none), hands every `message` event's `Buffer` to
 * `onMessage`, and resolves with `result()` when it closes.
 */
function npmSession(
  url: string,
  deflate: boolean | undefined,
  onMessage: (data: Buffer) => void,
  result: () => FeedResult,
): Promise<FeedResult> {
  return eventSession((closed, failed) => {
    const ws = new WebSocketNpm(url, { perMessageDeflate: deflate === true });
    ws.on("message", onMessage);
    ws.on("error", failed);
    ws.on("close", closed);
  }, result);
}

/** npm `ws`, bytes: `on("message")` and `data.length` (a `Buffer` copy per message). */
export function recvNpmWs(
  url: string,
  options: FeedLoopOptions = {},
): Promise<FeedResult> {
  const mask = maskOf(options), onProgress = options.onProgress;
  let messages = 0, bytes = 0;
  return npmSession(url, options.npmDeflate, (data) => {
    bytes += data.length;
    if ((++messages & mask) === 0 && onProgress) onProgress(messages, bytes);
  }, () => ({ messages, bytes }));
}

/** npm `ws`, a string per message: `on("message")` and `data.toString()`. */
export function recvNpmWsText(
  url: string,
  options: FeedLoopOptions = {},
): Promise<FeedResult> {
  const mask = maskOf(options), onProgress = options.onProgress;
  let messages = 0, bytes = 0;
  return npmSession(url, options.npmDeflate, (data) => {
    bytes += data.toString().length; // ASCII ticks: UTF-16 length = byte length
    if ((++messages & mask) === 0 && onProgress) onProgress(messages, bytes);
  }, () => ({ messages, bytes }));
}

/**
 * npm `ws`, a parsed JSON object per message: `on("message")` and
 * `JSON.parse(data.toString())` (reads the tick's `s`).
 */
export function recvNpmWsJson(
  url: string,
  options: FeedLoopOptions = {},
): Promise<FeedResult> {
  const mask = maskOf(options), onProgress = options.onProgress;
  let messages = 0, bytes = 0, ticks = 0;
  return npmSession(url, options.npmDeflate, (data) => {
    if (JSON.parse(data.toString()).s === SYMBOL) ticks++;
    bytes += data.length;
    if ((++messages & mask) === 0 && onProgress) onProgress(messages, bytes);
  }, () => {
    expectEvery(ticks, messages, `a tick of ${SYMBOL}`);
    return { messages, bytes };
  });
}

/** The npm `ws` loops, one per work, in the order of `FEED_LOOPS`. */
export const NPM_FEED_LOOPS: readonly FeedLoop[] = [
  feedLoop("npm ws", 'on("message"), data.toString()', "string", recvNpmWsText),
  feedLoop(
    "npm ws",
    'on("message"), JSON.parse(data.toString())',
    "json",
    recvNpmWsJson,
  ),
  feedLoop("npm ws", 'on("message"), data (Buffer)', "bytes", recvNpmWs),
];
