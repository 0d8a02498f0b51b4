/**
 * `ContentDecoder`: decodes an HTTP response body as its `Content-Encoding`
 * says (RFC 9110 §8.4), bounded by `maxBodySize` while decoding.
 *
 * gzip and deflate (zlib, or raw DEFLATE as some servers send) go through
 * the codec's `PayloadDecoder`: strict, synchronous, into a buffer the
 * connection reuses. br and zstd go through node:zlib's synchronous
 * decoders with `maxOutputLength`; Deno 2.9.6's return what they decoded
 * of a truncated or corrupt stream without an error, so a zstd body's frames
 * are walked first (complete, nothing after them) and a br body is checked
 * a second time by `DecompressionStream("brotli")`, which does report it
 * (the only asynchronous step).
 *
 * @module
 */

import * as zlib from "node:zlib";
import { HttpLimitError, HttpProtocolError } from "../errors.ts";
import type { HeaderList } from "../codec/http/header_list.ts";
import { PayloadDecoder } from "../codec/deflate/payload_decoder.ts";
import { InflateError, InflateLimitError } from "../codec/deflate/errors.ts";
import { checkZstdFrames } from "../codec/http/zstd_frames.ts";

/** What the client asks for by default: the codings its own engine decodes. */
export const DEFAULT_ACCEPT_ENCODING = "gzip, deflate";

const CODINGS = "gzip, x-gzip, deflate, br, zstd or identity";

/** Splits a `Content-Encoding` value into its codings, lower-cased, identity dropped. */
function codings(value: string): string[] {
  const out: string[] = [];
  for (const part of value.split(",")) {
    const c = part.trim().toLowerCase();
    if (c !== "" && c !== "identity") out.push(c);
  }
  return out;
}

/**
 * Decodes response bodies for one connection. The gzip / deflate output
 * buffer is reused from response to response (it shrinks back after a
 * large body), so a decoded body is borrowed like the raw one: valid until
 * the next request on the connection.
 */
export class ContentDecoder {
  #max: number;
  #decoders: PayloadDecoder[] = [];

  /** A decoder bounding every decoded body at `maxBodySize` bytes. */
  constructor(maxBodySize: number) {
    this.#max = maxBodySize;
  }

  /**
   * The decoded body: `body` itself when there is no coding (or it is
   * empty), else the result of undoing each coding, last applied first. A
   * promise only for br (its second check). Throws {@link HttpLimitError}
   * (`maxBodySize`) past the bound and {@link HttpProtocolError} for an
   * unknown coding or data that does not decode.
   */
  decode(
    headers: HeaderList,
    body: Uint8Array,
  ): Uint8Array | Promise<Uint8Array> {
    const value = headers.get("content-encoding");
    if (value === null || body.length === 0) return body;
    const list = codings(value);
    let out: Uint8Array | Promise<Uint8Array> = body;
    for (let i = list.length - 1; i >= 0; i--) {
      const coding = list[i], step = list.length - 1 - i;
      out = out instanceof Promise
        ? out.then((b) => this.#one(coding, b, step))
        : this.#one(coding, out, step);
    }
    return out;
  }

  /** Undoes one coding (`step` picks a decoder buffer not holding the input). */
  #one(
    coding: string,
    body: Uint8Array,
    step: number,
  ): Uint8Array | Promise<Uint8Array> {
    try {
      switch (coding) {
        case "gzip":
        case "x-gzip":
          return this.#payload(step).decode("gzip", body);
        case "deflate":
          return this.#payload(step).decode("deflate", body);
        case "zstd":
          checkZstdFrames(body);
          return this.#native(zlib.zstdDecompressSync, body);
        case "br":
          return checkBrotli(
            body,
            this.#native(zlib.brotliDecompressSync, body),
          );
      }
    } catch (err) {
      throw this.#failure(coding, err);
    }
    throw new HttpProtocolError(
      `Expected a Content-Encoding of ${CODINGS}, got "${coding}" (send the request with decompress: false to read the body as it is)`,
    );
  }

  #payload(step: number): PayloadDecoder {
    return this.#decoders[step & 1] ??= new PayloadDecoder({
      maxOutputSize: this.#max,
    });
  }

  #native(
    fn: (b: Uint8Array, o: zlib.ZlibOptions) => Uint8Array,
    body: Uint8Array,
  ): Uint8Array {
    const out = fn(body, { maxOutputLength: Math.max(this.#max, 1) });
    if (out.length > this.#max) throw new InflateLimitError(this.#max, "");
    // a plain Uint8Array over the Buffer's bytes, like every other body
    return new Uint8Array(out.buffer, out.byteOffset, out.length);
  }

  /** The error the caller gets for a failed decode. */
  #failure(coding: string, err: unknown): Error {
    if (
      err instanceof InflateLimitError ||
      (err as { code?: string }).code === "ERR_BUFFER_TOO_LARGE"
    ) {
      return new HttpLimitError(
        "maxBodySize",
        this.#max,
        `Expected a body of at most ${this.#max} bytes once decoded (${coding}), got more`,
        { cause: err },
      );
    }
    if (err instanceof HttpProtocolError) return err;
    const why = err instanceof InflateError || err instanceof Error
      ? err.message
      : String(err);
    return new HttpProtocolError(
      `Expected a valid ${coding} body, got one that does not decode: ${why}`,
      { cause: err },
    );
  }
}

/**
 * `decoded` once `DecompressionStream("brotli")` has decoded `body` whole
 * without an error (node:zlib's decoder in Deno 2.9.6 does not report a
 * truncated or corrupt stream). Its output is known to be within the bound
 * already: node:zlib produced the same bytes under `maxOutputLength`.
 * (`DecompressionStream` alone cannot bound a bomb: it decodes a written
 * chunk whole before the first read, 64 MiB for a 64 KiB br bomb.)
 */
async function checkBrotli(
  body: Uint8Array,
  decoded: Uint8Array,
): Promise<Uint8Array> {
  const stream = new DecompressionStream("brotli" as CompressionFormat);
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  const writing = writer.write(body as Uint8Array<ArrayBuffer>).then(() =>
    writer.close()
  );
  writing.catch(() => {});
  let n = 0;
  try {
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      n += r.value.length;
    }
    await writing;
  } catch (err) {
    throw new HttpProtocolError(
      `Expected a valid br body, got one that does not decode: ${
        (err as Error).message
      }`,
      { cause: err },
    );
  }
  if (n !== decoded.length) {
    throw new HttpProtocolError(
      `Expected a valid br body, got one that decodes to ${decoded.length} or ${n} bytes`,
    );
  }
  return decoded;
}
