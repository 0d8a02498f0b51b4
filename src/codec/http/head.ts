/**
 * HTTP/1.1 response head parsing (status line and header fields), shared by
 * the WebSocket handshake and the HTTP response reader.
 *
 * @module
 */

import { HttpLimitError, HttpProtocolError } from "../../errors.ts";
import type { ReadBuf } from "../read_buf.ts";
import { HeaderList } from "./header_list.ts";

/**
 * A parsed response head.
 *
 * @example
 * ```ts
 * import { HeadReader, ReadBuf } from "@x/nexus-ws/codec";
 * const rb = new ReadBuf();
 * rb.push(new TextEncoder().encode("HTTP/1.1 204 No Content\r\n\r\n"));
 * const head = new HeadReader().read(rb)!;
 * console.assert(head.status === 204 && head.minorVersion === 1);
 * ```
 */
export interface ResponseHead {
  /** `1` for HTTP/1.1, `0` for HTTP/1.0. */
  minorVersion: number;
  /** Three-digit status code. */
  status: number;
  /** Reason phrase (may be empty). */
  reason: string;
  /** Header fields. */
  headers: HeaderList;
}

/**
 * Limits for {@link HeadReader}.
 *
 * @example
 * ```ts
 * import { HeadReader } from "@x/nexus-ws/codec";
 * const reader = new HeadReader({ maxHeadSize: 8192, maxHeaders: 64 });
 * console.assert(reader instanceof HeadReader);
 * ```
 */
export interface HeadLimits {
  /** Largest head in bytes, status line to the blank line. Default 16384. */
  maxHeadSize?: number;
  /** Most header fields. Default 100. */
  maxHeaders?: number;
}

const CR = 13, LF = 10;

// tchar per RFC 9110 §5.6.2
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 48; c <= 57; c++) TCHAR[c] = 1;
for (let c = 65; c <= 90; c++) TCHAR[c] = 1;
for (let c = 97; c <= 122; c++) TCHAR[c] = 1;

/**
 * Whether `s` is a non-empty RFC 9110 token (a valid method or header name).
 *
 * @example
 * ```ts
 * import { isToken } from "./head.ts";
 * console.assert(isToken("X-Api-Key") && !isToken("Bad Name"));
 * ```
 */
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || TCHAR[c] === 0) return false;
  }
  return true;
}

/**
 * A direct-mapped cache of short strings seen in heads (header names
 * lower-cased, common values, reason phrases), so a steady stream of
 * similar responses parses without allocating them again. Bounded: 1024
 * slots of at most 48 characters; a collision just replaces the slot.
 */
const INTERN = new Array<string>(1024).fill("");
const INTERN_MAX = 48;

/** `b[from, to)` as a string, lower-cased when `lower` (ASCII letters only). */
function interned(
  b: Uint8Array,
  from: number,
  to: number,
  lower: boolean,
): string {
  const n = to - from;
  if (n > INTERN_MAX) {
    const s = latin1(b, from, to);
    return lower ? s.toLowerCase() : s;
  }
  let h = n;
  for (let i = from; i < to; i++) {
    let c = b[i];
    if (lower && c >= 65 && c <= 90) c |= 0x20;
    h = (Math.imul(h, 31) + c) | 0;
  }
  const slot = (h ^ (h >>> 10)) & 1023;
  const hit = INTERN[slot];
  if (hit.length === n) {
    let i = 0;
    for (; i < n; i++) {
      let c = b[from + i];
      if (lower && c >= 65 && c <= 90) c |= 0x20;
      if (hit.charCodeAt(i) !== c) break;
    }
    if (i === n) return hit;
  }
  let s = "";
  for (let i = from; i < to; i++) {
    let c = b[i];
    if (lower && c >= 65 && c <= 90) c |= 0x20;
    s += String.fromCharCode(c);
  }
  INTERN[slot] = s;
  return s;
}

function latin1(b: Uint8Array, from: number, to: number): string {
  if (to - from <= 16) {
    let t = "";
    for (let i = from; i < to; i++) t += String.fromCharCode(b[i]);
    return t;
  }
  let s = "";
  for (let i = from; i < to; i += 4096) {
    s += String.fromCharCode.apply(
      null,
      b.subarray(i, Math.min(to, i + 4096)) as unknown as number[],
    );
  }
  return s;
}

/**
 * Finds and parses one response head at the front of a {@link ReadBuf}. It
 * remembers how far it has searched, so bytes arriving one at a time are
 * scanned once. On success the head is consumed from the buffer and what
 * follows it (body or frames) stays there.
 *
 * Refuses with {@link HttpProtocolError}: a head over `maxHeadSize`, more
 * than `maxHeaders` fields, a bad status line, a field name that is not a
 * token, obs-fold (a line starting with whitespace), a bare CR or LF, NUL or
 * other control bytes in a value.
 *
 * @example
 * ```ts
 * import { HeadReader, ReadBuf } from "@x/nexus-ws/codec";
 * const rb = new ReadBuf();
 * const reader = new HeadReader();
 * rb.push(new TextEncoder().encode("HTTP/1.1 200 OK\r\nContent-"));
 * console.assert(reader.read(rb) === null);
 * rb.push(new TextEncoder().encode("Length: 0\r\n\r\n"));
 * console.assert(reader.read(rb)!.headers.get("content-length") === "0");
 * ```
 */
export class HeadReader {
  #scanned = 0;
  #maxHeadSize: number;
  #maxHeaders: number;

  /** Creates a reader with the given limits. */
  constructor(limits: HeadLimits = {}) {
    this.#maxHeadSize = limits.maxHeadSize ?? 16384;
    this.#maxHeaders = limits.maxHeaders ?? 100;
  }

  /** Forgets the search position (call before reading a new head). */
  reset(): void {
    this.#scanned = 0;
  }

  /**
   * Parses a head from the buffer: `null` when more bytes are needed,
   * the head (consumed from the buffer) when complete; throws
   * {@link HttpProtocolError} when it is invalid or too large.
   */
  read(rb: ReadBuf): ResponseHead | null {
    const b = rb.bytes, start = rb.start, end = rb.end;
    const limit = Math.min(end, start + this.#maxHeadSize);
    let i = start + Math.max(0, this.#scanned - 3);
    let headEnd = -1;
    for (; i + 3 < limit; i++) {
      if (
        b[i + 3] === LF && b[i + 2] === CR && b[i + 1] === LF && b[i] === CR
      ) {
        headEnd = i + 4;
        break;
      }
    }
    if (headEnd < 0) {
      this.#scanned = i - start;
      if (end - start >= this.#maxHeadSize) {
        throw new HttpLimitError(
          "maxHeadSize",
          this.#maxHeadSize,
          `Expected a response head within ${this.#maxHeadSize} bytes, got more without the end of the head`,
        );
      }
      if (end === b.length) {
        // the buffer is full and the head incomplete: make room for more of it
        // (the head is bounded by maxHeadSize, checked above)
        // and by what the buffer may grow to
        const have = end - start;
        const bound = rb.maxCapacity;
        if (have >= bound) {
          throw new HttpLimitError(
            "maxMessageSize",
            rb.maxMessageSize,
            `Expected a response head within the buffer limit of ${bound} bytes, got more without the end of the head`,
          );
        }
        rb.reserve(
          Math.min(this.#maxHeadSize, have + Math.max(have, 1024), bound),
        );
      }
      return null;
    }
    this.#scanned = 0;
    const head = this.#parse(b, start, headEnd - 2);
    rb.consume(headEnd - start);
    return head;
  }

  #parse(b: Uint8Array, start: number, end: number): ResponseHead {
    // end points at the CRLF that terminates the last line (or the status line)
    let lineEnd = lineEndFrom(b, start, end);
    const statusEnd = lineEnd;
    const status = parseStatusLine(b, start, lineEnd);
    if (status < 0) {
      const statusLine = latin1(b, start, lineEnd);
      throw new HttpProtocolError(
        `Expected a status line "HTTP/1.x NNN reason", got ${
          JSON.stringify(statusLine.slice(0, 64))
        }`,
      );
    }
    const headers = new HeaderList();
    let pos = lineEnd + 2;
    while (pos < end) {
      lineEnd = lineEndFrom(b, pos, end);
      if (b[pos] === 32 || b[pos] === 9) {
        throw new HttpProtocolError(
          "Expected a header field, got an obs-fold continuation line",
        );
      }
      if (headers.size >= this.#maxHeaders) {
        throw new HttpLimitError(
          "maxHeaders",
          this.#maxHeaders,
          `Expected at most ${this.#maxHeaders} header fields, got more`,
        );
      }
      let colon = pos;
      let token = true;
      for (; colon < lineEnd; colon++) {
        const c = b[colon];
        if (c === 58) break;
        if (c >= 128 || TCHAR[c] === 0) token = false;
      }
      if (colon === lineEnd || colon === pos || !token) {
        throw new HttpProtocolError(
          `Expected a header "name: value", got ${
            JSON.stringify(latin1(b, pos, Math.min(lineEnd, pos + 64)))
          }`,
        );
      }
      const name = interned(b, pos, colon, true);
      let vs = colon + 1, ve = lineEnd;
      while (vs < ve && (b[vs] === 32 || b[vs] === 9)) vs++;
      while (ve > vs && (b[ve - 1] === 32 || b[ve - 1] === 9)) ve--;
      for (let k = vs; k < ve; k++) {
        const c = b[k];
        if ((c < 32 && c !== 9) || c === 127) {
          throw new HttpProtocolError(
            `Expected no control bytes in header "${name}", got 0x${
              c.toString(16).padStart(2, "0")
            }`,
          );
        }
      }
      headers.append(name, interned(b, vs, ve, false));
      pos = lineEnd + 2;
    }
    return {
      minorVersion: b[start + 7] - 48,
      status,
      reason: statusEnd > start + 13
        ? interned(b, start + 13, statusEnd, false)
        : "",
      headers,
    };
  }
}

/**
 * Checks `HTTP/1.x NNN[ reason]` in `b[from, to)`: returns the status, or -1.
 * The reason may hold HTAB, SP and visible bytes only.
 */
function parseStatusLine(b: Uint8Array, from: number, to: number): number {
  const n = to - from;
  if (n < 12) return -1;
  // "HTTP/1."
  if (
    b[from] !== 72 || b[from + 1] !== 84 || b[from + 2] !== 84 ||
    b[from + 3] !== 80 || b[from + 4] !== 47 || b[from + 5] !== 49 ||
    b[from + 6] !== 46 || (b[from + 7] !== 48 && b[from + 7] !== 49) ||
    b[from + 8] !== 32
  ) return -1;
  let status = 0;
  for (let i = from + 9; i < from + 12; i++) {
    const d = b[i] - 48;
    if (d < 0 || d > 9) return -1;
    status = status * 10 + d;
  }
  if (status < 100) return -1;
  if (n === 12) return status;
  if (b[from + 12] !== 32) return -1;
  for (let i = from + 13; i < to; i++) {
    const c = b[i];
    if ((c < 32 && c !== 9) || c === 127) return -1;
  }
  return status;
}

/** Index of the CR of the CRLF ending the line at `pos`; refuses bare CR/LF. */
function lineEndFrom(b: Uint8Array, pos: number, end: number): number {
  for (let i = pos; i < end; i++) {
    const c = b[i];
    if (c === CR) {
      if (b[i + 1] !== LF) {
        throw new HttpProtocolError("Expected CRLF, got a bare CR in the head");
      }
      return i;
    }
    if (c === LF) {
      throw new HttpProtocolError("Expected CRLF, got a bare LF in the head");
    }
  }
  return end;
}
