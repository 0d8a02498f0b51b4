/**
 * Huffman decoding tables for the inflater (RFC 1951 §3.2.2): a primary
 * table indexed by the next `root` input bits (LSB first), with second-level
 * tables for longer codes. Not exported from the codec.
 *
 * A table entry is one int32: `value << 16 | kind | extra << 4 | bits`,
 * where `bits` (0-15) is the full length of the code, `extra` the number of
 * extra bits that follow it, and `kind` one of the `K_*` constants. A link
 * entry holds the offset of its second-level table in `value` and that
 * table's index width in `extra`.
 *
 * @module
 */

import {
  DIST_BASE,
  DIST_EXTRA,
  END_OF_BLOCK,
  LENGTH_BASE,
  LENGTH_EXTRA,
} from "./constants.ts";

/** A literal byte (`value`). */
export const K_LIT = 0x000;
/** A length (or, in a distance table, a distance) base in `value`. */
export const K_LEN = 0x100;
/** End of block. */
export const K_EOB = 0x200;
/** A link to a second-level table. */
export const K_LINK = 0x300;
/** A code that no valid stream uses. */
export const K_BAD = 0x400;
/** Mask of the kind field. */
export const K_MASK = 0x700;

/** Index width of the literal/length primary table. */
export const LIT_ROOT = 10;
/** Index width of the distance primary table. */
export const DIST_ROOT = 8;
/** Index width of the code length code table (its codes are at most 7 bits). */
export const CLEN_ROOT = 7;

/** Symbol → entry without the `bits` field, for the literal/length alphabet. */
export const LIT_SYMBOLS: Int32Array = new Int32Array(288);
/** Symbol → entry without the `bits` field, for the distance alphabet. */
export const DIST_SYMBOLS: Int32Array = new Int32Array(32);
/** Symbol → entry for the code length alphabet (value = symbol). */
export const CLEN_SYMBOLS: Int32Array = new Int32Array(19);

for (let s = 0; s < 288; s++) {
  if (s < 256) LIT_SYMBOLS[s] = (s << 16) | K_LIT;
  else if (s === END_OF_BLOCK) LIT_SYMBOLS[s] = K_EOB;
  else if (s <= 285) {
    const i = s - 257;
    LIT_SYMBOLS[s] = (LENGTH_BASE[i] << 16) | K_LEN | (LENGTH_EXTRA[i] << 4);
  } else LIT_SYMBOLS[s] = K_BAD; // 286, 287: part of the fixed code, never valid
}
for (let s = 0; s < 32; s++) {
  DIST_SYMBOLS[s] = s < 30
    ? (DIST_BASE[s] << 16) | K_LEN | (DIST_EXTRA[s] << 4)
    : K_BAD; // 30, 31: part of the fixed code, never valid
}
for (let s = 0; s < 19; s++) CLEN_SYMBOLS[s] = (s << 16) | K_LIT;

const count = new Uint16Array(16);
const next = new Uint16Array(16);
const codes = new Uint16Array(320); // bit-reversed code of each symbol
const used = new Uint16Array(320); // the symbols that have a code, in order
const subBits = new Uint8Array(1 << LIT_ROOT);
const subOffset = new Uint16Array(1 << LIT_ROOT);
const REV8 = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let r = 0;
  for (let b = 0; b < 8; b++) r |= ((i >> b) & 1) << (7 - b);
  REV8[i] = r;
}

/**
 * The first canonical code of each length 1-15 into `first`, from the
 * number of codes of each length in `count` (`count[0]` must be 0): RFC
 * 1951 §3.2.2, step 2.
 */
export function firstCodes(count: Uint16Array, first: Uint16Array): void {
  let code = 0;
  for (let len = 1; len <= 15; len++) {
    code = (code + count[len - 1]) << 1;
    first[len] = code;
  }
}

/** `code` (of `len` <= 16 bits) with its bits in reverse order. */
export function reverseBits(code: number, len: number): number {
  return ((REV8[code & 255] << 8) | REV8[code >>> 8]) >>> (16 - len);
}

/**
 * A decoding table and the width of its primary index: the longest code,
 * up to a maximum (`root`), so a small code builds a small table.
 */
export class DecodeTable {
  /** The entries: primary table, then second-level tables. */
  table: Int32Array;
  /** Width of the primary index, in bits. */
  bits = 0;

  /** Allocates room for a primary table of `1 << root` entries. */
  constructor(root: number) {
    this.table = new Int32Array(1 << root);
  }

  /**
   * Builds the table of the code whose lengths are `lens[from, from + n)`
   * (symbol `s` at `lens[from + s]`), with a
   * primary index of at most `root` bits. Returns null, or a word saying
   * why the lengths are not a valid code: over-subscribed, or incomplete.
   * An incomplete code is allowed only when `single` is set and it is one
   * code of length 1 (RFC 1951 §3.2.7), or when there is no code at all;
   * unused entries of such a table decode as `K_BAD` (after one bit, or at
   * once when there is no code).
   */
  build(
    lens: Uint8Array,
    from: number,
    n: number,
    symbols: Int32Array,
    root: number,
    single: boolean,
  ): string | null {
    const cnt = count, syms = used;
    cnt.fill(0);
    let u = 0; // symbols with a code, in order
    for (let s = 0; s < n; s++) {
      const len = lens[from + s];
      if (len !== 0) {
        cnt[len]++;
        syms[u++] = s;
      }
    }
    let left = 1;
    let max = 0;
    for (let len = 1; len <= 15; len++) {
      left = (left << 1) - cnt[len];
      if (left < 0) return "over-subscribed";
      if (cnt[len] !== 0) max = len;
    }
    if (max === 0) {
      // no codes: every lookup is invalid, without consuming input
      this.bits = 1;
      this.table.fill(K_BAD, 0, 2);
      return null;
    }
    if (left > 0 && !(single && max === 1 && cnt[1] === 1)) {
      return "incomplete";
    }
    if (max < root) root = max;
    this.bits = root;
    const size = 1 << root;
    const nxt = next, rev = codes;
    firstCodes(cnt, nxt);
    for (let i = 0; i < u; i++) {
      const s = syms[i];
      const len = lens[from + s];
      rev[s] = reverseBits(nxt[len]++, len);
    }
    const total = max > root ? this.#layout(lens, from, u, root) : size;
    if (this.table.length < total) this.table = new Int32Array(total);
    const table = this.table;
    if (left > 0) table.fill(K_BAD | 1, 0, size);
    for (let i = 0; i < u; i++) {
      const s = syms[i];
      const len = lens[from + s];
      const entry = symbols[s] | len;
      const r = rev[s];
      if (len <= root) {
        for (let k = r; k < size; k += 1 << len) table[k] = entry;
      } else {
        const p = r & (size - 1);
        const base = subOffset[p];
        const width = 1 << subBits[p];
        for (let k = r >> root; k < width; k += 1 << (len - root)) {
          table[base + k] = entry;
        }
      }
    }
    return null;
  }

  /**
   * Sizes and places the second-level tables for the `u` symbols in
   * `used`, and writes the links to them; returns the total size.
   */
  #layout(lens: Uint8Array, from: number, u: number, root: number): number {
    const size = 1 << root;
    subBits.fill(0, 0, size);
    for (let i = 0; i < u; i++) {
      const s = used[i];
      const len = lens[from + s];
      if (len > root) {
        const p = codes[s] & (size - 1);
        if (len - root > subBits[p]) subBits[p] = len - root;
      }
    }
    let total = size;
    for (let p = 0; p < size; p++) {
      if (subBits[p] !== 0) {
        subOffset[p] = total;
        total += 1 << subBits[p];
      }
    }
    if (this.table.length < total) this.table = new Int32Array(total);
    for (let p = 0; p < size; p++) {
      if (subBits[p] !== 0) {
        this.table[p] = (subOffset[p] << 16) | K_LINK | (subBits[p] << 4) |
          root;
      }
    }
    return total;
  }
}

function fixed(
  n: number,
  lenOf: (s: number) => number,
  symbols: Int32Array,
  root: number,
): DecodeTable {
  const lens = new Uint8Array(n);
  for (let s = 0; s < n; s++) lens[s] = lenOf(s);
  const t = new DecodeTable(root);
  t.build(lens, 0, n, symbols, root, false);
  return t;
}

/** Decoding table of the fixed literal/length code (RFC 1951 §3.2.6). */
export const FIXED_LIT: DecodeTable = fixed(
  288,
  (s) => s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8,
  LIT_SYMBOLS,
  LIT_ROOT,
);
/** Decoding table of the fixed distance code (RFC 1951 §3.2.6). */
export const FIXED_DIST: DecodeTable = fixed(
  32,
  () => 5,
  DIST_SYMBOLS,
  DIST_ROOT,
);
