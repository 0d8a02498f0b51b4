/**
 * The heartbeat: dead-peer detection with pings. After `interval` ms
 * without a complete frame from the server it sends a ping; if no frame
 * comes within `timeout` ms after that ping, while a read is waiting on the
 * socket, the connection fails. A quiet but alive server always gets
 * `timeout` ms to answer a ping, so no setting fails it without a ping.
 *
 * @module
 */

import { TimeoutError } from "../errors.ts";
import { integer, type Rules } from "../options.ts";
import { MAX_TIMER_MS, overdue, Ticker } from "./ticker.ts";

/**
 * Heartbeat settings (see {@link ConnectOptions.heartbeat}). Times are
 * milliseconds.
 *
 * @example
 * ```ts
 * import type { HeartbeatOptions } from "@x/nexus-ws";
 * // a ping after 5 s of silence; dead if nothing answers within 3 s of it
 * const hb: HeartbeatOptions = { interval: 5000, timeout: 3000 };
 * console.assert(hb.interval === 5000);
 * ```
 */
export interface HeartbeatOptions {
  /** Send a ping after this many ms without receiving a complete frame. */
  interval: number;
  /**
   * Fail the connection ({@link TimeoutError}) when no frame (data, ping or
   * pong) arrives within this many ms after the ping. Default: `interval`.
   */
  timeout?: number;
}

/** The rules of {@link HeartbeatOptions}. */
export const HEARTBEAT_RULES: Rules = {
  interval: integer(1, MAX_TIMER_MS),
  timeout: integer(1, MAX_TIMER_MS),
};

/** What the heartbeat needs from its connection. */
export interface HeartbeatHooks {
  /** Complete frames received so far (any kind): the liveness counter. */
  frames(): number;
  /** When a read began waiting on the socket (`performance.now()`), 0 when none is. */
  waitingSince(): number;
  /** Sends a ping; `false` when it could not (e.g. too much buffered to send). */
  ping(): boolean;
  /** Fails the connection. */
  fail(error: TimeoutError): void;
}

/**
 * A running heartbeat. The timer ticks every quarter of the shorter time,
 * so a ping goes out within 1.25 × `interval` of the last frame and a dead
 * peer is caught within 1.25 × `timeout` of the ping. The timer does not
 * keep the process alive.
 */
export class Heartbeat extends Ticker {
  #interval: number;
  #timeout: number;
  #hooks: HeartbeatHooks;
  #frames: number;
  #lastRx: number; // when the frame counter was last seen moving
  #pingAt = 0; // when the outstanding ping was sent, 0 when none is

  /** Starts the timer. */
  constructor(options: HeartbeatOptions, hooks: HeartbeatHooks) {
    const timeout = options.timeout ?? options.interval;
    super(Math.min(options.interval, timeout) >> 2);
    this.#interval = options.interval;
    this.#timeout = timeout;
    this.#hooks = hooks;
    this.#frames = hooks.frames();
    this.#lastRx = performance.now();
  }

  protected tick(now: number): void {
    const h = this.#hooks;
    const frames = h.frames();
    if (frames !== this.#frames) {
      this.#frames = frames;
      this.#lastRx = now;
      this.#pingAt = 0;
    }
    if (this.#pingAt === 0) {
      if (now - this.#lastRx >= this.#interval && h.ping()) this.#pingAt = now;
      return;
    }
    if (overdue(now, this.#pingAt, h.waitingSince(), this.#timeout)) {
      this.stop();
      h.fail(
        new TimeoutError(
          `Expected a frame (data, ping or pong) within ${this.#timeout} ms of a ping, got none`,
        ),
      );
    }
  }
}
