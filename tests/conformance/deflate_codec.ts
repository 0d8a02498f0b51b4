/**
 * The server side of permessage-deflate in the harness: compresses what the
 * server sends and inflates what the client sends, with `node:zlib` (the
 * runtime's zlib, independent of the client under test), the way Autobahn's
 * `PerMessageDeflate` drives Python's zlib:
 *
 * - compress: raw deflate, default level, memory level 8, the server's window
 *   (`server_max_window_bits`, default 15), the message then a sync flush
 *   with its 4 trailing octets `00 00 ff ff` removed; a fresh compressor for
 *   each message under `server_no_context_takeover`;
 * - inflate: raw inflate with the client's window (`client_max_window_bits`,
 *   default 15), the message then the removed `00 00 ff ff` put back; a fresh
 *   inflater for each message under `client_no_context_takeover`.
 *
 * A window of 8 bits: zlib's deflate cannot do 256-octet windows. Under
 * Autobahn (zlib 1.2.8) a request for 8 was silently raised to 9, and
 * `node:zlib` does the same today; a 9-bit deflater never reaches back more
 * than 250 octets, so its output is valid for an 8-bit window.
 *
 * @module
 */

import { setImmediate } from "node:timers";
import zlib from "node:zlib";
import type { DeflateParams } from "./deflate_params.ts";
import { concat } from "./wire.ts";

const SYNC_TAIL = new Uint8Array([0x00, 0x00, 0xff, 0xff]);

/** Bound on one inflated message: nothing a case echoes is near it. */
const MAX_INFLATED = 64 * 1024 * 1024;

type ZlibStream = zlib.DeflateRaw | zlib.InflateRaw;

/**
 * Feeds `chunks` to a zlib stream, then a sync flush; resolves with the
 * output. Deno's `node:zlib` calls the flush callback before it emits a data
 * error, so the result is settled one macrotask after the callback.
 */
function pass(
  stream: ZlibStream,
  chunks: Uint8Array[],
  limit: number,
): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const out: Uint8Array[] = [];
    let size = 0;
    let error: Error | null = null;
    const onData = (d: Uint8Array) => {
      size += d.length;
      if (size > limit) {
        error ??= new RangeError(
          `Expected at most ${limit} octets, got more`,
        );
      } else {
        out.push(d);
      }
    };
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      stream.off("data", onData);
      stream.off("error", onError);
      if (error) reject(error);
      else resolve(concat(out));
    };
    // A stream that failed may never call the flush callback.
    const onError = (err: Error) => {
      error ??= err;
      setImmediate(settle);
    };
    stream.on("data", onData);
    stream.on("error", onError);
    for (const c of chunks) stream.write(c);
    stream.flush(zlib.constants.Z_SYNC_FLUSH, () => setImmediate(settle));
  });
}

/** A stream whose late errors (after a failed call gave up on it) are not uncaught. */
function quiet<T extends ZlibStream>(stream: T): T {
  stream.on("error", () => {});
  return stream;
}

/** Compressor and inflater of one connection. Call {@link DeflateCodec.close} when done. */
export class DeflateCodec {
  readonly params: DeflateParams;
  #deflater: zlib.DeflateRaw | null = null;
  #inflater: zlib.InflateRaw | null = null;
  /** Operations on one stream must not overlap (their outputs would mix). */
  #tail: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(params: DeflateParams) {
    this.params = params;
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(fn, fn);
    this.#tail = run.catch(() => {});
    return run;
  }

  /** The stream for the next message: a new one when there is none, or when context takeover is off. */
  static #forMessage<T extends ZlibStream>(
    current: T | null,
    noContextTakeover: boolean,
    create: () => T,
  ): T {
    if (current && !noContextTakeover) return current;
    current?.close();
    return quiet(create());
  }

  #deflaterForMessage(): zlib.DeflateRaw {
    this.#deflater = DeflateCodec.#forMessage(
      this.#deflater,
      this.params.serverNoContextTakeover,
      () =>
        zlib.createDeflateRaw({
          level: zlib.constants.Z_DEFAULT_COMPRESSION,
          memLevel: this.params.memLevel,
          windowBits: this.params.serverMaxWindowBits,
        }),
    );
    return this.#deflater;
  }

  #inflaterForMessage(): zlib.InflateRaw {
    this.#inflater = DeflateCodec.#forMessage(
      this.#inflater,
      this.params.clientNoContextTakeover,
      () =>
        zlib.createInflateRaw({ windowBits: this.params.clientMaxWindowBits }),
    );
    return this.#inflater;
  }

  /** The message payload as it goes in the frames (the sync flush tail removed). */
  compress(payload: Uint8Array): Promise<Uint8Array> {
    return this.#serial(async () => {
      if (this.#closed) throw new Error("Deflate codec closed");
      const out = await pass(
        this.#deflaterForMessage(),
        [payload],
        Number.MAX_SAFE_INTEGER,
      );
      const tail = out.subarray(out.length - 4);
      if (out.length < 4 || tail.some((b, i) => b !== SYNC_TAIL[i])) {
        throw new Error("Expected deflate output to end with 00 00 ff ff");
      }
      return out.subarray(0, out.length - 4);
    });
  }

  /** Inflates a message from its frames' payloads; rejects on data that is not valid deflate. */
  decompress(parts: Uint8Array[]): Promise<Uint8Array> {
    return this.#serial(() => {
      if (this.#closed) throw new Error("Deflate codec closed");
      return pass(
        this.#inflaterForMessage(),
        [...parts, SYNC_TAIL],
        MAX_INFLATED,
      );
    });
  }

  /** Frees the zlib streams (after any operation still running). */
  close(): Promise<void> {
    this.#closed = true;
    return this.#serial(() => {
      this.#deflater?.close();
      this.#inflater?.close();
      this.#deflater = this.#inflater = null;
      return Promise.resolve();
    });
  }
}
