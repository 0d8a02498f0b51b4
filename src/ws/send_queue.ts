/**
 * `SendQueue`: the write side of a connection. Frames are encoded into one
 * buffer while the previous batch is being written from the other, so
 * frames from many tasks go out whole, in call order, in as few socket
 * writes as possible; sends over the `maxBufferedAmount` mark wait their
 * turn in call order instead of buffering without bound.
 *
 * @module
 */

import { WriteBuf } from "../codec/ws/frame_writer.ts";
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
 * The send side of one connection over a {@link Transport}. Encode a frame
 * into {@link SendQueue.out} when {@link SendQueue.admits} says so, then
 * {@link SendQueue.flush}; otherwise hand the encoding to
 * {@link SendQueue.wait}. A failed write rejects its batch and every
 * waiting send with what `onWriteError` makes of the cause.
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
  #out = new WriteBuf();
  #alt = new WriteBuf();
  #batch: Deferred | null = null;
  #writing = false;
  #inFlight = 0;
  #waiting: Waiting[] = [];
  #written = 0;
  #paceMs = 0; // 0: sends from now on are not paced
  #nextSlot = 0; // when the next paced send may be encoded
  #paceTimer: ReturnType<typeof setTimeout> | undefined;

  /** A queue writing to `transport`, holding at most `maxBufferedAmount` bytes. */
  constructor(
    transport: Transport,
    maxBufferedAmount: number,
    onWriteError: (cause: unknown) => Error,
  ) {
    this.#t = transport;
    this.#max = maxBufferedAmount;
    this.#onWriteError = onWriteError;
  }

  /** The buffer the next frames are encoded into. */
  get out(): WriteBuf {
    return this.#out;
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
        this.#pump();
      }
    } finally {
      this.#writing = false;
    }
  }
}
