/**
 * `ClientPool`: a bounded set of {@link HttpConnection}s to one origin.
 *
 * @module
 */

import { check } from "../options.ts";
import {
  endedAt,
  HttpConnection,
  type HttpConnectionOptions,
  type HttpRequestOptions,
  type HttpShortcutOptions,
  parseOrigin,
  sendRequest,
} from "./connection.ts";
import type { HttpResponse } from "./response.ts";
import { ACQUIRE_RULES, POOL_RULES, REQUEST_RULES } from "./rules.ts";
import { type HttpShortcuts, installShortcuts } from "./shortcuts.ts";

/**
 * Options for {@link ClientPool}: the pool size plus the options every
 * connection gets.
 *
 * @example
 * ```ts
 * import type { ClientPoolOptions } from "@x/nexus-ws";
 * const options: ClientPoolOptions = { connections: 8, idleTimeout: 3000, timeout: 10000 };
 * console.assert(options.connections === 8);
 * ```
 */
export interface ClientPoolOptions extends HttpConnectionOptions {
  /** Most connections open at once (each opened on first need). Default 10. */
  connections?: number;
}

/**
 * Options for {@link ClientPool.acquire}.
 *
 * @example
 * ```ts
 * import type { AcquireOptions } from "@x/nexus-ws";
 * const options: AcquireOptions = { signal: AbortSignal.timeout(1000) };
 * console.assert(options.signal instanceof AbortSignal);
 * ```
 */
export interface AcquireOptions {
  /** Stops waiting for a free connection (rejects with the signal's reason). */
  signal?: AbortSignal;
}

/**
 * A snapshot of a {@link ClientPool}'s counters, from
 * {@link ClientPool.stats}: the sums over every connection the pool has
 * had (closed ones included), and its occupancy now. Times are
 * milliseconds.
 *
 * @example
 * ```ts
 * import type { PoolStats } from "@x/nexus-ws";
 * const line = (s: PoolStats) =>
 *   `${s.inUse}/${s.size} in use, ${s.waiting} waiting, ${s.requests} req over ${s.dials} dials`;
 * console.assert(typeof line === "function");
 * ```
 */
export interface PoolStats {
  /** Responses received. */
  requests: number;
  /** Sockets opened. */
  dials: number;
  /** Responses received on a reused (kept-alive) socket. */
  reuses: number;
  /** Requests resent on a fresh socket after a stale one (see `retryStale`). */
  staleRetries: number;
  /** Connections lent out now. */
  inUse: number;
  /** Connections idle in the pool now. */
  idle: number;
  /** Callers waiting for a connection now. */
  waiting: number;
  /** Connections that exist now (in use + idle). */
  size: number;
  /** The duration of the request that ended last, on any connection; `null` before one. */
  lastLatency: number | null;
}

/** The counters of connections the pool let go of. */
class Retired {
  requests = 0;
  dials = 0;
  reuses = 0;
  staleRetries = 0;
  lastEnded = 0;
  lastLatency: number | null = null;

  add(conn: HttpConnection): void {
    const s = conn.stats();
    this.requests += s.requests;
    this.dials += s.dials;
    this.reuses += s.reuses;
    this.staleRetries += s.staleRetries;
    const ended = endedAt(conn);
    if (ended > this.lastEnded) {
      this.lastEnded = ended;
      this.lastLatency = s.lastLatency;
    }
  }
}

interface Waiter {
  resolve: (c: HttpConnection) => void;
  reject: (e: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
  done: boolean;
}

/** The shortcuts a {@link PooledConnection} has (see {@link HttpShortcuts}). */
export interface PooledConnection extends HttpShortcuts {}

/**
 * A connection lent by {@link ClientPool.acquire}: make requests on it
 * (bodies are borrowed, as on {@link HttpConnection}), then give it back
 * with {@link PooledConnection.release} or by leaving a `using` block.
 * Releasing twice is harmless; using it after release throws `TypeError`.
 * Releasing while a request is in flight aborts that request and the pool
 * replaces the connection.
 *
 * @example
 * ```ts ignore
 * import { ClientPool } from "@x/nexus-ws";
 * const pool = new ClientPool("http://127.0.0.1:8080", { connections: 4 });
 * {
 *   using conn = await pool.acquire();
 *   const res = await conn.get("/a");
 *   console.log(res.status, res.text());
 * } // released here
 * await pool.close();
 * ```
 */
export class PooledConnection {
  #giveBack: (conn: HttpConnection) => void;
  #conn: HttpConnection | null;

  static {
    installShortcuts<PooledConnection>(
      PooledConnection.prototype,
      function (method, path, options) {
        return sendRequest(this.connection, method, path, options);
      },
    );
  }

  /**
   * Created by {@link ClientPool.acquire}; `giveBack` returns the connection
   * to its pool.
   *
   * @ignore
   */
  constructor(conn: HttpConnection, giveBack: (conn: HttpConnection) => void) {
    this.#conn = conn;
    this.#giveBack = giveBack;
  }

  /** The underlying connection; throws `TypeError` once released. */
  get connection(): HttpConnection {
    if (this.#conn === null) {
      throw new TypeError(
        "Expected a connection not yet released back to its pool, it was released",
      );
    }
    return this.#conn;
  }

  /** Whether {@link PooledConnection.release} has been called. */
  get released(): boolean {
    return this.#conn === null;
  }

  /** See {@link HttpConnection.request}; the body is borrowed. */
  request(init: HttpRequestOptions): Promise<HttpResponse> {
    return this.connection.request(init);
  }

  /** Gives the connection back to the pool (the next waiter gets it). Idempotent. */
  release(): void {
    const conn = this.#conn;
    if (conn === null) return;
    this.#conn = null;
    this.#giveBack(conn);
  }

  /** Same as {@link PooledConnection.release}, for `using`. */
  [Symbol.dispose](): void {
    this.release();
  }
}

/** The shortcuts a {@link ClientPool} has (see {@link HttpShortcuts}). */
export interface ClientPool extends HttpShortcuts {}

/**
 * A pool of at most `connections` keep-alive connections to one origin,
 * opened lazily. {@link ClientPool.acquire} lends a connection; when all
 * are lent, callers wait and are served first come, first served. A
 * connection that was closed is replaced by a fresh one; a socket that
 * broke is redialed by its connection on the next request; an idle socket
 * is closed after `idleTimeout` (default 4000 ms, below common server
 * keep-alive timeouts); an idempotent request that finds its reused socket
 * already closed by the server is retried once on a fresh socket.
 *
 * {@link ClientPool.request} (and `get` / `post` / …) is the convenience
 * path: acquire, request, copy the body, release; the response is owned.
 *
 * @example
 * ```ts ignore
 * import { ClientPool } from "@x/nexus-ws";
 * await using pool = new ClientPool("https://api.example.com", { connections: 8 });
 * const results = await Promise.all(
 *   ["BTC", "ETH", "SOL"].map((s) => pool.get("/v1/ticker", { query: { symbol: s } })),
 * );
 * for (const r of results) console.log(r.status, r.json());
 * ```
 */
export class ClientPool {
  /** The origin every connection goes to. */
  readonly origin: URL;
  #options: HttpConnectionOptions;
  #max: number;
  #all = new Set<HttpConnection>();
  #idle: HttpConnection[] = [];
  #waiters: Waiter[] = [];
  #waitHead = 0;
  #waitCount = 0;
  #closing = false;
  #drained: (() => void) | null = null;
  #closedPromise: Promise<void> | null = null;
  #retired = new Retired();

  static {
    installShortcuts<ClientPool>(
      ClientPool.prototype,
      function (method, path, options) {
        return this.#send(method, path, options);
      },
    );
  }

  /**
   * Checks the origin and options (`TypeError` for an unknown option or a
   * wrong type, `RangeError` for a bad value); opens nothing yet.
   */
  constructor(origin: string | URL, options?: ClientPoolOptions) {
    this.origin = parseOrigin(origin);
    check(options, POOL_RULES, "ClientPool");
    options ??= {};
    this.#max = options.connections ?? 10;
    const { connections: _, ...rest } = options;
    this.#options = rest;
    // Validate the connection options now, not at the first acquire.
    new HttpConnection(this.origin, rest).close();
  }

  /** Connections that exist (idle or lent). */
  get size(): number {
    return this.#all.size;
  }
  /** Connections waiting in the pool. */
  get idle(): number {
    return this.#idle.length;
  }
  /** Connections lent out. */
  get busy(): number {
    return this.#all.size - this.#idle.length;
  }
  /** Callers waiting for a connection. */
  get waiting(): number {
    return this.#waitCount;
  }
  /** Whether {@link ClientPool.close} was called. */
  get closed(): boolean {
    return this.#closing;
  }

  /**
   * A snapshot of the pool's counters (see {@link PoolStats}), summed over
   * its connections when called: nothing is counted per request beyond
   * what each {@link HttpConnection} keeps.
   */
  stats(): PoolStats {
    const sum = Object.assign(new Retired(), this.#retired);
    for (const conn of this.#all) sum.add(conn);
    return {
      requests: sum.requests,
      dials: sum.dials,
      reuses: sum.reuses,
      staleRetries: sum.staleRetries,
      inUse: this.busy,
      idle: this.idle,
      waiting: this.waiting,
      size: this.size,
      lastLatency: sum.lastLatency,
    };
  }

  /**
   * Lends a connection: an idle one (the most recently used, whose socket
   * is warmest), a new one while fewer than `connections` exist, or the
   * first one released after every earlier waiter was served. Rejects with
   * `TypeError` once the pool is closing, or with the signal's reason.
   */
  acquire(options?: AcquireOptions): Promise<PooledConnection> {
    try {
      check(options, ACQUIRE_RULES, "acquire()");
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.#closing) {
      return Promise.reject(
        new TypeError("Expected an open ClientPool, it is closing"),
      );
    }
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const conn = this.#take();
    if (conn !== null) {
      return Promise.resolve(new PooledConnection(conn, this.#release));
    }
    return this.#wait(signal).then((c) =>
      new PooledConnection(c, this.#release)
    );
  }

  /** Queues a waiter for the next released connection. */
  #wait(signal: AbortSignal | undefined): Promise<HttpConnection> {
    return new Promise<HttpConnection>((resolve, reject) => {
      const w: Waiter = { resolve, reject, signal, done: false };
      if (signal) {
        w.onAbort = () => {
          if (w.done) return;
          w.done = true;
          this.#waitCount--;
          reject(signal.reason);
          if (this.#closing) this.#checkDrained();
        };
        signal.addEventListener("abort", w.onAbort, { once: true });
      }
      this.#waiters.push(w);
      this.#waitCount++;
    });
  }

  #take(): HttpConnection | null {
    const idle = this.#idle.pop();
    if (idle !== undefined) return idle;
    if (this.#all.size < this.#max) {
      const conn = new HttpConnection(this.origin, this.#options);
      this.#all.add(conn);
      return conn;
    }
    return null;
  }

  #release = (conn: HttpConnection): void => {
    if (!this.#all.has(conn)) return;
    if (conn.busy || conn.closed) {
      // Mid-request or closed by its user: replace it.
      conn.close();
      this.#all.delete(conn);
      this.#retired.add(conn);
    } else {
      this.#idle.push(conn);
    }
    this.#serve();
  };

  #serve(): void {
    while (this.#waitHead < this.#waiters.length) {
      const w = this.#waiters[this.#waitHead];
      if (w.done) {
        this.#dequeue();
        continue;
      }
      const conn = this.#take();
      if (conn === null) break;
      this.#dequeue();
      w.done = true;
      this.#waitCount--;
      if (w.onAbort) w.signal!.removeEventListener("abort", w.onAbort);
      w.resolve(conn);
    }
    if (this.#closing) this.#checkDrained();
  }

  #dequeue(): void {
    this.#waiters[this.#waitHead++] = undefined as unknown as Waiter;
    if (this.#waitHead === this.#waiters.length) {
      this.#waiters.length = 0;
      this.#waitHead = 0;
    } else if (
      this.#waitHead > 1024 && this.#waitHead * 2 > this.#waiters.length
    ) {
      this.#waiters = this.#waiters.slice(this.#waitHead);
      this.#waitHead = 0;
    }
  }

  /**
   * Sends one request on a pooled connection and returns the response with
   * an *owned* body (copied out of the connection's buffer), releasing the
   * connection before resolving.
   */
  request(init: HttpRequestOptions & AcquireOptions): Promise<HttpResponse> {
    try {
      check(init, REQUEST_RULES, "request()");
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#send(init?.method, init?.path, init);
  }

  /** Acquire, send (options checked already), copy the body, release. */
  async #send(
    method: string | undefined,
    path: string | undefined,
    options: HttpShortcutOptions | undefined,
  ): Promise<HttpResponse> {
    if (this.#closing) {
      throw new TypeError("Expected an open ClientPool, it is closing");
    }
    const signal = options?.signal;
    signal?.throwIfAborted();
    // No lease object on this path: take the connection, give it back.
    const conn = this.#take() ?? await this.#wait(signal);
    try {
      return (await sendRequest(conn, method, path, options)).toOwned();
    } finally {
      this.#release(conn);
    }
  }

  /**
   * Drains and closes: new `acquire()` calls reject at once; callers
   * already waiting are still served; resolves when every lent connection
   * has been released and all connections are closed. Idempotent.
   */
  close(): Promise<void> {
    if (this.#closedPromise !== null) return this.#closedPromise;
    this.#closing = true;
    this.#closedPromise = new Promise<void>((resolve) => {
      this.#drained = resolve;
    });
    this.#checkDrained();
    return this.#closedPromise;
  }

  #checkDrained(): void {
    if (this.waiting > 0 || this.busy > 0 || this.#drained === null) return;
    for (const conn of this.#all) {
      conn.close();
      this.#retired.add(conn);
    }
    this.#all.clear();
    this.#idle.length = 0;
    const done = this.#drained;
    this.#drained = null;
    done();
  }

  /** Same as {@link ClientPool.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
