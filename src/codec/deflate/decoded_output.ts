/**
 * `DecodedOutput`: what a decoder built on an {@link Inflater} shows of its
 * output buffer.
 *
 * @module
 */

import { Inflater, type InflaterOptions } from "./inflater.ts";

/**
 * The decoded bytes of a decoder that owns an {@link Inflater}: they are
 * `buffer[start, end)`, in a buffer the decoder reuses, valid until it
 * decodes again. The base of `PayloadDecoder` and `MessageInflater`.
 *
 * @example
 * ```ts
 * import { MessageInflater } from "@x/nexus-ws/codec";
 * const inflater = new MessageInflater();
 * inflater.begin();
 * inflater.push(new Uint8Array([0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]));
 * inflater.finish();
 * console.assert(inflater.end - inflater.start === 5 && inflater.output().length === 5);
 * ```
 */
export class DecodedOutput {
  /** The engine, for the subclass. */
  protected readonly inflater: Inflater;

  /** Creates the inflater the subclass decodes with. */
  constructor(options: InflaterOptions) {
    this.inflater = new Inflater(options);
  }

  /** The output buffer: the decoded bytes are `buffer[start, end)`. */
  get buffer(): Uint8Array {
    return this.inflater.buffer;
  }

  /** Start of the decoded bytes in {@link DecodedOutput.buffer}. */
  get start(): number {
    return this.inflater.start;
  }

  /** End of the decoded bytes in {@link DecodedOutput.buffer}. */
  get end(): number {
    return this.inflater.end;
  }

  /** A view of the decoded bytes (borrowed, valid until the next decode). */
  output(): Uint8Array {
    return this.inflater.output();
  }

  /** Bytes of memory held (buffer and tables). */
  get memory(): number {
    return this.inflater.memory;
  }
}
