/**
 * `ReadBuf`: the one preallocated receive buffer every connection parses from.
 *
 * @module
 */

import { check, integer, type Rules } from "../options.ts";

/**
 * Tunables of a {@link ReadBuf}. All sizes are in bytes.
 *
 * @example
 * ```ts
 * import type { ReadBufOptions } from "@x/nexus-ws/codec";
 * const tuning: ReadBufOptions = { bufferCapacity: 1 << 20, compactAt: 1 << 18, maxReadSize: 1 << 16 };
 * console.assert(tuning.bufferCapacity! > tuning.compactAt!);
 * ```
 */
export interface ReadBufOptions {
  /** Bytes allocated up front. Default 65536 (64 KiB). Minimum 256. */
  bufferCapacity?: number;
  /**
   * Once the consumed prefix is at least this many bytes, the unread rest is
   * moved to the front of the buffer before the next read. Default: half of
   * `bufferCapacity`. Smaller values mean smaller, more frequent moves.
   */
  compactAt?: number;
  /** Upper bound on the bytes requested by one socket read. Default: `bufferCapacity`. */
  maxReadSize?: number;
  /**
   * The largest single message (or HTTP body held whole) the buffer may grow
   * to hold. Default 16 MiB. Growth beyond `bufferCapacity` happens only for
   * one message larger than the buffer and is bounded by this value.
   */
  maxMessageSize?: number;
}

const MIN_CAPACITY = 256;

/** The largest frame header: what a message needs beyond its payload. */
const HEADER_ROOM = 14;

/** The rules of {@link ReadBufOptions} (see `src/options.ts`). */
export const READ_BUF_RULES: Rules = {
  bufferCapacity: integer(MIN_CAPACITY),
  compactAt: integer(0),
  maxReadSize: integer(1),
  maxMessageSize: integer(0),
};

/**
 * One preallocated `Uint8Array` with `start`/`end` cursors: bytes in
 * `[start, end)` are received and not yet consumed, `[end, capacity)` is the
 * free tail that the next socket read fills.
 *
 * It never grows per frame. It grows only when {@link ReadBuf.reserve} is
 * asked to hold one message larger than the buffer, and never beyond
 * `maxMessageSize` plus the frame header room; that growth is permanent for
 * the connection (the next large message costs nothing more).
 *
 * @example
 * ```ts
 * import { ReadBuf } from "@x/nexus-ws/codec";
 * const rb = new ReadBuf({ bufferCapacity: 1024 });
 * const tail = rb.spare();
 * tail.set([1, 2, 3]);
 * rb.commit(3);
 * console.assert(rb.length === 3 && rb.bytes[rb.start] === 1);
 * rb.consume(3);
 * console.assert(rb.length === 0);
 * ```
 */
export class ReadBuf {
  #bytes: Uint8Array;
  #start = 0;
  #end = 0;
  #compactAt: number;
  #maxReadSize: number;
  #maxMessageSize: number;
  #capacity: number;

  /**
   * Allocates the buffer. Throws `TypeError` for an unknown option or a
   * wrong type, `RangeError` for a bad value.
   */
  constructor(options?: ReadBufOptions) {
    check(options, READ_BUF_RULES, "ReadBuf");
    options ??= {};
    const capacity = options.bufferCapacity ?? 65536;
    this.#capacity = capacity;
    this.#compactAt = options.compactAt ?? (capacity >>> 1);
    if (this.#compactAt > capacity) {
      throw new RangeError(
        `Expected compactAt <= bufferCapacity (${capacity}), got ${this.#compactAt}`,
      );
    }
    this.#maxReadSize = options.maxReadSize ?? capacity;
    this.#maxMessageSize = options.maxMessageSize ?? 16 * 1024 * 1024;
    this.#bytes = new Uint8Array(capacity);
  }

  /** The underlying array. Valid data is `bytes.subarray(start, end)`. */
  get bytes(): Uint8Array {
    return this.#bytes;
  }
  /** Index of the first unconsumed byte. */
  get start(): number {
    return this.#start;
  }
  /** Index one past the last received byte. */
  get end(): number {
    return this.#end;
  }
  /** Unconsumed bytes held. */
  get length(): number {
    return this.#end - this.#start;
  }
  /** Current size of the underlying array. */
  get capacity(): number {
    return this.#bytes.length;
  }
  /** The configured largest message. */
  get maxMessageSize(): number {
    return this.#maxMessageSize;
  }
  /**
   * The most the buffer may ever hold: `bufferCapacity`, or one largest
   * message with its frame header (`maxMessageSize + 14`) when that is more.
   * {@link ReadBuf.reserve} refuses to grow past it.
   */
  get maxCapacity(): number {
    return Math.max(this.#capacity, this.#maxMessageSize + HEADER_ROOM);
  }

  /** A view of the unconsumed bytes (allocates a view; not for hot loops). */
  data(): Uint8Array {
    return this.#bytes.subarray(this.#start, this.#end);
  }

  /**
   * The free tail to read into, at most `maxReadSize` bytes. Compacts first
   * when the consumed prefix has passed `compactAt` or the tail is full.
   */
  spare(): Uint8Array {
    if (
      this.#start > 0 &&
      (this.#start >= this.#compactAt || this.#end === this.#bytes.length)
    ) {
      this.compact();
    }
    const end = Math.min(this.#bytes.length, this.#end + this.#maxReadSize);
    return this.#bytes.subarray(this.#end, end);
  }

  /** Marks `n` bytes of the last {@link ReadBuf.spare} view as received. */
  commit(n: number): void {
    this.#end += n;
  }

  /**
   * Keeps only the first `length` unconsumed bytes, dropping the rest (used
   * after decoding in place, e.g. de-chunking an HTTP body, left the tail of
   * the buffer with bytes already moved down).
   */
  truncate(length: number): void {
    if (length < 0 || length > this.#end - this.#start) {
      throw new RangeError(
        `Expected a length in [0, ${this.#end - this.#start}], got ${length}`,
      );
    }
    this.#end = this.#start + length;
  }

  /** Appends bytes (copies). Grows only within the message bound. */
  push(chunk: Uint8Array): void {
    let off = 0;
    while (off < chunk.length) {
      let tail = this.spare();
      if (tail.length === 0) {
        this.reserve(this.length + Math.min(chunk.length - off, 65536));
        tail = this.spare();
      }
      const n = Math.min(tail.length, chunk.length - off);
      tail.set(chunk.subarray(off, off + n));
      this.commit(n);
      off += n;
    }
  }

  /** Marks `n` bytes at `start` as consumed. */
  consume(n: number): void {
    this.#start += n;
    if (this.#start === this.#end) {
      this.#start = 0;
      this.#end = 0;
    }
  }

  /** Moves the unconsumed bytes to the front of the buffer. */
  compact(): void {
    if (this.#start === 0) return;
    this.#bytes.copyWithin(0, this.#start, this.#end);
    this.#end -= this.#start;
    this.#start = 0;
  }

  /**
   * Makes room for `total` unconsumed bytes counted from `start` (a whole
   * message with its header). Compacts, and grows the array when `total`
   * exceeds the capacity, to at most `maxMessageSize + 14` bytes (the
   * largest frame header). Throws `RangeError` past that bound; callers
   * check message sizes against `maxMessageSize` before asking.
   */
  reserve(total: number): void {
    if (this.#start + total <= this.#bytes.length) return;
    if (total <= this.#bytes.length) {
      this.compact();
      return;
    }
    const limit = this.maxCapacity;
    if (total > limit) {
      throw new RangeError(
        `Expected at most ${limit} buffered bytes, asked for ${total}`,
      );
    }
    const size = Math.min(limit, Math.max(total, this.#bytes.length * 2));
    const next = new Uint8Array(size);
    next.set(this.#bytes.subarray(this.#start, this.#end));
    this.#end -= this.#start;
    this.#start = 0;
    this.#bytes = next;
  }

  /** Drops all buffered bytes. */
  clear(): void {
    this.#start = 0;
    this.#end = 0;
  }
}
