/**
 * Incremental UTF-8 validation that fails as soon as the bytes seen so far
 * cannot start a valid sequence (RFC 3629 / Unicode Table 3-7).
 *
 * @module
 */

/**
 * Validates UTF-8 fed in pieces. `feed` returns `false` at the first byte
 * that makes the input invalid, even in the middle of a sequence;
 * `complete` tells whether the input so far ends on a character boundary.
 *
 * @example
 * ```ts
 * import { Utf8Validator } from "@x/nexus-ws/codec";
 * const v = new Utf8Validator();
 * const euro = new Uint8Array([0xe2, 0x82, 0xac]);
 * console.assert(v.feed(euro, 0, 2) && !v.complete);
 * console.assert(v.feed(euro, 2, 3) && v.complete);
 * console.assert(!v.feed(new Uint8Array([0xc0]), 0, 1));
 * ```
 */
export class Utf8Validator {
  #need = 0;
  #lo = 0x80;
  #hi = 0xbf;
  #ascii = true;

  /** Starts over for a new message. */
  reset(): void {
    this.#need = 0;
    this.#lo = 0x80;
    this.#hi = 0xbf;
    this.#ascii = true;
  }

  /** Whether the bytes fed so far end on a character boundary. */
  get complete(): boolean {
    return this.#need === 0;
  }

  /** Whether every byte fed so far was ASCII. */
  get ascii(): boolean {
    return this.#ascii;
  }

  /** Validates `b[from..to)`; `false` as soon as it cannot be valid UTF-8. */
  feed(b: Uint8Array, from: number, to: number): boolean {
    let i = from;
    if (this.#need === 0) {
      while (i < to && b[i] < 0x80) i++;
      if (i === to) return true;
    }
    this.#ascii = false;
    let need = this.#need, lo = this.#lo, hi = this.#hi;
    for (; i < to; i++) {
      const c = b[i];
      if (need === 0) {
        if (c < 0x80) continue;
        if (c < 0xc2) return false;
        if (c < 0xe0) {
          need = 1;
        } else if (c < 0xf0) {
          need = 2;
          if (c === 0xe0) lo = 0xa0;
          else if (c === 0xed) hi = 0x9f;
        } else if (c < 0xf5) {
          need = 3;
          if (c === 0xf0) lo = 0x90;
          else if (c === 0xf4) hi = 0x8f;
        } else {
          return false;
        }
      } else {
        if (c < lo || c > hi) return false;
        lo = 0x80;
        hi = 0xbf;
        need--;
      }
    }
    this.#need = need;
    this.#lo = lo;
    this.#hi = hi;
    return true;
  }
}

/**
 * Index of the first non-ASCII byte in `b[from..to)`, or `to`. `words` must
 * be a `Uint32Array` over the same memory as `b`, starting at the same byte
 * (so `b.byteOffset` is a multiple of 4): aligned stretches are checked four
 * bytes at a time.
 *
 * @example
 * ```ts
 * import { asciiEnd } from "./utf8.ts";
 * const b = new Uint8Array(16);
 * b.set(new TextEncoder().encode("abcdefgh\u00e9"));
 * console.assert(asciiEnd(b, new Uint32Array(b.buffer), 0, 10) === 8);
 * ```
 */
export function asciiEnd(
  b: Uint8Array,
  words: Uint32Array,
  from: number,
  to: number,
): number {
  let i = from;
  while (i < to && (i & 3) !== 0) {
    if (b[i] >= 0x80) return i;
    i++;
  }
  if (i + 4 <= to) {
    let w = i >>> 2;
    const wEnd = to >>> 2;
    while (w < wEnd && (words[w] & 0x80808080) === 0) w++;
    i = w << 2;
  }
  while (i < to && b[i] < 0x80) i++;
  return i;
}

/**
 * Whether `b[from..to)` is complete, valid UTF-8. Returns `1` for valid
 * ASCII, `2` for valid non-ASCII, `0` for invalid.
 *
 * @example
 * ```ts
 * import { checkUtf8 } from "./utf8.ts";
 * const b = new TextEncoder().encode("héllo");
 * console.assert(checkUtf8(b, 0, b.length) === 2);
 * console.assert(checkUtf8(new Uint8Array([0xff]), 0, 1) === 0);
 * ```
 */
export function checkUtf8(b: Uint8Array, from: number, to: number): 0 | 1 | 2 {
  let i = from;
  while (i < to && b[i] < 0x80) i++;
  if (i === to) return 1;
  const v = new Utf8Validator();
  return v.feed(b, i, to) && v.complete ? 2 : 0;
}
