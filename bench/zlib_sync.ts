/**
 * node:zlib driven synchronously with its context kept across calls: the
 * alternative the DEFLATE engines are measured against (and the reference
 * the tests compare them with).
 *
 * Deno's node:zlib (like Node's) offers no public synchronous streaming
 * call: `inflateRawSync` and friends build and free a whole zlib stream per
 * call, and `_processChunk(chunk, flush)` without a callback runs
 * `processChunkSync`, which closes the stream when it returns. What keeps a
 * stream open is the native handle under the stream object,
 * `_handle.writeSync(flush, in, inOff, inLen, out, outOff, outLen, state)`
 * (a fast op on a cppgc object in Deno 2.9, reporting errors through
 * `_handle.onerror`). That is internal API: fine for a bench and a test
 * oracle, not something to ship.
 *
 * @module
 */

import * as zlib from "node:zlib";

/** What {@link ZlibSync} drives: the internal handle of a zlib stream. */
interface ZlibHandle {
  writeSync(
    flush: number,
    input: Uint8Array,
    inOff: number,
    inLen: number,
    out: Uint8Array,
    outOff: number,
    outLen: number,
    state: Uint32Array,
  ): void;
  reset(): void;
  close(): void;
  onerror: (message: string, errno: number) => void;
}

/** Options of {@link ZlibSync}. */
export interface ZlibSyncOptions {
  /** 8-15 (node:zlib turns a raw deflate 8 into 9). Default 15. */
  windowBits?: number;
  /** Compression level 0-9 (deflate only). Default 6 (zlib's default). */
  level?: number;
  /** 1-9 (deflate only). Default 8. */
  memLevel?: number;
  /** Output buffer to start with. Default 64 KiB. */
  bufferSize?: number;
}

/**
 * A raw deflate or inflate zlib stream, written synchronously: every
 * {@link ZlibSync.write} returns the output of its input (a view of a
 * reused buffer, valid until the next call).
 */
export class ZlibSync {
  #handle: ZlibHandle;
  #state = new Uint32Array(2);
  #out: Uint8Array;
  #error: Error | null = null;
  #produced = 0;

  constructor(kind: "deflate" | "inflate", options: ZlibSyncOptions = {}) {
    const windowBits = options.windowBits ?? 15;
    // deno-lint-ignore no-explicit-any
    const stream: any = kind === "deflate"
      ? zlib.createDeflateRaw({
        windowBits,
        level: options.level ?? 6,
        memLevel: options.memLevel ?? 8,
      })
      : zlib.createInflateRaw({ windowBits });
    this.#handle = stream._handle;
    this.#handle.onerror = (message, errno) => {
      this.#error = new Error(`zlib error ${errno}: ${message}`);
    };
    this.#out = new Uint8Array(options.bufferSize ?? 65536);
  }

  /**
   * Writes `input[from, to)` with `flush` (a `zlib.constants.Z_*_FLUSH`)
   * and returns everything the stream produced, after the output of the
   * previous write when `append` is set.
   */
  write(
    input: Uint8Array,
    flush: number = zlib.constants.Z_SYNC_FLUSH,
    from = 0,
    to: number = input.length,
    append = false,
  ): Uint8Array {
    let produced = append ? this.#produced : 0;
    let inOff = from;
    let inLen = to - from;
    const state = this.#state;
    for (;;) {
      const room = this.#out.length - produced;
      this.#handle.writeSync(
        flush,
        input,
        inOff,
        inLen,
        this.#out,
        produced,
        room,
        state,
      );
      if (this.#error !== null) {
        const err = this.#error;
        this.#error = null;
        throw err;
      }
      inOff += inLen - state[1];
      inLen = state[1];
      produced += room - state[0];
      if (state[0] !== 0) {
        this.#produced = produced;
        return this.#out.subarray(0, produced);
      }
      const grown = new Uint8Array(this.#out.length * 2);
      grown.set(this.#out);
      this.#out = grown;
    }
  }

  /** Forgets the history: the next write starts a new stream. */
  reset(): void {
    this.#handle.reset();
  }

  /** Frees the native stream. */
  close(): void {
    this.#handle.close();
  }
}

/** The RFC 7692 §7.2.1 tail a sync flush ends with. */
export const SYNC_TAIL: Uint8Array = new Uint8Array([0x00, 0x00, 0xff, 0xff]);

/**
 * Compresses `messages` the way a permessage-deflate server does: one raw
 * deflate stream (or a fresh one per message without context takeover),
 * each message sync-flushed and its trailing 00 00 ff ff removed (RFC 7692
 * §7.2.1). Returns copies.
 */
export function compressMessages(
  messages: Uint8Array[],
  options: ZlibSyncOptions & { contextTakeover?: boolean } = {},
): Uint8Array[] {
  const z = new ZlibSync("deflate", options);
  const out: Uint8Array[] = [];
  for (const m of messages) {
    if (options.contextTakeover === false) z.reset();
    // data, then the flush, as ws and Python's zlib do: a flush right after
    // a flush would emit nothing for an empty message instead of 00
    z.write(m, zlib.constants.Z_NO_FLUSH);
    const c = z.write(SYNC_TAIL, zlib.constants.Z_SYNC_FLUSH, 0, 0, true);
    if (!endsWithTail(c)) throw new Error("Expected a sync-flush tail");
    out.push(c.slice(0, c.length - 4));
  }
  z.close();
  return out;
}

function endsWithTail(c: Uint8Array): boolean {
  const n = c.length;
  return n >= 4 && c[n - 4] === 0 && c[n - 3] === 0 && c[n - 2] === 0xff &&
    c[n - 1] === 0xff;
}
