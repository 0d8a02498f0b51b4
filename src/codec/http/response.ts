/**
 * HTTP/1.1 response decoding (sans-IO): `ResponseReader` frames one response
 * at a time out of a {@link ReadBuf}: the head (through {@link HeadReader}),
 * then the body as {@link bodyFraming} says: by `Content-Length`, chunked
 * (through {@link ChunkedDecoder}, de-chunked in place) or to the end of the
 * stream.
 *
 * @module
 */

import { HttpLimitError, HttpProtocolError } from "../../errors.ts";
import { check, integer, type Rules } from "../../options.ts";
import type { ReadBuf } from "../read_buf.ts";
import { ChunkedDecoder } from "./chunked.ts";
import { bodyFraming, CHUNKED, keepsAlive, UNTIL_EOF } from "./framing.ts";
import {
  HEAD_LIMIT_RULES,
  type HeadLimits,
  HeadReader,
  type ResponseHead,
} from "./head.ts";
import type { HeaderList } from "./header_list.ts";

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
  /** Longest chunk-size line, extensions included. Default 4096, minimum 3. */
  maxChunkLineSize?: number;
}

/** The rules of {@link ResponseLimits} (see `src/options.ts`). */
export const RESPONSE_LIMIT_RULES: Rules = {
  ...HEAD_LIMIT_RULES,
  maxBodySize: integer(0),
  maxChunkLineSize: integer(3),
};

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
const IDLE = 0, HEAD = 1, LENGTH = 2, CHUNKS = 3, TO_EOF = 4, DONE = 5;

const EMPTY = new Uint8Array(0);

/**
 * Reads HTTP/1.1 responses from a {@link ReadBuf}, one per
 * {@link ResponseReader.begin}: feed bytes into the buffer, call
 * {@link ResponseReader.read} until it returns the response, call
 * {@link ResponseReader.end} if the stream ends first.
 *
 * Framing follows RFC 9112 §6.3: no body for a `HEAD` request or a 204 / 304
 * status; interim 1xx responses (100, 102, 103) are skipped, with up to 8
 * empty lines before any status line; then `Transfer-Encoding: chunked`,
 * then `Content-Length`, else the body runs to the end of the stream (and
 * the connection is not reusable).
 *
 * Refuses with {@link HttpProtocolError} (what request smuggling is made
 * of): both `Content-Length` and `Transfer-Encoding`; several differing
 * `Content-Length` values or one that is not plain digits; a transfer
 * coding other than `chunked` alone, or any in an HTTP/1.0 response; a
 * chunk size that is not hex, is empty or overflows; whitespace after a
 * chunk size with no extension, a `;` with no extension name, an unclosed
 * quoted extension value; chunk data not followed by CRLF; obs-fold, bare
 * CR / LF and control bytes (in the head and the trailers); an unrequested
 * `101`. Bytes that cannot begin a status line (a TLS record, NUL) and a
 * head with bare-LF line ends are refused as soon as they arrive. Over a
 * limit: {@link HttpLimitError} (`maxHeadSize`, `maxHeaders`,
 * `maxBodySize`, `maxChunkLineSize`).
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
  #chunks: ChunkedDecoder;
  #maxBody: number;
  #state: number = IDLE;
  #method = "GET";
  #response: ResponseHead | null = null;
  #keepAlive = true;
  #framing = 0; // what bodyFraming() said
  #length = 0; // LENGTH: body bytes

  /**
   * Creates a reader. Throws `TypeError` for an unknown limit or a wrong
   * type, `RangeError` for a bad value.
   */
  constructor(limits?: ResponseLimits) {
    check(limits, RESPONSE_LIMIT_RULES, "ResponseReader");
    limits ??= {};
    const maxHeadSize = limits.maxHeadSize ?? 16384;
    const maxHeaders = limits.maxHeaders ?? 100;
    this.#maxBody = limits.maxBodySize ?? 16 << 20;
    this.#heads = new HeadReader({ maxHeadSize, maxHeaders });
    this.#chunks = new ChunkedDecoder({
      maxBodySize: this.#maxBody,
      maxChunkLineSize: limits.maxChunkLineSize ?? 4096,
      maxHeadSize,
      maxHeaders,
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
    this.#method = method;
    this.#heads.reset();
    this.#response = null;
  }

  /** Abandons the current response (after an error); `begin()` may follow. */
  reset(): void {
    this.#state = IDLE;
    this.#heads.reset();
    this.#response = null;
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
        const head = this.#head(rb);
        if (head === null) return this.#needMore(rb);
        this.#startBody(head, rb);
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
      case CHUNKS: {
        const body = this.#chunks.read(rb);
        return body === null ? this.#needMore(rb) : this.#finish(body);
      }
      case TO_EOF: {
        this.#checkToEof(rb);
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
    if (this.#state === TO_EOF) {
      this.#checkToEof(rb);
      const body = rb.data();
      rb.consume(rb.length);
      return this.#finish(body);
    }
    if (this.#state === IDLE || this.#state === DONE) {
      throw new TypeError(
        "Expected begin() before end(), no response is expected",
      );
    }
    const msg = this.read(rb);
    if (msg !== null) return msg;
    const what = this.#missing(rb);
    this.#state = IDLE;
    throw new HttpProtocolError(`Expected ${what}, got end of stream`);
  }

  /** What the current response still lacks at the end of the stream. */
  #missing(rb: ReadBuf): string {
    switch (this.#state) {
      case HEAD:
        return rb.length === 0
          ? "a response"
          : `the rest of the response head (${rb.length} bytes so far)`;
      case LENGTH:
        return `${this.#length - rb.length} more body bytes`;
      default:
        return this.#chunks.missing;
    }
  }

  /** The final response's head, skipping interim 1xx ones; null: need more. */
  #head(rb: ReadBuf): ResponseHead | null {
    for (;;) {
      const head = this.#heads.read(rb);
      if (head === null || head.status >= 200) return head;
      if (head.status === 101) {
        throw new HttpProtocolError(
          "Expected a final response, got 101 Switching Protocols to a request that did not ask to upgrade",
        );
      }
      this.#heads.reset(); // an interim 1xx response: the final one follows
    }
  }

  #finish(body: Uint8Array): ResponseMessage {
    const h = this.#response!;
    this.#response = null;
    this.#state = DONE;
    return {
      minorVersion: h.minorVersion,
      status: h.status,
      reason: h.reason,
      headers: h.headers,
      body,
      trailers: this.#framing === CHUNKED ? this.#chunks.trailers : null,
      keepAlive: this.#keepAlive,
    };
  }

  #checkToEof(rb: ReadBuf): void {
    if (rb.length > this.#maxBody) {
      throw new HttpLimitError(
        "maxBodySize",
        this.#maxBody,
        `Expected a body of at most ${this.#maxBody} bytes, got more before the end of the stream`,
      );
    }
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
    const framing = bodyFraming(
      this.#method,
      head.status,
      head.minorVersion,
      head.headers,
    );
    this.#response = head;
    this.#framing = framing;
    this.#keepAlive = framing !== UNTIL_EOF &&
      keepsAlive(head.minorVersion, head.headers);
    if (framing === 0) {
      this.#state = DONE;
    } else if (framing === CHUNKED) {
      this.#state = CHUNKS;
      this.#chunks.begin();
    } else if (framing === UNTIL_EOF) {
      this.#state = TO_EOF;
    } else {
      this.#startLength(framing, rb);
    }
  }

  /** A body of `length` bytes (> 0) follows: checks it fits, makes room. */
  #startLength(length: number, rb: ReadBuf): void {
    if (length > this.#maxBody) {
      throw new HttpLimitError(
        "maxBodySize",
        this.#maxBody,
        `Expected a body of at most ${this.#maxBody} bytes, got Content-Length ${length}`,
      );
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
  }
}
