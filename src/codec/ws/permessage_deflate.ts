/**
 * permessage-deflate (RFC 7692 §7) message transforms over the DEFLATE
 * engines: the receive side ({@link MessageInflater}) and the send side
 * ({@link MessageDeflater}), with context takeover as negotiated.
 *
 * @module
 */

import { ProtocolError } from "../../errors.ts";
import { Deflater } from "../deflate/deflater.ts";
import type { ByteSink } from "../deflate/block_writer.ts";
import { InflateError, InflateLimitError } from "../deflate/errors.ts";
import { DecodedOutput } from "../deflate/decoded_output.ts";

/** The tail a sender removes and a receiver appends (RFC 7692 §7.2.1-2). */
const TAIL = new Uint8Array([0x00, 0x00, 0xff, 0xff]);

/**
 * Options for {@link MessageInflater}.
 *
 * @example
 * ```ts
 * import { MessageInflater } from "@x/nexus-ws/codec";
 * const inflater = new MessageInflater({ windowBits: 10, noContextTakeover: true });
 * console.assert(inflater.memory > 0);
 * ```
 */
export interface MessageInflaterOptions {
  /** The negotiated `server_max_window_bits` (8-15, default 15). */
  windowBits?: number;
  /**
   * Whether the server resets its window per message
   * (`server_no_context_takeover`): then every message is inflated from an
   * empty window and the buffer needs to hold one message only.
   */
  noContextTakeover?: boolean;
  /** Most bytes a message may inflate to (default 16 MiB). Over it: 1009. */
  maxMessageSize?: number;
  /**
   * Output buffer to start with and to shrink back to (default: 1.5 × the
   * window with context takeover, 4 KiB without; see `InflaterOptions`).
   */
  bufferSize?: number;
}

/**
 * Inflates the compressed messages of a permessage-deflate connection
 * (RSV1 set on their first frame): {@link MessageInflater.begin}, the
 * payload of each frame to {@link MessageInflater.push} as it arrives, then
 * {@link MessageInflater.finish}, which appends the 00 00 ff ff tail (RFC 7692
 * §7.2.2). The message is then `buffer[start, end)`, borrowed until the
 * next `begin()`. The history is kept across messages unless the server
 * resets its own (`server_no_context_takeover`). A message that would
 * inflate past `maxMessageSize` fails with {@link ProtocolError} 1009
 * before the excess is written; corrupt or truncated compressed data fails
 * with 1007 (what ws and most clients send; RFC 7692 names no code). The
 * `cause` of the error is the engine's {@link InflateError} or
 * {@link InflateLimitError}.
 *
 * @example
 * ```ts
 * import { MessageInflater } from "@x/nexus-ws/codec";
 * const inflater = new MessageInflater();
 * for (const payload of [[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], [0xf2, 0x00, 0x11, 0x00, 0x00]]) {
 *   inflater.begin();
 *   inflater.push(new Uint8Array(payload));
 *   inflater.finish();
 *   const text = new TextDecoder().decode(inflater.buffer.subarray(inflater.start, inflater.end));
 *   console.assert(text === "Hello"); // RFC 7692 §7.2.3.1 and §7.2.3.2
 * }
 * ```
 */
export class MessageInflater extends DecodedOutput {
  #reset: boolean;
  #pushed = 0; // compressed bytes of the current message

  /** Creates an inflater; throws `RangeError` on a bad option value. */
  constructor(options: MessageInflaterOptions = {}) {
    const reset = options.noContextTakeover ?? false;
    super({
      windowBits: options.windowBits,
      maxOutputSize: options.maxMessageSize,
      bufferSize: options.bufferSize ??
        (reset ? 4096 : undefined),
    });
    this.#reset = reset;
  }

  /** Starts a compressed message. */
  begin(): void {
    if (this.#reset) this.inflater.reset();
    else this.inflater.beginMessage();
    this.#pushed = 0;
  }

  /** Inflates the next compressed bytes of the message (one frame's payload). */
  push(src: Uint8Array, from = 0, to: number = src.length): void {
    this.#pushed += to - from;
    try {
      this.inflater.push(src, from, to);
    } catch (err) {
      throw failure(err);
    }
  }

  /** Ends the message: inflates the tail and checks the data is complete. */
  finish(): void {
    if (this.#pushed === 0) {
      throw failure(
        new InflateError(
          "Expected a compressed message of at least one byte (an empty message compresses to 00, RFC 7692 §7.2.3.6), got an empty payload",
        ),
      );
    }
    this.push(TAIL);
    if (!this.inflater.atBlockBoundary) {
      throw failure(
        new InflateError(
          "Expected a compressed message that ends between DEFLATE blocks, got one cut inside a block",
        ),
      );
    }
  }
}

/** The protocol error for an engine error (1009 for the bound, else 1007). */
function failure(err: unknown): unknown {
  if (err instanceof InflateLimitError) {
    const e = new ProtocolError(1009, err.message);
    e.cause = err;
    return e;
  }
  if (err instanceof InflateError) {
    const e = new ProtocolError(1007, err.message);
    e.cause = err;
    return e;
  }
  return err;
}

/**
 * Options for {@link MessageDeflater}.
 *
 * @example
 * ```ts
 * import { MessageDeflater } from "@x/nexus-ws/codec";
 * const deflater = new MessageDeflater({ windowBits: 9, noContextTakeover: true });
 * console.assert(deflater.memory === 0); // nothing allocated before the first message
 * ```
 */
export interface MessageDeflaterOptions {
  /** The negotiated `client_max_window_bits` (8-15, default 15). */
  windowBits?: number;
  /** Whether to compress every message on its own (`client_no_context_takeover`). */
  noContextTakeover?: boolean;
}

/**
 * Compresses messages for a permessage-deflate connection: each message
 * sync-flushed without its 00 00 ff ff tail (RFC 7692 §7.2.1), appended to
 * a {@link ByteSink} (a `WriteBuf`) so the frame writer can put the header
 * in front and mask in place; the frame must be sent with RSV1 set. The
 * window is kept across messages unless `noContextTakeover`.
 *
 * @example
 * ```ts
 * import { MessageDeflater, WriteBuf } from "@x/nexus-ws/codec";
 * const out = new WriteBuf();
 * new MessageDeflater().compressText("Hello", out);
 * console.assert(out.length === 7);
 * ```
 */
export class MessageDeflater {
  #deflater: Deflater;
  #reset: boolean;

  /** Creates a deflater; throws `RangeError` on a bad option value. */
  constructor(options: MessageDeflaterOptions = {}) {
    this.#reset = options.noContextTakeover ?? false;
    this.#deflater = new Deflater({ windowBits: options.windowBits });
  }

  /** Bytes of memory held (0 before the first message). */
  get memory(): number {
    return this.#deflater.memory;
  }

  /** Appends `data[from, to)` compressed; returns the bytes appended. */
  compress(
    data: Uint8Array,
    sink: ByteSink,
    from = 0,
    to: number = data.length,
  ): number {
    if (this.#reset) this.#deflater.reset();
    return this.#deflater.compress(data, sink, from, to);
  }

  /** Appends `text` (as UTF-8) compressed; returns the bytes appended. */
  compressText(text: string, sink: ByteSink): number {
    if (this.#reset) this.#deflater.reset();
    return this.#deflater.compressText(text, sink);
  }
}
