/**
 * `ProxyError`: a proxy refused the tunnel or broke its protocol.
 *
 * No `Deno.*` and no I/O: the sans-IO proxy exchanges throw it.
 *
 * @module
 */

/**
 * The proxy protocol an error comes from: `"http"` (HTTP CONNECT, through
 * an `http://` or `https://` proxy) or `"socks5"` (`socks5://` and
 * `socks5h://`).
 *
 * @example
 * ```ts
 * import type { ProxyProtocol } from "@x/nexus-ws/codec";
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
 *   that was not offered, a bad address type, the stream ending early).
 *
 * @example
 * ```ts
 * import type { ProxyFailure } from "@x/nexus-ws/codec";
 * const f: ProxyFailure = "auth";
 * console.assert(f === "auth");
 * ```
 */
export type ProxyFailure = "auth" | "refused" | "protocol";

/**
 * The fields of a {@link ProxyError}.
 *
 * @example
 * ```ts
 * import type { ProxyErrorInit } from "@x/nexus-ws/codec";
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
 * A proxy that cannot be reached at all is a network error, not this one.
 *
 * @example
 * ```ts
 * import { ProxyError } from "@x/nexus-ws/codec";
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
