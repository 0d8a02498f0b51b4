/**
 * `PayloadDecoder`: decodes gzip (RFC 1952), zlib (RFC 1950) and raw
 * DEFLATE (RFC 1951) payloads, whole or streamed, into a reusable buffer.
 *
 * @module
 */

import { adler32 } from "./adler32.ts";
import { crc32 } from "./crc32.ts";
import { InflateError } from "./errors.ts";
import { DecodedOutput } from "./decoded_output.ts";

/**
 * A compressed payload format:
 *
 * - `"gzip"`: RFC 1952, one member or several back to back (their outputs
 *   concatenated), header flags and CRC-32 and size checked;
 * - `"zlib"`: RFC 1950, Adler-32 checked, no preset dictionary;
 * - `"deflate-raw"`: RFC 1951 alone, ending with a final block;
 * - `"deflate"`: what HTTP's `Content-Encoding: deflate` carries: zlib as
 *   RFC 9110 says, or raw DEFLATE as some servers send and browsers accept,
 *   told apart by the first two bytes (a valid zlib header is zlib).
 *
 * @example
 * ```ts
 * import type { PayloadFormat } from "@x/nexus-ws/codec";
 * const format: PayloadFormat = "gzip";
 * console.assert(format === "gzip");
 * ```
 */
export type PayloadFormat = "gzip" | "zlib" | "deflate" | "deflate-raw";

/**
 * Options for {@link PayloadDecoder}.
 *
 * @example
 * ```ts
 * import { PayloadDecoder } from "@x/nexus-ws/codec";
 * const decoder = new PayloadDecoder({ maxOutputSize: 1 << 20, bufferSize: 4096 });
 * console.assert(decoder.maxOutputSize === 1 << 20);
 * ```
 */
export interface PayloadDecoderOptions {
  /**
   * Most bytes one payload may decode to (default 16 MiB), checked while
   * decoding: over it, `InflateLimitError`.
   */
  maxOutputSize?: number;
  /** Output buffer to start with and to shrink back to (default 16 KiB). */
  bufferSize?: number;
}

const FORMATS = ["gzip", "zlib", "deflate", "deflate-raw"];
const HEAD = 0; // reading the header
const BODY = 1; // inflating
const TRAIL = 2; // reading the trailer
const END = 3; // complete

// gzip header steps: the fixed 10 bytes, then the optional fields in order
// (after COMMENT comes the header CRC)
const FIXED = 0, EXTRA_LEN = 1, EXTRA = 2, NAME = 3, COMMENT = 4;
const FHCRC = 2, FEXTRA = 4, FNAME = 8, FCOMMENT = 16;

function bad(message: string): never {
  throw new InflateError(message);
}

/** Whether two bytes are a zlib header this decoder accepts the shape of. */
function isZlibHeader(cmf: number, flg: number): boolean {
  return (cmf & 0x0f) === 8 && cmf >>> 4 <= 7 && ((cmf << 8) | flg) % 31 === 0;
}

/**
 * Decodes compressed payloads (gzip, zlib, raw DEFLATE; see
 * {@link PayloadFormat}) into one reusable output buffer, bounded by
 * `maxOutputSize` while decoding. For venues that compress the payload of
 * ordinary WebSocket frames, and for HTTP `Content-Encoding`.
 *
 * Whole payloads: {@link PayloadDecoder.decode} returns a view of the
 * output, valid until the next call. Streamed ones: {@link PayloadDecoder.begin},
 * then {@link PayloadDecoder.push} as bytes arrive (the output so far is
 * {@link DecodedOutput.output}; {@link PayloadDecoder.discardOutput} lets
 * the buffer be reused for what follows), then {@link PayloadDecoder.finish}.
 * Corrupt, truncated or trailing data and bad checksums throw
 * `InflateError`; too much output, `InflateLimitError`.
 *
 * @example
 * ```ts
 * import { PayloadDecoder } from "@x/nexus-ws/codec";
 * // "hi" gzip-compressed
 * const gz = new Uint8Array([
 *   0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xcb, 0xc8,
 *   0x04, 0x00, 0xac, 0x2a, 0x93, 0xd8, 0x02, 0x00, 0x00, 0x00,
 * ]);
 * const decoder = new PayloadDecoder();
 * console.assert(new TextDecoder().decode(decoder.decode("gzip", gz)) === "hi");
 * ```
 */
export class PayloadDecoder extends DecodedOutput {
  /** The bound on one payload's decoded size. */
  readonly maxOutputSize: number;

  #format: PayloadFormat = "gzip";
  #state = END;
  #step = FIXED; // gzip header step
  #head = new Uint8Array(10);
  #headLen = 0;
  #flags = 0;
  #skip = 0; // FEXTRA bytes left, or XLEN bytes read
  #headCrc = 0;
  #trail = new Uint8Array(8);
  #trailLen = 0;
  #check = 0; // running CRC-32 or Adler-32 of the output
  #summed = 0; // output bytes in #check

  /** Creates a decoder; throws `RangeError` on a bad option value. */
  constructor(options: PayloadDecoderOptions = {}) {
    super({
      windowBits: 15,
      maxOutputSize: options.maxOutputSize,
      bufferSize: options.bufferSize ?? 16384,
    });
    this.maxOutputSize = this.inflater.maxOutputSize;
  }

  /** Whether the payload is complete (its trailer read and checked). */
  get done(): boolean {
    return this.#state === END;
  }

  /** Marks the decoded bytes as consumed (streaming); the bound still counts them. */
  discardOutput(): void {
    this.inflater.discardOutput();
  }

  /**
   * Decodes the whole payload `src[from, to)` and returns a view of the
   * output, valid until the next call.
   */
  decode(
    format: PayloadFormat,
    src: Uint8Array,
    from = 0,
    to: number = src.length,
  ): Uint8Array {
    this.begin(format);
    this.push(src, from, to);
    this.finish();
    return this.output();
  }

  /** Starts a payload of `format`; throws `TypeError` on an unknown one. */
  begin(format: PayloadFormat): void {
    if (!FORMATS.includes(format)) {
      throw new TypeError(
        `Expected format "gzip", "zlib", "deflate" or "deflate-raw", got ${
          JSON.stringify(format)
        }`,
      );
    }
    this.#format = format;
    this.inflater.reset();
    this.#state = format === "deflate-raw" ? BODY : HEAD;
    this.#startHeader();
    this.#check = format === "gzip" ? 0 : 1;
    this.#summed = 0;
  }

  /** Decodes `src[from, to)`, the next bytes of the payload. */
  push(src: Uint8Array, from = 0, to: number = src.length): void {
    while (from < to) {
      const state = this.#state;
      if (state === HEAD) {
        from = this.#header(src, from, to);
      } else if (state === BODY) {
        from = this.#body(src, from, to);
      } else if (state === TRAIL) {
        from = this.#trailer(src, from, to);
      } else {
        from = this.#after(src, from, to);
      }
    }
  }

  /** Checks that the payload is complete; throws `InflateError` if not. */
  finish(): void {
    if (this.#state !== END) {
      const what = this.#state === HEAD
        ? "header"
        : this.#state === BODY
        ? "compressed data"
        : "trailer";
      bad(
        `Expected a complete ${this.#format} payload, got the end inside its ${what}`,
      );
    }
  }

  #startHeader(): void {
    this.#step = FIXED;
    this.#headLen = 0;
    this.#trailLen = 0;
    this.#headCrc = 0;
  }

  #header(src: Uint8Array, from: number, to: number): number {
    if (this.#format === "gzip") return this.#gzipHeader(src, from, to);
    const h = this.#head;
    while (this.#headLen < 2 && from < to) h[this.#headLen++] = src[from++];
    if (this.#headLen < 2) return from;
    if (this.#format === "deflate" && !isZlibHeader(h[0], h[1])) {
      // raw DEFLATE: the two bytes were its first ones
      this.#format = "deflate-raw";
      this.#state = BODY;
      this.#body(h, 0, 2);
      return from;
    }
    this.#zlibHeader(h[0], h[1]);
    this.#state = BODY;
    return from;
  }

  #zlibHeader(cmf: number, flg: number): void {
    if ((cmf & 0x0f) !== 8) {
      bad(`Expected zlib compression method 8, got ${cmf & 0x0f}`);
    }
    if (cmf >>> 4 > 7) {
      bad(`Expected a zlib window of at most 32 KiB, got 2^${(cmf >>> 4) + 8}`);
    }
    if (((cmf << 8) | flg) % 31 !== 0) {
      bad("Expected a zlib header check that is a multiple of 31, got another");
    }
    if ((flg & 0x20) !== 0) {
      bad("Expected a zlib stream without a preset dictionary, got one");
    }
  }

  /** Reads a gzip member header, which may arrive split anywhere. */
  #gzipHeader(src: Uint8Array, from: number, to: number): number {
    const h = this.#head;
    while (from < to) {
      const step = this.#step;
      if (step === FIXED) {
        const n = Math.min(10 - this.#headLen, to - from);
        h.set(src.subarray(from, from + n), this.#headLen);
        this.#headCrc = crc32(this.#headCrc, src, from, from + n);
        this.#headLen += n;
        from += n;
        if (this.#headLen < 10) return from;
        this.#checkFixed();
        this.#skip = 0;
        this.#step = EXTRA_LEN;
      } else if (step === EXTRA_LEN || step === EXTRA) {
        if ((this.#flags & FEXTRA) === 0) {
          this.#step = NAME;
          continue;
        }
        if (step === EXTRA_LEN) {
          // XLEN, little-endian; #skip counts the bytes read so far
          const b = src[from];
          this.#headCrc = crc32(this.#headCrc, src, from, from + 1);
          from++;
          h[this.#skip++] = b;
          if (this.#skip < 2) continue;
          this.#skip = h[0] | (h[1] << 8);
          this.#step = EXTRA;
          continue;
        }
        const n = Math.min(this.#skip, to - from);
        this.#headCrc = crc32(this.#headCrc, src, from, from + n);
        from += n;
        this.#skip -= n;
        if (this.#skip === 0) this.#step = NAME;
      } else if (step === NAME || step === COMMENT) {
        const flag = step === NAME ? FNAME : FCOMMENT;
        if ((this.#flags & flag) === 0) {
          this.#step = step + 1;
          continue;
        }
        const zero = src.indexOf(0, from);
        const stop = zero < 0 || zero >= to ? to : zero + 1;
        this.#headCrc = crc32(this.#headCrc, src, from, stop);
        from = stop;
        if (stop === zero + 1) this.#step = step + 1;
      } else {
        if ((this.#flags & FHCRC) === 0) {
          this.#state = BODY;
          return from;
        }
        while (this.#trailLen < 2 && from < to) {
          this.#trail[this.#trailLen++] = src[from++];
        }
        if (this.#trailLen < 2) return from;
        const got = this.#trail[0] | (this.#trail[1] << 8);
        if (got !== (this.#headCrc & 0xffff)) {
          bad(
            "Expected a gzip header CRC that matches the header, got another",
          );
        }
        this.#trailLen = 0;
        this.#state = BODY;
        return from;
      }
    }
    return from;
  }

  #checkFixed(): void {
    const h = this.#head;
    if (h[0] !== 0x1f || h[1] !== 0x8b) {
      bad(
        `Expected a gzip header (1f 8b), got ${
          h[0].toString(16).padStart(2, "0")
        } ${h[1].toString(16).padStart(2, "0")}`,
      );
    }
    if (h[2] !== 8) bad(`Expected gzip compression method 8, got ${h[2]}`);
    if ((h[3] & 0xe0) !== 0) {
      bad(
        `Expected gzip flags without reserved bits, got 0x${h[3].toString(16)}`,
      );
    }
    this.#flags = h[3];
  }

  #body(src: Uint8Array, from: number, to: number): number {
    const inf = this.inflater;
    const before = inf.total;
    const used = inf.push(src, from, to);
    const n = inf.total - before;
    if (n > 0) {
      const b = inf.buffer, end = inf.end;
      this.#check = this.#format === "gzip"
        ? crc32(this.#check, b, end - n, end)
        : this.#format === "zlib" || this.#format === "deflate"
        ? adler32(this.#check, b, end - n, end)
        : 0;
      this.#summed += n;
    }
    if (!inf.ended) return to;
    this.#state = this.#format === "deflate-raw" ? END : TRAIL;
    const rest = inf.leftover;
    if (rest.length > 0) this.push(rest, 0, rest.length);
    return from + used;
  }

  #trailer(src: Uint8Array, from: number, to: number): number {
    const need = this.#format === "gzip" ? 8 : 4;
    const t = this.#trail;
    while (this.#trailLen < need && from < to) {
      t[this.#trailLen++] = src[from++];
    }
    if (this.#trailLen < need) return from;
    if (need === 8) {
      const crc = (t[0] | (t[1] << 8) | (t[2] << 16) | (t[3] << 24)) >>> 0;
      const size = (t[4] | (t[5] << 8) | (t[6] << 16) | (t[7] << 24)) >>> 0;
      if (crc !== this.#check) {
        bad("Expected a gzip CRC-32 that matches the data, got another");
      }
      if (size !== this.#summed % 0x100000000) {
        bad(`Expected a gzip size of ${size} bytes, got ${this.#summed}`);
      }
    } else {
      const sum = ((t[0] << 24) | (t[1] << 16) | (t[2] << 8) | t[3]) >>> 0;
      if (sum !== this.#check) {
        bad("Expected a zlib Adler-32 that matches the data, got another");
      }
    }
    this.#state = END;
    return from;
  }

  /** Bytes after a complete payload: another gzip member, else an error. */
  #after(src: Uint8Array, from: number, _to: number): number {
    if (this.#format !== "gzip") {
      bad(`Expected the end of the ${this.#format} payload, got more bytes`);
    }
    if (src[from] !== 0x1f) {
      bad(
        "Expected the end of the gzip payload or another member, got more bytes",
      );
    }
    this.inflater.restartStream();
    this.#state = HEAD;
    this.#startHeader();
    this.#check = 0;
    this.#summed = 0;
    return from;
  }
}
