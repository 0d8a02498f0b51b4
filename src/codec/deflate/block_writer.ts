/**
 * `BlockWriter`: collects LZ77 symbols and writes them as one DEFLATE block
 * (RFC 1951 §3.2.3-3.2.7), stored, fixed or dynamic Huffman, whichever is
 * smallest. Used by the deflater; not exported from the codec.
 *
 * @module
 */

import {
  CLEN_ORDER,
  DIST_BASE,
  DIST_EXTRA,
  END_OF_BLOCK,
  LENGTH_BASE,
  LENGTH_EXTRA,
} from "./constants.ts";
import { buildLengths, HuffmanScratch } from "./huffman_encode.ts";

/**
 * Where compressed bytes are appended: `bytes[0, length)` is written, and
 * `ensure(n)` makes room for `n` more (WriteBuf has this shape).
 *
 * @example
 * ```ts
 * import { type ByteSink, WriteBuf } from "@x/nexus-ws/codec";
 * const sink: ByteSink = new WriteBuf(64);
 * sink.ensure(1);
 * sink.bytes[sink.length++] = 0;
 * console.assert(sink.length === 1);
 * ```
 */
export interface ByteSink {
  /** The array bytes are written into. */
  bytes: Uint8Array;
  /** Bytes written so far. */
  length: number;
  /** Makes room for `n` more bytes (may replace `bytes`). */
  ensure(n: number): void;
}

/** Symbols a block holds before it is written. */
export const BLOCK_SYMBOLS = 4096;
/**
 * Up to this many symbols a block is fixed or stored: a dynamic header
 * (at least about 40 bytes) cannot pay for itself.
 */
const SMALL_BLOCK = 128;
/** A match entry in the symbol buffer: flag, then `len - 3` and `dist - 1`. */
export const MATCH = 0x1000000;

/** Literal/length symbol of each match length 3..258 (index len - 3). */
export const LENGTH_CODE: Uint16Array = new Uint16Array(256);
/**
 * Distance code of `dist - 1`: entry `dist - 1` below 256, else entry
 * `256 + ((dist - 1) >> 7)`.
 */
export const DIST_CODE: Uint8Array = new Uint8Array(512);

for (let i = 0; i < 29; i++) {
  const last = i === 27 ? 257 : LENGTH_BASE[i] + (1 << LENGTH_EXTRA[i]) - 1;
  for (let len = LENGTH_BASE[i]; len <= Math.min(last, 258); len++) {
    LENGTH_CODE[len - 3] = 257 + i;
  }
}
for (let c = 0; c < 30; c++) {
  const first = DIST_BASE[c] - 1;
  const last = first + (1 << DIST_EXTRA[c]) - 1;
  for (let d = first; d <= last; d++) {
    if (d < 256) DIST_CODE[d] = c;
    else DIST_CODE[256 + (d >> 7)] = c;
  }
}

const FIXED_LENS = new Uint8Array(288);
for (let s = 0; s < 288; s++) {
  FIXED_LENS[s] = s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8;
}
const scratch0 = new HuffmanScratch();
const FIXED_CODES = new Uint16Array(288);
scratch0.codes(FIXED_LENS, 288, FIXED_CODES);
const FIXED_DIST_LENS = new Uint8Array(30).fill(5);
const FIXED_DIST_CODES = new Uint16Array(30);
scratch0.codes(FIXED_DIST_LENS, 30, FIXED_DIST_CODES);

/**
 * Symbol buffer, frequencies and bit output of the deflater. The deflater
 * appends to `symbols`/`count` and bumps the frequencies itself (the hot
 * loop); {@link BlockWriter.writeBlock} then encodes them.
 */
export class BlockWriter {
  /** Literals (< 256) and matches (`MATCH | (len - 3) << 16 | dist - 1`). */
  symbols: Int32Array = new Int32Array(BLOCK_SYMBOLS);
  /** Symbols buffered. */
  count = 0;
  /** Literal/length frequencies of the buffered symbols. */
  litFreq: Int32Array = new Int32Array(286);
  /** Distance frequencies of the buffered symbols. */
  distFreq: Int32Array = new Int32Array(30);

  #acc = 0; // pending bits, LSB first
  #bits = 0; // number of pending bits (< 8 between calls)
  #scratch = new HuffmanScratch();
  #litLens = new Uint8Array(286);
  #litCodes = new Uint16Array(286);
  #distLens = new Uint8Array(30);
  #distCodes = new Uint16Array(30);
  #clenLens = new Uint8Array(19);
  #clenCodes = new Uint16Array(19);
  #clenFreq = new Int32Array(19);
  #rle = new Uint16Array(316); // run-length coded code lengths: sym | extra << 5

  /** Bytes held by this writer. */
  get memory(): number {
    return this.symbols.byteLength + this.litFreq.byteLength +
      this.distFreq.byteLength + 2400;
  }

  /**
   * Writes the buffered symbols as one block (BFINAL = `final`) and clears
   * them. `raw[rawFrom, rawTo)` is the input they encode, used when a
   * stored block is smaller.
   */
  writeBlock(
    sink: ByteSink,
    raw: Uint8Array,
    rawFrom: number,
    rawTo: number,
    final: boolean,
  ): void {
    this.litFreq[END_OF_BLOCK]++;
    const small = this.count <= SMALL_BLOCK;
    const extra = small ? 0 : this.#extraBits();
    // a small block costs in proportion to its symbols, not its alphabet
    const fixed = small
      ? 3 + this.#fixedBits()
      : 3 + extra + this.#cost(FIXED_LENS, FIXED_DIST_LENS);
    let dynamic = Infinity;
    if (!small) {
      buildLengths(this.litFreq, 286, 15, this.#litLens, this.#scratch);
      buildLengths(this.distFreq, 30, 15, this.#distLens, this.#scratch);
      const header = this.#prepareHeader();
      dynamic = 3 + header + extra + this.#cost(this.#litLens, this.#distLens);
    }
    const stored = this.#storedBits(rawTo - rawFrom);
    const best = Math.min(fixed, dynamic, stored);
    sink.ensure(((best + this.#bits + 7) >>> 3) + 8);
    if (stored === best) {
      this.#stored(sink, raw, rawFrom, rawTo, final);
    } else if (fixed === best) {
      this.#put(sink, final ? 3 : 2, 3);
      this.#symbols(
        sink,
        FIXED_LENS,
        FIXED_CODES,
        FIXED_DIST_LENS,
        FIXED_DIST_CODES,
      );
    } else {
      this.#put(sink, final ? 5 : 4, 3);
      this.#header(sink);
      const s = this.#scratch;
      s.codes(this.#litLens, 286, this.#litCodes);
      s.codes(this.#distLens, 30, this.#distCodes);
      this.#symbols(
        sink,
        this.#litLens,
        this.#litCodes,
        this.#distLens,
        this.#distCodes,
      );
    }
    this.#clearFrequencies();
  }

  /** Zeroes the frequencies: the touched ones only, for a small block. */
  #clearFrequencies(): void {
    const n = this.count;
    if (n <= SMALL_BLOCK) {
      const syms = this.symbols, lf = this.litFreq, df = this.distFreq;
      for (let i = 0; i < n; i++) {
        const e = syms[i];
        if (e < 256) lf[e] = 0;
        else {
          lf[LENGTH_CODE[(e >>> 16) & 0xff]] = 0;
          const d = e & 0xffff;
          df[d < 256 ? DIST_CODE[d] : DIST_CODE[256 + (d >> 7)]] = 0;
        }
      }
      lf[END_OF_BLOCK] = 0;
    } else {
      this.litFreq.fill(0);
      this.distFreq.fill(0);
    }
    this.count = 0;
  }

  /** Size of the buffered symbols with the fixed code, walking them. */
  #fixedBits(): number {
    const syms = this.symbols;
    let bits = 7; // end of block
    for (let i = 0, n = this.count; i < n; i++) {
      const e = syms[i];
      if (e < 256) bits += e < 144 ? 8 : 9;
      else {
        const lc = LENGTH_CODE[(e >>> 16) & 0xff];
        const d = e & 0xffff;
        const dc = d < 256 ? DIST_CODE[d] : DIST_CODE[256 + (d >> 7)];
        bits += FIXED_LENS[lc] + LENGTH_EXTRA[lc - 257] + 5 + DIST_EXTRA[dc];
      }
    }
    return bits;
  }

  /**
   * Ends a message the RFC 7692 way: the header bits of an empty stored
   * block, then zero bits to a byte boundary (a sync flush without its
   * 00 00 ff ff).
   */
  syncFlush(sink: ByteSink): void {
    sink.ensure(2);
    this.#put(sink, 0, 3);
    this.align(sink);
  }

  /** Pads the pending bits with zeros to a byte boundary. */
  align(sink: ByteSink): void {
    if (this.#bits > 0) {
      sink.ensure(1);
      sink.bytes[sink.length++] = this.#acc & 0xff;
    }
    this.#acc = 0;
    this.#bits = 0;
  }

  /** Forgets pending bits and symbols (a new stream). */
  reset(): void {
    this.#acc = 0;
    this.#bits = 0;
    this.#clearFrequencies();
  }

  /** Appends `n` (<= 16) bits of `value`; room was ensured. */
  #put(sink: ByteSink, value: number, n: number): void {
    let acc = this.#acc | (value << this.#bits);
    let bits = this.#bits + n;
    const b = sink.bytes;
    let o = sink.length;
    while (bits >= 8) {
      b[o++] = acc & 0xff;
      acc >>= 8;
      bits -= 8;
    }
    sink.length = o;
    this.#acc = acc;
    this.#bits = bits;
  }

  #extraBits(): number {
    let bits = 0;
    const lf = this.litFreq, df = this.distFreq;
    for (let i = 0; i < 29; i++) bits += lf[257 + i] * LENGTH_EXTRA[i];
    for (let i = 0; i < 30; i++) bits += df[i] * DIST_EXTRA[i];
    return bits;
  }

  #cost(litLens: Uint8Array, distLens: Uint8Array): number {
    let bits = 0;
    const lf = this.litFreq, df = this.distFreq;
    for (let s = 0; s < 286; s++) bits += lf[s] * litLens[s];
    for (let s = 0; s < 30; s++) bits += df[s] * distLens[s];
    return bits;
  }

  #storedBits(n: number): number {
    const blocks = Math.max(1, Math.ceil(n / 65535));
    const pad = (8 - ((this.#bits + 3) & 7)) & 7;
    return blocks * 35 + pad + (blocks - 1) * 5 + 8 * n;
  }

  #stored(
    sink: ByteSink,
    raw: Uint8Array,
    from: number,
    to: number,
    final: boolean,
  ): void {
    do {
      const n = Math.min(65535, to - from);
      const last = from + n === to;
      this.#put(sink, final && last ? 1 : 0, 3);
      this.align(sink);
      const b = sink.bytes;
      let o = sink.length;
      b[o++] = n & 0xff;
      b[o++] = n >>> 8;
      b[o++] = ~n & 0xff;
      b[o++] = (~n >>> 8) & 0xff;
      b.set(raw.subarray(from, from + n), o);
      sink.length = o + n;
      from += n;
    } while (from < to);
  }

  /**
   * Run-length codes the literal/length and distance code lengths (RFC
   * 1951 §3.2.7), builds the code length code, and returns the header size
   * in bits after the 3-bit block header.
   */
  #prepareHeader(): number {
    const lens = this.#litLens, dlens = this.#distLens;
    let nlit = 286;
    while (nlit > 257 && lens[nlit - 1] === 0) nlit--;
    let ndist = 30;
    while (ndist > 1 && dlens[ndist - 1] === 0) ndist--;
    const total = nlit + ndist;
    const at = (i: number) => i < nlit ? lens[i] : dlens[i - nlit];
    const freq = this.#clenFreq;
    freq.fill(0);
    let n = 0;
    for (let i = 0; i < total;) {
      const len = at(i);
      let run = 1;
      while (i + run < total && at(i + run) === len) run++;
      i += run;
      if (len === 0) {
        while (run >= 11) {
          const r = Math.min(run, 138);
          this.#rle[n++] = 18 | ((r - 11) << 5);
          run -= r;
        }
        if (run >= 3) {
          this.#rle[n++] = 17 | ((run - 3) << 5);
          run = 0;
        }
      } else {
        this.#rle[n++] = len;
        run--;
        while (run >= 3) {
          const r = Math.min(run, 6);
          this.#rle[n++] = 16 | ((r - 3) << 5);
          run -= r;
        }
      }
      while (run-- > 0) this.#rle[n++] = len;
    }
    for (let i = 0; i < n; i++) freq[this.#rle[i] & 31]++;
    buildLengths(freq, 19, 7, this.#clenLens, this.#scratch);
    let nclen = 19;
    while (nclen > 4 && this.#clenLens[CLEN_ORDER[nclen - 1]] === 0) nclen--;
    this.#nlit = nlit;
    this.#ndist = ndist;
    this.#nclen = nclen;
    this.#nrle = n;
    let bits = 14 + 3 * nclen;
    for (let s = 0; s < 19; s++) bits += freq[s] * this.#clenLens[s];
    bits += freq[16] * 2 + freq[17] * 3 + freq[18] * 7;
    return bits;
  }

  #nlit = 0;
  #ndist = 0;
  #nclen = 0;
  #nrle = 0;

  /** Writes the dynamic header prepared by `#prepareHeader`. */
  #header(sink: ByteSink): void {
    const clens = this.#clenLens, ccodes = this.#clenCodes;
    this.#scratch.codes(clens, 19, ccodes);
    this.#put(sink, this.#nlit - 257, 5);
    this.#put(sink, this.#ndist - 1, 5);
    this.#put(sink, this.#nclen - 4, 4);
    for (let i = 0; i < this.#nclen; i++) {
      this.#put(sink, clens[CLEN_ORDER[i]], 3);
    }
    for (let i = 0; i < this.#nrle; i++) {
      const e = this.#rle[i];
      const sym = e & 31;
      this.#put(sink, ccodes[sym], clens[sym]);
      if (sym >= 16) {
        this.#put(sink, e >>> 5, sym === 16 ? 2 : sym === 17 ? 3 : 7);
      }
    }
  }

  /** Writes the buffered symbols and the end-of-block code. */
  #symbols(
    sink: ByteSink,
    litLens: Uint8Array,
    litCodes: Uint16Array,
    distLens: Uint8Array,
    distCodes: Uint16Array,
  ): void {
    const syms = this.symbols;
    const b = sink.bytes;
    let o = sink.length;
    let acc = this.#acc, bits = this.#bits;
    for (let i = 0, n = this.count; i < n; i++) {
      const e = syms[i];
      if (e < 256) {
        acc |= litCodes[e] << bits;
        bits += litLens[e];
      } else {
        const len = ((e >> 16) & 0xff) + 3;
        const lc = LENGTH_CODE[len - 3];
        acc |= litCodes[lc] << bits;
        bits += litLens[lc];
        const le = LENGTH_EXTRA[lc - 257];
        acc |= (len - LENGTH_BASE[lc - 257]) << bits;
        bits += le;
        while (bits >= 8) {
          b[o++] = acc & 0xff;
          acc >>= 8;
          bits -= 8;
        }
        const d = e & 0xffff; // dist - 1
        const dc = d < 256 ? DIST_CODE[d] : DIST_CODE[256 + (d >> 7)];
        acc |= distCodes[dc] << bits;
        bits += distLens[dc];
        while (bits >= 8) {
          b[o++] = acc & 0xff;
          acc >>= 8;
          bits -= 8;
        }
        acc |= (d + 1 - DIST_BASE[dc]) << bits;
        bits += DIST_EXTRA[dc];
      }
      while (bits >= 8) {
        b[o++] = acc & 0xff;
        acc >>= 8;
        bits -= 8;
      }
    }
    acc |= litCodes[END_OF_BLOCK] << bits;
    bits += litLens[END_OF_BLOCK];
    while (bits >= 8) {
      b[o++] = acc & 0xff;
      acc >>= 8;
      bits -= 8;
    }
    sink.length = o;
    this.#acc = acc;
    this.#bits = bits;
  }
}
