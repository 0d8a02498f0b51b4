/**
 * `DecodedPayload`: a payload compressed inside a message (gzip, zlib, raw
 * DEFLATE), decoded into a buffer the connection reuses, borrowed like the
 * message itself.
 *
 * @module
 */

import {
  PayloadDecoder,
  type PayloadFormat,
} from "../codec/deflate/payload_decoder.ts";
import { Utf8Text } from "./utf8_text.ts";

/**
 * Decodes `src[from, to)` into `p` (the message's reused payload object);
 * `generation` is the message's, which `p` stays valid for.
 */
type Decode = (
  p: DecodedPayload,
  format: PayloadFormat,
  src: Uint8Array,
  from: number,
  to: number,
  generation: number,
) => void;

let decodeInto: Decode;

/** See {@link Decode}: the friend access `Message.decompress()` uses. */
export function decodePayload(...args: Parameters<Decode>): void {
  decodeInto(...args);
}

function invalidated(): TypeError {
  return new TypeError(
    "Expected a decompressed payload still borrowed from its message, but a later recv(), tryRecv(), close() or terminate() has reused its buffer: copy it with copy() before that",
  );
}

/**
 * A payload decoded by `Message.decompress()`: the bytes are in a buffer
 * its connection reuses (allocated at the first call, shrinking back after
 * a large payload), and this object is reused too. It is valid exactly as
 * long as the message it came from: after the next `recv()`, `tryRecv()`,
 * `close()` or `terminate()` every read throws `TypeError`; the next
 * `decompress()` on the same message replaces its content. Call
 * {@link DecodedPayload.copy} to keep the bytes.
 *
 * @example
 * ```ts ignore
 * import { connect } from "@x/nexus-ws";
 * const ws = await connect("wss://api.huobi.pro/ws");
 * const msg = await ws.recv(); // a binary frame holding gzip-compressed JSON
 * const tick = msg?.decompress("gzip").json<{ ping?: number }>();
 * if (tick?.ping) await ws.sendText(JSON.stringify({ pong: tick.ping }));
 * ```
 */
export class DecodedPayload {
  #decoder: PayloadDecoder;
  #current: () => number;
  #generation = -1;
  #text = new Utf8Text();

  static {
    decodeInto = (p, format, src, from, to, generation) => {
      p.#generation = -1; // a failed decode leaves nothing readable
      p.#decoder.decode(format, src, from, to);
      p.#generation = generation;
    };
  }

  /**
   * Created by `Message.decompress()`: decoded sizes are bounded by
   * `maxSize`; `current()` tells the message's generation (-1 once it is
   * invalidated).
   *
   * @ignore
   */
  constructor(maxSize: number, current: () => number) {
    this.#decoder = new PayloadDecoder({ maxOutputSize: maxSize });
    this.#current = current;
  }

  /** Whether the payload may still be read (see the class doc). */
  get valid(): boolean {
    return this.#generation !== -1 && this.#current() === this.#generation;
  }

  #check(): PayloadDecoder {
    if (!this.valid) throw invalidated();
    return this.#decoder;
  }

  /** The decoded bytes: a borrowed view. */
  get data(): Uint8Array {
    return this.#check().output();
  }

  /** Decoded length in bytes (no view is created). */
  get byteLength(): number {
    const d = this.#check();
    return d.end - d.start;
  }

  /** The array the decoded bytes live in: they are `bytes[offset, offset + byteLength)`. */
  get bytes(): Uint8Array {
    return this.#check().buffer;
  }

  /** Index of the first decoded byte in {@link DecodedPayload.bytes}. */
  get offset(): number {
    return this.#check().start;
  }

  /** The decoded bytes as UTF-8 text (invalid sequences become U+FFFD). */
  text(): string {
    const d = this.#check();
    return this.#text.decode(d.buffer, d.start, d.end);
  }

  /** The decoded bytes parsed as JSON (`SyntaxError` when they are not). */
  json<T = unknown>(): T {
    return JSON.parse(this.text());
  }

  /** An owned copy of the decoded bytes. */
  copy(): Uint8Array {
    return this.data.slice();
  }
}
