/**
 * `FrameReader`: parses server frames out of a {@link ReadBuf} and enforces
 * every RFC 6455 receive rule a client must.
 *
 * @module
 */

import { CloseCode, ProtocolError } from "../../errors.ts";
import { check, integer, type Rules } from "../../options.ts";
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

const FRAME_READER_RULES: Rules = {
  maxMessageSize: integer(0),
  maxFragments: integer(1),
};

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

const BAD_UTF8 = "Expected UTF-8 text, got an invalid byte sequence";

/**
 * The header rules that need no length: RSV bits 0, unmasked, known
 * opcodes, control frames unfragmented and at most 125 bytes,
 * continuations only inside a message and new data frames only outside one.
 */
function checkHeader(
  b0: number,
  b1: number,
  op: number,
  inMessage: number,
): void {
  if ((b0 & 0x70) !== 0) {
    fail(
      CloseCode.ProtocolError,
      `Expected RSV bits 0 (no extension negotiated), got 0x${
        (b0 & 0x70).toString(16)
      }`,
    );
  }
  if ((b1 & 0x80) !== 0) {
    fail(
      CloseCode.ProtocolError,
      "Expected an unmasked frame from the server, got a masked one",
    );
  }
  if (op >= Opcode.Close) {
    if (op > Opcode.Pong) fail(CloseCode.ProtocolError, reserved(op));
    if ((b0 & 0x80) === 0) {
      fail(
        CloseCode.ProtocolError,
        "Expected a control frame with FIN set, got a fragmented one",
      );
    }
    if ((b1 & 0x7f) > 125) {
      fail(
        CloseCode.ProtocolError,
        "Expected a control frame payload <= 125 bytes, got a 16/64-bit length",
      );
    }
  } else if (op > Opcode.Binary) {
    fail(CloseCode.ProtocolError, reserved(op));
  } else if (op === Opcode.Continuation) {
    if (inMessage === 0) {
      fail(
        CloseCode.ProtocolError,
        "Expected a new message, got a continuation frame",
      );
    }
  } else if (inMessage !== 0) {
    fail(
      CloseCode.ProtocolError,
      "Expected a continuation frame, got a new data frame inside a fragmented message",
    );
  }
}

function reserved(op: number): string {
  return `Expected a known opcode, got reserved opcode 0x${op.toString(16)}`;
}

/** The 16-bit (`hl` 4) or 64-bit (`hl` 10) payload length at `b[s + 2]`. */
function extendedLength(b: Uint8Array, s: number, hl: number): number {
  if (hl === 4) return (b[s + 2] << 8) | b[s + 3];
  const hi = ((b[s + 2] << 24) | (b[s + 3] << 16) | (b[s + 4] << 8) |
    b[s + 5]) >>> 0;
  if (hi >= 0x80000000) {
    fail(
      CloseCode.ProtocolError,
      "Expected a 64-bit length with the top bit clear, got it set",
    );
  }
  const lo = ((b[s + 6] << 24) | (b[s + 7] << 16) | (b[s + 8] << 8) |
    b[s + 9]) >>> 0;
  return hi * 0x100000000 + lo;
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

  /**
   * Creates a reader; throws `TypeError` for an unknown option or a wrong
   * type, `RangeError` for a bad limit.
   */
  constructor(options?: FrameReaderOptions) {
    check(options, FRAME_READER_RULES, "FrameReader");
    this.#maxMessageSize = options?.maxMessageSize ?? 16 * 1024 * 1024;
    this.#maxFragments = options?.maxFragments ?? 131072;
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
      // One test for the usual frame: no RSV bits, unmasked, a text or
      // binary frame outside a fragmented message (or a continuation inside).
      if (
        ((b0 & 0x70) | (b1 & 0x80)) !== 0 || op > Opcode.Binary ||
        (op === Opcode.Continuation) === (this.#msgOpcode === 0)
      ) checkHeader(b0, b1, op, this.#msgOpcode);
      let len = b1 & 0x7f, hl = 2;
      if (len >= 126) {
        hl = len === 126 ? 4 : 10;
        if (avail < hl) return NEED_MORE;
        len = extendedLength(b, s, hl);
      }
      const text = op === Opcode.Text ||
        (op === Opcode.Continuation && this.#msgOpcode === Opcode.Text);
      if (
        op < Opcode.Close &&
        (op === Opcode.Continuation ? this.#asmLen + len : len) >
          this.#maxMessageSize
      ) this.#tooBig(op, len);
      const frameLen = hl + len;
      if (avail < frameLen) return this.#partial(rb, text, op, hl, frameLen);
      const p0 = s + hl, p1 = p0 + len;
      const fin = (b0 & 0x80) !== 0;
      this.frames++;
      if (op >= Opcode.Close) return this.#control(b, op, p0, p1, frameLen);
      if (text) this.#validateText(b, op, fin, p0, p1);
      if (fin && op !== Opcode.Continuation) {
        this.#pending = frameLen;
        this.payloadBytes = b;
        this.payloadStart = p0;
        this.payloadEnd = p1;
        this.ascii = text && this.#utf8.ascii;
        return op;
      }
      const kind = this.#fragment(rb, b, op, fin, p0, p1, frameLen);
      if (kind !== 0) return kind;
    }
  }

  /** Refuses a data frame that makes the message exceed `maxMessageSize`. */
  #tooBig(op: number, len: number): never {
    const total = (op === Opcode.Continuation ? this.#asmLen : 0) + len;
    fail(
      CloseCode.MessageTooBig,
      `Expected a message of at most ${this.#maxMessageSize} bytes, got ${total}`,
    );
  }

  /**
   * A frame not yet complete: validates the text bytes already here (fail
   * fast), makes room for the whole frame, asks for more.
   */
  #partial(
    rb: ReadBuf,
    text: boolean,
    op: number,
    hl: number,
    frameLen: number,
  ): number {
    const s = rb.start, avail = rb.end - s;
    if (text && avail > hl + this.#validated) {
      if (this.#validated === 0 && op !== Opcode.Continuation) {
        this.#utf8.reset();
      }
      if (!this.#utf8.feed(rb.bytes, s + hl + this.#validated, s + avail)) {
        fail(CloseCode.InvalidPayload, BAD_UTF8);
      }
      this.#validated = avail - hl;
    }
    rb.reserve(frameLen);
    return NEED_MORE;
  }

  /** A complete control frame: its payload is the current event. */
  #control(
    b: Uint8Array,
    op: number,
    p0: number,
    p1: number,
    frameLen: number,
  ): number {
    this.#pending = frameLen;
    this.payloadBytes = b;
    this.payloadStart = p0;
    this.payloadEnd = p1;
    if (op === Opcode.Close) this.#readClose(b, p0, p1);
    return op;
  }

  /** Validates the text bytes of a complete data frame not validated yet. */
  #validateText(
    b: Uint8Array,
    op: number,
    fin: boolean,
    p0: number,
    p1: number,
  ): void {
    let from = p0 + this.#validated;
    if (this.#validated === 0 && op !== Opcode.Continuation) {
      this.#utf8.reset();
      // fast path: a whole-ASCII run needs no state machine
      if (b.byteOffset % 4 === 0) {
        if (this.#wordsOf !== b) this.#wordsFor(b);
        from = asciiEnd(b, this.#words, from, p1);
      }
    }
    if (from < p1 && !this.#utf8.feed(b, from, p1)) {
      fail(CloseCode.InvalidPayload, BAD_UTF8);
    }
    this.#validated = 0;
    if (fin && !this.#utf8.complete) {
      fail(
        CloseCode.InvalidPayload,
        "Expected UTF-8 text, got a message ending inside a character",
      );
    }
  }

  /** The 32-bit view of `b` the ASCII fast path reads (made once per array). */
  #wordsFor(b: Uint8Array): void {
    this.#words = new Uint32Array(b.buffer, b.byteOffset, b.length >>> 2);
    this.#wordsOf = b;
  }

  /**
   * A fragment: copied into the assembly buffer and consumed. Returns the
   * message's opcode when it was the last one (the assembled message is the
   * current event), else 0.
   */
  #fragment(
    rb: ReadBuf,
    b: Uint8Array,
    op: number,
    fin: boolean,
    p0: number,
    p1: number,
    frameLen: number,
  ): number {
    if (op !== Opcode.Continuation) {
      this.#msgOpcode = op;
      this.#fragments = 0;
      this.#asmLen = 0;
    }
    if (++this.#fragments > this.#maxFragments) {
      fail(
        CloseCode.MessageTooBig,
        `Expected a message in at most ${this.#maxFragments} fragments, got more`,
      );
    }
    if (p1 > p0) this.#append(b, p0, p1);
    rb.consume(frameLen);
    if (!fin) return 0;
    const kind = this.#msgOpcode;
    this.#msgOpcode = 0;
    this.payloadBytes = this.#asm;
    this.payloadStart = 0;
    this.payloadEnd = this.#asmLen;
    this.ascii = kind === Opcode.Text && this.#utf8.ascii;
    this.#asmLen = 0;
    return kind;
  }

  /** Appends `b[p0, p1)` to the assembly buffer, growing it within `maxMessageSize`. */
  #append(b: Uint8Array, p0: number, p1: number): void {
    const need = this.#asmLen + (p1 - p0);
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

  #readClose(b: Uint8Array, p0: number, p1: number): void {
    const n = p1 - p0;
    if (n === 0) {
      this.closeCode = CloseCode.NoStatus;
      this.closeReason = "";
      return;
    }
    if (n === 1) {
      fail(
        CloseCode.ProtocolError,
        "Expected a close payload of 0 or >= 2 bytes, got 1 byte",
      );
    }
    const code = (b[p0] << 8) | b[p0 + 1];
    if (!VALID_CLOSE(code)) {
      fail(CloseCode.ProtocolError, `Expected a valid close code, got ${code}`);
    }
    const v = new Utf8Validator();
    if (!v.feed(b, p0 + 2, p1) || !v.complete) {
      fail(
        CloseCode.InvalidPayload,
        "Expected a UTF-8 close reason, got an invalid byte sequence",
      );
    }
    this.closeCode = code;
    this.closeReason = decoder.decode(b.subarray(p0 + 2, p1));
  }
}
