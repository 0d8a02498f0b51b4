/**
 * `FrameReader`: parses server frames out of a {@link ReadBuf} and enforces
 * every RFC 6455 receive rule a client must.
 *
 * @module
 */

import { ProtocolError } from "../../errors.ts";
import type { ReadBuf } from "../read_buf.ts";
import { asciiEnd, Utf8Validator } from "./utf8.ts";

/**
 * WebSocket opcodes (RFC 6455 §5.2).
 *
 * @example
 * ```ts
 * import { Opcode } from "@x/nexus-ws/codec";
 * console.assert(Opcode.Text === 1 && Opcode.Close === 8);
 * ```
 */
export const Opcode = {
  /** Continuation of a fragmented message. */
  Continuation: 0x0,
  /** Text data frame. */
  Text: 0x1,
  /** Binary data frame. */
  Binary: 0x2,
  /** Connection close. */
  Close: 0x8,
  /** Ping. */
  Ping: 0x9,
  /** Pong. */
  Pong: 0xa,
} as const;

/**
 * `FrameReader.next()` found no complete event: read more bytes.
 *
 * @example
 * ```ts
 * import { FrameReader, NEED_MORE, ReadBuf } from "@x/nexus-ws/codec";
 * console.assert(new FrameReader().next(new ReadBuf()) === NEED_MORE);
 * ```
 */
export const NEED_MORE: -1 = -1;

/**
 * Options for {@link FrameReader}.
 *
 * @example
 * ```ts
 * import { FrameReader } from "@x/nexus-ws/codec";
 * const reader = new FrameReader({ maxMessageSize: 1 << 20, maxFragments: 1024 });
 * console.assert(reader.payloadLength === 0);
 * ```
 */
export interface FrameReaderOptions {
  /** Largest message (all fragments together) accepted; default 16 MiB. Over it: 1009. */
  maxMessageSize?: number;
  /** Most frames one message may arrive in; default 131072. Over it: 1009. */
  maxFragments?: number;
}

const VALID_CLOSE = (code: number) =>
  (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 &&
    code !== 1006) || (code >= 3000 && code <= 4999);

/**
 * Whether `code` may appear in a close frame on the wire (RFC 6455 §7.4).
 *
 * @example
 * ```ts
 * import { isValidCloseCode } from "@x/nexus-ws/codec";
 * console.assert(isValidCloseCode(1000) && !isValidCloseCode(1005));
 * ```
 */
export function isValidCloseCode(code: number): boolean {
  return VALID_CLOSE(code);
}

const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

function fail(code: number, message: string): never {
  throw new ProtocolError(code, message);
}

/**
 * A pull parser for server-to-client frames. Call {@link FrameReader.next}
 * with the connection's {@link ReadBuf}: it returns an opcode (`Text`,
 * `Binary`, `Close`, `Ping`, `Pong`) for a complete event, or
 * {@link NEED_MORE}. The event's payload is `payloadBytes[payloadStart,
 * payloadEnd)`: a region of the read buffer for a message that arrived in
 * one frame (no copy), or of the reader's own assembly buffer for a
 * fragmented one. It stays valid until the next call to `next()`, which
 * consumes it.
 *
 * Enforced: RSV bits 0, no reserved opcodes, no masked server frames,
 * control frames ≤ 125 bytes and not fragmented, continuation only inside a
 * message and data frames only outside one, 64-bit lengths with the top bit
 * clear, close payloads (length ≠ 1, valid code, UTF-8 reason), text as
 * UTF-8 checked as bytes arrive (fail fast, even inside a partly received
 * frame), `maxMessageSize` checked from the header before any byte of the
 * payload is buffered, and `maxFragments`. Violations throw
 * {@link ProtocolError} with the close code to send (1002, 1007, 1009).
 *
 * @example
 * ```ts
 * import { FrameReader, NEED_MORE, Opcode, ReadBuf } from "@x/nexus-ws/codec";
 * const rb = new ReadBuf();
 * const reader = new FrameReader();
 * rb.push(new Uint8Array([0x81, 0x02, 0x68])); // "h" of a 2-byte text frame
 * console.assert(reader.next(rb) === NEED_MORE);
 * rb.push(new Uint8Array([0x69])); // "i"
 * console.assert(reader.next(rb) === Opcode.Text);
 * console.assert(reader.text() === "hi");
 * ```
 */
export class FrameReader {
  /** Array holding the current event's payload. */
  payloadBytes: Uint8Array = new Uint8Array(0);
  /** Start of the current event's payload in `payloadBytes`. */
  payloadStart = 0;
  /** End of the current event's payload in `payloadBytes`. */
  payloadEnd = 0;
  /** Whether the current text payload is pure ASCII. */
  ascii = false;
  /** Code of the last close frame (1005 when it carried none). */
  closeCode = 1005;
  /** Reason of the last close frame. */
  closeReason = "";
  /** Complete frames parsed so far (of every kind): a cheap liveness counter. */
  frames = 0;

  #maxMessageSize: number;
  #maxFragments: number;
  #pending = 0; // bytes of the last returned frame still to consume
  // fragmented message in progress
  #msgOpcode = 0; // 0: none
  #fragments = 0;
  #asm: Uint8Array = new Uint8Array(0);
  #asmLen = 0;
  // text validation state of the message / frame in progress
  #utf8 = new Utf8Validator();
  #validated = 0; // payload bytes of the current unfinished frame already validated
  #wordsOf: Uint8Array | null = null; // the array #words views
  #words: Uint32Array = new Uint32Array(0);

  /** Creates a reader; throws `RangeError` on a bad limit. */
  constructor(options: FrameReaderOptions = {}) {
    this.#maxMessageSize = options.maxMessageSize ?? 16 * 1024 * 1024;
    this.#maxFragments = options.maxFragments ?? 131072;
    if (
      !Number.isSafeInteger(this.#maxMessageSize) || this.#maxMessageSize < 0
    ) {
      throw new RangeError(
        `Expected maxMessageSize to be a non-negative integer, got ${this.#maxMessageSize}`,
      );
    }
    if (!Number.isSafeInteger(this.#maxFragments) || this.#maxFragments < 1) {
      throw new RangeError(
        `Expected maxFragments to be a positive integer, got ${this.#maxFragments}`,
      );
    }
  }

  /** Length of the current event's payload. */
  get payloadLength(): number {
    return this.payloadEnd - this.payloadStart;
  }

  /** A view of the current event's payload (borrowed). */
  payload(): Uint8Array {
    return this.payloadBytes.subarray(this.payloadStart, this.payloadEnd);
  }

  /** The current payload decoded as UTF-8 (already validated for text). */
  text(): string {
    return decoder.decode(this.payload());
  }

  /**
   * Parses the next event. Returns an {@link Opcode} value for a complete
   * text, binary, close, ping or pong, or {@link NEED_MORE}. Throws
   * {@link ProtocolError} when the server broke the protocol; the reader is
   * then unusable.
   */
  next(rb: ReadBuf): number {
    if (this.#pending !== 0) {
      rb.consume(this.#pending);
      this.#pending = 0;
    }
    for (;;) {
      const b = rb.bytes;
      const s = rb.start;
      const avail = rb.end - s;
      if (avail < 2) return NEED_MORE;
      const b0 = b[s], b1 = b[s + 1];
      const op = b0 & 0x0f;
      const fin = (b0 & 0x80) !== 0;
      if ((b0 & 0x70) !== 0) {
        fail(
          1002,
          `Expected RSV bits 0 (no extension negotiated), got 0x${
            (b0 & 0x70).toString(16)
          }`,
        );
      }
      if ((b1 & 0x80) !== 0) {
        fail(
          1002,
          "Expected an unmasked frame from the server, got a masked one",
        );
      }
      let len = b1 & 0x7f;
      if (op >= 8) {
        if (op > 0xa) {
          fail(
            1002,
            `Expected a known opcode, got reserved opcode 0x${op.toString(16)}`,
          );
        }
        if (!fin) {
          fail(
            1002,
            "Expected a control frame with FIN set, got a fragmented one",
          );
        }
        if (len > 125) {
          fail(
            1002,
            "Expected a control frame payload <= 125 bytes, got a 16/64-bit length",
          );
        }
      } else if (op > 2) {
        fail(
          1002,
          `Expected a known opcode, got reserved opcode 0x${op.toString(16)}`,
        );
      } else if (op === 0) {
        if (this.#msgOpcode === 0) {
          fail(1002, "Expected a new message, got a continuation frame");
        }
      } else if (this.#msgOpcode !== 0) {
        fail(
          1002,
          "Expected a continuation frame, got a new data frame inside a fragmented message",
        );
      }
      let hl = 2;
      if (len === 126) {
        if (avail < 4) return NEED_MORE;
        len = (b[s + 2] << 8) | b[s + 3];
        hl = 4;
      } else if (len === 127) {
        if (avail < 10) return NEED_MORE;
        const hi =
          ((b[s + 2] << 24) | (b[s + 3] << 16) | (b[s + 4] << 8) | b[s + 5]) >>>
          0;
        if (hi >= 0x80000000) {
          fail(
            1002,
            "Expected a 64-bit length with the top bit clear, got it set",
          );
        }
        const lo =
          ((b[s + 6] << 24) | (b[s + 7] << 16) | (b[s + 8] << 8) | b[s + 9]) >>>
          0;
        len = hi * 0x100000000 + lo;
        hl = 10;
      }
      if (op < 8) {
        const total = (op === 0 ? this.#asmLen : 0) + len;
        if (total > this.#maxMessageSize) {
          fail(
            1009,
            `Expected a message of at most ${this.#maxMessageSize} bytes, got ${total}`,
          );
        }
      }
      const frameLen = hl + len;
      const p0 = s + hl;
      const text = op === 1 || (op === 0 && this.#msgOpcode === 1);
      if (avail < frameLen) {
        if (text && avail > hl + this.#validated) {
          if (this.#validated === 0 && op !== 0) this.#utf8.reset();
          if (!this.#utf8.feed(b, p0 + this.#validated, s + avail)) {
            fail(1007, "Expected UTF-8 text, got an invalid byte sequence");
          }
          this.#validated = avail - hl;
        }
        rb.reserve(frameLen);
        return NEED_MORE;
      }
      const p1 = p0 + len;
      this.frames++;
      if (op >= 8) {
        this.#pending = frameLen;
        this.payloadBytes = b;
        this.payloadStart = p0;
        this.payloadEnd = p1;
        if (op === 8) this.#readClose(b, p0, p1);
        return op;
      }
      // data frame
      if (text) {
        let from = p0 + this.#validated;
        if (this.#validated === 0 && op !== 0) {
          this.#utf8.reset();
          // fast path: a whole-ASCII run needs no state machine
          if (b.byteOffset % 4 === 0) {
            if (this.#wordsOf !== b) {
              this.#words = new Uint32Array(
                b.buffer,
                b.byteOffset,
                b.length >>> 2,
              );
              this.#wordsOf = b;
            }
            from = asciiEnd(b, this.#words, from, p1);
          }
        }
        if (from < p1 && !this.#utf8.feed(b, from, p1)) {
          fail(1007, "Expected UTF-8 text, got an invalid byte sequence");
        }
        this.#validated = 0;
        if (fin && !this.#utf8.complete) {
          fail(
            1007,
            "Expected UTF-8 text, got a message ending inside a character",
          );
        }
      }
      if (fin && op !== 0) {
        this.#pending = frameLen;
        this.payloadBytes = b;
        this.payloadStart = p0;
        this.payloadEnd = p1;
        this.ascii = text && this.#utf8.ascii;
        return op;
      }
      // a fragment: copy into the assembly buffer
      if (op !== 0) {
        this.#msgOpcode = op;
        this.#fragments = 0;
        this.#asmLen = 0;
      }
      if (++this.#fragments > this.#maxFragments) {
        fail(
          1009,
          `Expected a message in at most ${this.#maxFragments} fragments, got more`,
        );
      }
      if (len > 0) {
        const need = this.#asmLen + len;
        if (need > this.#asm.length) {
          const next = new Uint8Array(
            Math.min(
              this.#maxMessageSize,
              Math.max(need, this.#asm.length * 2, 1024),
            ),
          );
          next.set(this.#asm.subarray(0, this.#asmLen));
          this.#asm = next;
        }
        this.#asm.set(b.subarray(p0, p1), this.#asmLen);
        this.#asmLen = need;
      }
      rb.consume(frameLen);
      if (fin) {
        const kind = this.#msgOpcode;
        this.#msgOpcode = 0;
        this.payloadBytes = this.#asm;
        this.payloadStart = 0;
        this.payloadEnd = this.#asmLen;
        this.ascii = kind === 1 && this.#utf8.ascii;
        this.#asmLen = 0;
        return kind;
      }
    }
  }

  #readClose(b: Uint8Array, p0: number, p1: number): void {
    const n = p1 - p0;
    if (n === 0) {
      this.closeCode = 1005;
      this.closeReason = "";
      return;
    }
    if (n === 1) {
      fail(1002, "Expected a close payload of 0 or >= 2 bytes, got 1 byte");
    }
    const code = (b[p0] << 8) | b[p0 + 1];
    if (!VALID_CLOSE(code)) {
      fail(1002, `Expected a valid close code, got ${code}`);
    }
    const v = new Utf8Validator();
    if (!v.feed(b, p0 + 2, p1) || !v.complete) {
      fail(1007, "Expected a UTF-8 close reason, got an invalid byte sequence");
    }
    this.closeCode = code;
    this.closeReason = decoder.decode(b.subarray(p0 + 2, p1));
  }
}
