/**
 * `Utf8Text`: decodes a region of a reused array to a string, the fast way.
 *
 * @module
 */

import { Buffer } from "node:buffer";

/**
 * Decodes `bytes[start, end)` as UTF-8 (invalid sequences become U+FFFD, a
 * leading U+FEFF is kept). node:buffer's decoder skips the per-call checks
 * of `TextDecoder.decode` (about twice as fast on short messages); it needs
 * a `Buffer` over the array, made once per array and kept for the last two
 * arrays seen (a connection alternates between its receive buffer and its
 * inflater's), so a steady stream allocates only the strings.
 */
export class Utf8Text {
  #a: Buffer | undefined;
  #aOf: Uint8Array | undefined;
  #b: Buffer | undefined;
  #bOf: Uint8Array | undefined;

  /** Forgets the arrays seen (they were replaced: let them be freed). */
  clear(): void {
    this.#a =
      this.#aOf =
      this.#b =
      this.#bOf =
        undefined;
  }

  /** The string of `bytes[start, end)`. */
  decode(bytes: Uint8Array, start: number, end: number): string {
    if (bytes !== this.#aOf) {
      const other = bytes === this.#bOf
        ? this.#b!
        : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
      this.#b = this.#a;
      this.#bOf = this.#aOf;
      this.#a = other;
      this.#aOf = bytes;
    }
    return this.#a!.toString("utf8", start, end);
  }
}
