/**
 * `Ring`: a single-producer single-consumer ring of records over a
 * `SharedArrayBuffer`, lock-free, for handing messages between two
 * isolates (a Worker and the main thread) without copying them through
 * `postMessage`. Synchronous and without I/O: waiting for data or room is
 * the caller's (`Atomics.waitAsync` on {@link RING_WRITE} / {@link
 * RING_READ}, see `wait.ts`).
 *
 * Layout: a 256-byte header of `Int32` words, then `capacity` bytes of
 * records (a power of two). The producer owns the write position, the
 * consumer the read position (each on its own cache line); both count bytes
 * from the start and wrap at 2^32, a multiple of the capacity. A record is
 * an 8-byte header (payload length, kind) and its payload, padded to 8
 * bytes, always contiguous: when it does not fit before the end of the
 * ring, a {@link Kind.Wrap} header fills the rest and the record starts
 * again at 0. So a record of up to half the capacity always fits once the
 * consumer has caught up ({@link Ring.maxPayload}).
 *
 * Publishing is one `Atomics.store` of the write position (after the
 * record's bytes: the JS memory model orders them); releasing is one
 * `Atomics.store` of the read position. A side that is about to sleep sets
 * its waiting flag, and the other side calls `Atomics.notify` only when
 * that flag is set: nothing is paid for wake-ups nobody needs.
 *
 * @module
 */

/** Index (in `Int32` words) of the producer's write position. */
export const RING_WRITE = 0;
/** Index of the consumer's read position (another cache line). */
export const RING_READ = 16;
/** Index of the consumer's "waiting for data" flag. */
export const RING_CONSUMER_WAITING = 32;
/** Index of the producer's "waiting for room" flag. */
export const RING_PRODUCER_WAITING = 48;

const HEADER = 256; // bytes before the records
const REC = 8; // record header bytes

/** What a record carries. */
export const Kind = {
  /** Filler up to the end of the ring: the next record is at 0. */
  Wrap: 0,
  /** A text message (UTF-8). */
  Text: 1,
  /** A binary message. */
  Binary: 2,
  /** A control record (a ping, a close request, the connection's end). */
  Event: 3,
} as const;

/** The smallest ring: 1 KiB of records. */
export const MIN_RING = 1024;

/** Bytes a `SharedArrayBuffer` needs for a ring of `capacity` bytes. */
export function ringBytes(capacity: number): number {
  return HEADER + capacity;
}

/** Whether `n` is a power of two in `[MIN_RING, 2^30]`. */
export function isRingSize(n: number): boolean {
  return Number.isInteger(n) && n >= MIN_RING && n <= 2 ** 30 &&
    (n & (n - 1)) === 0;
}

const pad = (n: number) => (n + 7) & ~7;

/**
 * One end of a ring over `sab` (made with {@link ringBytes}). The producer
 * calls {@link Ring.reserve}, fills the payload, then {@link Ring.commit}
 * and {@link Ring.publish}; the consumer calls {@link Ring.peek}, reads the
 * record, then {@link Ring.release}. Each end must be used by one side
 * only.
 */
export class Ring {
  /** The shared memory, as bytes. */
  readonly bytes: Uint8Array;
  /** The shared memory, as `Int32` words (for the atomics). */
  readonly words: Int32Array;
  /** Bytes of records. */
  readonly capacity: number;
  #mask: number;
  // producer side: where the next record goes (published or not)
  #write = 0;
  #pending = 0; // start of the reserved record, -1 when none
  #len = 0;
  // consumer side: the record peeked, and where the next one starts
  #read = 0;
  #held = 0; // bytes of the peeked record, 0 when none
  /** Kind of the record {@link Ring.peek} found. */
  kind = 0;
  /** Index in {@link Ring.bytes} of its payload. */
  start = 0;
  /** Index one past its payload. */
  end = 0;

  /** The ring over `sab`, whose records take `sab.byteLength - 256` bytes. */
  constructor(sab: SharedArrayBuffer) {
    this.bytes = new Uint8Array(sab);
    this.words = new Int32Array(sab);
    this.capacity = sab.byteLength - HEADER;
    if (!isRingSize(this.capacity)) {
      throw new RangeError(
        `Expected a ring of a power of two bytes (at least ${MIN_RING}), got ${this.capacity}`,
      );
    }
    this.#mask = this.capacity - 1;
    this.#write = Atomics.load(this.words, RING_WRITE) >>> 0;
    this.#read = Atomics.load(this.words, RING_READ) >>> 0;
  }

  /** The largest payload a record may carry: half the ring less a header. */
  get maxPayload(): number {
    return (this.capacity >>> 1) - REC;
  }

  // --- producer ------------------------------------------------------------------

  /**
   * Reserves room for a record of `len` payload bytes; returns the index
   * in {@link Ring.bytes} where its payload goes, or -1 when the ring has
   * no room now (wait for the consumer, then try again). `len` must be at
   * most {@link Ring.maxPayload}.
   */
  reserve(len: number): number {
    const need = REC + pad(len);
    let w = this.#write;
    const pos = w & this.#mask;
    const toEnd = this.capacity - pos;
    const wrap = toEnd < need;
    const free = this.capacity -
      ((w - Atomics.load(this.words, RING_READ)) >>> 0);
    if (free < need + (wrap ? toEnd : 0)) return -1;
    if (wrap) {
      this.#header(pos, 0, Kind.Wrap);
      w = (w + toEnd) >>> 0;
    }
    this.#pending = w;
    this.#len = len;
    return HEADER + (w & this.#mask) + REC;
  }

  /**
   * Completes the reserved record as `kind` with `len` payload bytes (at
   * most what was reserved). Not visible to the consumer before
   * {@link Ring.publish}.
   */
  commit(kind: number, len: number = this.#len): void {
    const w = this.#pending;
    this.#header(w & this.#mask, len, kind);
    this.#write = (w + REC + pad(len)) >>> 0;
  }

  /** Makes every committed record visible; wakes the consumer if it sleeps. */
  publish(): void {
    const words = this.words;
    if (Atomics.load(words, RING_WRITE) === (this.#write | 0)) return;
    Atomics.store(words, RING_WRITE, this.#write | 0);
    if (Atomics.load(words, RING_CONSUMER_WAITING) !== 0) {
      Atomics.notify(words, RING_WRITE);
    }
  }

  /** Writes a whole record of `payload` (copied) if there is room; `false` otherwise. */
  write(kind: number, payload: Uint8Array): boolean {
    const at = this.reserve(payload.length);
    if (at < 0) return false;
    this.bytes.set(payload, at);
    this.commit(kind, payload.length);
    return true;
  }

  #header(pos: number, len: number, kind: number): void {
    const i = (HEADER + pos) >>> 2;
    this.words[i] = len;
    this.words[i + 1] = kind;
  }

  // --- consumer ------------------------------------------------------------------

  /**
   * Finds the next record: `true` with {@link Ring.kind},
   * {@link Ring.start} and {@link Ring.end} set, or `false` when the ring
   * is empty. The record stays in place (the producer cannot reuse its
   * bytes) until {@link Ring.release}.
   */
  peek(): boolean {
    if (this.#held !== 0) return true;
    const words = this.words;
    for (;;) {
      const r = this.#read;
      if (r === (Atomics.load(words, RING_WRITE) >>> 0)) return false;
      const pos = r & this.#mask;
      const i = (HEADER + pos) >>> 2;
      const kind = words[i + 1];
      if (kind === Kind.Wrap) {
        this.#read = (r + this.capacity - pos) >>> 0;
        continue;
      }
      const len = words[i];
      this.kind = kind;
      this.start = HEADER + pos + REC;
      this.end = this.start + len;
      this.#held = REC + pad(len);
      return true;
    }
  }

  /** Whether the producer has published a record not peeked yet (nothing is held). */
  available(): boolean {
    return this.#read !== (Atomics.load(this.words, RING_WRITE) >>> 0);
  }

  /** Gives the peeked record's bytes back to the producer (wakes it if it waits for room). */
  release(): void {
    if (this.#held === 0) return;
    this.#read = (this.#read + this.#held) >>> 0;
    this.#held = 0;
    const words = this.words;
    Atomics.store(words, RING_READ, this.#read | 0);
    if (Atomics.load(words, RING_PRODUCER_WAITING) !== 0) {
      Atomics.notify(words, RING_READ);
    }
  }

  /** Whether a record is peeked and not released. */
  get holding(): boolean {
    return this.#held !== 0;
  }
}
