/**
 * `Message`: a received WebSocket message that borrows the receive buffer.
 *
 * @module
 */

import type { PayloadFormat } from "../codec/deflate/payload_decoder.ts";
import { DecodedPayload, decodePayload } from "./decoded_payload.ts";
import { Utf8Text } from "./utf8_text.ts";

const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * Where a {@link Message} finds its payload: `payloadBytes[payloadStart,
 * payloadEnd)`. A connection's `FrameReader` is one; a Worker feed's ring
 * reader is another.
 */
export interface PayloadSource {
  /** The array holding the payload. */
  readonly payloadBytes: Uint8Array;
  /** Index of the payload's first byte. */
  readonly payloadStart: number;
  /** Index one past the payload's last byte. */
  readonly payloadEnd: number;
  /** The largest message: the bound of {@link Message.decompress}. */
  readonly maxMessageSize: number;
}

let lendTo: (m: Message) => void;
let forgetFrom: (m: Message) => void;
let revokeFrom: (m: Message) => void;
let borrows: (m: Message, buffer: ArrayBufferLike) => boolean;

/** Makes `m` readable: the client just set it up for a new message. */
export function lend(m: Message): void {
  lendTo(m);
}

/** Makes `m` throw on every read: its bytes may be gone. */
export function revoke(m: Message): void {
  revokeFrom(m);
}

/**
 * Whether `buffer` is one `m` lends views of (its payload's, or its
 * decompressed payload's): a send that reads later must copy such a view.
 */
export function lendsFrom(m: Message, buffer: ArrayBufferLike): boolean {
  return borrows(m, buffer);
}

/** Drops `m`'s cached decoder views (its arrays were replaced: let them be freed). */
export function forget(m: Message): void {
  forgetFrom(m);
}

function invalidated(): TypeError {
  return new TypeError(
    "Expected a message still borrowed from its connection, but a later recv(), tryRecv(), close() or terminate() has reused its buffer: copy it with copy() or toOwned() before that",
  );
}

/**
 * A received text or binary message. It borrows: its payload is a view of
 * the connection's receive buffer (or of its reassembly buffer for a
 * fragmented message, or of its inflater's buffer for a permessage-deflate
 * compressed one), and the object itself is reused for the next
 * message. It is valid until the next call of `recv()`, `tryRecv()`,
 * `close()` or `terminate()` on its connection (or `recv()` / `close()` on
 * the feed that returned it): after that, `data`, `bytes`, `offset`,
 * `byteLength`, `text()`, `json()`, `copy()` and `toOwned()` throw
 * `TypeError` instead of showing other bytes (the next `recv()` makes the
 * same object valid again for the next message). Call
 * {@link Message.copy} (or use the owned paths: `for await`, `readable`) to
 * keep bytes longer.
 *
 * @example
 * ```ts ignore
 * import { connect } from "@x/nexus-ws";
 * const ws = await connect("ws://127.0.0.1:8080/");
 * const msg = await ws.recv();
 * if (msg?.type === "text") console.log(msg.text());
 * ```
 */
export class Message {
  #reader: PayloadSource;
  #valid = false;
  #generation = 0; // counts the messages lent
  #text = new Utf8Text();
  #decoded: DecodedPayload | undefined;
  /** `"text"` or `"binary"`. */
  type: "text" | "binary" = "binary";

  static {
    lendTo = (m) => {
      m.#valid = true;
      m.#generation++;
    };
    revokeFrom = (m) => {
      m.#valid = false;
    };
    forgetFrom = (m) => m.#text.clear();
    borrows = (m, buffer) =>
      buffer === m.#reader.payloadBytes.buffer ||
      (m.#decoded !== undefined && m.#decoded.valid &&
        buffer === m.#decoded.bytes.buffer);
  }

  /**
   * Created by the client; one per connection.
   *
   * @ignore
   */
  constructor(reader: PayloadSource) {
    this.#reader = reader;
  }

  /** Whether the message may still be read (see the class doc). */
  get valid(): boolean {
    return this.#valid;
  }

  /** The payload bytes: a borrowed view, valid until the next `recv()`. */
  get data(): Uint8Array {
    if (!this.#valid) throw invalidated();
    const r = this.#reader;
    return r.payloadBytes.subarray(r.payloadStart, r.payloadEnd);
  }

  /** Payload length in bytes (no view is created). */
  get byteLength(): number {
    if (!this.#valid) throw invalidated();
    return this.#reader.payloadEnd - this.#reader.payloadStart;
  }

  /**
   * The array the payload lives in (the receive buffer, the reassembly
   * buffer of a fragmented message, or the inflater's buffer of a
   * compressed one): the payload is
   * `bytes[offset, offset + byteLength)`. Reading through it allocates
   * nothing, unlike {@link Message.data}, which creates a view.
   */
  get bytes(): Uint8Array {
    if (!this.#valid) throw invalidated();
    return this.#reader.payloadBytes;
  }

  /** Index of the payload's first byte in {@link Message.bytes}. */
  get offset(): number {
    if (!this.#valid) throw invalidated();
    return this.#reader.payloadStart;
  }

  /**
   * The payload decoded as UTF-8 (already validated for text messages; for
   * binary ones invalid sequences become U+FFFD; a leading U+FEFF is kept).
   * Allocates the string, nothing else.
   */
  text(): string {
    if (!this.#valid) throw invalidated();
    const r = this.#reader;
    return this.#text.decode(r.payloadBytes, r.payloadStart, r.payloadEnd);
  }

  /** The payload parsed as JSON. */
  json<T = unknown>(): T {
    return JSON.parse(this.text());
  }

  /** An owned copy of the payload, safe to keep. */
  copy(): Uint8Array {
    return this.data.slice();
  }

  /** An owned copy of the whole message, safe to keep. */
  toOwned(): OwnedMessage {
    return new OwnedMessage(this.type, this.data.slice());
  }

  /**
   * Decodes a payload that the server compressed itself, inside an
   * ordinary frame (some venues send gzip or raw DEFLATE JSON in binary
   * messages): `format` is `"gzip"`, `"zlib"`, `"deflate-raw"`, or
   * `"deflate"` (zlib, or raw DEFLATE when it has no zlib header). The
   * decoded bytes land in a buffer the connection reuses and come back as
   * a borrowed {@link DecodedPayload}, valid as long as this message (the
   * same object is reused by the next call). Decoding is bounded by
   * `maxMessageSize`: a larger payload throws `InflateLimitError` once the
   * bound is reached, without allocating past it; corrupt, truncated or
   * trailing data throws `InflateError`. Neither affects the connection.
   */
  decompress(format: PayloadFormat): DecodedPayload {
    if (!this.#valid) throw invalidated();
    const r = this.#reader;
    const p = this.#decoded ??= new DecodedPayload(
      r.maxMessageSize,
      () => this.#valid ? this.#generation : -1,
    );
    decodePayload(
      p,
      format,
      r.payloadBytes,
      r.payloadStart,
      r.payloadEnd,
      this.#generation,
    );
    return p;
  }
}

/**
 * An owned message: its `data` is a copy, safe to keep for as long as you
 * like. Produced by the owned paths (`for await (const m of ws)`,
 * `ws.readable`) and by {@link Message.toOwned}; each one costs an
 * allocation and a copy of the payload that `recv()` does not.
 *
 * @example
 * ```ts
 * import { OwnedMessage } from "@x/nexus-ws";
 * const m = new OwnedMessage("text", new TextEncoder().encode("hi"));
 * console.assert(m.text() === "hi" && m.data.length === 2);
 * ```
 */
export class OwnedMessage {
  /** `"text"` or `"binary"`. */
  readonly type: "text" | "binary";
  /** The payload (owned). */
  readonly data: Uint8Array;
  #text: string | undefined;

  /** Wraps an owned payload. */
  constructor(type: "text" | "binary", data: Uint8Array) {
    this.type = type;
    this.data = data;
  }

  /** The payload decoded as UTF-8 (decoded once, then cached). */
  text(): string {
    return this.#text ??= decoder.decode(this.data);
  }

  /** The payload parsed as JSON. */
  json<T = unknown>(): T {
    return JSON.parse(this.text());
  }
}
