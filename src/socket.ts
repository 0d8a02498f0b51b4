/**
 * The runtime's socket calls with typed errors: a TCP connection, TLS over
 * it, writing a whole buffer, closing quietly. `dial()` uses them for the
 * origin, the tunnel for the proxy (errors then name the proxy).
 *
 * @module
 */

import { NetworkError, type NetworkPeer } from "./errors.ts";
import type { Transport } from "./transport.ts";

/**
 * The runtime's error for a failed connect as a {@link NetworkError}: a
 * failed name lookup is `"dns"`, anything else from `Deno.connect` is
 * `"connect"`.
 */
function connectError(
  err: unknown,
  host: string,
  port: number,
  peer: NetworkPeer,
): NetworkError {
  const dns = err instanceof Error &&
    !(err instanceof Deno.errors.ConnectionRefused) &&
    /lookup|resolve|name or service|nodename|no address/i.test(err.message);
  return new NetworkError(dns ? "dns" : "connect", host, port, {
    cause: err,
    peer,
  });
}

/**
 * Opens a TCP connection with Nagle disabled. A failure is a
 * {@link NetworkError} naming `hostname:port` as `peer`; an abort rejects
 * with the signal's reason.
 */
export async function connectTcp(
  hostname: string,
  port: number,
  signal: AbortSignal | undefined,
  peer: NetworkPeer,
): Promise<Deno.TcpConn> {
  let tcp: Deno.TcpConn;
  try {
    tcp = await Deno.connect({ hostname, port, signal });
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    throw connectError(err, hostname, port, peer);
  }
  tcp.setNoDelay(true);
  return tcp;
}

/**
 * TLS over `tcp` with the handshake done: verified against the system
 * roots plus `caCerts`, SNI `hostname`. Closes `tcp` on failure or abort; a
 * failure is a {@link NetworkError} of stage `"tls"`, an abort rejects
 * with the signal's reason.
 */
export async function startTls(
  tcp: Deno.TcpConn,
  hostname: string,
  port: number,
  caCerts: string[] | undefined,
  signal: AbortSignal | undefined,
  peer: NetworkPeer,
): Promise<Deno.TlsConn> {
  let conn: Deno.Conn = tcp;
  const onAbort = () => closeQuietly(conn);
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const tls = await Deno.startTls(tcp, { hostname, caCerts });
    conn = tls;
    signal?.throwIfAborted();
    await tls.handshake();
    return tls;
  } catch (err) {
    closeQuietly(conn);
    if (signal?.aborted) throw signal.reason;
    throw new NetworkError("tls", hostname, port, { cause: err, peer });
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

/** Writes all of `bytes[0, len)` (default: all of it). */
export async function writeAll(
  t: Transport,
  bytes: Uint8Array,
  len: number = bytes.length,
): Promise<void> {
  let off = 0;
  while (off < len) {
    off += await t.write(
      off === 0 && len === bytes.length ? bytes : bytes.subarray(off, len),
    );
  }
}

/** Closes `t`, ignoring that it may be closed already. */
export function closeQuietly(t: Transport): void {
  try {
    t.close();
  } catch { /* already closed */ }
}
