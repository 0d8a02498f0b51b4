/**
 * Typed errors raised by the codec and the clients.
 *
 * This file has no `Deno.*` and no I/O: the sans-IO codec throws these too.
 *
 * @module
 */

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
  constructor(code: number, message: string) {
    super(message);
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
  /** Response headers (lower-case names), when a head was parsed. */
  readonly headers: ReadonlyMap<string, string>;
  /** Creates a handshake error. */
  constructor(
    message: string,
    status = 0,
    headers: ReadonlyMap<string, string> = new Map(),
  ) {
    super(message);
    this.name = "HandshakeError";
    this.status = status;
    this.headers = headers;
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
  constructor(code: number, reason: string, clean: boolean, message?: string) {
    super(
      message ??
        `Connection closed (code ${code}${
          reason ? `, reason "${reason}"` : ""
        }${clean ? "" : ", not clean"})`,
    );
    this.name = "ConnectionClosedError";
    this.code = code;
    this.reason = reason;
    this.clean = clean;
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
  constructor(message: string) {
    super(message);
    this.name = "TimeoutError";
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
  constructor(message: string) {
    super(message);
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
  constructor(limit: string, max: number, message: string) {
    super(message);
    this.name = "HttpLimitError";
    this.limit = limit;
    this.max = max;
  }
}
