/**
 * `SendQueue`: the write side of a connection. Frames are encoded into one
 * buffer while the previous batch is being written from the other, so
 * frames from many tasks go out whole, in call order, in as few socket
 * writes as possible; sends over the `maxBufferedAmount` mark wait their
 * turn in call order instead of buffering without bound. Both buffers
 * start small, grow for the frames they must hold and shrink back after a
 * quiet period.
 *
 * @module
 */

import { BufferSizer } from "../codec/buffer_sizer.ts";
import { WriteBuf } from "../codec/ws/frame_writer.ts";
import { DEFAULT_SHRINK_AFTER } from "../codec/read_buf.ts";
import { writeAll } from "../socket.ts";
import type { Transport } from "../transport.ts";

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (e: unknown) => void;
}

function deferred(): Deferred {
  const d = {} as Deferred;
  d.promise = new Promise<void>((res, rej) => {
    d.resolve = res;
    d.reject = rej;
  });
  d.promise.catch(() => {}); // a send nobody awaits must not become an unhandled rejection
  return d;
}

interface Waiting {
  encode: () => void;
  resolve: (p: Promise<void>) => void;
  reject: (e: unknown) => void;
  /** The pacing interval when it was queued (0: not paced): it waits for its slot. */
  pace: number;
}

/**
 * Bytes each of the two send buffers starts at and shrinks back to: room
 * for a ping, a pong or a close frame, small enough to live inside the JS
 * heap until the first write (a connection that never sends costs almost
 * nothing); the first larger message grows it.
 */
export const SEND_BUFFER_MIN = 64;

/**
 * Stands for a send buffer not made yet: always empty, never written to
 * ({@link SendQueue.out} replaces it before anything is encoded).
 */
const UNUSED = new WriteBuf(16);

/**
 * The send side of one connection over a {@link Transport}. Encode a frame
 * into {@link SendQueue.out} when {@link SendQueue.admits} says so, then
 * {@link SendQueue.flush}; otherwise hand the encoding to
 * {@link SendQueue.wait}. A failed write rejects its batch and every
 * waiting send with what `onWriteError` makes of the cause. The buffers
 * shrink back to {@link SEND_BUFFER_MIN} once `shrinkAfter` ms passed in
 * which the batches needed less ({@link SendQueue.trim}, also called after
 * each batch).
 *
 * Pacing ({@link SendQueue.pace}) spaces the sends that go through
 * `admits()` / `wait()` (the data messages) by a fixed interval: the first
 * goes at once, each later one waits for its slot, in call order. Frames
 * encoded straight into `out` (pongs, pings, close) are not paced.
 */
export class SendQueue {
  #t: Transport;
  #max: number;
  #onWriteError: (cause: unknown) => Error;
  // Both made on first use: a connection that never sends has none.
  #out: WriteBuf = UNUSED;
  #alt: WriteBuf = UNUSED;
  #sizer: BufferSizer | null = null; // made when a buffer first grows
  #shrinkAfter: number;
  #batch: Deferred | null = null;
  #writing = false;
  #inFlight = 0;
  #waiting: Waiting[] = [];
  #written = 0;
  #paceMs = 0; // 0: sends from now on are not paced
  #nextSlot = 0; // when the next paced send may be encoded
  #paceTimer: ReturnType<typeof setTimeout> | undefined;

  /**
   * A queue writing to `transport`, holding at most `maxBufferedAmount`
   * bytes, its buffers shrinking after `shrinkAfter` quiet ms.
   */
  constructor(
    transport: Transport,
    maxBufferedAmount: number,
    onWriteError: (cause: unknown) => Error,
    shrinkAfter?: number,
  ) {
    this.#t = transport;
    this.#max = maxBufferedAmount;
    this.#onWriteError = onWriteError;
    this.#shrinkAfter = shrinkAfter ?? DEFAULT_SHRINK_AFTER;
  }

  #sized(): BufferSizer {
    return this.#sizer ??= new BufferSizer(
      SEND_BUFFER_MIN,
      Number.MAX_SAFE_INTEGER,
      this.#shrinkAfter,
    );
  }

  /** Bytes of the two send buffers together. */
  get capacity(): number {
    const out = this.#out, alt = this.#alt;
    return (out === UNUSED ? 0 : out.bytes.length) +
      (alt === UNUSED ? 0 : alt.bytes.length);
  }
  /** Whether a buffer is larger than {@link SEND_BUFFER_MIN} (then {@link SendQueue.trim} has work). */
  get oversized(): boolean {
    return this.#out.bytes.length > SEND_BUFFER_MIN ||
      this.#alt.bytes.length > SEND_BUFFER_MIN;
  }
  /** Times a send buffer grew. */
  get grows(): number {
    return this.#out.grows + this.#alt.grows;
  }
  /** Times a send buffer shrank. */
  get shrinks(): number {
    return this.#out.shrinks + this.#alt.shrinks;
  }

  /**
   * At time `now` (ms): when a quiet window has passed, shrinks the idle
   * buffers that are larger than the window's batches needed. Does
   * nothing while both buffers are at their minimum.
   */
  trim(now: number): void {
    if (!this.oversized) return;
    const out = this.#out, alt = this.#alt;
    const size = Math.max(out.bytes.length, alt.bytes.length);
    const to = this.#sized().shrinkTo(size, now);
    if (to === 0) return;
    out.shrink(to); // only when nothing is pending in it
    if (this.#inFlight === 0) alt.shrink(to);
  }

  /** The buffer the next frames are encoded into. */
  get out(): WriteBuf {
    const out = this.#out;
    return out !== UNUSED ? out : this.#out = new WriteBuf(SEND_BUFFER_MIN);
  }

  /** Bytes encoded but not yet written (waiting sends are not counted). */
  get bufferedAmount(): number {
    return this.#out.length + this.#inFlight;
  }

  /** Bytes the transport accepted so far. */
  get written(): number {
    return this.#written;
  }

  /**
   * Whether a send may encode now: no one waiting, not over the mark, and
   * (when pacing) its slot has come, which it then takes.
   */
  admits(): boolean {
    return this.#waiting.length === 0 &&
      this.#out.length + this.#inFlight <= this.#max &&
      (this.#paceMs === 0 || this.#takeSlot(this.#paceMs));
  }

  /**
   * Spaces the sends made from now on by `interval` ms (0: no spacing for
   * sends made from now on; those already waiting keep their pace).
   */
  pace(interval: number): void {
    this.#paceMs = interval;
  }

  /** Takes the pacing slot if it has come; the next one is `interval` ms later. */
  #takeSlot(interval: number): boolean {
    const now = performance.now();
    if (now < this.#nextSlot) return false;
    this.#nextSlot = now + interval;
    return true;
  }

  /** Whether the buffered bytes are within the mark (pongs and pings check it). */
  underMark(): boolean {
    return this.#out.length + this.#inFlight <= this.#max;
  }

  /**
   * Queues the frames in {@link SendQueue.out} for writing; resolves when
   * the batch holding them is written.
   */
  flush(): Promise<void> {
    let b = this.#batch;
    if (b === null) b = this.#batch = deferred();
    if (!this.#writing) this.#writeLoop();
    return b.promise;
  }

  /**
   * Queues a send that must wait its turn: `encode` runs (appending its
   * frame to {@link SendQueue.out}) once every earlier send is encoded and
   * the buffered bytes are under the mark. Resolves once written.
   */
  wait(encode: () => void): Promise<void> {
    const pace = this.#paceMs;
    const p = new Promise<void>((resolve, reject) => {
      this.#waiting.push({ encode, resolve, reject, pace });
    });
    p.catch(() => {}); // a send nobody awaits must not become an unhandled rejection
    if (pace !== 0 && !this.#writing) this.#pump();
    return p;
  }

  /** Rejects every waiting send with `err` (e.g. nothing may follow a close frame). */
  rejectWaiting(err: unknown): void {
    if (this.#paceTimer !== undefined) {
      clearTimeout(this.#paceTimer);
      this.#paceTimer = undefined;
    }
    const q = this.#waiting;
    if (q.length === 0) return;
    this.#waiting = [];
    for (const job of q) job.reject(err);
  }

  /**
   * Lets waiting sends encode, in order, while under the mark; a paced one
   * whose slot has not come arms the pacing timer and stops the pump.
   */
  #pump(): void {
    const q = this.#waiting;
    while (q.length > 0 && this.underMark()) {
      const pace = q[0].pace;
      if (pace !== 0 && !this.#takeSlot(pace)) {
        this.#armPace();
        return;
      }
      const job = q.shift()!;
      try {
        job.encode();
        job.resolve(this.flush());
      } catch (err) {
        job.reject(err);
      }
    }
  }

  #armPace(): void {
    if (this.#paceTimer !== undefined) return;
    this.#paceTimer = setTimeout(() => {
      this.#paceTimer = undefined;
      if (!this.#writing) this.#pump();
    }, Math.max(0, this.#nextSlot - performance.now()));
  }

  async #writeLoop(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#out.length > 0) {
        const buf = this.#out, batch = this.#batch!;
        this.#out = this.#alt;
        this.#alt = buf;
        this.#batch = null;
        this.#inFlight = buf.length;
        try {
          if (buf.length > SEND_BUFFER_MIN) this.#sized().use(buf.length);
          await writeAll(this.#t, buf.bytes, buf.length);
          this.#written += buf.length;
          batch.resolve();
        } catch (cause) {
          const e = this.#onWriteError(cause);
          batch.reject(e);
          (this.#batch as Deferred | null)?.reject(e);
          this.#batch = null;
          this.#out.clear();
          this.rejectWaiting(e);
          return;
        } finally {
          buf.clear();
          this.#inFlight = 0;
        }
        if (this.oversized) this.trim(performance.now());
        this.#pump();
      }
    } finally {
      this.#writing = false;
    }
  }
}
