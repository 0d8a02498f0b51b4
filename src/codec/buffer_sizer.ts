/**
 * `BufferSizer`: the adaptive sizing policy of the connection buffers
 * (the receive `ReadBuf`, the send `WriteBuf`s): grow by doubling under
 * load, shrink back after a quiet period, and count both. It only computes
 * sizes: the buffer that owns it decides when it may change its array (at a
 * socket read, with nothing borrowed), so it never allocates by itself. The
 * clock is the caller's (`now` in milliseconds), as everything in the codec
 * stays free of I/O.
 *
 * @module
 */

/**
 * One buffer's sizing: sizes between `min` and `max` bytes, a quiet window
 * of `quiet` ms. Within a window it remembers the most bytes the buffer had
 * to hold (its peak); when a window of at least `quiet` ms has passed, the
 * buffer may shrink to the smallest power of two holding twice that peak,
 * never below `min` (so a buffer that keeps being used at its size never
 * shrinks, and one that was only needed for a burst goes back to `min`).
 */
export class BufferSizer {
  /** The smallest size: what a buffer starts at and shrinks back to. */
  readonly min: number;
  /** The largest size growth under load reaches. */
  readonly max: number;
  /** Milliseconds of quiet before a shrink; `Infinity` never shrinks. */
  readonly quiet: number;
  #grows = 0;
  #shrinks = 0;
  #peak = 0;
  #since = -1; // start of the current window; -1 until the first one

  /** A policy for sizes in `[min, max]` and a quiet window of `quiet` ms. */
  constructor(min: number, max: number, quiet: number) {
    this.min = min;
    this.max = Math.max(min, max);
    this.quiet = quiet;
  }

  /** Times the buffer grew. */
  get grows(): number {
    return this.#grows;
  }
  /** Times the buffer shrank. */
  get shrinks(): number {
    return this.#shrinks;
  }

  /** Notes that the buffer held `n` bytes (the peak of the window). */
  use(n: number): void {
    if (n > this.#peak) this.#peak = n;
  }

  /** Counts a change of the buffer's size from `from` to `to` bytes. */
  resized(from: number, to: number): void {
    if (to > from) this.#grows++;
    else if (to < from) this.#shrinks++;
  }

  /** The size a buffer of `size` bytes grows to under load: doubled, at most `max`. */
  grown(size: number): number {
    return Math.min(this.max, size * 2);
  }

  /**
   * At time `now`: when the window has lasted `quiet` ms, closes it and
   * returns the size a buffer of `size` bytes should shrink to (0 when it
   * should keep its size); 0 while the window is open.
   */
  shrinkTo(size: number, now: number): number {
    if (this.#since < 0) this.#since = now;
    if (now - this.#since < this.quiet) return 0;
    const want = this.fit(2 * this.#peak);
    this.#peak = 0;
    this.#since = now;
    return want < size ? want : 0;
  }

  /** The smallest power of two ≥ `n`, within `[min, max]`. */
  fit(n: number): number {
    let size = this.min;
    while (size < n && size < this.max) size *= 2;
    return Math.min(size, this.max);
  }
}

/**
 * One buffer's (or buffer pair's) size and resize counts.
 *
 * @example
 * ```ts
 * import type { BufferCounts } from "@x/nexus-ws";
 * const c: BufferCounts = { capacity: 2048, grows: 0, shrinks: 0 };
 * console.assert(c.capacity === 2048);
 * ```
 */
export interface BufferCounts {
  /** Bytes allocated now. */
  capacity: number;
  /** Times it grew (under load, or for a large message). */
  grows: number;
  /** Times it shrank back (after a quiet period). */
  shrinks: number;
}

/**
 * A connection's buffers: what `bufferStats` returns, for debugging and
 * tuning (see `docs/tuning.md`).
 *
 * @example
 * ```ts
 * import type { BufferStats } from "@x/nexus-ws";
 * const s: BufferStats = {
 *   receive: { capacity: 65536, grows: 5, shrinks: 0 },
 *   send: { capacity: 1024, grows: 0, shrinks: 0 },
 * };
 * console.assert(s.receive.grows === 5);
 * ```
 */
export interface BufferStats {
  /** The receive buffer. */
  receive: BufferCounts;
  /** The send buffers (two: one being written while the other fills), together. */
  send: BufferCounts;
}
