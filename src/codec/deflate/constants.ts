/**
 * The fixed alphabets of RFC 1951 §3.2.5-3.2.7: base values and extra bits of
 * the length codes (257-285) and distance codes (0-29), and the order in
 * which code length code lengths are sent. Shared by the inflater and the
 * deflater; not exported from the codec.
 *
 * @module
 */

/** Base length of length codes 257..285 (index = code - 257). */
export const LENGTH_BASE: Uint16Array = new Uint16Array(29);
/** Extra bits of length codes 257..285 (index = code - 257). */
export const LENGTH_EXTRA: Uint8Array = new Uint8Array(29);
/** Base distance of distance codes 0..29. */
export const DIST_BASE: Uint16Array = new Uint16Array(30);
/** Extra bits of distance codes 0..29. */
export const DIST_EXTRA: Uint8Array = new Uint8Array(30);
/** Order of the code length code lengths in a dynamic block header. */
export const CLEN_ORDER: Uint8Array = new Uint8Array([
  16,
  17,
  18,
  0,
  8,
  7,
  9,
  6,
  10,
  5,
  11,
  4,
  12,
  3,
  13,
  2,
  14,
  1,
  15,
]);

/** The end-of-block symbol of the literal/length alphabet. */
export const END_OF_BLOCK = 256;
/** Longest match. */
export const MAX_MATCH = 258;
/** Shortest match. */
export const MIN_MATCH = 3;

// Codes come in groups of four sharing an extra-bit count, after the first
// eight (lengths) or four (distances) that have none; length 258 is special.
{
  let base = 3;
  for (let i = 0; i < 28; i++) {
    const extra = i < 8 ? 0 : (i >> 2) - 1;
    LENGTH_BASE[i] = base;
    LENGTH_EXTRA[i] = extra;
    base += 1 << extra;
  }
  LENGTH_BASE[28] = 258;
  LENGTH_EXTRA[28] = 0;
  let dist = 1;
  for (let i = 0; i < 30; i++) {
    const extra = i < 4 ? 0 : (i >> 1) - 1;
    DIST_BASE[i] = dist;
    DIST_EXTRA[i] = extra;
    dist += 1 << extra;
  }
}
