/**
 * The npm `ws` receive loop, apart from `feed_clients.ts` so that programs
 * which do not need it (the demo) do not load the npm package.
 *
 * @module
 */

import WebSocketNpm from "ws";
import {
  type FeedLoopOptions,
  type FeedResult,
  maskOf,
} from "./feed_clients.ts";

/** npm `ws` (`message` events with a `Buffer`). */
export function recvNpmWs(
  url: string,
  options: FeedLoopOptions = {},
): Promise<FeedResult> {
  const mask = maskOf(options), onProgress = options.onProgress;
  return new Promise((resolve, reject) => {
    const ws = new WebSocketNpm(url, { perMessageDeflate: false });
    let messages = 0, bytes = 0, failed = false;
    ws.on("message", (data: Uint8Array) => {
      bytes += data.length;
      if ((++messages & mask) === 0 && onProgress) onProgress(messages, bytes);
    });
    ws.on("error", (err: Error) => {
      failed = true;
      reject(err);
    });
    ws.on("close", () => {
      if (!failed) resolve({ messages, bytes });
    });
  });
}
