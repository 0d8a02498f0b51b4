/**
 * Helpers shared by the echo tests against real servers (interop_test.ts,
 * compression_interop_test.ts): payloads, byte comparison, a watchdog.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Message, WsClient } from "../../mod.ts";

/** The message sizes every echo test goes through: each length form and 1 MiB. */
export const SIZES: readonly number[] = [
  0,
  1,
  125,
  126,
  127,
  65535,
  65536,
  1 << 20,
];

/** ASCII text of exactly `n` bytes, varied so an offset bug shows. */
export function asciiText(n: number, seed = 0): string {
  const alphabet =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  let s = "";
  const chunk = Array.from(
    { length: 4096 },
    (_, i) => alphabet[(i * 7 + seed) % alphabet.length],
  ).join("");
  while (s.length < n) s += chunk;
  return s.slice(0, n);
}

/** Random bytes (getRandomValues takes at most 64 KiB a call). */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let off = 0; off < n; off += 65536) {
    crypto.getRandomValues(out.subarray(off, Math.min(off + 65536, n)));
  }
  return out;
}

/** Asserts byte equality, naming the first difference (fast on 1 MiB). */
export function assertBytes(
  actual: Uint8Array,
  expected: Uint8Array,
  what: string,
) {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) {
      assert.fail(
        `${what}: byte ${i} is ${actual[i]}, expected ${expected[i]}`,
      );
    }
  }
}

/**
 * Fails a stuck test instead of hanging the suite: after `ms`, terminates
 * the connection (a pending `recv()` then rejects).
 */
export function watchdog(ws: WsClient, ms = 15000): Disposable {
  const id = setTimeout(() => ws.terminate(), ms);
  return { [Symbol.dispose]: () => clearTimeout(id) };
}

/** The next message (a clean close fails the test). */
export async function recvMessage(
  ws: WsClient,
  what: string,
): Promise<Message> {
  const m = await ws.recv();
  assert.ok(m !== null, `${what}: expected a message, got a clean close`);
  return m;
}

/** Closes from the client side (1000) and checks the server echoed the close. */
export async function closeCleanly(ws: WsClient): Promise<void> {
  await ws.close(1000, "done");
  assert.equal(ws.closed, true);
  assert.equal(ws.closeCode, 1000);
}
