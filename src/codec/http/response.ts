/**
 * HTTP/1.1 response decoding (sans-IO): `ResponseReader` frames one response
 * at a time out of a {@link ReadBuf}: status line and headers (through
 * {@link HeadReader}), then the body by `Content-Length`, chunked transfer
 * coding (de-chunked in place) or end of stream.
 *
 * @module
 */

import { HttpLimitError, HttpProtocolError } from "../../errors.ts";
import type { ReadBuf } from "../read_buf.ts";
import {
  type HeadLimits,
  HeadReader,
  isToken,
  type ResponseHead,
} from "./head.ts";
import { HeaderList } from "./header_list.ts";

/**
 * Limits for {@link ResponseReader}: the head limits plus the body and the
 * chunk framing. Sizes are bytes.
 *
 * @example
 * ```ts
 * import { ResponseReader } from "@x/nexus-ws/codec";
 * const reader = new ResponseReader({ maxHeadSize: 8192, maxHeaders: 50, maxBodySize: 1 << 20 });
 * console.assert(reader.maxBodySize === 1 << 20);
 * ```
 */
export interface ResponseLimits extends HeadLimits {
  /**
   * Largest body (after de-chunking). Default 16 MiB. A larger body is
   * refused with {@link HttpLimitError} as soon as its size is known
   * (`Content-Length`, a chunk size), or once it passes the limit.
   */
  maxBodySize?: number;
  /** Longest chunk-size line, extensions included. Default 4096. */
  maxChunkLineSize?: number;
}

/**
 * One complete response, as {@link ResponseReader.read} returns it.
 *
 * @example
 * ```ts
 * import { ReadBuf, ResponseReader } from "@x/nexus-ws/codec";
 * const rb = new ReadBuf();
 * rb.push(new TextEncoder().encode("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"));
 * const r = new ResponseReader();
 * r.begin("GET");
 * const msg = r.read(rb)!;
 * console.assert(msg.status === 200 && msg.body.length === 2 && msg.keepAlive);
 * ```
 */
export interface ResponseMessage extends ResponseHead {
  /**
   * The body: a view of the {@link ReadBuf}'s array, valid until the buffer
   * is next written to (the next read into it). Empty when there is none.
   */
  body: Uint8Array;
  /** Trailer fields of a chunked body, or `null` when there were none. */
  trailers: HeaderList | null;
  /**
   * Whether the connection may carry another request: HTTP/1.1 without
   * `Connection: close`, or HTTP/1.0 with `Connection: keep-alive`, and a
   * body not delimited by the end of the stream.
   */
  keepAlive: boolean;
}

// Reader states.
const IDLE = 0,
  HEAD = 1,
  LENGTH = 2,
  CHUNK_SIZE = 3,
  CHUNK_DATA = 4,
  CHUNK_CRLF = 5,
  TRAILERS = 6,
  UNTIL_EOF = 7,
  DONE = 8;

const CR = 13, LF = 10;
const EMPTY = new Uint8Array(0);

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

function show(b: Uint8Array, from: number, to: number): string {
  let s = "";
  const end = Math.min(to, from + 48);
  for (let i = from; i < end; i++) s += String.fromCharCode(b[i]);
  return JSON.stringify(to > end ? s + "…" : s);
}

/** Whether a comma-separated header value holds `token` (lower-case). */
function hasToken(value: string | null, token: string): boolean {
  if (value === null) return false;
  const parts = value.split(",");
  for (let i = 0; i < parts.length; i++) {
    if (parts[i].trim().toLowerCase() === token) return true;
  }
  return false;
}

/**
 * Reads HTTP/1.1 responses from a {@link ReadBuf}, one per
 * {@link ResponseReader.begin}: feed bytes into the buffer, call
 * {@link ResponseReader.read} until it returns the response, call
 * {@link ResponseReader.end} if the stream ends first.
 *
 * Framing follows RFC 9112 §6.3: no body for a `HEAD` request or a 204 / 304
 * status; interim 1xx responses (100, 102, 103) are skipped; then
 * `Transfer-Encoding: chunked`, then `Content-Length`, else the body runs
 * to the end of the stream (and the connection is not reusable).
 *
 * Refuses with {@link HttpProtocolError} (what request smuggling is made
 * of): both `Content-Length` and `Transfer-Encoding`; several differing
 * `Content-Length` values or one that is not plain digits; a transfer
 * coding other than `chunked` alone, or any in an HTTP/1.0 response; a
 * chunk size that is not hex, is empty or overflows; chunk data not
 * followed by CRLF; obs-fold, bare CR / LF and control bytes (in the head
 * and the trailers); an unrequested `101`. Over a limit:
 * {@link HttpLimitError} (`maxHeadSize`, `maxHeaders`, `maxBodySize`,
 * `maxChunkLineSize`).
 *
 * The body stays in the buffer and is handed out as a view; a chunked body
 * is de-chunked in place (each data byte moved at most once), so it is one
 * contiguous view too. When a body is larger than the free room, the reader
 * asks the buffer to {@link ReadBuf.reserve} room for it (bounded by
 * `maxBodySize`). After `read()` returns `null` the buffer always has free
 * room for the next socket read.
 *
 * @example
 * ```ts
 * import { ReadBuf, ResponseReader } from "@x/nexus-ws/codec";
 * const rb = new ReadBuf();
 * const reader = new ResponseReader();
 * reader.begin("GET");
 * rb.push(new TextEncoder().encode("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n"));
 * console.assert(reader.read(rb) === null);
 * rb.push(new TextEncoder().encode("6\r\n world\r\n0\r\nx-sum: 1\r\n\r\n"));
 * const msg = reader.read(rb)!;
 * console.assert(new TextDecoder().decode(msg.body) === "hello world");
 * console.assert(msg.trailers!.get("X-Sum") === "1");
 * ```
 */
export class ResponseReader {
  #heads: HeadReader;
  #maxHeadSize: number;
  #maxHeaders: number;
  #maxBody: number;
  #maxChunkLine: number;
  #state: number = IDLE;
  #head = false;
  #response: ResponseHead | null = null;
  #keepAlive = true;
  #length = 0; // LENGTH: body bytes; CHUNK_DATA: bytes left in the chunk
  #out = 0; // chunked: decoded bytes at the front of the buffer
  #in = 0; // chunked: offset of the next raw byte, from rb.start
  #scanned = 0; // chunked lines: bytes already searched for LF
  #trailers: HeaderList | null = null;
  #trailerBytes = 0;

  /** Creates a reader; throws `RangeError` on a bad limit. */
  constructor(limits: ResponseLimits = {}) {
    const check = (name: string, v: number | undefined, d: number, min = 1) => {
      const x = v ?? d;
      if (!Number.isSafeInteger(x) || x < min) {
        throw new RangeError(
          `Expected ${name} to be an integer >= ${min}, got ${x}`,
        );
      }
      return x;
    };
    this.#maxHeadSize = check("maxHeadSize", limits.maxHeadSize, 16384, 16);
    this.#maxHeaders = check("maxHeaders", limits.maxHeaders, 100, 0);
    this.#maxBody = check("maxBodySize", limits.maxBodySize, 16 << 20, 0);
    this.#maxChunkLine = check(
      "maxChunkLineSize",
      limits.maxChunkLineSize,
      4096,
      3,
    );
    this.#heads = new HeadReader({
      maxHeadSize: this.#maxHeadSize,
      maxHeaders: this.#maxHeaders,
    });
  }

  /** The configured largest body. */
  get maxBodySize(): number {
    return this.#maxBody;
  }

  /**
   * Whether no byte of the current response has been consumed yet (the
   * head has not been parsed). With an empty buffer at end of stream, this
   * tells "closed before answering" from a truncated response.
   */
  get awaitingHead(): boolean {
    return this.#state === HEAD;
  }

  /**
   * Starts reading the response to a request sent with `method` (a `HEAD`
   * response has no body). Throws `TypeError` while a response is still
   * being read.
   */
  begin(method: string): void {
    if (this.#state !== IDLE && this.#state !== DONE) {
      throw new TypeError(
        "Expected the previous response to be read before begin(), it is not",
      );
    }
    this.#state = HEAD;
    this.#head = method === "HEAD";
    this.#heads.reset();
    this.#response = null;
    this.#trailers = null;
  }

  /** Abandons the current response (after an error); `begin()` may follow. */
  reset(): void {
    this.#state = IDLE;
    this.#heads.reset();
    this.#response = null;
    this.#trailers = null;
  }

  /**
   * Parses what the buffer holds: returns the complete response, or `null`
   * when more bytes are needed (the buffer then has free room). Throws
   * {@link HttpProtocolError} / {@link HttpLimitError} on a bad response;
   * the connection must then be closed.
   */
  read(rb: ReadBuf): ResponseMessage | null {
    switch (this.#state) {
      case HEAD: {
        for (;;) {
          const head = this.#heads.read(rb);
          if (head === null) return this.#needMore(rb);
          if (head.status >= 200) {
            this.#startBody(head, rb);
            break;
          }
          if (head.status === 101) {
            throw new HttpProtocolError(
              "Expected a final response, got 101 Switching Protocols to a request that did not ask to upgrade",
            );
          }
          this.#heads.reset(); // an interim 1xx response: the final one follows
        }
        return (this.#state as number) === DONE
          ? this.#finish(EMPTY)
          : this.read(rb);
      }
      case LENGTH: {
        const n = this.#length;
        if (rb.length < n) return this.#needMore(rb);
        const start = rb.start;
        const body = rb.bytes.subarray(start, start + n);
        rb.consume(n);
        return this.#finish(body);
      }
      case CHUNK_SIZE:
      case CHUNK_DATA:
      case CHUNK_CRLF:
      case TRAILERS:
        return this.#chunked(rb);
      case UNTIL_EOF: {
        if (rb.length > this.#maxBody) {
          throw new HttpLimitError(
            "maxBodySize",
            this.#maxBody,
            `Expected a body of at most ${this.#maxBody} bytes, got more before the end of the stream`,
          );
        }
        return this.#needMore(rb);
      }
      default:
        throw new TypeError(
          "Expected begin() before read(), no response is expected",
        );
    }
  }

  /**
   * The stream ended: completes a body delimited by the end of the stream,
   * or throws {@link HttpProtocolError} saying what was cut short.
   */
  end(rb: ReadBuf): ResponseMessage {
    if (this.#state === UNTIL_EOF) {
      if (rb.length > this.#maxBody) this.read(rb); // throws the limit error
      const body = rb.data();
      rb.consume(rb.length);
      return this.#finish(body);
    }
    const msg = this.#state === IDLE || this.#state === DONE
      ? null
      : this.read(rb);
    if (msg !== null) return msg;
    let what: string;
    switch (this.#state) {
      case HEAD:
        what = rb.length === 0
          ? "a response"
          : `the rest of the response head (${rb.length} bytes so far)`;
        break;
      case LENGTH:
        what = `${this.#length - rb.length} more body bytes`;
        break;
      case CHUNK_DATA:
        what = `${this.#length} more bytes of chunk data`;
        break;
      case TRAILERS:
        what = "the end of the chunked trailers";
        break;
      case CHUNK_SIZE:
      case CHUNK_CRLF:
        what = "the rest of the chunked body";
        break;
      default:
        throw new TypeError(
          "Expected begin() before end(), no response is expected",
        );
    }
    this.#state = IDLE;
    throw new HttpProtocolError(`Expected ${what}, got end of stream`);
  }

  #finish(body: Uint8Array): ResponseMessage {
    const h = this.#response!;
    this.#response = null;
    this.#state = DONE;
    const trailers = this.#trailers;
    this.#trailers = null;
    return {
      minorVersion: h.minorVersion,
      status: h.status,
      reason: h.reason,
      headers: h.headers,
      body,
      trailers,
      keepAlive: this.#keepAlive,
    };
  }

  /** Makes sure the buffer has a free tail to read into; returns null. */
  #needMore(rb: ReadBuf): null {
    if (rb.spare().length === 0) {
      const limit = rb.maxCapacity;
      const want = Math.min(limit, rb.length + Math.max(rb.length, 16384));
      if (want <= rb.length) {
        throw new HttpLimitError(
          "maxBodySize",
          this.#maxBody,
          `Expected a response within the buffer limit of ${limit} bytes, got more`,
        );
      }
      rb.reserve(want);
    }
    return null;
  }

  #startBody(head: ResponseHead, rb: ReadBuf): void {
    const h = head.headers;
    this.#response = head;
    // One pass over the fields for the framing ones.
    let te: string | null = null, conn: string | null = null;
    let cls: string[] | null = null;
    for (let i = 0, n = h.size; i < n; i++) {
      const name = h.nameAt(i);
      if (name.length < 10 || name.length > 17) continue;
      if (name === "content-length") (cls ??= []).push(h.valueAt(i));
      else if (name === "transfer-encoding") {
        te = te === null ? h.valueAt(i) : `${te}, ${h.valueAt(i)}`;
      } else if (name === "connection") {
        conn = conn === null ? h.valueAt(i) : `${conn}, ${h.valueAt(i)}`;
      }
    }
    if (te !== null && cls !== null) {
      throw new HttpProtocolError(
        `Expected Content-Length or Transfer-Encoding, got both (${
          JSON.stringify(cls.join(", "))
        } and ${JSON.stringify(te)})`,
      );
    }
    let length = -1;
    if (cls !== null) length = parseContentLength(cls);
    if (te !== null) {
      if (head.minorVersion === 0) {
        throw new HttpProtocolError(
          `Expected no Transfer-Encoding in an HTTP/1.0 response, got ${
            JSON.stringify(te)
          }`,
        );
      }
      if (te.trim().toLowerCase() !== "chunked") {
        throw new HttpProtocolError(
          `Expected Transfer-Encoding "chunked", got ${JSON.stringify(te)}`,
        );
      }
    }
    this.#keepAlive = head.minorVersion === 1
      ? !hasToken(conn, "close")
      : hasToken(conn, "keep-alive") && !hasToken(conn, "close");
    const status = head.status;
    if (this.#head || status === 204 || status === 304) {
      this.#state = DONE;
      return;
    }
    if (te !== null) {
      this.#state = CHUNK_SIZE;
      this.#out = 0;
      this.#in = 0;
      this.#scanned = 0;
      this.#trailerBytes = 0;
      return;
    }
    if (length >= 0) {
      if (length > this.#maxBody) {
        throw new HttpLimitError(
          "maxBodySize",
          this.#maxBody,
          `Expected a body of at most ${this.#maxBody} bytes, got Content-Length ${length}`,
        );
      }
      if (length === 0) {
        this.#state = DONE;
        return;
      }
      const room = rb.maxCapacity;
      if (length > room) {
        throw new HttpLimitError(
          "maxMessageSize",
          rb.maxMessageSize,
          `Expected a body within the buffer limit of ${room} bytes, got Content-Length ${length}`,
        );
      }
      this.#length = length;
      this.#state = LENGTH;
      if (rb.start + length > rb.capacity) rb.reserve(length);
      return;
    }
    this.#keepAlive = false;
    this.#state = UNTIL_EOF;
  }

  #chunked(rb: ReadBuf): ResponseMessage | null {
    const b = rb.bytes, base = rb.start, avail = rb.length;
    let out = this.#out, pos = this.#in;
    for (;;) {
      if (this.#state === CHUNK_DATA) {
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
        this.#state = CHUNK_CRLF;
      }
      if (this.#state === CHUNK_CRLF) {
        if (avail - pos < 2) {
          if (avail - pos === 1 && b[base + pos] !== CR) {
            throw this.#badCrlf(b, base + pos, base + avail);
          }
          break;
        }
        if (b[base + pos] !== CR || b[base + pos + 1] !== LF) {
          throw this.#badCrlf(b, base + pos, base + avail);
        }
        pos += 2;
        this.#state = CHUNK_SIZE;
      }
      // CHUNK_SIZE or TRAILERS: one line.
      const lineEnd = this.#findLine(b, base + pos, base + avail);
      if (lineEnd < 0) break;
      const from = base + pos;
      pos = lineEnd + 2 - base;
      if (this.#state === CHUNK_SIZE) {
        const size = this.#chunkSize(b, from, lineEnd);
        if (size === 0) {
          this.#state = TRAILERS;
          continue;
        }
        if (out + size > this.#maxBody) {
          throw new HttpLimitError(
            "maxBodySize",
            this.#maxBody,
            `Expected a body of at most ${this.#maxBody} bytes, got a chunk of ${size} bytes after ${out}`,
          );
        }
        this.#length = size;
        this.#state = CHUNK_DATA;
        continue;
      }
      // TRAILERS
      if (lineEnd === from) {
        const body = b.subarray(base, base + out);
        rb.consume(pos);
        return this.#finish(body);
      }
      this.#trailerField(b, from, lineEnd);
    }
    // Need more: move the unparsed tail down onto the decoded body.
    if (pos > out) {
      b.copyWithin(base + out, base + pos, base + avail);
      rb.truncate(out + avail - pos);
      pos = out;
    }
    this.#out = out;
    this.#in = pos;
    if (this.#state === CHUNK_DATA) {
      const want = Math.min(out + this.#length + 64, this.#maxBody + 64);
      if (rb.start + want > rb.capacity && want <= rb.maxMessageSize) {
        rb.reserve(want);
      }
    }
    return this.#needMore(rb);
  }

  /**
   * Index of the CR of the CRLF ending the line at `from` (absolute), or -1
   * when the line is not complete yet. Refuses a bare CR or LF and lines
   * over the limit.
   */
  #findLine(b: Uint8Array, from: number, end: number): number {
    const limit = this.#state === TRAILERS
      ? this.#maxHeadSize - this.#trailerBytes
      : this.#maxChunkLine;
    let i = Math.max(from, from + this.#scanned);
    for (; i < end; i++) {
      const c = b[i];
      if (c === LF) {
        if (i === from || b[i - 1] !== CR) {
          throw new HttpProtocolError(
            `Expected CRLF, got a bare LF in the ${
              this.#state === TRAILERS ? "trailers" : "chunk-size line"
            }`,
          );
        }
        this.#scanned = 0;
        if (this.#state === TRAILERS) this.#trailerBytes += i + 1 - from;
        return i - 1;
      }
      if (i > from && b[i - 1] === CR) {
        throw new HttpProtocolError(
          `Expected CRLF, got a bare CR in the ${
            this.#state === TRAILERS ? "trailers" : "chunk-size line"
          }`,
        );
      }
      if (i - from >= limit) {
        if (this.#state === TRAILERS) {
          throw new HttpLimitError(
            "maxHeadSize",
            this.#maxHeadSize,
            `Expected chunked trailers within ${this.#maxHeadSize} bytes, got more`,
          );
        }
        throw new HttpLimitError(
          "maxChunkLineSize",
          this.#maxChunkLine,
          `Expected a chunk-size line within ${this.#maxChunkLine} bytes, got more`,
        );
      }
    }
    this.#scanned = i - from;
    return -1;
  }

  /** Parses `chunk-size [ chunk-ext ]` in `b[from, to)`. */
  #chunkSize(b: Uint8Array, from: number, to: number): number {
    let size = 0, i = from;
    for (; i < to; i++) {
      const d = hexValue(b[i]);
      if (d < 0) break;
      size = size * 16 + d;
      if (size > Number.MAX_SAFE_INTEGER / 16) {
        throw new HttpProtocolError(
          `Expected a chunk size below 2^49, got ${show(b, from, to)}`,
        );
      }
    }
    if (i === from) {
      throw new HttpProtocolError(
        `Expected a chunk size in hex, got ${show(b, from, to)}`,
      );
    }
    // Optional extensions: BWS ";" ext-name [ "=" value ], visible bytes only.
    let j = i;
    while (j < to && (b[j] === 32 || b[j] === 9)) j++;
    if (j < to && b[j] !== 59) {
      throw new HttpProtocolError(
        `Expected a chunk size in hex, got ${show(b, from, to)}`,
      );
    }
    for (; j < to; j++) {
      const c = b[j];
      if ((c < 32 && c !== 9) || c === 127) {
        throw new HttpProtocolError(
          `Expected no control bytes in a chunk extension, got 0x${
            c.toString(16).padStart(2, "0")
          }`,
        );
      }
    }
    return size;
  }

  #trailerField(b: Uint8Array, from: number, to: number): void {
    if (b[from] === 32 || b[from] === 9) {
      throw new HttpProtocolError(
        "Expected a trailer field, got an obs-fold continuation line",
      );
    }
    const trailers = this.#trailers ??= new HeaderList();
    if (trailers.size >= this.#maxHeaders) {
      throw new HttpLimitError(
        "maxHeaders",
        this.#maxHeaders,
        `Expected at most ${this.#maxHeaders} trailer fields, got more`,
      );
    }
    let colon = from;
    while (colon < to && b[colon] !== 58) colon++;
    let name = "";
    for (let k = from; k < colon; k++) name += String.fromCharCode(b[k]);
    if (colon === to || !isToken(name)) {
      throw new HttpProtocolError(
        `Expected a trailer field "name: value", got ${show(b, from, to)}`,
      );
    }
    let vs = colon + 1, ve = to;
    while (vs < ve && (b[vs] === 32 || b[vs] === 9)) vs++;
    while (ve > vs && (b[ve - 1] === 32 || b[ve - 1] === 9)) ve--;
    let value = "";
    for (let k = vs; k < ve; k++) {
      const c = b[k];
      if ((c < 32 && c !== 9) || c === 127) {
        throw new HttpProtocolError(
          `Expected no control bytes in trailer "${name}", got 0x${
            c.toString(16).padStart(2, "0")
          }`,
        );
      }
      value += String.fromCharCode(c);
    }
    trailers.append(name, value);
  }

  #badCrlf(b: Uint8Array, from: number, to: number): HttpProtocolError {
    return new HttpProtocolError(
      `Expected CRLF after the chunk data, got ${
        show(b, from, Math.min(to, from + 8))
      }`,
    );
  }
}

/**
 * Parses the `Content-Length` field values: each may be a comma list; all
 * elements must be the same plain decimal number.
 */
function parseContentLength(values: string[]): number {
  if (values.length === 1) {
    // Fast path: one field of plain digits.
    const v = values[0];
    let n = 0, i = 0;
    for (; i < v.length; i++) {
      const d = v.charCodeAt(i) - 48;
      if (d < 0 || d > 9) break;
      n = n * 10 + d;
    }
    if (i === v.length && i > 0 && i <= 15) return n;
  }
  let first: string | null = null;
  for (let i = 0; i < values.length; i++) {
    const parts = values[i].split(",");
    for (let j = 0; j < parts.length; j++) {
      const p = parts[j].trim();
      if (first === null) first = p;
      else if (p !== first) {
        throw new HttpProtocolError(
          `Expected one Content-Length, got differing values ${
            JSON.stringify(values.join(", "))
          }`,
        );
      }
    }
  }
  const s = first!;
  if (s.length === 0 || s.length > 15) {
    throw new HttpProtocolError(
      `Expected a Content-Length of 1 to 15 decimal digits, got ${
        JSON.stringify(s)
      }`,
    );
  }
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) {
      throw new HttpProtocolError(
        `Expected a Content-Length of decimal digits, got ${JSON.stringify(s)}`,
      );
    }
    n = n * 10 + d;
  }
  return n;
}
