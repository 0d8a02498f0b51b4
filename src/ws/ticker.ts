/**
 * `Ticker`: the periodic timer the liveness checks of a connection run on
 * (heartbeat, application heartbeat, staleness watchdog). It does not keep
 * the process alive.
 *
 * @module
 */

/** The longest delay `setTimeout` honours. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A timer calling {@link Ticker.tick} every `period` ms until
 * {@link Ticker.stop}. Subclasses check one liveness rule per tick.
 */
export abstract class Ticker {
  #timer: ReturnType<typeof setInterval> | undefined;

  /** Starts ticking every `period` ms (at least 1). */
  constructor(period: number) {
    this.#timer = setInterval(
      () => this.tick(performance.now()),
      Math.max(1, period),
    );
    Deno.unrefTimer(this.#timer);
  }

  /** Stops the timer. Idempotent. */
  stop(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One check, at `now` (`performance.now()`). */
  protected abstract tick(now: number): void;
}

/**
 * Whether a wait that began at `from` is overdue by `bound` ms at `now`,
 * counting only the time a read has been waiting on the socket
 * (`waitingSince`, 0 when none is): a caller busy elsewhere, who leaves
 * frames unread, does not make the peer look silent.
 */
export function overdue(
  now: number,
  from: number,
  waitingSince: number,
  bound: number,
): boolean {
  return waitingSince !== 0 && now - Math.max(from, waitingSince) >= bound;
}
