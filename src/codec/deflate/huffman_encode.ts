/**
 * Huffman code construction for the deflater (RFC 1951 §3.2.2, §3.2.7):
 * length-limited code lengths from symbol frequencies, and the canonical
 * codes of those lengths, bit-reversed for LSB-first output. Not exported
 * from the codec.
 *
 * @module
 */

import { firstCodes, reverseBits } from "./huffman_decode.ts";

/**
 * Builds code lengths for `freq[0..n)` into `lens`, none longer than
 * `maxBits`, from a reusable {@link HuffmanScratch}. Symbols with frequency
 * 0 get length 0. At least two symbols get a code (two of length 1 when
 * fewer than two are used), so every code is complete, as decoders like
 * zlib's require.
 */
export function buildLengths(
  freq: Int32Array,
  n: number,
  maxBits: number,
  lens: Uint8Array,
  scratch: HuffmanScratch,
): void {
  lens.fill(0, 0, n);
  const leaves = scratch.leaves;
  let used = 0;
  for (let s = 0; s < n; s++) {
    if (freq[s] !== 0) leaves[used++] = freq[s] * 512 + s;
  }
  if (used < 2) {
    // one or no symbol: two codes of one bit
    const a = used === 1 ? leaves[0] & 511 : 0;
    lens[a] = 1;
    lens[a === 0 ? 1 : 0] = 1;
    return;
  }
  const sorted = leaves.subarray(0, used).sort(); // by frequency, then symbol
  scratch.depths(sorted, used);
  limitLengths(scratch.count, maxBits);
  // the least frequent symbols get the longest codes
  let i = 0;
  for (let len = maxBits; len >= 1; len--) {
    for (let k = scratch.count[len]; k > 0; k--) lens[sorted[i++] & 511] = len;
  }
}

/**
 * Reshapes the per-length code counts so that no code is longer than
 * `maxBits`: counts beyond it are folded in, then leaves are pushed down
 * from shorter lengths until the Kraft sum is exactly one again.
 */
function limitLengths(count: Uint16Array, maxBits: number): void {
  let over = 0;
  for (let len = maxBits + 1; len < count.length; len++) {
    over += count[len];
    count[maxBits] += count[len];
    count[len] = 0;
  }
  if (over === 0) return;
  // Kraft sum in units of 2^-maxBits
  let kraft = 0;
  for (let len = 1; len <= maxBits; len++) {
    kraft += count[len] << (maxBits - len);
  }
  const one = 1 << maxBits;
  while (kraft > one) {
    // take a code off the longest length and split a shorter leaf: -1 unit
    count[maxBits]--;
    for (let len = maxBits - 1; len > 0; len--) {
      if (count[len] !== 0) {
        count[len]--;
        count[len + 1] += 2;
        break;
      }
    }
    kraft--;
  }
}

/** Working arrays of {@link buildLengths}, allocated once per deflater. */
export class HuffmanScratch {
  /** Used symbols as `frequency * 512 + symbol`. */
  leaves: Uint32Array = new Uint32Array(320);
  /** Codes per length after a build (index 0 unused). */
  count: Uint16Array = new Uint16Array(48);
  #weight = new Uint32Array(640);
  #next = new Uint16Array(16);
  #parent = new Int32Array(640);
  #depth = new Uint8Array(640);

  /**
   * Builds a Huffman tree over the sorted leaves (two queues: leaves in
   * order, internal nodes in the order they are made) and counts the leaf
   * depths into `count`.
   */
  depths(sorted: Uint32Array, used: number): void {
    const weight = this.#weight, parent = this.#parent, depth = this.#depth;
    for (let i = 0; i < used; i++) weight[i] = sorted[i] >>> 9;
    let leaf = 0; // next leaf to take
    let node = used; // next internal node to take
    let made = used; // next internal node to make
    while (made < 2 * used - 1) {
      let a: number, b: number;
      if (leaf < used && (node >= made || weight[leaf] <= weight[node])) {
        a = leaf++;
      } else a = node++;
      if (leaf < used && (node >= made || weight[leaf] <= weight[node])) {
        b = leaf++;
      } else b = node++;
      weight[made] = weight[a] + weight[b];
      parent[a] = made;
      parent[b] = made;
      made++;
    }
    const root = made - 1;
    depth[root] = 0;
    this.count.fill(0);
    for (let i = root - 1; i >= 0; i--) {
      const d = depth[parent[i]] + 1;
      depth[i] = d;
      if (i < used) this.count[Math.min(d, this.count.length - 1)]++;
    }
  }

  /**
   * Canonical codes (RFC 1951 §3.2.2) of the lengths `lens[0..n)`, bit-
   * reversed so they can be written LSB first, into `codes`.
   */
  codes(lens: Uint8Array, n: number, codes: Uint16Array): void {
    const count = this.count, next = this.#next;
    count.fill(0);
    for (let s = 0; s < n; s++) count[lens[s]]++;
    count[0] = 0;
    firstCodes(count, next);
    for (let s = 0; s < n; s++) {
      const len = lens[s];
      codes[s] = len === 0 ? 0 : reverseBits(next[len]++, len);
    }
  }
}
