/**
 * A DEFLATE writer for hand-made test vectors, written from RFC 1951's text
 * and independent of the codec's encoder: bits LSB first, Huffman codes MSB
 * first, stored / fixed / dynamic blocks with any code lengths (valid or
 * not), so the inflater can be tested on exactly the streams a case needs.
 * Only the code length order comes from the codec; node:zlib checks this
 * writer in inflater_test.ts.
 *
 * @module
 */

import { CLEN_ORDER } from "../../../src/codec/deflate/constants.ts";

/** RFC 1951 §3.2.5: base length and extra bits of codes 257..285. */
const LENGTHS: [number, number][] = [
  [3, 0],
  [4, 0],
  [5, 0],
  [6, 0],
  [7, 0],
  [8, 0],
  [9, 0],
  [10, 0],
  [11, 1],
  [13, 1],
  [15, 1],
  [17, 1],
  [19, 2],
  [23, 2],
  [27, 2],
  [31, 2],
  [35, 3],
  [43, 3],
  [51, 3],
  [59, 3],
  [67, 4],
  [83, 4],
  [99, 4],
  [115, 4],
  [131, 5],
  [163, 5],
  [195, 5],
  [227, 5],
  [258, 0],
];

/** RFC 1951 §3.2.5: base distance and extra bits of codes 0..29. */
const DISTS: [number, number][] = [
  [1, 0],
  [2, 0],
  [3, 0],
  [4, 0],
  [5, 1],
  [7, 1],
  [9, 2],
  [13, 2],
  [17, 3],
  [25, 3],
  [33, 4],
  [49, 4],
  [65, 5],
  [97, 5],
  [129, 6],
  [193, 6],
  [257, 7],
  [385, 7],
  [513, 8],
  [769, 8],
  [1025, 9],
  [1537, 9],
  [2049, 10],
  [3073, 10],
  [4097, 11],
  [6145, 11],
  [8193, 12],
  [12289, 12],
  [16385, 13],
  [24577, 13],
];

/** The code (index) of a length or distance in a base table. */
function codeOf(table: [number, number][], v: number): number {
  if (table === LENGTHS && v === 258) return 28;
  for (let i = table.length - 1; i >= 0; i--) {
    if (table[i][0] <= v) return i;
  }
  throw new RangeError(`No code for ${v}`);
}

/** Canonical Huffman codes of `lens` (RFC 1951 §3.2.2), MSB-first values. */
export function canonical(lens: number[]): number[] {
  const count = new Array(16).fill(0);
  for (const l of lens) if (l > 0) count[l]++;
  const next = new Array(16).fill(0);
  let code = 0;
  for (let len = 1; len <= 15; len++) {
    code = (code + count[len - 1]) << 1;
    next[len] = code;
  }
  return lens.map((l) => (l > 0 ? next[l]++ : 0));
}

/** The fixed literal/length code lengths (RFC 1951 §3.2.6). */
export const FIXED_LIT_LENS: number[] = Array.from(
  { length: 288 },
  (_, s) => (s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8),
);
const FIXED_LIT_CODES = canonical(FIXED_LIT_LENS);

/** A code in use: lengths and their canonical codes. */
export interface Code {
  lens: number[];
  codes: number[];
}

/** A {@link Code} from lengths. */
export function code(lens: number[]): Code {
  return { lens, codes: canonical(lens) };
}

/** Bit-level writer of a DEFLATE stream. */
export class Bits {
  #out: number[] = [];
  #acc = 0;
  #n = 0;
  /** The code literal/length symbols are written with (fixed until changed). */
  lit: Code = { lens: FIXED_LIT_LENS, codes: FIXED_LIT_CODES };
  /** The code distances are written with (fixed: 5 bits). */
  dist: Code = code(new Array(32).fill(5));

  /** `n` bits of `v`, least significant first. */
  put(v: number, n: number): this {
    for (let i = 0; i < n; i++) {
      this.#acc |= ((v >>> i) & 1) << this.#n;
      if (++this.#n === 8) {
        this.#out.push(this.#acc);
        this.#acc = 0;
        this.#n = 0;
      }
    }
    return this;
  }

  /** A Huffman code of `len` bits, most significant first. */
  huff(c: number, len: number): this {
    for (let i = len - 1; i >= 0; i--) this.put((c >>> i) & 1, 1);
    return this;
  }

  /** Zero bits to a byte boundary. */
  align(): this {
    if (this.#n > 0) this.put(0, 8 - this.#n);
    return this;
  }

  /** Whole bytes (already aligned). */
  raw(bytes: Iterable<number>): this {
    if (this.#n !== 0) throw new Error("raw bytes need a byte boundary");
    for (const b of bytes) this.#out.push(b);
    return this;
  }

  /** A block header: BFINAL and BTYPE (0 stored, 1 fixed, 2 dynamic, 3 reserved). */
  header(final: boolean, type: number): this {
    return this.put(final ? 1 : 0, 1).put(type, 2);
  }

  /** A complete stored block of `data` (LEN/NLEN may be overridden). */
  stored(data: Uint8Array | number[], final = false, nlen?: number): this {
    const n = data.length;
    this.header(final, 0).align();
    return this.raw([n & 0xff, n >>> 8]).raw([
      (nlen ?? ~n) & 0xff,
      ((nlen ?? ~n) >>> 8) & 0xff,
    ]).raw(data);
  }

  /** A literal/length symbol with the current code. */
  sym(s: number): this {
    const len = this.lit.lens[s];
    if (!len) throw new RangeError(`Symbol ${s} has no code`);
    return this.huff(this.lit.codes[s], len);
  }

  /** Literal bytes. */
  literals(bytes: Iterable<number>): this {
    for (const b of bytes) this.sym(b);
    return this;
  }

  /** End of block. */
  eob(): this {
    return this.sym(256);
  }

  /** A match: length symbol and extra bits, distance code and extra bits. */
  match(len: number, dist: number): this {
    const lc = codeOf(LENGTHS, len);
    this.sym(257 + lc).put(len - LENGTHS[lc][0], LENGTHS[lc][1]);
    return this.distance(dist);
  }

  /** A distance code and its extra bits. */
  distance(dist: number): this {
    const dc = codeOf(DISTS, dist);
    return this.distCode(dc).put(dist - DISTS[dc][0], DISTS[dc][1]);
  }

  /** A raw distance code (any of 0..31) with the current distance code. */
  distCode(dc: number): this {
    const len = this.dist.lens[dc];
    if (!len) throw new RangeError(`Distance code ${dc} has no code`);
    return this.huff(this.dist.codes[dc], len);
  }

  /**
   * A dynamic block header with these literal/length and distance code
   * lengths, sent one length per code length symbol (no repeats) with a
   * 4-bit code length code, and makes them the current codes. `items`
   * replaces the length sequence (symbol, extra bits value) to test the
   * repeat codes; `clenLens` replaces the code length code.
   */
  dynamic(
    final: boolean,
    litLens: number[],
    distLens: number[],
    opts: { items?: [number, number][]; clenLens?: number[] } = {},
  ): this {
    const clenLens = opts.clenLens ?? [
      ...new Array(16).fill(4),
      0,
      0,
      0,
    ];
    const clen = canonical(clenLens);
    const items = opts.items ??
      [...litLens, ...distLens].map((l) => [l, 0] as [number, number]);
    let hclen = 19;
    while (hclen > 4 && clenLens[CLEN_ORDER[hclen - 1]] === 0) hclen--;
    this.header(final, 2)
      .put(litLens.length - 257, 5)
      .put(distLens.length - 1, 5)
      .put(hclen - 4, 4);
    for (let i = 0; i < hclen; i++) this.put(clenLens[CLEN_ORDER[i]], 3);
    for (const [s, extra] of items) {
      this.huff(clen[s], clenLens[s]);
      if (s === 16) this.put(extra, 2);
      if (s === 17) this.put(extra, 3);
      if (s === 18) this.put(extra, 7);
    }
    this.lit = code(litLens);
    this.dist = code(distLens);
    return this;
  }

  /** The stream so far, padded with zero bits to a whole byte. */
  bytes(): Uint8Array {
    const out = [...this.#out];
    if (this.#n > 0) out.push(this.#acc);
    return new Uint8Array(out);
  }
}

/**
 * Complete literal/length lengths using all 286 symbols: 60 codes of 9 bits
 * and 226 of 8 (60/512 + 226/256 = 1).
 */
export function flatLitLens(): number[] {
  return Array.from({ length: 286 }, (_, s) => (s < 60 ? 9 : 8));
}

/**
 * A bomb: a dynamic block where a 258-byte match costs 2 bits, so `n`
 * compressed bytes inflate to about 1032 × n.
 */
export function bomb(compressedBytes: number): Uint8Array {
  const lit = new Array(286).fill(0);
  lit[0] = 2;
  lit[256] = 2;
  lit[285] = 1;
  const b = new Bits().dynamic(true, lit, [1, 1]).literals([0]);
  const reps = compressedBytes * 4;
  for (let i = 0; i < reps; i++) b.sym(285).distCode(0);
  return b.eob().bytes();
}
