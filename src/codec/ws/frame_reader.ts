/**
 * `FrameReader`: parses server frames out of a {@link ReadBuf} and enforces
 * every RFC 6455 receive rule a client must.
 *
 * @module
 */

import { CloseCode, ProtocolError } from "../../errors.ts";
import { check, integer, type Rules } from "../../options.ts";
import type { ReadBuf } from "../read_buf.ts";
import {
  DEFLATE_PARAMS_RULE,
  type DeflateParams,
} from "./deflate_negotiation.ts";
import { MessageInflater } from "./permessage_deflate.ts";
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
  /**
   * The permessage-deflate parameters the handshake settled (see
   * `validateHandshake`): RSV1 is then allowed on the first frame of a
   * data message, whose payload is inflated with the server's window and
   * takeover. Default: not negotiated (RSV1 fails with 1002).
   */
  perMessageDeflate?: DeflateParams;
}

const FRAME_READER_RULES: Rules = {
  maxMessageSize: integer(0),
  maxFragments: integer(1),
  perMessageDeflate: DEFLATE_PARAMS_RULE,
};

/** Marks `#msgOpcode` for a compressed message: its frames go to the inflater. */
const COMPRESSED = 0x10;

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
const EMPTY = new Uint8Array(0);
const NO_WORDS = new Uint32Array(0);

function fail(code: number, message: string): never {
  throw new ProtocolError(code, message);
}

const BAD_UTF8 = "Expected UTF-8 text, got an invalid byte sequence";

/**
 * The header rules that need no length (the RSV bits are checked before):
 * unmasked, known opcodes, control frames unfragmented and at most 125
 * bytes, continuations only inside a message and new data frames only
 * outside one.
 */
function checkHeader(
  b0: number,
  b1: number,
  op: number,
  inMessage: number,
): void {
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
 * With `perMessageDeflate` negotiated, a message whose first frame has
 * RSV1 set is compressed (RFC 7692 §6): each frame's payload is inflated
 * as it completes, into the inflater's reusable buffer (allocated at the
 * first compressed message), and the event's payload is the inflated
 * message there, borrowed the same way. `maxMessageSize` bounds the
 * inflated size while inflating (1009 before the excess is written); the
 * compressed frames are bounded by it too; corrupt data fails with 1007
 * (the cause is the engine's `InflateError`).
 *
 * Enforced: RSV bits 0 (but RSV1 on the first frame of a data message when
 * permessage-deflate is negotiated), no reserved opcodes, no masked server frames,
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
  payloadBytes: Uint8Array = EMPTY;
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
  #asm: Uint8Array = EMPTY;
  #asmLen = 0;
  // text validation state of the message / frame in progress
  #utf8 = new Utf8Validator();
  #validated = 0; // payload bytes of the current unfinished frame already validated
  #wordsOf: Uint8Array | null = null; // the array #words views
  #words: Uint32Array = NO_WORDS;
  #aligned = false; // #wordsOf starts on a 4-byte boundary
  // permessage-deflate: the settled parameters, the inflater (made at the
  // first compressed message), inflated bytes of the message validated
  #deflate: DeflateParams | null;
  #inflater: MessageInflater | null = null;
  #inflated = 0;
  #inflatedWordsOf: Uint8Array | null = null; // the inflater buffer #inflatedWords views
  #inflatedWords: Uint32Array = NO_WORDS;

  /**
   * Creates a reader; throws `TypeError` for an unknown option or a wrong
   * type, `RangeError` for a bad limit.
   */
  constructor(options?: FrameReaderOptions) {
    check(options, FRAME_READER_RULES, "FrameReader");
    this.#maxMessageSize = options?.maxMessageSize ?? 16 * 1024 * 1024;
    this.#maxFragments = options?.maxFragments ?? 131072;
    this.#deflate = options?.perMessageDeflate ?? null;
  }

  /** The largest message accepted (inflated size for a compressed one). */
  get maxMessageSize(): number {
    return this.#maxMessageSize;
  }

  /** Bytes held by the permessage-deflate inflater (0 before the first compressed message). */
  get inflaterMemory(): number {
    return this.#inflater?.memory ?? 0;
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
   * Lets go of memory held between events: the references to the arrays
   * of the last event (so a receive buffer that was replaced can be freed)
   * and the reassembly buffer when no fragmented message is in progress
   * (the next fragmented message allocates it again). Call it only when the
   * current event's payload is no longer in use, e.g. after the receive
   * buffer was resized.
   */
  release(): void {
    this.payloadBytes = EMPTY;
    this.payloadStart = 0;
    this.payloadEnd = 0;
    this.#wordsOf = null;
    this.#words = NO_WORDS;
    if (this.#msgOpcode === 0) this.#asm = EMPTY;
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
      const b0 = b[s], len = b[s + 1];
      // The usual event, kept small enough for V8 to inline this method: a
      // whole unfragmented text or binary frame with a 7-bit length (no
      // RSV bits, unmasked), outside a fragmented message, and for text
      // all ASCII (0x81 / 0x82: FIN and the Text / Binary opcode, nothing
      // else set). Anything else takes the general path.
      if (
        (b0 === 0x82 || b0 === 0x81) && len < 126 && avail >= len + 2 &&
        this.#msgOpcode === 0 && len <= this.#maxMessageSize
      ) {
        const p1 = s + 2 + len;
        if (b0 === 0x82 || this.#isAscii(b, s + 2, p1)) {
          this.frames++;
          this.#validated = 0; // a partial call may have checked some
          this.#pending = len + 2;
          this.payloadBytes = b;
          this.payloadStart = s + 2;
          this.payloadEnd = p1;
          this.ascii = b0 === 0x81;
          return b0 & 0x0f;
        }
      }
      const kind = this.#frame(rb, b, s, avail);
      if (kind !== 0) return kind;
    }
  }

  /**
   * Whether `b[from, to)` is all ASCII by the 32-bit word scan (false
   * also when `b` cannot be scanned by words: the general path decides).
   */
  #isAscii(b: Uint8Array, from: number, to: number): boolean {
    if (this.#wordsOf !== b) this.#wordsFor(b);
    return this.#aligned && asciiEnd(b, this.#words, from, to) === to;
  }

  /**
   * The general path of {@link FrameReader.next} for the frame at
   * `rb.start` (`avail` ≥ 2 bytes there): an event's opcode, `NEED_MORE`,
   * or 0 when the frame was consumed without completing an event (a
   * fragment, a compressed frame in progress).
   */
  #frame(rb: ReadBuf, b: Uint8Array, s: number, avail: number): number {
    const b0 = b[s], b1 = b[s + 1];
    const op = b0 & 0x0f;
    // One test for the usual frame: no RSV bits, unmasked, a text or
    // binary frame outside a fragmented message (or a continuation inside).
    if (
      ((b0 & 0x70) | (b1 & 0x80)) !== 0 || op > Opcode.Binary ||
      (op === Opcode.Continuation) === (this.#msgOpcode === 0)
    ) {
      if ((b0 & 0x70) !== 0) return this.#compressed(rb, b0, b1, op);
      checkHeader(b0, b1, op, this.#msgOpcode);
    }
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
    const ascii = text && this.#validateText(b, op, fin, p0, p1);
    if (fin && op !== Opcode.Continuation) {
      this.#pending = frameLen;
      this.payloadBytes = b;
      this.payloadStart = p0;
      this.payloadEnd = p1;
      this.ascii = ascii;
      return op;
    }
    return this.#fragment(rb, b, op, fin, p0, p1, frameLen);
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

  /**
   * Validates the text bytes of a complete data frame not validated yet;
   * returns whether the message's text so far is all ASCII. A whole message
   * in one frame that is all ASCII (the usual tick) is settled by the word
   * scan alone, without the validator.
   */
  #validateText(
    b: Uint8Array,
    op: number,
    fin: boolean,
    p0: number,
    p1: number,
  ): boolean {
    let from = p0 + this.#validated;
    if (this.#validated === 0 && op !== Opcode.Continuation) {
      // fast path: a whole-ASCII run needs no state machine
      if (this.#wordsOf !== b) this.#wordsFor(b);
      if (this.#aligned) {
        from = asciiEnd(b, this.#words, from, p1);
        if (from === p1 && fin) return true;
      }
      this.#utf8.reset();
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
    return this.#utf8.ascii;
  }

  /**
   * The 32-bit view of `b` the ASCII fast path reads (made once per array;
   * none for an array not aligned on 4 bytes).
   */
  #wordsFor(b: Uint8Array): void {
    this.#aligned = b.byteOffset % 4 === 0;
    this.#words = this.#aligned
      ? new Uint32Array(b.buffer, b.byteOffset, b.length >>> 2)
      : NO_WORDS;
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
    if (this.#msgOpcode > Opcode.Binary) {
      this.#inflate(b, p0, p1);
      rb.consume(frameLen);
      return fin ? this.#inflatedMessage() : 0;
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

  /**
   * A frame with RSV bits set: fails unless it is the first frame of a
   * compressed message (RSV1 alone, a text or binary frame, the extension
   * negotiated); then inflates it once it is complete. Returns what
   * `next()` returns, or 0 for a first fragment (parse on).
   */
  #compressed(rb: ReadBuf, b0: number, b1: number, op: number): number {
    this.#checkRsv(b0, op);
    checkHeader(b0, b1, op, this.#msgOpcode);
    const b = rb.bytes, s = rb.start, avail = rb.end - s;
    let len = b1 & 0x7f, hl = 2;
    if (len >= 126) {
      hl = len === 126 ? 4 : 10;
      if (avail < hl) return NEED_MORE;
      len = extendedLength(b, s, hl);
    }
    if (len > this.#maxMessageSize) this.#tooBig(op, len);
    if (avail < hl + len) {
      rb.reserve(hl + len);
      return NEED_MORE;
    }
    this.frames++;
    const inflater = this.#inflater ??= new MessageInflater({
      windowBits: this.#deflate!.serverMaxWindowBits,
      noContextTakeover: this.#deflate!.serverNoContextTakeover,
      maxMessageSize: this.#maxMessageSize,
    });
    inflater.begin();
    this.#msgOpcode = op | COMPRESSED;
    this.#fragments = 1;
    this.#inflated = 0;
    this.#utf8.reset();
    this.#inflate(b, s + hl, s + hl + len);
    rb.consume(hl + len);
    return (b0 & 0x80) !== 0 ? this.#inflatedMessage() : 0;
  }

  /** Fails (1002) unless RSV1 alone marks a compressed data message's first frame. */
  #checkRsv(b0: number, op: number): void {
    const rsv = b0 & 0x70;
    if (rsv !== 0x40 || this.#deflate === null) {
      fail(
        CloseCode.ProtocolError,
        `Expected RSV bits 0 (${
          this.#deflate === null
            ? "no extension negotiated"
            : "permessage-deflate defines RSV1 only"
        }), got 0x${rsv.toString(16)}`,
      );
    }
    if (op === Opcode.Continuation) {
      fail(
        CloseCode.ProtocolError,
        "Expected RSV1 only on the first frame of a compressed message, got it on a continuation frame",
      );
    }
    if (op >= Opcode.Close && op <= Opcode.Pong) {
      fail(
        CloseCode.ProtocolError,
        "Expected RSV1 only on a data frame, got it on a control frame",
      );
    }
  }

  /** Inflates `b[p0, p1)`, the next compressed bytes; validates the text so far. */
  #inflate(b: Uint8Array, p0: number, p1: number): void {
    const inflater = this.#inflater!;
    inflater.push(b, p0, p1);
    if (this.#msgOpcode === (Opcode.Text | COMPRESSED)) {
      this.#validateInflated(inflater);
    }
  }

  /**
   * Validates the inflated text not validated yet (fail fast: 1007), an
   * ASCII run word by word first when no character is open.
   */
  #validateInflated(inflater: MessageInflater): void {
    const b = inflater.buffer, to = inflater.end;
    let from = inflater.start + this.#inflated;
    if (to - from >= 16 && this.#utf8.complete) {
      if (this.#inflatedWordsOf !== b) {
        this.#inflatedWords = new Uint32Array(b.buffer, 0, b.length >>> 2);
        this.#inflatedWordsOf = b;
      }
      from = asciiEnd(b, this.#inflatedWords, from, to);
    }
    if (from < to && !this.#utf8.feed(b, from, to)) {
      fail(CloseCode.InvalidPayload, BAD_UTF8);
    }
    this.#inflated = to - inflater.start;
  }

  /** The last frame of a compressed message is in: the inflated message is the event. */
  #inflatedMessage(): number {
    const inflater = this.#inflater!;
    const kind = this.#msgOpcode & 0x0f;
    this.#msgOpcode = 0;
    inflater.finish();
    if (kind === Opcode.Text) {
      this.#validateInflated(inflater);
      if (!this.#utf8.complete) {
        fail(
          CloseCode.InvalidPayload,
          "Expected UTF-8 text, got a message ending inside a character",
        );
      }
    }
    this.payloadBytes = inflater.buffer;
    this.payloadStart = inflater.start;
    this.payloadEnd = inflater.end;
    this.ascii = kind === Opcode.Text && this.#utf8.ascii;
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
