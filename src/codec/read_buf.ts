/**
 * `ReadBuf`: the one receive buffer every connection parses from, sized to
 * its load.
 *
 * @module
 */

import { check, integer, number, type Rules } from "../options.ts";
import { BufferSizer } from "./buffer_sizer.ts";

/**
 * Tunables of a {@link ReadBuf}. All sizes are in bytes.
 *
 * @example
 * ```ts
 * import type { ReadBufOptions } from "@x/nexus-ws/codec";
 * const tuning: ReadBufOptions = { bufferCapacity: 1 << 20, minBufferCapacity: 4096, shrinkAfter: 5000 };
 * console.assert(tuning.bufferCapacity! > tuning.minBufferCapacity!);
 * ```
 */
export interface ReadBufOptions {
  /**
   * The most bytes the buffer grows to under load. Default 65536 (64 KiB).
   * Minimum 256. The buffer starts at `minBufferCapacity` and doubles at a
   * socket read that filled it, up to this size (see `docs/tuning.md`).
   */
  bufferCapacity?: number;
  /**
   * Bytes allocated up front, and the size a quiet buffer shrinks back to.
   * Default 1024, or `bufferCapacity` when that is smaller. Minimum 256, at
   * most `bufferCapacity`; equal to it, the buffer has a fixed size (it
   * still grows for one message larger than it, and shrinks back after).
   */
  minBufferCapacity?: number;
  /**
   * Milliseconds of quiet after which a buffer larger than the recent reads
   * needed shrinks (at its next socket read, when it holds no unread byte).
   * Default 1000. `0` shrinks at the first such read.
   */
  shrinkAfter?: number;
  /**
   * Once the consumed prefix is at least this many bytes, the unread rest is
   * moved to the front of the buffer before the next read. Default: half of
   * the buffer's current size. Smaller values mean smaller, more frequent
   * moves.
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
  minBufferCapacity: integer(MIN_CAPACITY),
  shrinkAfter: number(0, Infinity),
  compactAt: integer(0),
  maxReadSize: integer(1),
  maxMessageSize: integer(0),
};

/** The default of {@link ReadBufOptions.minBufferCapacity}. */
export const DEFAULT_MIN_CAPACITY = 1024;
/** The default of {@link ReadBufOptions.shrinkAfter}, in milliseconds. */
export const DEFAULT_SHRINK_AFTER = 1000;

/**
 * One `Uint8Array` with `start`/`end` cursors: bytes in `[start, end)` are
 * received and not yet consumed, `[end, capacity)` is the free tail that the
 * next socket read fills.
 *
 * Its size adapts, and only at a socket read that asks for the free tail
 * through {@link ReadBuf.forRead} (the adapter calls it when nothing
 * borrowed from the buffer is live): it starts at `minBufferCapacity`,
 * doubles after a read that filled what it was offered (7/8 or more: a sign
 * that the kernel had more), up to `bufferCapacity`, and shrinks back after
 * `shrinkAfter` ms in which the reads needed less (see
 * {@link BufferSizer}). Parsing never changes its size, except for one
 * message larger than the buffer ({@link ReadBuf.reserve}), never beyond
 * `maxMessageSize` plus the frame header room; a quiet period gives that
 * memory back too. Every resize is counted ({@link ReadBuf.grows},
 * {@link ReadBuf.shrinks}); nothing is allocated per message.
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
 *
 * @example Adaptive size
 * ```ts
 * import { ReadBuf } from "@x/nexus-ws/codec";
 * const rb = new ReadBuf({ minBufferCapacity: 256, bufferCapacity: 4096, shrinkAfter: 100 });
 * for (let t = 0; t < 4; t++) { // a burst: each read fills what it is offered
 *   rb.commit(rb.forRead(t).length);
 *   rb.consume(rb.length);
 * }
 * console.assert(rb.capacity === 2048 && rb.grows === 3);
 * for (let t = 200; t <= 400; t += 100) { // then a trickle of 10-byte reads
 *   rb.commit(Math.min(10, rb.forRead(t).length));
 *   rb.consume(rb.length);
 * }
 * console.assert(rb.capacity === 256 && rb.shrinks === 1); // quiet: back to the minimum
 * ```
 */
export class ReadBuf {
  #bytes: Uint8Array;
  #start = 0;
  #end = 0;
  #compactAt: number; // -1: half the current size
  #maxReadSize: number;
  #maxMessageSize: number;
  #sizer: BufferSizer;
  #asked = 0; // bytes the last forRead() view offered, 0 once committed
  #full = false; // the last read filled what it was offered

  /**
   * Allocates the buffer (`minBufferCapacity` bytes). Throws `TypeError`
   * for an unknown option or a wrong type, `RangeError` for a bad value.
   */
  constructor(options?: ReadBufOptions) {
    check(options, READ_BUF_RULES, "ReadBuf");
    options ??= {};
    const capacity = options.bufferCapacity ?? 65536;
    const min = options.minBufferCapacity ??
      Math.min(DEFAULT_MIN_CAPACITY, capacity);
    if (min > capacity) {
      throw new RangeError(
        `Expected minBufferCapacity <= bufferCapacity (${capacity}), got ${min}`,
      );
    }
    const compactAt = options.compactAt;
    if (compactAt !== undefined && compactAt > capacity) {
      throw new RangeError(
        `Expected compactAt <= bufferCapacity (${capacity}), got ${compactAt}`,
      );
    }
    this.#compactAt = compactAt ?? -1;
    this.#maxReadSize = options.maxReadSize ?? capacity;
    this.#maxMessageSize = options.maxMessageSize ?? 16 * 1024 * 1024;
    this.#sizer = new BufferSizer(
      min,
      capacity,
      options.shrinkAfter ?? DEFAULT_SHRINK_AFTER,
    );
    this.#bytes = new Uint8Array(min);
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
  /** Times the array was replaced by a larger one (under load, or for a large message). */
  get grows(): number {
    return this.#sizer.grows;
  }
  /** Times the array was replaced by a smaller one (after a quiet period). */
  get shrinks(): number {
    return this.#sizer.shrinks;
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
    return Math.max(this.#sizer.max, this.#maxMessageSize + HEADER_ROOM);
  }

  /** A view of the unconsumed bytes (allocates a view; not for hot loops). */
  data(): Uint8Array {
    return this.#bytes.subarray(this.#start, this.#end);
  }

  /**
   * The free tail to read into, at most `maxReadSize` bytes. Compacts first
   * when the consumed prefix has passed `compactAt` or the tail is full.
   * An empty buffer without a read cap is returned whole (no view made).
   */
  spare(): Uint8Array {
    const b = this.#bytes, len = b.length;
    if (this.#end === 0 && this.#maxReadSize >= len) return b;
    if (this.#start > 0) {
      const at = this.#compactAt < 0 ? len >>> 1 : this.#compactAt;
      if (this.#start >= at || this.#end === len) this.compact();
    }
    const end = Math.min(len, this.#end + this.#maxReadSize);
    return b.subarray(this.#end, end);
  }

  /**
   * The free tail for the next socket read, after adapting the buffer's
   * size (`now` is the caller's clock in ms): it doubles when the previous
   * read filled what it was offered (7/8 of it or more, and at least a
   * quarter of the buffer), up to `bufferCapacity`; it shrinks when it holds no unread byte and a
   * quiet window has passed (see {@link BufferSizer}). Resizing replaces
   * {@link ReadBuf.bytes}: call this only when no view of the buffer is
   * still in use. Then {@link ReadBuf.commit} the bytes read.
   */
  forRead(now: number): Uint8Array {
    const size = this.#bytes.length;
    const full = this.#full;
    this.#full = false;
    if (full && size < this.#sizer.max) {
      this.#resize(this.#sizer.grown(size));
    } else if (this.#end === this.#start) {
      const to = this.#sizer.shrinkTo(size, now);
      if (to !== 0) this.#resize(to);
    }
    const view = this.spare();
    this.#asked = view.length;
    return view;
  }

  /** Marks `n` bytes of the last {@link ReadBuf.spare} view as received. */
  commit(n: number): void {
    const end = this.#end += n;
    const asked = this.#asked;
    if (asked !== 0) { // a socket read through forRead()
      this.#asked = 0;
      // filled (7/8 of what was offered or more: a transport may stop at a
      // record or frame boundary) and at least a quarter of the buffer
      this.#full = n >= asked - (asked >>> 3) &&
        n >= (this.#bytes.length >>> 2);
      this.#sizer.use(end - this.#start);
    }
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
    this.#resize(Math.min(limit, Math.max(total, this.#bytes.length * 2)));
  }

  /** Moves the unconsumed bytes into a new array of `size` bytes (≥ `length`). */
  #resize(size: number): void {
    const old = this.#bytes;
    const next = new Uint8Array(size);
    if (this.#end > this.#start) {
      next.set(old.subarray(this.#start, this.#end));
    }
    this.#end -= this.#start;
    this.#start = 0;
    this.#bytes = next;
    this.#sizer.resized(old.length, size);
  }

  /** Drops all buffered bytes. */
  clear(): void {
    this.#start = 0;
    this.#end = 0;
  }
}
