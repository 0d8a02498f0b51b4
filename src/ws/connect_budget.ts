/**
 * The connect budget: at most `attempts` connection attempts per `window`
 * ms to one host:port, shared by every reconnecting feed of the process.
 * After an outage, 50 feeds to one venue come back a few at a time instead
 * of opening 50 sockets at once (and getting the address banned).
 *
 * An attempt holds a slot from its start until `window` ms after it ended
 * (connected or failed). So at most `attempts` attempts run at once, and
 * any `window` ms span sees at most `attempts` of them reach the server,
 * whatever the network delays: the guarantee holds at the server's end, not
 * only at ours. A `Retry-After` from the host (a `429` or `503` answer to
 * the handshake) holds every slot until it has passed.
 *
 * @module
 */

import { check, integer, type Rules } from "../options.ts";
import { hostnameOf, portOf } from "../transport.ts";
import { MAX_TIMER_MS } from "./ticker.ts";

/**
 * A connect budget: at most `attempts` connection attempts per `window`
 * ms (see {@link setConnectBudget}).
 *
 * @example
 * ```ts
 * import type { ConnectBudgetOptions } from "@x/nexus-ws";
 * // OKX allows 3 connection requests per second per IP
 * const okx: ConnectBudgetOptions = { attempts: 3, window: 1000 };
 * console.assert(okx.attempts === 3);
 * ```
 */
export interface ConnectBudgetOptions {
  /** Most attempts per window (and at once). */
  attempts: number;
  /** The window, in ms, counted from the end of each attempt. */
  window: number;
}

/**
 * The state of one host's budget, from {@link connectBudgetStats}.
 *
 * @example
 * ```ts
 * import { connectBudgetStats } from "@x/nexus-ws";
 * const s = connectBudgetStats("stream.example.com:443");
 * console.assert(s.attempts === 10 && s.waiting === 0); // the default budget
 * ```
 */
export interface ConnectBudgetStats extends ConnectBudgetOptions {
  /** Attempts running now. */
  running: number;
  /** Attempts that ended less than `window` ms ago. */
  cooling: number;
  /** Attempts waiting for a slot. */
  waiting: number;
  /** Ms until a `Retry-After` from this host has passed (0: none pending). */
  heldFor: number;
  /** Attempts started through this budget so far. */
  started: number;
}

/** The budget a host gets unless {@link setConnectBudget} gave it one. */
const DEFAULT: ConnectBudgetOptions = { attempts: 10, window: 1000 };

const BUDGET_RULES: Rules = {
  attempts: integer(1),
  window: integer(0, MAX_TIMER_MS),
};

/** A slot taken from a budget: release it when the attempt has ended. */
export interface Slot {
  /** Ms the attempt waited for its slot. */
  readonly waited: number;
  /** The attempt has ended: the slot cools for `window` ms. Idempotent. */
  release(): void;
}

interface Waiter {
  resolve: (slot: Slot | null) => void;
  since: number;
}

/** One host's budget. */
class HostBudget {
  options: ConnectBudgetOptions;
  custom = false;
  #running = 0;
  #cooling: number[] = []; // when each cooling slot frees, ascending
  #waiters: Waiter[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #holdUntil = 0;
  #started = 0;

  constructor(options: ConnectBudgetOptions) {
    this.options = options;
  }

  /** Resolves with a slot, or `null` once `signal` aborts. */
  take(signal: AbortSignal): Promise<Slot | null> {
    if (signal.aborted) return Promise.resolve(null);
    return new Promise((resolve) => {
      const w: Waiter = { resolve, since: performance.now() };
      const onAbort = () => {
        const i = this.#waiters.indexOf(w);
        if (i >= 0) this.#waiters.splice(i, 1);
        this.#pump();
        resolve(null);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      w.resolve = (slot) => {
        signal.removeEventListener("abort", onAbort);
        resolve(slot);
      };
      this.#waiters.push(w);
      this.#pump();
    });
  }

  /** No slot is given before `until` (`performance.now()` time). */
  hold(until: number): void {
    if (until > this.#holdUntil) this.#holdUntil = until;
    this.#pump();
  }

  /** Re-checks the waiters after a change of settings. */
  changed(): void {
    this.#pump();
  }

  stats(): ConnectBudgetStats {
    const now = performance.now();
    this.#expire(now);
    return {
      ...this.options,
      running: this.#running,
      cooling: this.#cooling.length,
      waiting: this.#waiters.length,
      heldFor: Math.max(0, this.#holdUntil - now),
      started: this.#started,
    };
  }

  #expire(now: number): void {
    const c = this.#cooling;
    let i = 0;
    while (i < c.length && c[i] <= now) i++;
    if (i > 0) c.splice(0, i);
  }

  /** Gives free slots to waiters in order; arms the timer for the next one. */
  #pump(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const now = performance.now();
    this.#expire(now);
    const q = this.#waiters;
    while (
      q.length > 0 && now >= this.#holdUntil &&
      this.#running + this.#cooling.length < this.options.attempts
    ) {
      this.#give(q.shift()!, now);
    }
    if (q.length === 0) return;
    // Blocked: by a Retry-After, or by slots that free at a known time (a
    // running attempt frees its slot through release()).
    const wake = now < this.#holdUntil
      ? this.#holdUntil
      : this.#cooling.length > 0
      ? this.#cooling[0]
      : Infinity;
    if (wake === Infinity) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#pump();
    }, Math.min(MAX_TIMER_MS, Math.max(0, wake - now)));
  }

  #give(w: Waiter, now: number): void {
    this.#running++;
    this.#started++;
    let released = false;
    w.resolve({
      waited: now - w.since,
      release: () => {
        if (released) return;
        released = true;
        this.#running--;
        this.#cooling.push(performance.now() + this.options.window);
        this.#pump();
      },
    });
  }
}

const budgets = new Map<string, HostBudget>();
let defaults: ConnectBudgetOptions = DEFAULT;

/** `host:port` of a URL or of a `"host:port"` string. */
function keyOf(target: string | URL): string {
  let u: URL;
  try {
    u = target instanceof URL
      ? target
      : new URL(target.includes("://") ? target : `ws://${target}`);
  } catch {
    throw new TypeError(
      `Expected a URL or "host:port", got ${JSON.stringify(String(target))}`,
    );
  }
  // (the string's own port: the URL drops 80, ws:'s default)
  if (
    !(target instanceof URL) && !target.includes("://") && !/:\d+$/.test(target)
  ) {
    throw new TypeError(
      `Expected "host:port" with a port, got ${JSON.stringify(target)}`,
    );
  }
  return `${hostnameOf(u)}:${portOf(u)}`; // the URL lower-cases the name
}

/** The budget of `url`'s host:port (created with the defaults on first use). */
export function budgetFor(url: string | URL): {
  take(signal: AbortSignal): Promise<Slot | null>;
  hold(until: number): void;
} {
  const key = keyOf(url);
  let b = budgets.get(key);
  if (b === undefined) budgets.set(key, b = new HostBudget(defaults));
  return b;
}

/**
 * Sets the connect budget of one host:port, shared by every reconnecting
 * feed of this process that dials it: at most `attempts` connection
 * attempts per `window` ms, counted from the end of each attempt (so also
 * at most `attempts` at once). `target` is `"host:port"`, a URL (`ws:`,
 * `wss:`, `http:`, `https:`; its default port counts), or `"*"` for the
 * default of every host without its own budget (initially 10 attempts per
 * 1000 ms). `null` gives the host the default again. Applies at once,
 * also to attempts already waiting. Plain `connect()` calls are not
 * budgeted: they are the caller's own.
 *
 * @example
 * ```ts
 * import { connectBudgetStats, setConnectBudget } from "@x/nexus-ws";
 * setConnectBudget("wss://ws.okx.com:8443/ws/v5/public", { attempts: 3, window: 1000 });
 * console.assert(connectBudgetStats("ws.okx.com:8443").attempts === 3);
 * setConnectBudget("ws.okx.com:8443", null); // back to the default
 * ```
 */
export function setConnectBudget(
  target: string | URL,
  budget: ConnectBudgetOptions | null,
): void {
  if (budget !== null) {
    check(budget, BUDGET_RULES, "setConnectBudget()");
    for (const k of ["attempts", "window"] as const) {
      if (budget[k] === undefined) {
        throw new TypeError(
          `Expected option "${k}" of setConnectBudget() to be given, got undefined`,
        );
      }
    }
  }
  const options = budget === null ? null : { ...budget };
  if (target === "*") {
    defaults = options ?? DEFAULT;
    for (const b of budgets.values()) {
      if (!b.custom) {
        b.options = defaults;
        b.changed();
      }
    }
    return;
  }
  const key = keyOf(target);
  let b = budgets.get(key);
  if (b === undefined) budgets.set(key, b = new HostBudget(defaults));
  b.options = options ?? defaults;
  b.custom = options !== null;
  b.changed();
}

/**
 * The budget and its state for one host:port (`"host:port"` or a URL, as
 * for {@link setConnectBudget}).
 *
 * @example
 * ```ts
 * import { connectBudgetStats } from "@x/nexus-ws";
 * const { attempts, window, running, waiting } = connectBudgetStats("127.0.0.1:9");
 * console.assert(attempts > 0 && window >= 0 && running === 0 && waiting === 0);
 * ```
 */
export function connectBudgetStats(target: string | URL): ConnectBudgetStats {
  const b = budgets.get(keyOf(target));
  if (b !== undefined) return b.stats();
  return {
    ...defaults,
    running: 0,
    cooling: 0,
    waiting: 0,
    heldFor: 0,
    started: 0,
  };
}
