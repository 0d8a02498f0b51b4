/**
 * Matchers for application pings and answers that compare a message's
 * bytes in place: no string, no allocation per message.
 *
 * @module
 */

import type { Message } from "./message.ts";

const encoder = new TextEncoder();

function bytesOf(text: string, what: string): Uint8Array {
  if (typeof text !== "string") {
    throw new TypeError(`Expected ${what} to be a string, got ${typeof text}`);
  }
  return encoder.encode(text);
}

/** Whether `m`'s payload starts with `want`. */
function startsWith(m: Message, want: Uint8Array): boolean {
  const b = m.bytes, o = m.offset;
  for (let i = 0; i < want.length; i++) {
    if (b[o + i] !== want[i]) return false;
  }
  return true;
}

/**
 * A matcher for messages whose payload is exactly `text` (as UTF-8 bytes;
 * text or binary): compares the bytes in place, so it costs a length test
 * for most messages and allocates nothing. For
 * {@link AppHeartbeatOptions.isPong} and {@link AppPingReply}.
 *
 * @example
 * ```ts
 * import { type ConnectOptions, matchText } from "@x/nexus-ws";
 * const options: ConnectOptions = {
 *   appHeartbeat: { message: "ping", interval: 20_000, isPong: matchText("pong") },
 * };
 * console.assert(options.appHeartbeat !== undefined);
 * ```
 */
export function matchText(text: string): (m: Message) => boolean {
  const want = bytesOf(text, "the text to match");
  return (m) => m.byteLength === want.length && startsWith(m, want);
}

/**
 * A matcher for messages whose payload starts with `prefix` (as UTF-8
 * bytes): compares the bytes in place, allocates nothing.
 *
 * @example
 * ```ts
 * import { type AppPingReply, matchPrefix } from "@x/nexus-ws";
 * const isPing = matchPrefix('{"ping":');
 * const reply: AppPingReply = (m) => isPing(m) ? m.text().replace("ping", "pong") : undefined;
 * console.assert(typeof reply === "function");
 * ```
 */
export function matchPrefix(prefix: string): (m: Message) => boolean {
  const want = bytesOf(prefix, "the prefix to match");
  return (m) => m.byteLength >= want.length && startsWith(m, want);
}
