/**
 * The staleness watchdog: fails a connection that delivers no data message
 * for `staleTimeout` ms while it is being read, even when the server still
 * answers pings (a feed whose subscription was silently dropped, a server
 * stuck upstream). A reconnecting feed then reconnects and re-subscribes.
 *
 * @module
 */

import { StaleFeedError } from "../errors.ts";
import { overdue, Ticker } from "./ticker.ts";

/** What the watchdog needs from its connection. */
export interface StaleHooks {
  /** Data messages received so far (application pings and answers not counted). */
  data(): number;
  /** When a read began waiting on the socket (`performance.now()`), 0 when none is. */
  waitingSince(): number;
  /** Fails the connection. */
  fail(error: StaleFeedError): void;
}

/**
 * A running watchdog. It ticks every quarter of `timeout`, so a stale feed
 * fails between `timeout` and 1.25 × `timeout` ms after its last data
 * message, counting only time during which a read waits on the socket (a
 * caller busy elsewhere does not make the feed look stale).
 */
export class StaleWatchdog extends Ticker {
  #timeout: number;
  #hooks: StaleHooks;
  #data: number;
  #lastData: number; // when the data counter was last seen moving

  /** Starts the timer. */
  constructor(timeout: number, hooks: StaleHooks) {
    super(timeout >> 2);
    this.#timeout = timeout;
    this.#hooks = hooks;
    this.#data = hooks.data();
    this.#lastData = performance.now();
  }

  protected tick(now: number): void {
    const h = this.#hooks;
    const data = h.data();
    if (data !== this.#data) {
      this.#data = data;
      this.#lastData = now;
    } else if (overdue(now, this.#lastData, h.waitingSince(), this.#timeout)) {
      this.stop();
      h.fail(new StaleFeedError(this.#timeout));
    }
  }
}
