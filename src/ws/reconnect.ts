/**
 * `reconnecting()`: a WebSocket feed that reconnects by itself, with
 * exponential backoff and jitter, and re-subscribes through a hook on every
 * new connection.
 *
 * @module
 */

import {
  CloseCode,
  ConnectionClosedError,
  HandshakeError,
  NetworkError,
  ProtocolError,
} from "../errors.ts";
import {
  check,
  func,
  nested,
  number,
  type Rule,
  type Rules,
  signal as signalRule,
} from "../options.ts";
import { closePayload } from "../codec/ws/frame_writer.ts";
import { retryAfter } from "../codec/http/retry_after.ts";
import { paceSends, type WsClient } from "./client.ts";
import { connect, CONNECT_RULES, type ConnectOptions } from "./connect.ts";
import type { SendOptions } from "./compression.ts";
import { budgetFor, type Slot } from "./connect_budget.ts";
import type { Message, OwnedMessage } from "./message.ts";
import type { WsStats } from "./stats.ts";

/**
 * How long to wait between reconnect attempts. Attempt `n` (1 for the first
 * attempt after a disconnect) waits `base = min(max, initial * factor **
 * (n - 1))` scaled down by jitter to a uniformly random value in
 * `[base * (1 - jitter), base]`, so no wait is ever longer than `max`. All
 * times are milliseconds.
 *
 * @example
 * ```ts
 * import type { BackoffOptions } from "@x/nexus-ws";
 * // 250 ms, 500 ms, 1 s, 2 s, 4 s, 5 s, 5 s... each minus up to 20 %.
 * const backoff: BackoffOptions = { initial: 250, max: 5_000, factor: 2, jitter: 0.2 };
 * console.assert(backoff.max! >= backoff.initial!);
 * ```
 */
export interface BackoffOptions {
  /** Wait before the first reconnect attempt. Default 100. */
  initial?: number;
  /** Longest wait, whatever the attempt count (must be ≥ `initial`). Default 10000. */
  max?: number;
  /** Growth per consecutive failed attempt (≥ 1). Default 2. */
  factor?: number;
  /** Fraction of the wait that is random, 0 (none) to 1 (full jitter). Default 0.5. */
  jitter?: number;
  /**
   * A connection that stayed open at least this long counts as healthy: when
   * it drops, the attempt count starts again from 1. A shorter-lived one
   * counts as a failed attempt, so a server that accepts and drops at once
   * is retried with growing waits, not hammered. Default 5000.
   */
  resetAfter?: number;
  /**
   * The wait after a close code listed in
   * {@link ReconnectOptions.slowCodes} ("back off longer": 1008 policy
   * violation, 1013 try again later): it starts here and grows by `factor`
   * up to `max(max, slowInitial)`, jitter applied. Default 5000.
   */
  slowInitial?: number;
  /**
   * The longest wait a `Retry-After` (on a `429` or `503` answer to the
   * handshake) may impose; a longer one is cut to this. Default 60000.
   */
  maxRetryAfter?: number;
}

/**
 * What {@link ReconnectOptions.onDisconnect} is told about each disconnect
 * and each failed connect attempt.
 *
 * @example
 * ```ts
 * import type { DisconnectInfo } from "@x/nexus-ws";
 * const log = (i: DisconnectInfo) =>
 *   `gen ${i.generation} closed ${i.code} ${i.error?.message ?? i.reason}; ` +
 *   (i.delay === null ? "stopping" : `attempt ${i.attempt} in ${i.delay} ms`);
 * console.assert(log({ generation: 1, connected: true, code: 1006, reason: "", clean: false,
 *   error: new Error("reset"), attempt: 1, delay: 80 }) === "gen 1 closed 1006 reset; attempt 1 in 80 ms");
 * ```
 */
export interface DisconnectInfo {
  /**
   * The feed's generation when this happened: the connection that ended
   * (when `connected`), or the last one that was established (0 for none).
   */
  generation: number;
  /**
   * `true`: an established connection ended. `false`: a connect attempt
   * failed (dial, TLS, handshake, or the `onConnect` hook).
   */
  connected: boolean;
  /**
   * The close code: the server's (1005 when its close frame had none), the
   * one the client failed the connection with (1002, 1007, 1009), or 1006
   * when there was no closing handshake (also for failed attempts).
   */
  code: number;
  /** The close reason the server sent, or `""`. */
  reason: string;
  /** Whether the closing handshake completed. */
  clean: boolean;
  /**
   * Why, when it was not a clean close: the error `recv()` or the connect
   * attempt rejected with ({@link ConnectionClosedError},
   * {@link ProtocolError}, `TimeoutError` from the heartbeat,
   * `HandshakeError`, `Deno.errors.ConnectionRefused`...), or what
   * `onConnect` threw. `null` for a clean close.
   */
  error: Error | null;
  /** The number of the reconnect attempt to come (1, 2, ... consecutive). */
  attempt: number;
  /**
   * Milliseconds until that attempt, or `null` when the feed stops instead:
   * the backoff (the longer one after a code in `slowCodes`), or the
   * `Retry-After` of a `429` / `503` handshake answer when that is longer
   * (bounded by `backoff.maxRetryAfter`).
   */
  delay: number | null;
}

/**
 * A snapshot of a {@link ReconnectingFeed}'s counters, from
 * {@link ReconnectingFeed.stats}. Times are milliseconds.
 *
 * @example
 * ```ts
 * import type { FeedStats } from "@x/nexus-ws";
 * const line = (s: FeedStats) =>
 *   `gen ${s.generation}, ${s.disconnects} drops ${JSON.stringify(s.reasons)}, up ${(s.connectedFor / 1000).toFixed(0)} s`;
 * console.assert(typeof line === "function");
 * ```
 */
export interface FeedStats {
  /** The current generation (connections established so far). */
  generation: number;
  /** Whether a connection is current now. */
  connected: boolean;
  /** Connect attempts started, successful or not. */
  attempts: number;
  /** Connect attempts that failed (URL function, dial, handshake, `onConnect`). */
  failedAttempts: number;
  /** Established connections that ended without the caller asking. */
  disconnects: number;
  /**
   * Disconnects and failed attempts by reason: `"close 1012"` (a close
   * code, or 1006 for a lost connection), `"handshake 429"`,
   * `"network connect"` (a `NetworkError`'s stage), `"protocol 1002"`, or
   * the error's name (`"TimeoutError"`, `"StaleFeedError"`,
   * `"AppHeartbeatTimeoutError"`, what `onConnect` threw...).
   */
  reasons: Record<string, number>;
  /** The last disconnect or failed attempt, as `onDisconnect` saw it. */
  lastDisconnect: DisconnectInfo | null;
  /** Time the current connection has been up (0 when there is none). */
  connectedFor: number;
  /** Time connected in total, over every generation. */
  uptime: number;
  /** Attempts that had to wait for the host's connect budget. */
  budgetWaits: number;
  /** Total time attempts waited for the host's connect budget. */
  budgetWaited: number;
  /** The current connection's own counters, or `null` when there is none. */
  ws: WsStats | null;
}

/**
 * Options for {@link reconnecting}. Times are milliseconds.
 *
 * @example
 * ```ts
 * import type { ReconnectOptions } from "@x/nexus-ws";
 * const options: ReconnectOptions = {
 *   connect: { heartbeat: { interval: 5_000, timeout: 15_000 } },
 *   onConnect: (ws) => ws.sendText('{"op":"subscribe","channel":"ticker"}'),
 *   onDisconnect: (info) => console.error(`disconnected: ${info.code}`),
 *   backoff: { initial: 100, max: 10_000 },
 *   finalCodes: [4001, 4003],
 * };
 * console.assert(options.maxAttempts === undefined);
 * ```
 */
export interface ReconnectOptions {
  /**
   * Options for every {@link connect} the feed makes (its `signal`, if any,
   * aborts connect attempts only). `transport` is refused (`TypeError`): a
   * transport cannot be reused for the next connection.
   */
  connect?: ConnectOptions;
  /**
   * Runs on every new connection before any of its messages is returned,
   * e.g. to log in and subscribe. It may send on `ws`, and may `ws.recv()`
   * to wait for an acknowledgement (messages it reads are not seen by the
   * feed). If it throws or rejects, the connection is terminated and counts
   * as a failed attempt. `info.generation` is the generation the connection
   * will have; `info.attempt` how many attempts failed in a row before this
   * one (0 on a first try).
   */
  onConnect?: (
    ws: WsClient,
    info: { generation: number; attempt: number },
  ) => void | Promise<void>;
  /**
   * Called (synchronously, inside `recv()`) for each disconnect the caller
   * did not ask for, and for each failed connect attempt, before the wait.
   * Throwing from it stops the feed: `recv()` rejects with what it threw.
   * That is the way to give up on conditions of your own (e.g. a
   * `HandshakeError` with status 401).
   */
  onDisconnect?: (info: DisconnectInfo) => void;
  /** Waits between attempts; see {@link BackoffOptions} for the defaults. */
  backoff?: BackoffOptions;
  /**
   * Close codes that stop the feed instead of reconnecting (e.g. 4001 for
   * "bad credentials" in your protocol): `recv()` then rejects with a
   * {@link ConnectionClosedError} carrying the code and reason. Integers in
   * 1000..4999. Default none.
   */
  finalCodes?: Iterable<number>;
  /**
   * Most consecutive failed reconnect attempts before the feed gives up and
   * `recv()` rejects with the last error (0: never reconnect). Default
   * `Infinity`.
   */
  maxAttempts?: number;
  /**
   * Most connect attempts before the feed has ever connected: when the
   * first connection cannot be made in this many tries, the feed stops and
   * `recv()` rejects with the last attempt's error (a `NetworkError` naming
   * the host and port, a `HandshakeError`...). Default 3 (with the default
   * backoff, about 0.3 s for a refused connection), so a wrong URL, port or
   * token surfaces at once instead of looking like a quiet feed. Set
   * `Infinity` to wait for a server that may not be up yet (and log the
   * failures in `onDisconnect`). Once connected, only `maxAttempts` bounds
   * the retries. A handshake answered `429` / `503` with `Retry-After`
   * does not stop the feed here: the server is there and asked to wait.
   */
  initialAttempts?: number;
  /**
   * Close codes after which the feed backs off longer before reconnecting
   * (`backoff.slowInitial`, default 5 s, growing), e.g. `[1008, 1013]`:
   * a server that closed for a rate limit or overload should not be
   * called back at once. Integers in 1000..4999. Default none.
   */
  slowCodes?: Iterable<number>;
  /**
   * Paces re-subscription: the text and binary messages `onConnect` sends
   * on its `ws` are spread at this many per second (the first goes at
   * once, each later one waits for its slot; its promise resolves when it
   * is written). Sends still waiting when `onConnect` returns keep their
   * pace; sends made after it are not paced. Pings and pongs are never
   * paced. Default: not paced.
   */
  subscribeRate?: number;
  /**
   * Stops the feed: the current connection is closed (code 1000), a pending
   * wait or connect attempt is cancelled, and `recv()` rejects with the
   * signal's reason.
   */
  signal?: AbortSignal;
}

/**
 * The wait before reconnect attempt `attempt` (1-based) under `backoff`
 * (defaults as in {@link BackoffOptions}); `random` returns a number in
 * `[0, 1)` and defaults to `Math.random`. Exported for tests and for
 * callers who schedule their own retries.
 *
 * @example
 * ```ts
 * import { backoffDelay } from "./reconnect.ts";
 * const b = { initial: 100, max: 1_000, factor: 2, jitter: 0.5 };
 * console.assert(backoffDelay(1, b, () => 0) === 100); // no jitter drawn
 * console.assert(backoffDelay(3, b, () => 0.999) >= 200); // 400 minus at most half
 * console.assert(backoffDelay(50, b) <= 1_000); // bounded by max
 * ```
 */
export function backoffDelay(
  attempt: number,
  backoff: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  if (!Number.isInteger(attempt) || attempt < 1) {
    throw new RangeError(
      `Expected attempt to be an integer >= 1, got ${attempt}`,
    );
  }
  const b = checkBackoff(backoff);
  return delayOf(attempt, b, random);
}

interface Backoff {
  initial: number;
  max: number;
  factor: number;
  jitter: number;
  resetAfter: number;
  /** The schedule after a slow code. */
  slow: { initial: number; max: number; factor: number; jitter: number };
  maxRetryAfter: number;
}

function delayOf(
  attempt: number,
  b: { initial: number; max: number; factor: number; jitter: number },
  random: () => number,
): number {
  const base = Math.min(b.max, b.initial * b.factor ** (attempt - 1));
  return Math.round(base * (1 - b.jitter * random()));
}

const BACKOFF_RULES: Rules = {
  initial: number(0),
  max: number(0),
  factor: number(1, 1e6),
  jitter: number(0, 1),
  resetAfter: number(0),
  slowInitial: number(0),
  maxRetryAfter: number(0),
};

function checkBackoff(o: BackoffOptions): Backoff {
  check(o, BACKOFF_RULES, "backoff");
  const initial = o.initial ?? 100;
  const max = o.max ?? Math.max(10_000, initial);
  if (max < initial) {
    throw new RangeError(
      `Expected backoff.max >= backoff.initial (${initial}), got ${max}`,
    );
  }
  const factor = o.factor ?? 2, jitter = o.jitter ?? 0.5;
  const slowInitial = o.slowInitial ?? 5000;
  return {
    initial,
    max,
    factor,
    jitter,
    resetAfter: o.resetAfter ?? 5000,
    slow: {
      initial: slowInitial,
      max: Math.max(max, slowInitial),
      factor,
      jitter,
    },
    maxRetryAfter: o.maxRetryAfter ?? 60_000,
  };
}

/** A count of attempts: an integer >= 0, or `Infinity`. */
const attempts: Rule = (v, name) => {
  number(0, Infinity)(v, name);
  if (v !== Infinity && !Number.isInteger(v)) {
    throw new RangeError(
      `Expected option "${name}" to be an integer >= 0 or Infinity, got ${v}`,
    );
  }
};

/** Close codes: an iterable of integers in 1000..4999. */
const closeCodes: Rule = (v, name) => {
  if (
    v === null || typeof v !== "object" ||
    typeof (v as Iterable<unknown>)[Symbol.iterator] !== "function"
  ) {
    throw new TypeError(
      `Expected option "${name}" to be an iterable of close codes, got ${typeof v}`,
    );
  }
  for (const c of v as Iterable<unknown>) {
    if (typeof c !== "number" || !Number.isInteger(c) || c < 1000 || c > 4999) {
      throw new RangeError(
        `Expected option "${name}" to hold integers in 1000..4999, got ${c}`,
      );
    }
  }
};

/** `connect` options for every attempt: those of `connect()`, but no transport. */
const connectOptions: Rule = (v, name) => {
  check(v, CONNECT_RULES, name);
  if ((v as ConnectOptions).transport !== undefined) {
    throw new TypeError(
      `Expected no option "${name}.transport" (a reconnecting feed dials each connection itself), got one`,
    );
  }
};

const RECONNECT_RULES: Rules = {
  connect: connectOptions,
  onConnect: func,
  onDisconnect: func,
  backoff: nested(BACKOFF_RULES),
  finalCodes: closeCodes,
  slowCodes: closeCodes,
  subscribeRate: number(Number.MIN_VALUE, 1e6),
  maxAttempts: attempts,
  initialAttempts: attempts,
  signal: signalRule,
};

/**
 * Where a {@link ReconnectingFeed} connects: a `ws:` / `wss:` URL (`http:` /
 * `https:` are mapped to them), or a function called before every attempt
 * that returns one (it may be async, e.g. to fetch a fresh token or pick
 * another server; if it throws, the attempt counts as failed).
 *
 * @example
 * ```ts
 * import type { FeedUrl } from "@x/nexus-ws";
 * const servers = ["wss://a.example.com/ws", "wss://b.example.com/ws"];
 * let i = 0;
 * const url: FeedUrl = () => servers[i++ % servers.length]; // round-robin
 * console.assert(typeof url === "function");
 * ```
 */
export type FeedUrl =
  | string
  | URL
  | (() => string | URL | Promise<string | URL>);

function checkUrl(u: string | URL): void {
  const url = new URL(u); // TypeError for an invalid URL
  if (!["ws:", "wss:", "http:", "https:"].includes(url.protocol)) {
    throw new TypeError(
      `Expected a ws:, wss:, http: or https: URL, got "${url.protocol}"`,
    );
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted || ms <= 0) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** Reads `ws` to its end, discarding messages and the outcome. */
async function drain(ws: WsClient): Promise<void> {
  try {
    while ((await ws.recv()) !== null) { /* discard */ }
  } catch { /* the outcome is in closeCode */ }
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

/** What stopped the feed: the caller's `close()` (recv() gives null) or an error. */
type Stop = { closed: true } | { closed: false; error: unknown };

/** The key of a disconnect in {@link FeedStats.reasons}. */
function reasonOf(code: number, error: Error | null): string {
  if (error === null || error instanceof ConnectionClosedError) {
    return `close ${code}`;
  }
  if (error instanceof HandshakeError) return `handshake ${error.status}`;
  if (error instanceof NetworkError) return `network ${error.stage}`;
  if (error instanceof ProtocolError) return `protocol ${error.code}`;
  return error.name;
}

/**
 * The wait a `429` / `503` handshake answer asks for (its `Retry-After`),
 * or `undefined`.
 */
function retryAfterOf(e: unknown): number | undefined {
  if (
    !(e instanceof HandshakeError) || (e.status !== 429 && e.status !== 503)
  ) {
    return undefined;
  }
  const v = e.headers.get("retry-after");
  return v === null ? undefined : retryAfter(v, Date.now()) ?? undefined;
}

/** The feed's counters (see {@link FeedStats}). */
class FeedCounters {
  attempts = 0;
  failedAttempts = 0;
  disconnects = 0;
  reasons: Record<string, number> = {};
  last: DisconnectInfo | null = null;
  uptime = 0; // of the connections that ended
  budgetWaits = 0;
  budgetWaited = 0;
}

/**
 * A WebSocket feed that survives disconnects: get one from
 * {@link reconnecting}. Read it with {@link ReconnectingFeed.recv} (the
 * fast, borrowed path, exactly like {@link WsClient.recv}) or `for await`
 * (owned copies). Reconnection happens inside `recv()`: when the current
 * connection ends, `recv()` reports the disconnect, waits the backoff,
 * connects, runs `onConnect`, and goes on with the new connection's
 * messages. So the caller only ever reads one connection at a time, every
 * message of the old connection comes before any of the new one, and
 * {@link ReconnectingFeed.generation} (read after `recv()` resolves) says
 * which connection a message came from. A feed nobody reads does not notice
 * disconnects.
 *
 * Sends go to the current connection. While there is none (between a
 * disconnect and the next connection) they throw
 * {@link ConnectionClosedError}: nothing is queued for a later connection,
 * so an order is never sent twice or late without the caller knowing.
 *
 * @example
 * ```ts ignore
 * import { reconnecting } from "@x/nexus-ws";
 * const feed = reconnecting("wss://stream.example.com/ws", {
 *   onConnect: (ws) => ws.sendText('{"op":"subscribe","channel":"BTC-USD"}'),
 *   onDisconnect: (i) => console.error(`lost (${i.code}), retry in ${i.delay} ms`),
 *   finalCodes: [4001],
 * });
 * for (let m = await feed.recv(); m !== null; m = await feed.recv()) {
 *   handle(feed.generation, m.data); // borrowed until the next recv()
 * }
 * ```
 */
export class ReconnectingFeed implements AsyncIterable<OwnedMessage> {
  #url: FeedUrl;
  #connectOptions: ConnectOptions;
  #onConnect: ReconnectOptions["onConnect"];
  #onDisconnect: ReconnectOptions["onDisconnect"];
  #backoff: Backoff;
  #finalCodes: Set<number>;
  #slowCodes: Set<number>;
  #paceMs: number; // 0: onConnect's sends are not paced
  #maxAttempts: number;
  #initialAttempts: number;
  #signal: AbortSignal | undefined;
  #onAbort: (() => void) | undefined;
  #ac = new AbortController(); // aborted when the feed stops
  #ws: WsClient | null = null;
  #pending: WsClient | null = null; // connected, running onConnect
  #generation = 0;
  #attempt = 0; // consecutive failed attempts
  #delay = 0; // wait before the next connect attempt
  #openedAt = 0;
  #reading = false;
  #stop: Stop | null = null;
  #closing: Promise<void> | null = null;
  #dialing: Promise<unknown> | null = null; // connect() in flight
  #n = new FeedCounters();

  /**
   * Created by {@link reconnecting}.
   *
   * @ignore
   */
  constructor(url: FeedUrl, options: ReconnectOptions) {
    check(options, RECONNECT_RULES, "reconnecting()");
    if (typeof url === "string" || url instanceof URL) checkUrl(url);
    else if (typeof url !== "function") {
      throw new TypeError(
        `Expected a URL or a function returning one, got ${typeof url}`,
      );
    }
    const co = options.connect ?? {};
    const signal = options.signal;
    this.#url = url;
    this.#connectOptions = co;
    this.#onConnect = options.onConnect;
    this.#onDisconnect = options.onDisconnect;
    this.#backoff = checkBackoff(options.backoff ?? {});
    this.#finalCodes = new Set(options.finalCodes ?? []);
    this.#slowCodes = new Set(options.slowCodes ?? []);
    this.#paceMs = options.subscribeRate === undefined
      ? 0
      : 1000 / options.subscribeRate;
    this.#maxAttempts = options.maxAttempts ?? Infinity;
    this.#initialAttempts = options.initialAttempts ?? 3;
    this.#signal = signal;
    if (signal?.aborted) {
      this.#stop = { closed: false, error: signal.reason };
      this.#ac.abort();
    } else if (signal !== undefined) {
      this.#onAbort = () =>
        this.#shutdown({ closed: false, error: signal.reason }, 1000, "");
      signal.addEventListener("abort", this.#onAbort, { once: true });
    }
  }

  /**
   * How many connections have been established so far; the current one's
   * number. 0 before the first `recv()` connected. It changes only inside
   * `recv()`, just before the first message of a new connection can be
   * returned.
   */
  get generation(): number {
    return this.#generation;
  }

  /**
   * The current connection (the one `recv()` reads), or `null` while there
   * is none: before the first connection, between a disconnect and the next
   * connection, and once the feed has stopped. Use it for what the feed
   * does not wrap (`protocol`, `bufferedAmount`, `writable`...), but do not
   * `recv()` from it: that would take messages from the feed.
   */
  get ws(): WsClient | null {
    return this.#ws;
  }

  /** Consecutive failed connect attempts since the last healthy connection. */
  get attempt(): number {
    return this.#attempt;
  }

  /** Whether the feed has stopped (closed, aborted, final code, gave up). */
  get stopped(): boolean {
    return this.#stop !== null;
  }

  /**
   * A snapshot of the feed's counters (see {@link FeedStats}), with the
   * current connection's {@link WsClient.stats} as `ws`.
   */
  stats(): FeedStats {
    const n = this.#n, ws = this.#ws;
    const connectedFor = ws === null ? 0 : performance.now() - this.#openedAt;
    return {
      generation: this.#generation,
      connected: ws !== null,
      attempts: n.attempts,
      failedAttempts: n.failedAttempts,
      disconnects: n.disconnects,
      reasons: { ...n.reasons },
      lastDisconnect: n.last === null ? null : { ...n.last },
      connectedFor,
      uptime: n.uptime + connectedFor,
      budgetWaits: n.budgetWaits,
      budgetWaited: n.budgetWaited,
      ws: ws === null ? null : ws.stats(),
    };
  }

  /**
   * Receives the next message, from whichever connection is current,
   * connecting or reconnecting first when needed. Resolves with a borrowed
   * {@link Message} (valid until the next `recv()`), or `null` once the
   * caller closed the feed. Rejects with the signal's reason when aborted,
   * a {@link ConnectionClosedError} for a close code in `finalCodes`, the
   * last error when `maxAttempts` ran out, what `onDisconnect` threw, or a
   * `TypeError` / `RangeError` that `connect()` raised for bad options or a
   * bad URL (those are bugs, not outages, and are not retried). Once
   * stopped, every `recv()` gives the same outcome. One `recv()` at a time
   * (`TypeError` otherwise).
   */
  async recv(): Promise<Message | null> {
    if (this.#reading) {
      throw new TypeError(
        "Expected one recv() at a time, got a second call while one is pending",
      );
    }
    this.#reading = true;
    try {
      for (;;) {
        if (this.#stop !== null) {
          await this.#closing;
          if (!this.#stop.closed) throw this.#stop.error;
          return null;
        }
        const ws = this.#ws;
        if (ws === null) {
          await this.#connect();
          continue;
        }
        let msg: Message | null = null;
        let error: Error | null = null;
        try {
          msg = await ws.recv();
        } catch (e) {
          error = asError(e);
        }
        if (this.#stop !== null) {
          // Stopped while this read was pending: the connection's close()
          // left the reading to it, so read on to the end (discarding), and
          // give the feed's outcome, not a message after close().
          if (msg !== null) await drain(ws);
          continue;
        }
        if (msg !== null) return msg;
        if (!ws.closed) {
          // recv() refused the call (someone else is reading feed.ws): a bug.
          if (error instanceof TypeError) throw error;
          ws.terminate();
        }
        this.#ws = null;
        let code = ws.closeCode, reason = ws.closeReason;
        if (
          error instanceof ConnectionClosedError ||
          error instanceof ProtocolError
        ) {
          code = error.code;
          if (error instanceof ConnectionClosedError) reason = error.reason;
        }
        const up = performance.now() - this.#openedAt;
        this.#n.uptime += up;
        this.#n.disconnects++;
        if (up >= this.#backoff.resetAfter) this.#attempt = 0;
        this.#disconnected({
          generation: this.#generation,
          connected: true,
          code,
          reason,
          clean: error === null,
          error,
        });
      }
    } finally {
      this.#reading = false;
    }
  }

  /**
   * Owned iteration: yields an {@link OwnedMessage} copy of each message,
   * across reconnects, until the feed is closed; throws what `recv()`
   * throws. One allocation and one copy per message more than `recv()`.
   * Leaving the loop early closes the feed.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<
    OwnedMessage,
    void,
    undefined
  > {
    try {
      for (let m = await this.recv(); m !== null; m = await this.recv()) {
        yield m.toOwned();
      }
    } finally {
      await this.close();
    }
  }

  /** Sends a text message on the current connection (see the class doc for when there is none). */
  sendText(text: string, options?: SendOptions): Promise<void> {
    return this.#current().sendText(text, options);
  }

  /** Sends a binary message on the current connection. */
  sendBinary(data: Uint8Array, options?: SendOptions): Promise<void> {
    return this.#current().sendBinary(data, options);
  }

  /** Sends a ping on the current connection. */
  ping(data?: Uint8Array): Promise<void> {
    return this.#current().ping(data);
  }

  /**
   * Stops the feed: no more reconnects, a pending wait or connect attempt is
   * cancelled, the current connection is closed with `code` / `reason`
   * (default 1000) and a pending `recv()` resolves with `null`. Resolves
   * once the connection is closed. Idempotent; `onDisconnect` is not
   * called. Bad code or reason: `RangeError`.
   */
  close(code?: number, reason?: string): Promise<void> {
    code ??= CloseCode.Normal;
    reason ??= "";
    if (this.#stop === null) {
      // Validates code and reason exactly as WsClient.close() would.
      closePayload(code, reason);
      this.#shutdown({ closed: true }, code, reason);
    }
    return this.#closing ?? Promise.resolve();
  }

  /** Same as {@link ReconnectingFeed.close} with no arguments, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #current(): WsClient {
    if (this.#stop !== null) {
      if (this.#stop.closed) {
        throw new TypeError(
          "Expected an open feed, got one the caller already closed",
        );
      }
      throw this.#stop.error;
    }
    if (this.#ws === null) {
      throw new ConnectionClosedError(
        1006,
        "",
        false,
        `Expected a current connection, got none (${
          this.#generation === 0 ? "not connected yet" : "reconnecting"
        }); nothing was sent`,
      );
    }
    return this.#ws;
  }

  #shutdown(stop: Stop, code: number, reason: string): void {
    if (this.#stop !== null) return;
    this.#stop = stop;
    if (this.#onAbort !== undefined) {
      this.#signal!.removeEventListener("abort", this.#onAbort);
      this.#onAbort = undefined;
    }
    this.#ac.abort();
    const ws = this.#ws, pending = this.#pending;
    if (ws !== null) this.#n.uptime += performance.now() - this.#openedAt;
    this.#ws = null;
    pending?.terminate();
    this.#closing = Promise.all([
      ws?.close(code, reason),
      this.#dialing,
    ]).then(() => {});
  }

  /**
   * Records a disconnect or failed attempt: reports it, then schedules the
   * next attempt or stops. `wanted` is the wait the server asked for (a
   * `Retry-After`, already bounded), `undefined` when it asked none: a
   * server that asks to wait exists, so that attempt does not count toward
   * `initialAttempts` (only `maxAttempts` bounds those).
   */
  #disconnected(
    info: Omit<DisconnectInfo, "attempt" | "delay">,
    wanted?: number,
  ): void {
    const attempt = ++this.#attempt;
    const n = this.#n;
    const reason = reasonOf(info.code, info.error);
    n.reasons[reason] = (n.reasons[reason] ?? 0) + 1;
    let stop: Stop | null = null;
    if (this.#finalCodes.has(info.code)) {
      const e = new ConnectionClosedError(
        info.code,
        info.reason,
        info.clean,
        `Connection closed with code ${info.code}${
          info.reason ? ` ("${info.reason}")` : ""
        }, which finalCodes marks as final`,
        info.error === null ? undefined : { cause: info.error },
      );
      stop = { closed: false, error: e };
    } else if (
      attempt > this.#maxAttempts ||
      (this.#generation === 0 && attempt >= this.#initialAttempts &&
        wanted === undefined)
    ) {
      stop = {
        closed: false,
        error: info.error ??
          new ConnectionClosedError(info.code, info.reason, info.clean),
      };
    }
    const b = this.#backoff;
    const delay = stop === null
      ? Math.max(
        wanted ?? 0,
        delayOf(
          attempt,
          this.#slowCodes.has(info.code) ? b.slow : b,
          Math.random,
        ),
      )
      : null;
    n.last = { ...info, attempt, delay };
    try {
      this.#onDisconnect?.({ ...info, attempt, delay });
    } catch (e) {
      stop = { closed: false, error: e };
    }
    if (stop !== null) this.#shutdown(stop, 1000, "");
    else this.#delay = delay!;
  }

  /** One connect attempt (after the scheduled wait); on success the connection becomes current. */
  async #connect(): Promise<void> {
    const signal = this.#ac.signal;
    await sleep(this.#delay, signal);
    if (signal.aborted) return;
    this.#n.attempts++;
    const failed = (e: unknown, ws?: WsClient, wanted?: number) => {
      const closed = ws?.closed ?? false;
      this.#n.failedAttempts++;
      this.#disconnected({
        generation: this.#generation,
        connected: false,
        code: closed ? ws!.closeCode : 1006,
        reason: closed ? ws!.closeReason : "",
        clean: false,
        error: asError(e),
      }, wanted);
    };
    let u: string | URL;
    try {
      u = typeof this.#url === "function" ? await this.#url() : this.#url;
    } catch (e) {
      if (!signal.aborted) failed(e); // e.g. a token service that is down
      return;
    }
    if (signal.aborted) return;
    let ws: WsClient;
    let slot: Slot | null = null;
    let budget: ReturnType<typeof budgetFor> | undefined;
    try {
      if (typeof this.#url === "function") checkUrl(u);
      budget = budgetFor(u);
      slot = await budget.take(signal);
      if (slot === null) return; // aborted while waiting for the budget
      this.#budgetWait(slot);
      const own = this.#connectOptions.signal;
      const dialing = connect(u, {
        ...this.#connectOptions,
        signal: own === undefined ? signal : AbortSignal.any([signal, own]),
      });
      this.#dialing = dialing.catch(() => {});
      ws = await dialing;
    } catch (e) {
      if (signal.aborted) return;
      // Refused arguments are a bug in the caller, not an outage: stop.
      if (e instanceof TypeError || e instanceof RangeError) {
        this.#shutdown({ closed: false, error: e }, 1000, "");
      } else {
        failed(e, undefined, this.#retryAfter(e, budget));
      }
      return;
    } finally {
      slot?.release();
      this.#dialing = null;
    }
    if (signal.aborted) {
      ws.terminate();
      return;
    }
    if (this.#onConnect !== undefined) {
      this.#pending = ws;
      if (this.#paceMs > 0) paceSends(ws, this.#paceMs);
      try {
        await this.#onConnect(ws, {
          generation: this.#generation + 1,
          attempt: this.#attempt,
        });
      } catch (e) {
        if (!signal.aborted) failed(e, ws);
        ws.terminate();
        return;
      } finally {
        this.#pending = null;
        if (this.#paceMs > 0) paceSends(ws, 0);
      }
      if (signal.aborted) {
        ws.terminate();
        return;
      }
    }
    this.#ws = ws;
    this.#generation++;
    this.#openedAt = performance.now();
    this.#delay = 0;
  }

  #budgetWait(slot: Slot): void {
    const n = this.#n;
    if (slot.waited > 0) {
      n.budgetWaits++;
      n.budgetWaited += slot.waited;
    }
  }

  /**
   * The wait a `429` / `503` answer asked for (bounded by
   * `backoff.maxRetryAfter`), also held on the host's budget so that no
   * feed dials the host before it has passed; `undefined` when none was
   * asked.
   */
  #retryAfter(
    e: unknown,
    budget: ReturnType<typeof budgetFor> | undefined,
  ): number | undefined {
    const asked = retryAfterOf(e);
    if (asked === undefined) return undefined;
    const wait = Math.min(asked, this.#backoff.maxRetryAfter);
    budget?.hold(performance.now() + wait);
    return wait;
  }
}

/**
 * Opens a reconnecting feed: the obvious way to run a market-data feed.
 * Give it the URL (or a function returning one, called before every
 * attempt, e.g. to pick a server or fetch a fresh token) and an `onConnect`
 * hook that subscribes; read with `recv()` as from a single connection.
 * Returns at once, without connecting: the first `recv()` connects. Bad
 * arguments throw `TypeError` / `RangeError` here.
 *
 * Policy in short: every disconnect and failed attempt goes to
 * `onDisconnect` with its code, reason and error; waits grow exponentially
 * with jitter, bounded by `backoff.max`; the feed stops on
 * `close()`, on `signal`, on a close code in `finalCodes`, after
 * `maxAttempts` consecutive failures, or when `onDisconnect` throws.
 *
 * Rate-aware: every attempt waits for its host's connect budget (shared by
 * all feeds of the process, see {@link setConnectBudget}); a `429` / `503`
 * handshake answer's `Retry-After` is honoured (and held for every feed to
 * that host); close codes in `slowCodes` back off longer; `subscribeRate`
 * paces what `onConnect` sends. `feed.stats()` counts it all.
 *
 * @example Subscribe, reconnect, stop on a final code or Ctrl-C
 * ```ts ignore
 * import { reconnecting } from "@x/nexus-ws";
 * const ac = new AbortController();
 * Deno.addSignalListener("SIGINT", () => ac.abort());
 * const feed = reconnecting(() => `wss://stream.example.com/ws?token=${getToken()}`, {
 *   connect: { heartbeat: { interval: 5_000, timeout: 15_000 } },
 *   onConnect: async (ws, { generation }) => {
 *     await ws.sendText(JSON.stringify({ op: "subscribe", channels: ["BTC-USD"] }));
 *     console.error(`connection ${generation} subscribed`);
 *   },
 *   onDisconnect: ({ code, error, attempt, delay }) =>
 *     console.error(`disconnected (${code} ${error?.message ?? ""}), attempt ${attempt} in ${delay} ms`),
 *   backoff: { initial: 100, max: 10_000, factor: 2, jitter: 0.5 },
 *   finalCodes: [4001], // "bad token": retrying will not help
 *   signal: ac.signal,
 * });
 * try {
 *   for (let m = await feed.recv(); m !== null; m = await feed.recv()) {
 *     onTick(m.data); // borrowed bytes, valid until the next recv()
 *   }
 * } finally {
 *   await feed.close();
 * }
 * ```
 *
 * @example Owned messages with `for await`
 * ```ts ignore
 * import { reconnecting } from "@x/nexus-ws";
 * for await (const m of reconnecting("ws://127.0.0.1:8080/ticks")) {
 *   console.log(m.text()); // an owned copy; leaving the loop closes the feed
 * }
 * ```
 */
export function reconnecting(
  url: FeedUrl,
  options?: ReconnectOptions,
): ReconnectingFeed {
  return new ReconnectingFeed(url, options ?? {});
}
