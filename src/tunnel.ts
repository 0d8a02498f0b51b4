/**
 * Tunnels through a proxy: the connection to the proxy (TCP, or TLS for an
 * `https://` proxy), the CONNECT or SOCKS5 exchange of the codec driven
 * over it, and the connection handed back for the origin's protocol (and
 * its TLS, which `dial()` starts inside the tunnel as on a direct
 * connection).
 *
 * @module
 */

import { NetworkError, ProxyError, TimeoutError } from "./errors.ts";
import { ReadBuf } from "./codec/read_buf.ts";
import type { ProxyHandshake } from "./codec/proxy/handshake.ts";
import { HttpConnect } from "./codec/proxy/http_connect.ts";
import { Socks5Connect } from "./codec/proxy/socks5.ts";
import { parseIP } from "./codec/proxy/ip.ts";
import type { ProxyUrl } from "./codec/proxy/url.ts";
import { closeQuietly, connectTcp, startTls, writeAll } from "./socket.ts";
import type { Transport } from "./transport.ts";

/** Options for {@link openTunnel}. */
export interface TunnelOptions {
  /** Extra PEM roots, for an `https://` proxy's certificate. */
  caCerts?: string[];
  /** Aborts the whole proxy leg. */
  signal?: AbortSignal;
}

/**
 * A connection whose first reads return the bytes that came after the
 * proxy's answer (they belong to the tunnel); then the connection's own.
 */
class Prefixed implements Transport {
  #conn: Deno.Conn;
  #rest: Uint8Array | null;

  constructor(conn: Deno.Conn, rest: Uint8Array) {
    this.#conn = conn;
    this.#rest = rest;
  }

  read(p: Uint8Array): Promise<number | null> {
    const rest = this.#rest;
    if (rest === null) return this.#conn.read(p);
    const n = Math.min(p.length, rest.length);
    p.set(rest.subarray(0, n));
    this.#rest = n === rest.length ? null : rest.subarray(n);
    return Promise.resolve(n);
  }

  write(p: Uint8Array): Promise<number> {
    return this.#conn.write(p);
  }

  close(): void {
    this.#conn.close();
  }
}

/** Where the proxy leg stands, for the message of a timeout. */
interface Leg {
  phase: string;
  hs: ProxyHandshake | null;
  rb: ReadBuf | null;
}

function describeLeg(leg: Leg): string {
  const { hs, rb } = leg;
  if (hs === null || rb === null) return leg.phase;
  const came = rb.length > 0 ? ` (${rb.length} bytes of it came)` : "";
  return `waiting for ${hs.waiting}${came}`;
}

/**
 * What an aborted proxy leg rejects with: the signal's reason, except a
 * {@link TimeoutError}, which becomes one naming the proxy and where the
 * leg stalled (the original as its `cause`).
 */
function aborted(reason: unknown, proxy: ProxyUrl, leg: Leg): unknown {
  if (!(reason instanceof TimeoutError)) return reason;
  return new TimeoutError(
    `${reason.message} (the tunnel through proxy ${proxy.host} stalled ${
      describeLeg(leg)
    })`,
    { cause: reason },
  );
}

/**
 * The error to raise for a dial aborted with `reason` that rejected with
 * `err`: `err` when it is a tunnel's account of that timeout, else
 * `reason` (an abort rejects with the signal's reason).
 */
export function abortError(reason: unknown, err: unknown): unknown {
  return err instanceof TimeoutError && err.cause === reason ? err : reason;
}

/** The first address the system resolver gives for `hostname` (`socks5:`). */
async function resolveLocally(
  hostname: string,
  port: number,
  signal: AbortSignal | undefined,
): Promise<string> {
  if (parseIP(hostname) !== null) return hostname;
  // getaddrinfo, as Deno.connect resolves (hosts file, NSS): Deno itself
  // has no such call (Deno.resolveDns asks the name servers directly)
  const { lookup } = (await import("node:dns")).promises;
  let onAbort = () => {};
  const abort = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal!.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
  try {
    signal?.throwIfAborted();
    return (await Promise.race([lookup(hostname), abort])).address;
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    throw new NetworkError("dns", hostname, port, { cause: err });
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

/** The codec's exchange for `proxy`'s protocol (throws before any I/O). */
function handshakeFor(
  proxy: ProxyUrl,
  hostname: string,
  port: number,
): ProxyHandshake {
  const options = {
    proxy: proxy.host,
    hostname,
    port,
    ...(proxy.credentials ? { credentials: proxy.credentials } : {}),
  };
  return proxy.scheme.startsWith("socks")
    ? new Socks5Connect(options)
    : new HttpConnect(options);
}

/** Drives `hs` over `conn` until the tunnel is open; throws what it throws. */
async function exchange(
  conn: Deno.Conn,
  hs: ProxyHandshake,
  rb: ReadBuf,
): Promise<void> {
  for (;;) {
    const step = hs.step;
    if (step === "open") return;
    if (step === "write") {
      await writeAll(conn, hs.output());
      continue;
    }
    const n = await conn.read(rb.spare());
    if (n === null) hs.end();
    rb.commit(n!);
    hs.read(rb);
  }
}

/**
 * Opens a tunnel through `proxy` to `hostname:port` and returns the
 * connection the origin's protocol runs over: the raw `Deno.TcpConn` (a
 * `Deno.TlsConn` for an `https://` proxy) when the proxy sent nothing after
 * its answer, else a transport that hands those bytes over first. For a
 * `secure` origin it is always a `Deno.TcpConn`, for `dial()` to start the
 * origin's TLS on.
 *
 * Throws, before any I/O, `TypeError` for an `https://` proxy in front of
 * a `secure` origin (TLS inside TLS: `Deno.startTls` cannot run over a
 * `Deno.TlsConn`), and the exchange's `TypeError` / `RangeError` for
 * credentials its protocol cannot carry. Then: an unreachable proxy (DNS,
 * TCP, its TLS, a broken socket) is a {@link NetworkError} with `peer`
 * `"proxy"`; a `socks5:` origin name that does not resolve a
 * `NetworkError` of stage `"dns"`; a refusal or a broken answer a
 * {@link ProxyError}, as is a proxy that sends bytes before a TLS origin
 * has spoken; an abort the signal's reason (a {@link TimeoutError} reason
 * becomes one naming the proxy and the step).
 */
export async function openTunnel(
  proxy: ProxyUrl,
  hostname: string,
  port: number,
  secure: boolean,
  options: TunnelOptions,
): Promise<Transport> {
  if (secure && proxy.scheme === "https") {
    throw new TypeError(
      `Expected an http://, socks5:// or socks5h:// proxy for a TLS origin (wss: or https:), got https://${proxy.host}: TLS inside TLS is not available (Deno.startTls cannot run over a TLS connection)`,
    );
  }
  // the exchange checks the target and the credentials: before any I/O
  let hs = handshakeFor(proxy, hostname, port);
  const { signal } = options;
  const leg: Leg = { phase: "", hs: null, rb: null };
  let conn: Deno.Conn | null = null;
  const onAbort = () => conn !== null && closeQuietly(conn);
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    if (proxy.scheme === "socks5") {
      leg.phase = `resolving ${hostname} for the SOCKS5 request`;
      const address = await resolveLocally(hostname, port, signal);
      hs = handshakeFor(proxy, address, port);
    }
    conn = await reachProxy(proxy, options, leg);
    signal?.throwIfAborted(); // an abort before conn was set closed nothing
    leg.hs = hs;
    leg.rb = new ReadBuf({ bufferCapacity: 1024 });
    await exchange(conn, hs, leg.rb);
    return handOver(conn, leg.rb, secure, hs);
  } catch (err) {
    if (conn !== null) closeQuietly(conn);
    if (signal?.aborted) throw aborted(signal.reason, proxy, leg);
    if (err instanceof ProxyError || err instanceof NetworkError) throw err;
    throw new NetworkError("io", proxy.hostname, proxy.port, {
      cause: err,
      peer: "proxy",
    });
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

/** The connection to the proxy: TCP, and TLS for an `https://` proxy. */
async function reachProxy(
  proxy: ProxyUrl,
  options: TunnelOptions,
  leg: Leg,
): Promise<Deno.Conn> {
  const { signal } = options;
  leg.phase = "connecting to it";
  const tcp = await connectTcp(proxy.hostname, proxy.port, signal, "proxy");
  if (proxy.scheme !== "https") return tcp;
  leg.phase = "in the TLS handshake with it";
  const { hostname, port } = proxy;
  return await startTls(tcp, hostname, port, options.caCerts, signal, "proxy");
}

/** The open tunnel, with the bytes that came after the answer, if any. */
function handOver(
  conn: Deno.Conn,
  rb: ReadBuf,
  secure: boolean,
  hs: ProxyHandshake,
): Transport {
  if (rb.length === 0) return conn;
  if (secure) {
    throw new ProxyError(
      `Expected nothing from proxy ${hs.proxy} after it opened the tunnel until the TLS handshake, got ${rb.length} bytes`,
      {
        proxy: hs.proxy,
        protocol: hs.protocol,
        failure: "protocol",
      },
    );
  }
  return new Prefixed(conn, rb.data().slice());
}
