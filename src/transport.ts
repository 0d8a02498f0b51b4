/**
 * The `Transport` the clients run over, and `dial()` that opens one with
 * `Deno.connect` / `Deno.connectTls`.
 *
 * @module
 */

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
 *
 * @example
 * ```ts
 * import type { DialOptions } from "@x/nexus-ws";
 * const options: DialOptions = { caCerts: [], signal: AbortSignal.timeout(5000) };
 * console.assert(options.caCerts!.length === 0);
 * ```
 */
export interface DialOptions {
  /** Extra PEM root certificates to trust for TLS (added to the defaults). */
  caCerts?: string[];
  /** Aborts the connect. */
  signal?: AbortSignal;
}

const DEFAULT_PORTS: Record<string, number> = {
  "ws:": 80,
  "http:": 80,
  "wss:": 443,
  "https:": 443,
};

/**
 * Whether the URL's scheme uses TLS.
 *
 * @example
 * ```ts
 * import { isSecure } from "@x/nexus-ws";
 * console.assert(isSecure(new URL("wss://x.test/")) && !isSecure(new URL("http://x.test/")));
 * ```
 */
export function isSecure(url: URL): boolean {
  return url.protocol === "wss:" || url.protocol === "https:";
}

/**
 * The port of a `ws`/`wss`/`http`/`https` URL, explicit or default.
 *
 * @example
 * ```ts
 * import { portOf } from "@x/nexus-ws";
 * console.assert(portOf(new URL("wss://x.test/")) === 443);
 * ```
 */
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

/**
 * The host name without IPv6 brackets, as `Deno.connect` wants it.
 *
 * @example
 * ```ts
 * import { hostnameOf } from "@x/nexus-ws";
 * console.assert(hostnameOf(new URL("ws://[::1]:8080/")) === "::1");
 * ```
 */
export function hostnameOf(url: URL): string {
  const h = url.hostname;
  return h.startsWith("[") ? h.slice(1, -1) : h;
}

/**
 * Opens a TCP connection (TLS for `wss:` / `https:`, verified against the
 * system roots plus `caCerts`, SNI = the URL host) with Nagle disabled.
 *
 * @example
 * ```ts ignore
 * import { dial } from "@x/nexus-ws";
 * const t = await dial(new URL("https://example.com/"));
 * t.close();
 * ```
 */
export async function dial(
  url: URL,
  options: DialOptions = {},
): Promise<Transport> {
  const port = portOf(url);
  const hostname = hostnameOf(url);
  const { signal } = options;
  signal?.throwIfAborted();
  const pending = connectOnce(hostname, port, isSecure(url), options.caCerts);
  if (!signal) return await pending;
  let onAbort!: () => void;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([pending, aborted]);
  } catch (err) {
    pending.then((c) => c.close(), () => {});
    throw err;
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

async function connectOnce(
  hostname: string,
  port: number,
  secure: boolean,
  caCerts: string[] | undefined,
): Promise<Deno.Conn> {
  const tcp = await Deno.connect({ hostname, port });
  tcp.setNoDelay(true);
  if (!secure) return tcp;
  try {
    return await Deno.startTls(tcp, { hostname, caCerts });
  } catch (err) {
    try {
      tcp.close();
    } catch { /* already closed by startTls */ }
    throw err;
  }
}
