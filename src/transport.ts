/**
 * The `Transport` the clients run over, and `dial()` that opens one with
 * `Deno.connect` / `Deno.connectTls`.
 *
 * @module
 */

import { describe, type Rule, strings } from "./options.ts";
import type { ProxyUrl } from "./codec/proxy/url.ts";
import { proxyFromEnvironment } from "./proxy.ts";
import { connectTcp, startTls } from "./socket.ts";
import { openTunnel } from "./tunnel.ts";

/**
 * The smallest duplex the clients need: what `Deno.Conn` already is. Pass
 * any other with the same shape as `connect(url, { transport })` (the URL
 * still gives the `Host` header and the path): a Unix socket, a socket from a
 * proxy tunnel, or an in-memory pipe in tests.
 *
 * @example
 * ```ts ignore
 * import { connect, type Transport } from "@x/nexus-ws";
 * // a feed served on a Unix socket
 * const transport: Transport = await Deno.connect({ transport: "unix", path: "/run/feed.sock" });
 * const ws = await connect("ws://localhost/feed", { transport });
 * ```
 */
export interface Transport {
  /** Reads into `p`; resolves with the byte count, or `null` at end of stream. */
  read(p: Uint8Array): Promise<number | null>;
  /** Writes some prefix of `p`; resolves with the byte count written. */
  write(p: Uint8Array): Promise<number>;
  /** Closes both directions. Must not throw when already closed. */
  close(): void;
}

/**
 * Options for {@link dial}.
 */
export interface DialOptions {
  /** Extra PEM root certificates to trust for TLS (added to the defaults). */
  caCerts?: string[];
  /** Aborts the connect. */
  signal?: AbortSignal;
  /**
   * The proxy to tunnel through, `false` for none; `undefined`: the
   * environment's (read at each dial).
   */
  proxy?: ProxyUrl | false;
  /** Filled in with how long each stage took, in ms (see {@link DialTiming}). */
  timing?: DialTiming;
}

/** How long the stages of a {@link dial} took, in milliseconds. */
export interface DialTiming {
  /**
   * Name resolution and the TCP connect (`Deno.connect` does both); through
   * a proxy, everything up to the tunnel being open.
   */
  tcp: number;
  /** The TLS handshake with the origin; left as it was for plain TCP. */
  tls: number;
}

const DEFAULT_PORTS: Record<string, number> = {
  "ws:": 80,
  "http:": 80,
  "wss:": 443,
  "https:": 443,
};

/** Whether the URL's scheme uses TLS. */
export function isSecure(url: URL): boolean {
  return url.protocol === "wss:" || url.protocol === "https:";
}

/** The port of a `ws`/`wss`/`http`/`https` URL, explicit or default. */
export function portOf(url: URL): number {
  if (url.port) return Number(url.port);
  const port = DEFAULT_PORTS[url.protocol];
  if (port === undefined) {
    throw new TypeError(
      `Expected a ws:, wss:, http: or https: URL, got "${url.protocol}"`,
    );
  }
  return port;
}

/** The host name without IPv6 brackets, as `Deno.connect` wants it. */
export function hostnameOf(url: URL): string {
  const h = url.hostname;
  return h.startsWith("[") ? h.slice(1, -1) : h;
}

const PEM = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;

/** The `caCerts` option: an array of PEM certificates (`TypeError` otherwise). */
export const caCertsRule: Rule = (v, name) => {
  strings(v, name);
  (v as string[]).forEach((pem, i) => {
    if (!PEM.test(pem)) {
      throw new TypeError(
        `Expected option "${name}[${i}]" to be a PEM certificate ("-----BEGIN CERTIFICATE-----..."), got ${
          describe(pem)
        }`,
      );
    }
  });
};

/**
 * Opens a connection to the URL's origin: directly, or through the proxy
 * of `options.proxy` (or, when that is `undefined`, of the environment:
 * see `src/proxy.ts`). TCP with Nagle disabled; for `wss:` / `https:`,
 * TLS verified against the system roots plus `caCerts`, SNI = the URL
 * host, handshake completed before this resolves, inside the tunnel as on
 * a direct connection. Failures are {@link NetworkError}s naming the host
 * and port (the proxy's, with `peer` `"proxy"`, when the proxy cannot be
 * reached) or `ProxyError`s; an abort rejects with the signal's reason (see
 * `openTunnel` for a timeout on the proxy leg).
 */
export async function dial(
  url: URL,
  options: DialOptions = {},
): Promise<Transport> {
  const port = portOf(url);
  const hostname = hostnameOf(url);
  const { signal } = options;
  signal?.throwIfAborted();
  const secure = isSecure(url);
  const proxy = options.proxy ?? proxyFromEnvironment(url);
  const t0 = performance.now();
  const conn = proxy
    ? await openTunnel(proxy, hostname, port, secure, options)
    : await connectTcp(hostname, port, signal, "origin");
  const timing = options.timing, t1 = performance.now();
  if (timing !== undefined) timing.tcp = t1 - t0;
  if (!secure) return conn;
  const tcp = conn as Deno.TcpConn;
  const tls = await startTls(
    tcp,
    hostname,
    port,
    options.caCerts,
    signal,
    "origin",
  );
  if (timing !== undefined) timing.tls = performance.now() - t1;
  return tls;
}
