/**
 * `HttpConnection`: one keep-alive HTTP/1.1 connection to an origin. It
 * moves bytes between a {@link Transport} and the sans-IO codec
 * ({@link RequestWriter}, {@link ResponseReader}).
 *
 * @module
 */

import { HttpProtocolError, NetworkError, TimeoutError } from "../errors.ts";
import { check, pick } from "../options.ts";
import type { BufferStats } from "../codec/buffer_sizer.ts";
import { ReadBuf, type ReadBufOptions } from "../codec/read_buf.ts";
import {
  eachField,
  encodeRequest,
  type HttpHeadersInit,
  type HttpRequestInit,
  RequestWriter,
} from "../codec/http/request.ts";
import {
  RESPONSE_LIMIT_RULES,
  type ResponseLimits,
  type ResponseMessage,
  ResponseReader,
} from "../codec/http/response.ts";
import { dial, hostnameOf, portOf, type Transport } from "../transport.ts";
import { parseProxyOption } from "../proxy.ts";
import { closeQuietly } from "../socket.ts";
import { abortError } from "../tunnel.ts";
import { HttpResponse } from "./response.ts";
import { ContentDecoder, DEFAULT_ACCEPT_ENCODING } from "./content_decoding.ts";
import { CONNECTION_RULES, REQUEST_RULES } from "./rules.ts";
import { type HttpShortcuts, installShortcuts } from "./shortcuts.ts";

/**
 * Options for {@link HttpConnection} (and, through
 * {@link ClientPoolOptions}, for every connection of a pool). Sizes are
 * bytes, times are milliseconds.
 *
 * @example
 * ```ts
 * import type { HttpConnectionOptions } from "@x/nexus-ws";
 * const options: HttpConnectionOptions = { timeout: 5000, idleTimeout: 2000, headers: { "user-agent": "bot/1" } };
 * console.assert(options.timeout === 5000);
 * ```
 */
export interface HttpConnectionOptions extends
  Pick<
    ReadBufOptions,
    | "bufferCapacity"
    | "minBufferCapacity"
    | "shrinkAfter"
    | "compactAt"
    | "maxReadSize"
  >,
  ResponseLimits {
  /** Extra PEM root certificates to trust for `https:` (the system roots stay trusted). */
  caCerts?: string[];
  /**
   * Header fields sent with every request, before the request's own; a
   * request's field replaces every default of the same name
   * (case-insensitively), as with `fetch`.
   */
  headers?: HttpHeadersInit;
  /**
   * Default bound on one request: dial (when needed), write, and reading the
   * whole response. Exceeding it rejects with {@link TimeoutError} and
   * closes the socket. `0` means none. Default 30000.
   */
  timeout?: number;
  /**
   * A socket idle this long is closed, and never reused: it is below the
   * keep-alive timeout of common servers (Node 5 s, nginx 75 s), so the
   * client lets go first. `0` means never. Default 4000.
   */
  idleTimeout?: number;
  /**
   * Retry an idempotent request (GET, HEAD, OPTIONS, TRACE, PUT, DELETE)
   * once on a fresh socket when a reused socket turns out to have been
   * closed by the server before any byte of the response arrived (the
   * keep-alive race), or answers it with a `408` (sent by some servers on
   * an idle socket before closing it). Default `true`.
   */
  retryStale?: boolean;
  /**
   * Opens the socket instead of {@link dial} (an in-memory pipe in tests, a
   * Unix socket). Called for every (re)connect. What it throws reaches the
   * caller unchanged, except a runtime error (`Deno.errors.*`, as
   * `Deno.connect` throws), which becomes a {@link NetworkError} naming the
   * origin's host and port (stage `"tls"` for `InvalidData`, else
   * `"connect"`). Errors of the transport it returns, while a request is in
   * flight, are {@link NetworkError}s of stage `"io"`.
   */
  dial?: (url: URL, signal: AbortSignal) => Transport | Promise<Transport>;
  /**
   * Response compression (RFC 9110 §8.4). `true` (the default): requests
   * carry `Accept-Encoding: gzip, deflate` unless the defaults or the
   * request set their own `accept-encoding`, and bodies are decoded as
   * their `Content-Encoding` says (gzip, deflate, br, zstd; several in a
   * row too), `maxBodySize` bounding the decoded size while decoding
   * ({@link HttpLimitError} past it). The response keeps the headers it
   * came with (`Content-Encoding`, and `Content-Length` of the encoded
   * body). `false`: no `Accept-Encoding` is added and bodies are returned
   * as they arrive. See `docs/http.md` for why this is the default.
   */
  decompress?: boolean;
  /**
   * The proxy every socket is tunneled through: `http://[user:pass@]host:port`
   * (HTTP CONNECT, Basic `Proxy-Authorization`), `https://…` (TLS to the
   * proxy; `http:` origins only), `socks5://` (the name is resolved here)
   * or `socks5h://` (the proxy resolves it), with RFC 1929 credentials. For
   * `https:` the TLS session to the origin runs inside the tunnel, verified
   * as on a direct connection; keep-alive and the stale retry work through
   * the tunnel as on a direct socket. `false`: connect directly, whatever
   * the environment says. Default: from `HTTPS_PROXY` / `HTTP_PROXY` /
   * `ALL_PROXY` / `NO_PROXY` when the process may read them, at each dial
   * (see docs/proxies.md). Not with `dial`.
   */
  proxy?: string | URL | false;
}

/**
 * One request for {@link HttpConnection.request}: the request fields of
 * {@link HttpRequestInit} plus cancellation.
 *
 * @example
 * ```ts
 * import type { HttpRequestOptions } from "@x/nexus-ws";
 * const req: HttpRequestOptions = { method: "GET", path: "/v1/ticker", query: { symbol: "BTC" }, timeout: 1000 };
 * console.assert(req.timeout === 1000);
 * ```
 */
export interface HttpRequestOptions extends HttpRequestInit {
  /** Aborts the request (the socket is closed; the reason is rethrown). */
  signal?: AbortSignal;
  /** Bound on this request in ms, instead of the connection's `timeout`. `0`: none. */
  timeout?: number;
  /**
   * `false` returns this response's body as it arrived, still encoded if
   * the server encoded it (the connection's `Accept-Encoding` is sent all
   * the same: set an `accept-encoding` header to ask for something else).
   * Default: the connection's `decompress`.
   */
  decompress?: boolean;
}

/**
 * A request without `method` and `path`, for the shortcuts
 * ({@link HttpConnection.get} and friends).
 *
 * @example
 * ```ts
 * import type { HttpShortcutOptions } from "@x/nexus-ws";
 * const opts: HttpShortcutOptions = { json: { qty: 1 }, headers: { "x-id": "7" } };
 * console.assert("json" in opts);
 * ```
 */
export type HttpShortcutOptions = Omit<HttpRequestOptions, "method" | "path">;

const IDEMPOTENT = new Set([
  "GET",
  "HEAD",
  "OPTIONS",
  "TRACE",
  "PUT",
  "DELETE",
]);

/** The longest delay setTimeout honours (a longer one fires at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

const NO_OPTIONS: HttpShortcutOptions = Object.freeze({});

/** The runtime's error classes: what a custom dial's failure is wrapped for. */
const RUNTIME_ERRORS: (abstract new (...args: never[]) => Error)[] = Object
  .values(Deno.errors);

/** Thrown inside the exchange when a reused socket was closed before the response. */
class Stale extends Error {
  /** The error to raise when the request is not retried. */
  readonly lost: unknown;
  constructor(lost: unknown) {
    super("stale");
    this.lost = lost;
  }
}

/** Whether a transport error means the peer closed the socket (a stale socket's signs). */
function isConnectionLost(err: unknown): boolean {
  return err instanceof Deno.errors.BrokenPipe ||
    err instanceof Deno.errors.ConnectionReset ||
    err instanceof Deno.errors.ConnectionAborted ||
    err instanceof Deno.errors.UnexpectedEof ||
    err instanceof Deno.errors.NotConnected;
}

/**
 * The default header fields plus `accept-encoding` (what the connection
 * decodes) unless they set their own.
 */
function withAcceptEncoding(
  h: HttpHeadersInit | undefined,
): [string, string][] {
  const list: [string, string][] = [];
  let own = false;
  if (h !== undefined) {
    eachField(h, (name, value) => {
      list.push([name, value]);
      if (
        typeof name === "string" && name.toLowerCase() === "accept-encoding"
      ) {
        own = true;
      }
    });
  }
  if (!own) list.push(["accept-encoding", DEFAULT_ACCEPT_ENCODING]);
  return list;
}

/**
 * Parses and checks an `http:` / `https:` origin (no path, query, fragment
 * or credentials). Throws `TypeError`.
 */
export function parseOrigin(origin: string | URL): URL {
  let u: URL;
  try {
    u = new URL(origin);
  } catch {
    throw new TypeError(
      `Expected an http: or https: origin, got ${
        JSON.stringify(String(origin))
      }`,
    );
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new TypeError(
      `Expected an http: or https: origin, got "${u.protocol}"`,
    );
  }
  if ((u.pathname !== "/" && u.pathname !== "") || u.search || u.hash) {
    throw new TypeError(
      `Expected an origin without path, query or fragment (give those per request), got ${
        JSON.stringify(u.href)
      }`,
    );
  }
  if (u.username || u.password) {
    throw new TypeError(
      "Expected an origin without credentials; send an Authorization header",
    );
  }
  return u;
}

/**
 * A snapshot of an {@link HttpConnection}'s counters, from
 * {@link HttpConnection.stats}. Times are milliseconds.
 *
 * @example
 * ```ts
 * import type { HttpStats } from "@x/nexus-ws";
 * const line = (s: HttpStats) =>
 *   `${s.requests} req, ${s.dials} dials, ${s.reuses} reused, last ${s.lastLatency?.toFixed(2)} ms`;
 * console.assert(typeof line === "function");
 * ```
 */
export interface HttpStats {
  /** Responses received. */
  requests: number;
  /** Sockets opened. */
  dials: number;
  /** Responses received on a socket that had carried an earlier response (keep-alive reuse). */
  reuses: number;
  /**
   * Requests sent again on a fresh socket because the reused one had been
   * closed by the server first (see `retryStale`).
   */
  staleRetries: number;
  /** Whether a request is in flight. */
  busy: boolean;
  /** Whether a socket is open. */
  connected: boolean;
  /**
   * The last request's duration, from the call to its end (response read,
   * or failure), dial and retry included; `null` before the first.
   */
  lastLatency: number | null;
}

/** The friend access {@link endedAt} uses (set in the class's static block). */
let endedOf: (conn: HttpConnection) => number;

/** When `conn`'s last request ended (`performance.now()`), 0 before one: for the pool's stats. */
export function endedAt(conn: HttpConnection): number {
  return endedOf(conn);
}

/** The friend access {@link sendRequest} uses (set in the class's static block). */
let sendOn: (
  conn: HttpConnection,
  method: string | undefined,
  path: string | undefined,
  options: HttpShortcutOptions,
) => Promise<HttpResponse>;

/**
 * Sends a request whose options were checked already on `conn`, `method`
 * and `path` given apart (the pool and its leases use this, so that their
 * shortcuts need not copy the options).
 */
export function sendRequest(
  conn: HttpConnection,
  method: string | undefined,
  path: string | undefined,
  options: HttpShortcutOptions | undefined,
): Promise<HttpResponse> {
  return sendOn(conn, method, path, options ?? NO_OPTIONS);
}

/** The shortcuts {@link HttpConnection} has (see {@link HttpShortcuts}). */
export interface HttpConnection extends HttpShortcuts {}

/**
 * One keep-alive HTTP/1.1 connection to an origin (`http://` or
 * `https://`). The socket is dialed on the first request and redialed when
 * the previous one has ended (server `Connection: close`, an error, the
 * idle timeout); `dials` counts them. One request at a time: a second
 * `request()` while one is in flight rejects with `TypeError` (use
 * {@link ClientPool} for concurrency).
 *
 * The request is written from one reused buffer (one socket write for a
 * small request); the response is parsed in the connection's receive
 * buffer and its body is *borrowed*: valid until the next request on this
 * connection (see {@link HttpResponse}). Redirects are not followed.
 * Compressed bodies are asked for (`Accept-Encoding: gzip, deflate`) and
 * decoded into a buffer the connection reuses, borrowed the same way (see
 * `decompress` in {@link HttpConnectionOptions}).
 *
 * Errors: bad options → `TypeError` / `RangeError` from the constructor;
 * bad request fields → a `TypeError` / `RangeError` rejection, before
 * anything is sent; a failed dial, TLS handshake or socket →
 * {@link NetworkError} (with `host`, `port`, `stage` and the runtime's
 * error as `cause`; `peer` `"proxy"` when the proxy cannot be reached); a
 * proxy that refuses the tunnel → `ProxyError`; a response the codec refuses → {@link HttpProtocolError}
 * (the socket is closed); the bound `timeout` → {@link TimeoutError}; an
 * abort → the signal's reason.
 *
 * @example
 * ```ts ignore
 * import { HttpConnection } from "@x/nexus-ws";
 * using conn = new HttpConnection("https://api.example.com", { timeout: 5000 });
 * const res = await conn.get("/v1/ticker", { query: { symbol: "BTC-USD" } });
 * if (res.ok) console.log(res.json<{ price: string }>().price);
 * const created = await conn.post("/v1/orders", { json: { qty: 1 } });
 * console.log(created.status);
 * ```
 */
export class HttpConnection {
  /** The origin requests go to. */
  readonly origin: URL;
  #host: string;
  #port: number;
  #rb: ReadBuf;
  #writer: RequestWriter;
  #reader: ResponseReader;
  #transport: Transport | null = null;
  #dialer: (url: URL, signal: AbortSignal) => Transport | Promise<Transport>;
  #customDial: boolean;
  #timeout: number;
  #idleTimeout: number;
  #retryStale: boolean;
  #decoder: ContentDecoder | null;
  #borrow = { gen: 0 };
  #busy = false;
  #closed = false;
  #dials = 0;
  #requests = 0;
  #reuses = 0;
  #staleRetries = 0;
  #startedAt = 0; // the request in flight, or the last one
  #endedAt = 0;
  #lastLatency = -1;
  #reused = false; // the current socket has completed a response before
  #lastUsed = 0;
  #deadline = 0;
  #timeoutMs = 0;
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;
  #timerAt = Infinity;
  #abortReason: unknown = undefined;
  #dialAbort: AbortController | null = null;

  static {
    sendOn = (conn, method, path, options) => conn.#send(method, path, options);
    endedOf = (conn) => conn.#endedAt;
    installShortcuts<HttpConnection>(
      HttpConnection.prototype,
      function (method, path, options) {
        return this.#send(method, path, options ?? NO_OPTIONS);
      },
    );
  }

  /**
   * Checks the origin and options (`TypeError` for an unknown option or a
   * wrong type, `RangeError` for a bad value); dials nothing yet.
   */
  constructor(origin: string | URL, options?: HttpConnectionOptions) {
    this.origin = parseOrigin(origin);
    check(options, CONNECTION_RULES, "HttpConnection");
    options ??= {};
    this.#host = hostnameOf(this.origin);
    this.#port = portOf(this.origin);
    this.#timeout = options.timeout ?? 30000;
    this.#idleTimeout = options.idleTimeout ?? 4000;
    this.#retryStale = options.retryStale ?? true;
    this.#reader = new ResponseReader(pick(options, RESPONSE_LIMIT_RULES));
    this.#rb = new ReadBuf({
      bufferCapacity: options.bufferCapacity ?? 65536,
      minBufferCapacity: options.minBufferCapacity,
      shrinkAfter: options.shrinkAfter,
      compactAt: options.compactAt,
      maxReadSize: options.maxReadSize,
      maxMessageSize: this.#reader.maxBodySize + 65536 +
        (options.maxHeadSize ?? 16384),
    });
    const decompress = options.decompress ?? true;
    this.#decoder = decompress
      ? new ContentDecoder(this.#reader.maxBodySize)
      : null;
    this.#writer = new RequestWriter({
      host: this.origin.host,
      shrinkAfter: options.shrinkAfter,
      headers: decompress
        ? withAcceptEncoding(options.headers)
        : options.headers,
    });
    if (options.dial !== undefined && options.proxy !== undefined) {
      throw new TypeError(
        'Expected option "dial" or option "proxy", got both (a custom dial opens its own sockets, so it cannot go through the proxy)',
      );
    }
    const caCerts = options.caCerts;
    const proxy = parseProxyOption(options.proxy);
    this.#customDial = options.dial !== undefined;
    this.#dialer = options.dial ??
      ((url, signal) => dial(url, { caCerts, signal, proxy }));
  }

  /** Whether a request is in flight. */
  get busy(): boolean {
    return this.#busy;
  }
  /** Whether {@link HttpConnection.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }
  /** Whether a socket is open now. */
  get connected(): boolean {
    return this.#transport !== null;
  }
  /** Sockets opened so far (1 for a connection kept alive throughout). */
  get dials(): number {
    return this.#dials;
  }
  /** Responses received so far. */
  get requests(): number {
    return this.#requests;
  }
  /**
   * The sizes of the receive buffer and of the request encoding buffer,
   * and how often each was resized (a new object per call; for debugging
   * and tuning, see `docs/tuning.md`). The receive buffer starts small,
   * grows for large responses and shrinks back when quiet; so does the
   * request buffer (up to the largest request head plus inline body).
   */
  get bufferStats(): BufferStats {
    const rb = this.#rb, w = this.#writer;
    return {
      receive: { capacity: rb.capacity, grows: rb.grows, shrinks: rb.shrinks },
      send: { capacity: w.capacity, grows: w.grows, shrinks: w.shrinks },
    };
  }

  /**
   * A snapshot of the connection's counters (see {@link HttpStats}); kept
   * at no cost per request beyond a few increments (the latency reuses the
   * clock reads the timeouts already make).
   */
  stats(): HttpStats {
    return {
      requests: this.#requests,
      dials: this.#dials,
      reuses: this.#reuses,
      staleRetries: this.#staleRetries,
      busy: this.#busy,
      connected: this.#transport !== null,
      lastLatency: this.#lastLatency < 0 ? null : this.#lastLatency,
    };
  }

  /**
   * Sends one request and reads the whole response. The returned body is
   * borrowed until the next request on this connection. Rejects as
   * described on {@link HttpConnection}; an unknown option or one of the
   * wrong type is a `TypeError` naming it.
   */
  request(init: HttpRequestOptions): Promise<HttpResponse> {
    try {
      check(init, REQUEST_RULES, "request()");
    } catch (err) {
      return Promise.reject(err);
    }
    init ??= NO_OPTIONS;
    return this.#send(init.method, init.path, init);
  }

  /**
   * The exchange. One flat loop with the awaits in it, everything else in
   * synchronous helpers: each nested async call would cost promise hops on
   * the hot path. At most two attempts: the second only after a reused
   * socket turned out to be closed before the response began.
   */
  async #send(
    method: string | undefined,
    path: string | undefined,
    init: HttpShortcutOptions,
  ): Promise<HttpResponse> {
    this.#checkReady();
    if (this.#writer.oversized) this.#writer.trim(performance.now());
    const bytes = encodeRequest(this.#writer, method, path, init);
    const tail = this.#writer.tail, m = this.#writer.method;
    const signal = init.signal;
    signal?.throwIfAborted();
    const onAbort = this.#begin(signal, init.timeout ?? this.#timeout);
    const mayRetry = this.#retryStale && IDEMPOTENT.has(m);
    const rb = this.#rb, reader = this.#reader;
    try {
      for (let attempt = 0;; attempt++) {
        const t = this.#usable() ?? await this.#connect();
        const reused = this.#reused;
        let got = false; // a byte of the response arrived
        try {
          try {
            for (let o = 0; o < bytes.length;) {
              o += await t.write(o === 0 ? bytes : bytes.subarray(o));
            }
            for (let o = 0; tail !== null && o < tail.length;) {
              o += await t.write(o === 0 ? tail : tail.subarray(o));
            }
          } catch (err) {
            throw this.#lost(err, reused);
          }
          reader.begin(m);
          let msg: ResponseMessage | null;
          while ((msg = reader.read(rb)) === null) {
            let n: number | null;
            try {
              n = await t.read(this.#readView());
            } catch (err) {
              throw this.#lost(err, reused && !got);
            }
            if (n === null) {
              msg = this.#ended(got, reused);
              break;
            }
            got = true;
            rb.commit(n);
          }
          const canRetry = mayRetry && attempt === 0;
          const res = this.#respond(msg, reused, canRetry, init);
          if (res !== null) return res instanceof Promise ? await res : res;
        } catch (err) {
          this.#failed(err, mayRetry && attempt === 0);
        }
      }
    } finally {
      this.#finish(signal, onAbort);
    }
  }

  /** Throws `TypeError` when the connection is closed or busy. */
  #checkReady(): void {
    if (this.#closed) {
      throw new TypeError("Expected an open HttpConnection, it is closed");
    }
    if (this.#busy) {
      throw new TypeError(
        "Expected one request at a time on an HttpConnection, one is in flight (use ClientPool for concurrency)",
      );
    }
  }

  /** Marks the request in flight: abort listener, deadline, watchdog. */
  #begin(
    signal: AbortSignal | undefined,
    timeout: number,
  ): (() => void) | undefined {
    this.#busy = true;
    this.#borrow.gen++;
    this.#abortReason = undefined;
    let onAbort: (() => void) | undefined;
    if (signal) {
      onAbort = () => this.#abort(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
    }
    const now = performance.now();
    this.#startedAt = now;
    let wake = this.#idleTimeout > 0 ? now + this.#idleTimeout : Infinity;
    if (timeout > 0) {
      this.#timeoutMs = timeout;
      this.#deadline = now + timeout;
      if (this.#deadline < wake) wake = this.#deadline;
    } else {
      this.#deadline = 0;
    }
    // The watchdog is re-armed only when it must fire earlier than planned:
    // in steady traffic it fires about once per min(timeout, idleTimeout).
    if (wake < this.#timerAt) this.#arm(wake);
    return onAbort;
  }

  /** The request is over: listener off, idle timer on (or off with the socket). */
  #finish(
    signal: AbortSignal | undefined,
    onAbort: (() => void) | undefined,
  ): void {
    this.#busy = false;
    this.#deadline = 0;
    if (onAbort) signal!.removeEventListener("abort", onAbort);
    this.#endedAt = performance.now();
    this.#lastLatency = this.#endedAt - this.#startedAt;
    if (this.#transport !== null) {
      this.#lastUsed = this.#endedAt;
      if (this.#idleTimeout > 0 && this.#timer === undefined) {
        this.#arm(this.#lastUsed + this.#idleTimeout);
      }
    } else if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#timerAt = Infinity;
    }
  }

  /**
   * The open socket when it may carry this request, else null (dropped:
   * unsolicited bytes arrived since the last response, or idle too long).
   */
  #usable(): Transport | null {
    const t = this.#transport;
    if (t === null) return null;
    if (
      this.#rb.length > 0 || (this.#idleTimeout > 0 &&
        performance.now() - this.#lastUsed >= this.#idleTimeout)
    ) {
      this.#drop();
      return null;
    }
    return t;
  }

  /**
   * Where the next socket read goes. The receive buffer adapts its size
   * here (a read happens only while a request is in flight, after the last
   * response's borrowed body was invalidated), on the clock the request
   * read at its start: a quiet window of `shrinkAfter` ms needs no finer
   * time, and a read costs no clock call.
   */
  #readView(): Uint8Array {
    return this.#rb.forRead(this.#startedAt);
  }

  /**
   * A socket read or write failed: the {@link NetworkError} to raise, or a
   * {@link Stale} carrying it when a reused socket may have been closed by
   * the server before answering.
   */
  #lost(err: unknown, mayBeStale: boolean): Error {
    const net = new NetworkError("io", this.#host, this.#port, { cause: err });
    return mayBeStale && isConnectionLost(err) ? new Stale(net) : net;
  }

  /** The stream ended before the response did: its end, or the error. */
  #ended(got: boolean, reused: boolean): ResponseMessage {
    const reader = this.#reader, rb = this.#rb;
    if (!got && reader.awaitingHead && rb.length === 0) {
      const err = new HttpProtocolError(
        "Expected a response, got end of stream (the server closed the connection)",
      );
      throw reused ? new Stale(err) : err;
    }
    const msg = reader.end(rb);
    this.#drop();
    return msg;
  }

  /**
   * The response to return (a promise only while a br body is checked), or
   * null to resend on a fresh socket.
   */
  #respond(
    msg: ResponseMessage,
    reused: boolean,
    canRetry: boolean,
    init: HttpShortcutOptions,
  ): HttpResponse | Promise<HttpResponse> | null {
    if (msg.status === 408 && reused && canRetry) {
      // Some servers send 408 on an idle keep-alive socket before closing
      // it; with no read pending it is seen only now. The request was not
      // processed: resend it as on a stale socket.
      this.#drop();
      this.#staleRetries++;
      return null;
    }
    this.#requests++;
    if (reused) this.#reuses++;
    if (init.close === true || !msg.keepAlive) this.#drop();
    else this.#reused = true;
    const decoder = init.decompress === false ? null : this.#decoder;
    const body = decoder === null
      ? msg.body
      : decoder.decode(msg.headers, msg.body);
    if (body instanceof Promise) {
      return body.then((b) => this.#response(msg, b));
    }
    return this.#response(msg, body);
  }

  #response(msg: ResponseMessage, body: Uint8Array): HttpResponse {
    return new HttpResponse(
      msg.status,
      msg.reason,
      msg.headers,
      msg.trailers,
      body,
      this.#borrow,
    );
  }

  /** The exchange failed: returns to retry, else throws what the caller gets. */
  #failed(err: unknown, canRetry: boolean): void {
    this.#drop();
    if (this.#abortReason !== undefined) throw this.#abortReason;
    if (!(err instanceof Stale)) throw err;
    if (!canRetry) throw err.lost;
    this.#staleRetries++;
  }

  async #connect(): Promise<Transport> {
    const ac = new AbortController();
    this.#dialAbort = ac;
    try {
      const t = await this.#dialer(this.origin, ac.signal);
      if (ac.signal.aborted) {
        t.close();
        throw ac.signal.reason;
      }
      this.#dials++;
      this.#transport = t;
      this.#reused = false;
      this.#rb.clear();
      return t;
    } catch (err) {
      if (this.#abortReason !== undefined) {
        throw abortError(this.#abortReason, err);
      }
      throw this.#dialError(err);
    } finally {
      this.#dialAbort = null;
    }
  }

  /** What a failed dial raises (see {@link HttpConnectionOptions.dial}). */
  #dialError(err: unknown): unknown {
    if (!this.#customDial || !RUNTIME_ERRORS.some((c) => err instanceof c)) {
      return err;
    }
    const tls = err instanceof Deno.errors.InvalidData;
    return new NetworkError(tls ? "tls" : "connect", this.#host, this.#port, {
      cause: err,
    });
  }

  /** Closes the socket (not the connection: the next request redials). */
  #drop(): void {
    const t = this.#transport;
    if (t === null) return;
    this.#transport = null;
    this.#reused = false;
    this.#rb.clear();
    this.#reader.reset();
    closeQuietly(t);
  }

  #abort(reason: unknown): void {
    if (!this.#busy || this.#abortReason !== undefined) return;
    this.#abortReason = reason;
    this.#dialAbort?.abort(reason);
    this.#drop();
  }

  #arm(at: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = at;
    // setTimeout fires at once past 2^31 - 1 ms: wake at most that late,
    // #onTimer re-arms for the rest.
    const timer = setTimeout(
      this.#onTimer,
      Math.min(MAX_TIMER_MS, Math.max(0, at - performance.now())),
    );
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  #onTimer = (): void => {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = performance.now();
    if (this.#busy) {
      if (this.#deadline > 0 && now >= this.#deadline - 1) {
        this.#abort(
          new TimeoutError(
            `Expected the response within ${this.#timeoutMs} ms, it did not complete`,
          ),
        );
        return;
      }
      let next = this.#deadline > 0 ? this.#deadline : Infinity;
      if (this.#idleTimeout > 0) next = Math.min(next, now + this.#idleTimeout);
      if (next < Infinity) this.#arm(next);
      return;
    }
    if (this.#transport === null || this.#idleTimeout <= 0) return;
    const at = this.#lastUsed + this.#idleTimeout;
    if (now >= at - 1) this.#drop();
    else this.#arm(at);
  };

  /**
   * Closes the connection for good: an in-flight request rejects with an
   * `AbortError` `DOMException`, later requests reject with `TypeError`.
   * Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#busy) {
      this.#abort(
        new DOMException(
          "The HttpConnection was closed while a request was in flight",
          "AbortError",
        ),
      );
    }
    this.#drop();
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#timerAt = Infinity;
    }
  }

  /** Same as {@link HttpConnection.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
