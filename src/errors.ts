/**
 * Typed errors raised by the codec and the clients.
 *
 * This file has no `Deno.*` and no I/O: the sans-IO codec throws these too.
 *
 * @module
 */

import { HeaderList } from "./codec/http/header_list.ts";

/**
 * Close codes used when the client fails a connection (RFC 6455 §7.4.1).
 *
 * @example
 * ```ts
 * import { CloseCode } from "@x/nexus-ws";
 * console.assert(CloseCode.MessageTooBig === 1009);
 * ```
 */
export const CloseCode = {
  /** 1000: normal closure. */
  Normal: 1000,
  /** 1001: going away. */
  GoingAway: 1001,
  /** 1002: protocol error. */
  ProtocolError: 1002,
  /** 1003: unsupported data. */
  UnsupportedData: 1003,
  /** 1005: no status received (never sent on the wire). */
  NoStatus: 1005,
  /** 1006: abnormal closure (never sent on the wire). */
  Abnormal: 1006,
  /** 1007: invalid frame payload data (bad UTF-8). */
  InvalidPayload: 1007,
  /** 1008: policy violation. */
  PolicyViolation: 1008,
  /** 1009: message too big. */
  MessageTooBig: 1009,
  /** 1011: internal error. */
  InternalError: 1011,
} as const;

/**
 * The peer broke the WebSocket protocol. `code` is the close code the client
 * sends (or sent) when it fails the connection: 1002, 1007 or 1009.
 *
 * @example
 * ```ts
 * import { ProtocolError } from "@x/nexus-ws";
 * const err = new ProtocolError(1002, "Expected RSV bits 0, got 0x40");
 * console.assert(err.code === 1002);
 * ```
 */
export class ProtocolError extends Error {
  /** The close code that matches the violation. */
  readonly code: number;
  /** Creates a protocol error carrying the close code to send. */
  constructor(code: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ProtocolError";
    this.code = code;
  }
}

/**
 * The opening handshake failed: the server did not answer with a valid
 * `101 Switching Protocols`. `status` is the HTTP status received (0 when no
 * status line could be read).
 *
 * @example
 * ```ts
 * import { HandshakeError } from "@x/nexus-ws";
 * const err = new HandshakeError("Expected status 101, got 403", 403);
 * console.assert(err.status === 403);
 * ```
 */
export class HandshakeError extends Error {
  /** HTTP status of the response, or 0 when none was parsed. */
  readonly status: number;
  /** Response header fields (empty when no head was parsed). */
  readonly headers: HeaderList;
  /** Creates a handshake error. */
  constructor(
    message: string,
    status?: number,
    headers?: HeaderList,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "HandshakeError";
    this.status = status ?? 0;
    this.headers = headers ?? new HeaderList();
  }
}

/**
 * The connection is closed: raised by a send after close, or by `recv()`
 * when the connection ended without a clean closing handshake.
 *
 * @example
 * ```ts
 * import { ConnectionClosedError } from "@x/nexus-ws";
 * const err = new ConnectionClosedError(1006, "", false);
 * console.assert(!err.clean);
 * ```
 */
export class ConnectionClosedError extends Error {
  /** The close code received (1005 when none, 1006 when abnormal). */
  readonly code: number;
  /** The close reason received. */
  readonly reason: string;
  /** Whether the closing handshake completed. */
  readonly clean: boolean;
  /** Creates a connection-closed error. */
  constructor(
    code: number,
    reason: string,
    clean: boolean,
    message?: string,
    options?: ErrorOptions,
  ) {
    super(
      message ??
        `Connection closed (code ${code}${
          reason ? `, reason "${reason}"` : ""
        }${clean ? "" : ", not clean"})`,
      options,
    );
    this.name = "ConnectionClosedError";
    this.code = code;
    this.reason = reason;
    this.clean = clean;
  }
}

/**
 * The Worker that runs a {@link connectInWorker} connection failed by
 * itself: its module could not load, it threw outside the connection, or
 * it stopped without saying why. The connection is gone (the socket lived
 * in the Worker); `cause` carries what the Worker reported. Errors of the
 * connection itself keep their own classes ({@link ProtocolError},
 * {@link ConnectionClosedError}, {@link TimeoutError}, ...).
 *
 * @example
 * ```ts
 * import { WorkerError } from "@x/nexus-ws";
 * const err = new WorkerError("Expected the connection's Worker to keep running, got: out of memory");
 * console.assert(err.name === "WorkerError");
 * ```
 */
export class WorkerError extends Error {
  /** Creates a Worker error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "WorkerError";
  }
}

/**
 * An operation did not complete within its configured time bound
 * (handshake, close, heartbeat, request).
 *
 * @example
 * ```ts
 * import { TimeoutError } from "@x/nexus-ws";
 * const err = new TimeoutError("Handshake did not complete within 5000 ms");
 * console.assert(err.name === "TimeoutError");
 * ```
 */
export class TimeoutError extends Error {
  /** Creates a timeout error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TimeoutError";
  }
}

/**
 * The application-level heartbeat got no answer in time: the caller's
 * heartbeat message (`appHeartbeat.message`, e.g. OKX's `"ping"`) was sent
 * and no message matching `appHeartbeat.isPong` arrived within
 * `appHeartbeat.timeout` ms. A {@link TimeoutError}, so one `catch` handles
 * every liveness failure; its name tells which one it was.
 *
 * @example
 * ```ts
 * import { AppHeartbeatTimeoutError, TimeoutError } from "@x/nexus-ws";
 * const err = new AppHeartbeatTimeoutError(5000);
 * console.assert(err instanceof TimeoutError && err.timeout === 5000);
 * ```
 */
export class AppHeartbeatTimeoutError extends TimeoutError {
  /** The configured bound, in ms. */
  readonly timeout: number;
  /** Creates the error for a bound of `timeout` ms. */
  constructor(timeout: number, options?: ErrorOptions) {
    super(
      `Expected an answer to the application heartbeat within ${timeout} ms, got none`,
      options,
    );
    this.name = "AppHeartbeatTimeoutError";
    this.timeout = timeout;
  }
}

/**
 * The staleness watchdog fired: no data message (text or binary, not
 * counting application pings and pongs) arrived for `staleTimeout` ms while
 * the connection was being read, even if the server answered pings. A
 * {@link TimeoutError}; a reconnecting feed reports it as a disconnect and
 * reconnects (and so re-subscribes).
 *
 * @example
 * ```ts
 * import { StaleFeedError, TimeoutError } from "@x/nexus-ws";
 * const err = new StaleFeedError(30_000);
 * console.assert(err instanceof TimeoutError && err.name === "StaleFeedError");
 * ```
 */
export class StaleFeedError extends TimeoutError {
  /** The configured bound, in ms. */
  readonly timeout: number;
  /** Creates the error for a bound of `timeout` ms. */
  constructor(timeout: number, options?: ErrorOptions) {
    super(
      `Expected a data message within ${timeout} ms, got none (the feed went stale)`,
      options,
    );
    this.name = "StaleFeedError";
    this.timeout = timeout;
  }
}

/**
 * The HTTP peer sent a response this client refuses: malformed, over a
 * limit, or shaped like a request-smuggling attempt.
 *
 * @example
 * ```ts
 * import { HttpProtocolError } from "@x/nexus-ws";
 * const err = new HttpProtocolError("Expected a chunk size, got \"zz\"");
 * console.assert(err.name === "HttpProtocolError");
 * ```
 */
export class HttpProtocolError extends Error {
  /** Creates an HTTP protocol error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "HttpProtocolError";
  }
}

/**
 * The HTTP peer sent a response over one of the client's limits: the head
 * size, the header count, the body size or a chunk line. A subclass of
 * {@link HttpProtocolError}, so one `catch` handles both.
 *
 * @example
 * ```ts
 * import { HttpLimitError, HttpProtocolError } from "@x/nexus-ws";
 * const err = new HttpLimitError("maxBodySize", 1024, "Expected a body of at most 1024 bytes, got 4096");
 * console.assert(err instanceof HttpProtocolError && err.limit === "maxBodySize");
 * ```
 */
export class HttpLimitError extends HttpProtocolError {
  /** The option that was exceeded, e.g. `"maxHeadSize"`, `"maxHeaders"`, `"maxBodySize"`. */
  readonly limit: string;
  /** The configured bound. */
  readonly max: number;
  /** Creates an HTTP limit error. */
  constructor(
    limit: string,
    max: number,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "HttpLimitError";
    this.limit = limit;
    this.max = max;
  }
}

/**
 * Where a {@link NetworkError} happened: resolving the host name (`"dns"`),
 * opening the TCP connection (`"connect"`: refused, unreachable, reset),
 * the TLS handshake (`"tls"`: an untrusted or mismatched certificate, a
 * server that does not speak TLS), or reading and writing an established
 * connection (`"io"`).
 *
 * @example
 * ```ts
 * import type { NetworkStage } from "@x/nexus-ws";
 * const retryable = (stage: NetworkStage) => stage !== "tls";
 * console.assert(retryable("connect") && !retryable("tls"));
 * ```
 */
export type NetworkStage = "dns" | "connect" | "tls" | "io";

/**
 * Which end a {@link NetworkError} names: the `"origin"` (the URL's host,
 * whether dialed directly or through a tunnel) or the `"proxy"` the
 * connection goes through.
 *
 * @example
 * ```ts
 * import type { NetworkPeer } from "@x/nexus-ws";
 * const blame = (peer: NetworkPeer) => peer === "proxy" ? "check the proxy" : "check the venue";
 * console.assert(blame("proxy") === "check the proxy");
 * ```
 */
export type NetworkPeer = "origin" | "proxy";

/**
 * The network failed: the host name did not resolve, the connection was
 * refused, the host was unreachable, TLS verification failed, or the
 * socket broke. The same class for WebSocket and HTTP; `host` and `port`
 * say what was dialed, `peer` whether that is the origin or the proxy (the
 * message then says "proxy"), and `cause` keeps the runtime's original
 * error (e.g. `Deno.errors.ConnectionRefused`).
 *
 * @example
 * ```ts
 * import { NetworkError } from "@x/nexus-ws";
 * const err = new NetworkError("connect", "127.0.0.1", 1, { cause: new Error("Connection refused") });
 * console.assert(err.port === 1 && err.peer === "origin" && err.message.includes("127.0.0.1:1"));
 * const proxy = new NetworkError("connect", "10.0.0.1", 3128, { peer: "proxy" });
 * console.assert(proxy.message.startsWith("Expected a TCP connection to proxy 10.0.0.1:3128"));
 * ```
 */
export class NetworkError extends Error {
  /** What failed: see {@link NetworkStage}. */
  readonly stage: NetworkStage;
  /** The host that was dialed (a name or an IP address, without brackets). */
  readonly host: string;
  /** The port that was dialed. */
  readonly port: number;
  /** Whether `host:port` is the origin's or the proxy's: see {@link NetworkPeer}. */
  readonly peer: NetworkPeer;
  /**
   * Creates a network error. The message names the stage, `host:port` (as
   * the proxy's when `peer` is `"proxy"`) and the cause's message;
   * `detail` replaces the cause's message when given.
   */
  constructor(
    stage: NetworkStage,
    host: string,
    port: number,
    options?: ErrorOptions & { detail?: string; peer?: NetworkPeer },
  ) {
    const peer = options?.peer ?? "origin";
    const where = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
    const cause = options?.cause;
    const got = options?.detail ??
      (cause instanceof Error
        ? `${cause.name}: ${cause.message}`
        : cause === undefined
        ? "a failure"
        : String(cause));
    super(
      `${EXPECTED[stage]} ${
        peer === "proxy" ? "proxy " : ""
      }${where}, got ${got}`,
      options,
    );
    this.name = "NetworkError";
    this.stage = stage;
    this.host = host;
    this.port = port;
    this.peer = peer;
  }
}

const EXPECTED: Record<NetworkStage, string> = {
  dns: "Expected to resolve the host name of",
  connect: "Expected a TCP connection to",
  tls: "Expected a verified TLS session with",
  io: "Expected the connection to stay up with",
};

/**
 * The proxy protocol a {@link ProxyError} comes from: `"http"` (HTTP
 * CONNECT, through an `http://` or `https://` proxy) or `"socks5"`
 * (`socks5://` and `socks5h://`).
 *
 * @example
 * ```ts
 * import type { ProxyProtocol } from "@x/nexus-ws";
 * const p: ProxyProtocol = "socks5";
 * console.assert(p === "socks5");
 * ```
 */
export type ProxyProtocol = "http" | "socks5";

/**
 * What went wrong with the proxy:
 *
 * - `"auth"`: it wants credentials, or refused the ones sent (HTTP 407, or
 *   401 as some proxies answer; SOCKS5 "no acceptable method", a failed
 *   RFC 1929 sub-negotiation);
 * - `"refused"`: it answered and would not open the tunnel (any other
 *   non-2xx HTTP status, a SOCKS5 reply code other than 0);
 * - `"protocol"`: its answer was not valid for the protocol (not HTTP, a
 *   bad status line, a 1xx, an endless head, a wrong SOCKS version, a method
 *   that was not offered, a bad address type, the stream ending early,
 *   bytes before a TLS origin's handshake).
 *
 * @example
 * ```ts
 * import type { ProxyFailure } from "@x/nexus-ws";
 * const retry = (f: ProxyFailure) => f === "refused";
 * console.assert(!retry("auth"));
 * ```
 */
export type ProxyFailure = "auth" | "refused" | "protocol";

/**
 * The fields of a {@link ProxyError}.
 *
 * @example
 * ```ts
 * import type { ProxyErrorInit } from "@x/nexus-ws";
 * const init: ProxyErrorInit = { proxy: "127.0.0.1:3128", protocol: "http", failure: "refused", status: 403 };
 * console.assert(init.status === 403);
 * ```
 */
export interface ProxyErrorInit {
  /** The proxy's `host:port` (IPv6 in brackets). Never credentials. */
  proxy: string;
  /** Which proxy protocol failed. */
  protocol: ProxyProtocol;
  /** The kind of failure. */
  failure: ProxyFailure;
  /** The HTTP status of the proxy's answer, when it sent a status line. */
  status?: number;
  /** The SOCKS5 reply code (RFC 1928 §6), when the proxy sent a reply. */
  reply?: number;
}

/**
 * A proxy refused to open the tunnel, asked for credentials, or answered
 * something that is not its protocol. Carries the proxy's `host:port` and
 * the HTTP `status` or SOCKS5 `reply` code it answered; never the
 * credentials (not in the message, not in a field, not in the `cause`).
 *
 * A proxy that cannot be reached at all is a {@link NetworkError} with
 * `peer` `"proxy"`, not this one.
 *
 * @example
 * ```ts
 * import { ProxyError } from "@x/nexus-ws";
 * const err = new ProxyError("Expected the proxy to open a tunnel, got 407", {
 *   proxy: "127.0.0.1:3128",
 *   protocol: "http",
 *   failure: "auth",
 *   status: 407,
 * });
 * console.assert(err.status === 407 && err.reply === undefined && err.failure === "auth");
 * ```
 */
export class ProxyError extends Error {
  /** The proxy's `host:port` (IPv6 in brackets). */
  readonly proxy: string;
  /** `"http"` (CONNECT) or `"socks5"`. */
  readonly protocol: ProxyProtocol;
  /** `"auth"`, `"refused"` or `"protocol"`: see {@link ProxyFailure}. */
  readonly failure: ProxyFailure;
  /** The HTTP status the proxy answered, when it sent a status line. */
  readonly status?: number;
  /** The SOCKS5 reply code (RFC 1928 §6), when the proxy sent a reply. */
  readonly reply?: number;

  /** Creates a proxy error; `options.cause` keeps the underlying error. */
  constructor(message: string, init: ProxyErrorInit, options?: ErrorOptions) {
    super(message, options);
    this.name = "ProxyError";
    this.proxy = init.proxy;
    this.protocol = init.protocol;
    this.failure = init.failure;
    if (init.status !== undefined) this.status = init.status;
    if (init.reply !== undefined) this.reply = init.reply;
  }
}
