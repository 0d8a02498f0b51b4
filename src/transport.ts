/**
 * The `Transport` the clients run over, and `dial()` that opens one with
 * `Deno.connect` / `Deno.connectTls`.
 *
 * @module
 */

import { NetworkError } from "./errors.ts";
import { describe, type Rule, strings } from "./options.ts";

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
  /** Filled in with how long each stage took, in ms (see {@link DialTiming}). */
  timing?: DialTiming;
}

/** How long the stages of a {@link dial} took, in milliseconds. */
export interface DialTiming {
  /** Name resolution and the TCP connect (`Deno.connect` does both). */
  tcp: number;
  /** The TLS handshake; left as it was for plain TCP. */
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
 * The runtime's error for a failed dial as a {@link NetworkError}: a
 * failed name lookup is `"dns"`, anything else from `Deno.connect` is
 * `"connect"`.
 */
function connectError(err: unknown, host: string, port: number): NetworkError {
  const dns = err instanceof Error &&
    !(err instanceof Deno.errors.ConnectionRefused) &&
    /lookup|resolve|name or service|nodename|no address/i.test(err.message);
  return new NetworkError(dns ? "dns" : "connect", host, port, { cause: err });
}

/**
 * Opens a TCP connection (TLS for `wss:` / `https:`, verified against the
 * system roots plus `caCerts`, SNI = the URL host, handshake completed
 * before this resolves) with Nagle disabled. Failures are
 * {@link NetworkError}s naming the host and port; an abort rejects with the
 * signal's reason.
 */
export async function dial(
  url: URL,
  options: DialOptions = {},
): Promise<Transport> {
  const port = portOf(url);
  const hostname = hostnameOf(url);
  const { signal } = options;
  signal?.throwIfAborted();
  let tcp: Deno.TcpConn;
  const t0 = performance.now();
  try {
    tcp = await Deno.connect({ hostname, port, signal });
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    throw connectError(err, hostname, port);
  }
  tcp.setNoDelay(true);
  const timing = options.timing;
  const t1 = performance.now();
  if (timing !== undefined) timing.tcp = t1 - t0;
  if (!isSecure(url)) return tcp;
  const tls = await startTls(tcp, hostname, port, options);
  if (timing !== undefined) timing.tls = performance.now() - t1;
  return tls;
}

/** TLS over `tcp`, handshake done; closes `tcp` on failure or abort. */
async function startTls(
  tcp: Deno.TcpConn,
  hostname: string,
  port: number,
  options: DialOptions,
): Promise<Deno.TlsConn> {
  const { signal } = options;
  let conn: Deno.Conn = tcp;
  const onAbort = () => close(conn);
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const tls = await Deno.startTls(tcp, {
      hostname,
      caCerts: options.caCerts,
    });
    conn = tls;
    signal?.throwIfAborted();
    await tls.handshake();
    return tls;
  } catch (err) {
    close(conn);
    if (signal?.aborted) throw signal.reason;
    throw new NetworkError("tls", hostname, port, { cause: err });
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

function close(t: Transport): void {
  try {
    t.close();
  } catch { /* already closed */ }
}
