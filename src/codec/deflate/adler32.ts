/**
 * Adler-32 (RFC 1950 §8.2), the checksum of the zlib format.
 *
 * @module
 */

/** Bytes that can be summed before the 32-bit sums must be reduced. */
const NMAX = 5552;

/**
 * Updates the Adler-32 `adler` (1 to start) with `data[from, to)` and
 * returns it, as an unsigned 32-bit number.
 *
 * @example
 * ```ts
 * import { adler32 } from "./adler32.ts";
 * console.assert(adler32(1, new TextEncoder().encode("Wikipedia")) === 0x11e60398);
 * ```
 */
export function adler32(
  adler: number,
  data: Uint8Array,
  from = 0,
  to: number = data.length,
): number {
  let a = adler & 0xffff;
  let b = adler >>> 16;
  let i = from;
  while (i < to) {
    const stop = Math.min(to, i + NMAX);
    for (; i < stop; i++) {
      a += data[i];
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}
