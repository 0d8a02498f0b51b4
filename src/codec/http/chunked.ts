/**
 * The chunked transfer coding (RFC 9112 §7.1), decoded in place:
 * `ChunkedDecoder` turns the raw chunks at the front of a {@link ReadBuf}
 * into one contiguous body, and collects the trailer fields.
 *
 * @module
 */

import { HttpLimitError, HttpProtocolError } from "../../errors.ts";
import type { ReadBuf } from "../read_buf.ts";
import { parseField, quote } from "./field.ts";
import { HeaderList } from "./header_list.ts";
import { TCHAR } from "./token.ts";

/**
 * The bounds a {@link ChunkedDecoder} enforces (all required: the
 * {@link ResponseReader} that owns it has checked them).
 *
 * @example
 * ```ts
 * import type { ChunkedLimits } from "./chunked.ts";
 * const limits: ChunkedLimits = { maxBodySize: 1 << 20, maxChunkLineSize: 4096, maxHeadSize: 16384, maxHeaders: 100 };
 * console.assert(limits.maxChunkLineSize === 4096);
 * ```
 */
export interface ChunkedLimits {
  /** Largest decoded body. */
  maxBodySize: number;
  /** Longest chunk-size line, extensions included. */
  maxChunkLineSize: number;
  /** Largest trailer section. */
  maxHeadSize: number;
  /** Most trailer fields. */
  maxHeaders: number;
}

// Decoder states.
const SIZE = 0, DATA = 1, DATA_CRLF = 2, TRAILERS = 3, DONE = 4;

const CR = 13,
  LF = 10,
  SEMICOLON = 59,
  EQUALS = 61,
  DQUOTE = 34,
  BACKSLASH = 92;

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

function isWs(c: number): boolean {
  return c === 32 || c === 9;
}

function skipWs(b: Uint8Array, i: number, to: number): number {
  while (i < to && isWs(b[i])) i++;
  return i;
}

function skipToken(b: Uint8Array, i: number, to: number): number {
  while (i < to && b[i] < 128 && TCHAR[b[i]] === 1) i++;
  return i;
}

/**
 * Parses the chunk-size line `b[from, to)` (CRLF excluded):
 * `chunk-size *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] )` with
 * `ext-val = token / quoted-string` (RFC 9112 §7.1.1, RFC 9110 §5.6.4).
 * Returns the size; extensions are checked and ignored. Throws
 * {@link HttpProtocolError}.
 *
 * @example
 * ```ts
 * import { parseChunkSize } from "./chunked.ts";
 * const line = new TextEncoder().encode('1A ; name="a;b"');
 * console.assert(parseChunkSize(line, 0, line.length) === 26);
 * ```
 */
export function parseChunkSize(
  b: Uint8Array,
  from: number,
  to: number,
): number {
  let size = 0, i = from;
  for (; i < to; i++) {
    const d = hexValue(b[i]);
    if (d < 0) break;
    size = size * 16 + d;
    if (size > Number.MAX_SAFE_INTEGER / 16) {
      throw new HttpProtocolError(
        `Expected a chunk size below 2^49, got ${quote(b, from, to)}`,
      );
    }
  }
  const ext = skipWs(b, i, to);
  if (i === from || (ext < to && b[ext] !== SEMICOLON)) {
    throw new HttpProtocolError(
      `Expected a chunk size in hex, got ${quote(b, from, to)}`,
    );
  }
  if (i < to) checkExtensions(b, i, to, from);
  return size;
}

/** Checks the chunk extensions in `b[i, to)`; `from` is the line start (for messages). */
function checkExtensions(b: Uint8Array, i: number, to: number, from: number) {
  for (let k = i; k < to; k++) {
    const c = b[k];
    if ((c < 32 && c !== 9) || c === 127) {
      throw new HttpProtocolError(
        `Expected no control bytes in a chunk extension, got 0x${
          c.toString(16).padStart(2, "0")
        }`,
      );
    }
  }
  while (i < to) {
    i = skipWs(b, i, to);
    if (i === to) {
      throw badExt("a chunk extension after whitespace", b, from, to);
    }
    if (b[i] !== SEMICOLON) {
      throw badExt('";" before a chunk extension', b, from, to);
    }
    const name = skipWs(b, i + 1, to);
    i = skipToken(b, name, to);
    if (i === name) {
      throw badExt('a chunk extension name after ";"', b, from, to);
    }
    const eq = skipWs(b, i, to);
    if (eq === to || b[eq] !== EQUALS) continue;
    const value = skipWs(b, eq + 1, to);
    if (value < to && b[value] === DQUOTE) {
      i = value + 1;
      while (i < to && b[i] !== DQUOTE) i += b[i] === BACKSLASH ? 2 : 1;
      if (i >= to) {
        throw badExt("a closing quote in a chunk extension value", b, from, to);
      }
      i++;
    } else {
      i = skipToken(b, value, to);
      if (i === value) {
        throw badExt('a chunk extension value after "="', b, from, to);
      }
    }
  }
}

function badExt(what: string, b: Uint8Array, from: number, to: number) {
  return new HttpProtocolError(`Expected ${what}, got ${quote(b, from, to)}`);
}

/**
 * Decodes a chunked body in place, from the front of a {@link ReadBuf}:
 * each data byte is moved at most once, down onto the data before it, so
 * the body ends up one contiguous view at the buffer's start however it
 * was chunked, and a small buffer does not grow for many tiny chunks.
 *
 * Refuses with {@link HttpProtocolError}: a chunk size that is not hex, is
 * empty or overflows; whitespace after the size with no extension, a `;`
 * with no extension name, a bad or unclosed extension value, control
 * bytes in an extension; chunk data not followed by CRLF; a bare CR or LF;
 * trailer fields as the head parser refuses header fields. Over a limit:
 * {@link HttpLimitError} (`maxBodySize`, `maxChunkLineSize`, `maxHeadSize`
 * for the trailer section, `maxHeaders` for its fields).
 *
 * @example
 * ```ts
 * import { ChunkedDecoder } from "./chunked.ts";
 * import { ReadBuf } from "../read_buf.ts";
 * const d = new ChunkedDecoder({ maxBodySize: 1024, maxChunkLineSize: 64, maxHeadSize: 1024, maxHeaders: 10 });
 * const rb = new ReadBuf();
 * d.begin();
 * rb.push(new TextEncoder().encode("3\r\nabc\r\n2;x=1\r\nde\r\n0\r\nx-n: 2\r\n\r\n"));
 * const body = d.read(rb)!;
 * console.assert(new TextDecoder().decode(body) === "abcde" && d.trailers!.get("x-n") === "2");
 * ```
 */
export class ChunkedDecoder {
  #limits: ChunkedLimits;
  #state = DONE;
  #length = 0; // DATA: bytes left in the chunk
  #out = 0; // decoded bytes at the front of the buffer
  #in = 0; // offset of the next raw byte, from rb.start
  #scanned = 0; // bytes of the current line already searched for LF
  #trailers: HeaderList | null = null;
  #trailerBytes = 0;

  /** A decoder bounded by `limits`. */
  constructor(limits: ChunkedLimits) {
    this.#limits = limits;
  }

  /** Starts a body; the buffer's unconsumed bytes begin with its first chunk. */
  begin(): void {
    this.#state = SIZE;
    this.#length = 0;
    this.#out = 0;
    this.#in = 0;
    this.#scanned = 0;
    this.#trailers = null;
    this.#trailerBytes = 0;
  }

  /** The trailer fields of the body just read, or `null` when it had none. */
  get trailers(): HeaderList | null {
    return this.#trailers;
  }

  /** What the body still lacks, for an end-of-stream message ("3 more bytes of chunk data"). */
  get missing(): string {
    switch (this.#state) {
      case DATA:
        return `${this.#length} more bytes of chunk data`;
      case TRAILERS:
        return "the end of the chunked trailers";
      default:
        return "the rest of the chunked body";
    }
  }

  /**
   * Decodes what the buffer holds. Returns the whole body (a view at the
   * buffer's start; the framing is consumed) once the last chunk and the
   * trailers are in, else `null` with the decoded part kept at the front.
   * Throws as described on {@link ChunkedDecoder}.
   */
  read(rb: ReadBuf): Uint8Array | null {
    const b = rb.bytes, base = rb.start, avail = rb.length;
    let out = this.#out, pos = this.#in;
    for (;;) {
      if (this.#state === DATA) {
        const take = Math.min(avail - pos, this.#length);
        if (take > 0) {
          if (out !== pos) {
            b.copyWithin(base + out, base + pos, base + pos + take);
          }
          out += take;
          pos += take;
          this.#length -= take;
        }
        if (this.#length > 0) break;
        this.#state = DATA_CRLF;
      }
      if (this.#state === DATA_CRLF) {
        if (avail - pos < 2) {
          if (avail - pos === 1 && b[base + pos] !== CR) {
            throw badCrlf(b, base + pos);
          }
          break;
        }
        if (b[base + pos] !== CR || b[base + pos + 1] !== LF) {
          throw badCrlf(b, base + pos);
        }
        pos += 2;
        this.#state = SIZE;
      }
      // SIZE or TRAILERS: one line.
      const from = base + pos;
      const lineEnd = this.#findLine(b, from, base + avail);
      if (lineEnd < 0) break;
      pos = lineEnd + 2 - base;
      if (this.#state === SIZE) {
        this.#chunk(parseChunkSize(b, from, lineEnd), out);
        continue;
      }
      if (lineEnd === from) {
        this.#state = DONE;
        rb.consume(pos);
        return b.subarray(base, base + out);
      }
      const { maxHeaders } = this.#limits;
      this.#trailers ??= new HeaderList();
      parseField(b, from, lineEnd, this.#trailers, maxHeaders, "trailer");
    }
    this.#keep(rb, out, pos);
    return null;
  }

  /** A chunk of `size` bytes begins after `out` decoded bytes. */
  #chunk(size: number, out: number): void {
    if (size === 0) {
      this.#state = TRAILERS;
      return;
    }
    const max = this.#limits.maxBodySize;
    if (out + size > max) {
      throw new HttpLimitError(
        "maxBodySize",
        max,
        `Expected a body of at most ${max} bytes, got a chunk of ${size} bytes after ${out}`,
      );
    }
    this.#length = size;
    this.#state = DATA;
  }

  /**
   * Needs more bytes: moves the unparsed tail down onto the decoded body,
   * and makes room for the rest of the current chunk.
   */
  #keep(rb: ReadBuf, out: number, pos: number): void {
    if (pos > out) {
      const b = rb.bytes, base = rb.start;
      b.copyWithin(base + out, base + pos, base + rb.length);
      rb.truncate(out + rb.length - pos);
      pos = out;
    }
    this.#out = out;
    this.#in = pos;
    if (this.#state === DATA) {
      const want = Math.min(
        out + this.#length + 64,
        this.#limits.maxBodySize + 64,
      );
      if (rb.start + want > rb.capacity && want <= rb.maxMessageSize) {
        rb.reserve(want);
      }
    }
  }

  /**
   * Index of the CR of the CRLF ending the line at `from` (absolute), or -1
   * when the line is not complete yet. Refuses a bare CR or LF and lines
   * over the limit.
   */
  #findLine(b: Uint8Array, from: number, end: number): number {
    const trailers = this.#state === TRAILERS;
    const limit = trailers
      ? this.#limits.maxHeadSize - this.#trailerBytes
      : this.#limits.maxChunkLineSize;
    const where = trailers ? "trailers" : "chunk-size line";
    let i = from + this.#scanned;
    for (; i < end; i++) {
      const c = b[i];
      if (c === LF) {
        if (i === from || b[i - 1] !== CR) {
          throw new HttpProtocolError(
            `Expected CRLF, got a bare LF in the ${where}`,
          );
        }
        this.#scanned = 0;
        if (trailers) this.#trailerBytes += i + 1 - from;
        return i - 1;
      }
      if (i > from && b[i - 1] === CR) {
        throw new HttpProtocolError(
          `Expected CRLF, got a bare CR in the ${where}`,
        );
      }
      if (i - from >= limit) throw this.#lineLimit(trailers);
    }
    this.#scanned = i - from;
    return -1;
  }

  #lineLimit(trailers: boolean): HttpLimitError {
    const { maxHeadSize, maxChunkLineSize } = this.#limits;
    return trailers
      ? new HttpLimitError(
        "maxHeadSize",
        maxHeadSize,
        `Expected chunked trailers within ${maxHeadSize} bytes, got more`,
      )
      : new HttpLimitError(
        "maxChunkLineSize",
        maxChunkLineSize,
        `Expected a chunk-size line within ${maxChunkLineSize} bytes, got more`,
      );
  }
}

/** The error for chunk data not followed by CRLF at `b[from]` (up to the bad byte). */
function badCrlf(b: Uint8Array, from: number): HttpProtocolError {
  const to = b[from] === CR ? from + 2 : from + 1;
  return new HttpProtocolError(
    `Expected CRLF after the chunk data, got ${quote(b, from, to)}`,
  );
}
