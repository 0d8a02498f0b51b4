/**
 * HTTP/1.1 response head parsing (status line and header fields), shared by
 * the WebSocket handshake and the HTTP response reader.
 *
 * @module
 */

import { HttpLimitError, HttpProtocolError } from "../../errors.ts";
import { check, integer, type Rules } from "../../options.ts";
import type { ReadBuf } from "../read_buf.ts";
import { interned, parseField, quote } from "./field.ts";
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
  /** Largest head in bytes, status line to the blank line. Default 16384, minimum 16. */
  maxHeadSize?: number;
  /** Most header fields. Default 100. */
  maxHeaders?: number;
}

/** The rules of {@link HeadLimits} (see `src/options.ts`). */
export const HEAD_LIMIT_RULES: Rules = {
  maxHeadSize: integer(16),
  maxHeaders: integer(0),
};

/** Empty lines (CRLF) skipped before a status line; one more is refused. */
export const MAX_EMPTY_LINES = 8;

const CR = 13, LF = 10;

/** `HTTP/1.x NNN` and the byte after it: what every status line starts with. */
const PREFIX = 13;
const HTTP_1 = [72, 84, 84, 80, 47, 49, 46]; // "HTTP/1."

/** Whether `c` may be byte `i` (0-based) of a status line. */
function statusByte(i: number, c: number): boolean {
  if (i < 7) return c === HTTP_1[i];
  switch (i) {
    case 7:
      return c === 48 || c === 49; // HTTP/1.0 or HTTP/1.1
    case 8:
      return c === 32;
    case 9:
      return c >= 49 && c <= 57; // a status >= 100
    case 12:
      return c === 32 || c === CR; // the reason, or the end of the line
    default:
      return c >= 48 && c <= 57;
  }
}

/**
 * The error for a status line that went wrong at `b[bad]` (`b[from]` is its
 * first byte): it quotes the line up to that byte, so the message does not
 * depend on how the bytes arrived.
 */
/** Whether `b[s, s + 13)` is `HTTP/1.x NNN` and SP or CR (unrolled {@link statusByte}). */
function isStatusPrefix(b: Uint8Array, s: number): boolean {
  const d = b[s + 9], c = b[s + 12];
  return b[s] === 72 && b[s + 1] === 84 && b[s + 2] === 84 &&
    b[s + 3] === 80 && b[s + 4] === 47 && b[s + 5] === 49 &&
    b[s + 6] === 46 && (b[s + 7] === 49 || b[s + 7] === 48) &&
    b[s + 8] === 32 && d >= 49 && d <= 57 && isDigit(b[s + 10]) &&
    isDigit(b[s + 11]) && (c === 32 || c === CR);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function badStatusLine(b: Uint8Array, from: number, bad: number): Error {
  const c = b[from];
  const got = c >= 0x14 && c <= 0x17
    ? `0x${
      c.toString(16)
    }, the first byte of a TLS record (is the origin https:?)`
    : quote(b, from, bad + 1);
  return new HttpProtocolError(
    `Expected a status line "HTTP/1.x NNN reason", got ${got}`,
  );
}

function bareCr(): Error {
  return new HttpProtocolError("Expected CRLF, got a bare CR in the head");
}

function bareLf(): Error {
  return new HttpProtocolError("Expected CRLF, got a bare LF in the head");
}

/**
 * Finds and parses one response head at the front of a {@link ReadBuf}. It
 * remembers how far it has searched, so bytes arriving one at a time are
 * scanned once. On success the head is consumed from the buffer and what
 * follows it (body or frames) stays there.
 *
 * Up to {@link MAX_EMPTY_LINES} empty lines (CRLF) before the status line
 * are skipped (RFC 9112 §2.2). Everything else is refused with
 * {@link HttpProtocolError} as soon as the byte that breaks it arrives,
 * not at the end of the head: a first line that does not begin
 * `HTTP/1.0 NNN` or `HTTP/1.1 NNN` (a TLS record on a plain-http port, an
 * HTTP/2 frame, NUL), a bare CR or LF (a head with LF line ends). Then, at
 * the end of the head: a bad reason phrase, a field name that is not a
 * token, obs-fold (a line starting with whitespace), NUL or other control
 * bytes in a value. Over a limit: {@link HttpLimitError} (`maxHeadSize`,
 * `maxHeaders`).
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
  #scanned = 0; // bytes from rb.start searched for the end of the head
  #checked = 0; // bytes of the status line prefix verified
  #empty = 0; // empty lines skipped before the status line
  #maxHeadSize: number;
  #maxHeaders: number;

  /**
   * Creates a reader with the given limits. Throws `TypeError` for an
   * unknown limit or a wrong type, `RangeError` for a bad value.
   */
  constructor(limits?: HeadLimits) {
    check(limits, HEAD_LIMIT_RULES, "HeadReader");
    limits ??= {};
    this.#maxHeadSize = limits.maxHeadSize ?? 16384;
    this.#maxHeaders = limits.maxHeaders ?? 100;
  }

  /** Forgets the search position (call before reading a new head). */
  reset(): void {
    this.#scanned = 0;
    this.#checked = 0;
    this.#empty = 0;
  }

  /**
   * Parses a head from the buffer: `null` when more bytes are needed,
   * the head (consumed from the buffer) when complete; throws
   * {@link HttpProtocolError} when it is invalid or too large.
   */
  read(rb: ReadBuf): ResponseHead | null {
    if (this.#checked < PREFIX && !this.#statusPrefix(rb)) return null;
    const b = rb.bytes, start = rb.start, end = rb.end;
    const limit = Math.min(end, start + this.#maxHeadSize);
    let i = start + this.#scanned;
    let headEnd = -1;
    for (; i < limit; i++) {
      const c = b[i];
      if (c > CR) continue;
      if (c === LF) throw bareLf();
      if (c !== CR) continue; // other control bytes: refused by the parse
      if (i + 1 === limit) break; // the byte after the CR is not here yet
      if (b[++i] !== LF) throw bareCr();
      if (b[i - 2] === LF) {
        headEnd = i + 1;
        break;
      }
    }
    if (headEnd < 0) {
      this.#scanned = i - start;
      this.#makeRoom(rb);
      return null;
    }
    this.reset();
    const head = this.#parse(b, start, headEnd - 2);
    rb.consume(headEnd - start);
    return head;
  }

  /**
   * Skips empty lines, then verifies the status line's first bytes as they
   * arrive; true once all {@link PREFIX} of them are there and valid.
   */
  #statusPrefix(rb: ReadBuf): boolean {
    while (this.#checked === 0 && rb.length > 0 && rb.bytes[rb.start] === CR) {
      if (rb.length < 2) return false;
      if (rb.bytes[rb.start + 1] !== LF) throw bareCr();
      if (++this.#empty > MAX_EMPTY_LINES) {
        throw new HttpProtocolError(
          `Expected a status line, got more than ${MAX_EMPTY_LINES} empty lines`,
        );
      }
      rb.consume(2);
    }
    const b = rb.bytes, start = rb.start;
    const have = Math.min(rb.length, PREFIX);
    if (have === PREFIX && this.#checked === 0 && isStatusPrefix(b, start)) {
      this.#checked = PREFIX; // the usual case: all of it, valid, at once
      return true;
    }
    for (let i = this.#checked; i < have; i++) {
      if (!statusByte(i, b[start + i])) {
        throw badStatusLine(b, start, start + i);
      }
    }
    this.#checked = have;
    return have === PREFIX;
  }

  /** The head is incomplete: refuses it past the limits, or makes room for the rest. */
  #makeRoom(rb: ReadBuf): void {
    const have = rb.length;
    if (have >= this.#maxHeadSize) {
      throw new HttpLimitError(
        "maxHeadSize",
        this.#maxHeadSize,
        `Expected a response head within ${this.#maxHeadSize} bytes, got more without the end of the head`,
      );
    }
    if (rb.end < rb.capacity) return;
    // The buffer is full: make room for more of the head, bounded by
    // maxHeadSize (checked above) and by what the buffer may grow to.
    const bound = rb.maxCapacity;
    if (have >= bound) {
      throw new HttpLimitError(
        "maxMessageSize",
        rb.maxMessageSize,
        `Expected a response head within the buffer limit of ${bound} bytes, got more without the end of the head`,
      );
    }
    rb.reserve(Math.min(this.#maxHeadSize, have + Math.max(have, 1024), bound));
  }

  /** Parses `b[start, end)`: the head up to the CRLF ending its last line. */
  #parse(b: Uint8Array, start: number, end: number): ResponseHead {
    let lineEnd = start;
    while (b[lineEnd] !== CR) lineEnd++;
    const reason = this.#reason(b, start, lineEnd);
    const headers = new HeaderList();
    for (let pos = lineEnd + 2; pos < end; pos = lineEnd + 2) {
      lineEnd = pos;
      while (b[lineEnd] !== CR) lineEnd++;
      parseField(b, pos, lineEnd, headers, this.#maxHeaders, "header");
    }
    return {
      minorVersion: b[start + 7] - 48,
      status: (b[start + 9] - 48) * 100 + (b[start + 10] - 48) * 10 +
        b[start + 11] - 48,
      reason,
      headers,
    };
  }

  /** The reason phrase of the status line `b[from, to)` (its prefix verified). */
  #reason(b: Uint8Array, from: number, to: number): string {
    for (let i = from + PREFIX; i < to; i++) {
      const c = b[i];
      if ((c < 32 && c !== 9) || c === 127) throw badStatusLine(b, from, i);
    }
    return to > from + PREFIX ? interned(b, from + PREFIX, to, false) : "";
  }
}
