/**
 * Typed errors of the DEFLATE engines (RFC 1951) and their wrappers
 * (RFC 1950 zlib, RFC 1952 gzip).
 *
 * This file has no `Deno.*` and no I/O.
 *
 * @module
 */

/**
 * Compressed data that cannot be decoded: a bad block type, an invalid or
 * over-subscribed Huffman code, a distance before the start of the window,
 * a wrong checksum, a bad gzip or zlib header, or data that ends before the
 * stream does. The WebSocket layer maps it to close code 1007.
 *
 * @example
 * ```ts
 * import { InflateError, Inflater } from "@x/nexus-ws/codec";
 * try {
 *   new Inflater().push(new Uint8Array([0x07])); // block type 3 is reserved
 * } catch (err) {
 *   console.assert(err instanceof InflateError);
 * }
 * ```
 */
export class InflateError extends Error {
  /** Creates an error for undecodable compressed data. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "InflateError";
  }
}

/**
 * Decompressed output would exceed the configured bound. Raised while
 * decoding, before the output that would cross the bound is written or
 * allocated, so a small bomb never costs more than the bound. The WebSocket
 * layer maps it to close code 1009.
 *
 * @example
 * ```ts
 * import { InflateLimitError } from "@x/nexus-ws/codec";
 * const err = new InflateLimitError(1024, "Expected at most 1024 decompressed bytes, got more");
 * console.assert(err.max === 1024);
 * ```
 */
export class InflateLimitError extends Error {
  /** The bound that would have been exceeded, in bytes. */
  readonly max: number;
  /** Creates a limit error for the bound `max`. */
  constructor(max: number, message: string) {
    super(message);
    this.name = "InflateLimitError";
    this.max = max;
  }
}
