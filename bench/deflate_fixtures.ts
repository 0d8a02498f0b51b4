/**
 * Payloads for the compression benches and tests: the feed server's 77-byte
 * JSON ticks (the same seeded random walk) and order-book JSON documents of
 * a given size, deterministic from run to run.
 *
 * @module
 */

import { makeTick, prng } from "./feed_server.ts";

const encoder = new TextEncoder();

/** `count` 77-byte JSON ticks of a seeded random walk, UTF-8 encoded. */
export function ticks(count: number, seed = 0x7469636b): Uint8Array[] {
  const rnd = prng(seed);
  let bid = 6_412_350;
  let t = 1_732_500_000_123;
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    bid += Math.round((rnd() - 0.5) * 400);
    bid = Math.min(6_999_000, Math.max(6_000_000, bid));
    t += 1 + Math.floor(rnd() * 3);
    out.push(encoder.encode(makeTick(
      bid,
      1 + Math.floor(rnd() * 99),
      1 + Math.floor(rnd() * 99),
      1 + Math.floor(rnd() * 99),
      t,
    )));
  }
  return out;
}

/**
 * An order-book snapshot as JSON of exactly `size` bytes (at least 64):
 * price levels with varying prices and sizes, padded with spaces.
 */
export function bookJson(size: number, seed = 0x626f6f6b): Uint8Array {
  const rnd = prng(seed);
  const parts: string[] = [];
  let len = 0;
  let price = 6_412_350;
  const head = `{"type":"snapshot","product_id":"BTC-USD","levels":[`;
  len += head.length + 2;
  while (true) {
    price -= 1 + Math.floor(rnd() * 50);
    const level = `["${(price / 100).toFixed(2)}","${(rnd() * 5).toFixed(8)}",${
      1 + Math.floor(rnd() * 40)
    }]`;
    if (len + level.length + 1 > size) break;
    parts.push(level);
    len += level.length + 1;
  }
  const json = (head + parts.join(",") + "]}").padEnd(size, " ");
  const bytes = encoder.encode(json);
  if (bytes.length !== size) {
    throw new RangeError(`Expected ${size} bytes, got ${bytes.length}`);
  }
  return bytes;
}
