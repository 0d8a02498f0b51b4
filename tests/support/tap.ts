/**
 * A TCP tap for proxy tests: it listens on loopback and relays every
 * connection to an upstream port (a real proxy), both ways, counting the
 * connections and keeping the first bytes the client sent on each. Tests
 * put it in front of a proxy to see how many tunnels the clients open and
 * what they asked the proxy (e.g. the SOCKS5 request's address type).
 * Given a certificate, it terminates TLS: a TLS front that turns a plain
 * proxy into an `https://` one.
 *
 * @module
 */

/** A running tap (see {@link startTap}). */
export interface Tap extends AsyncDisposable {
  /** The port it listens on (127.0.0.1). */
  readonly port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /** The first `keep` bytes the client sent on each connection, in order. */
  readonly sent: readonly Uint8Array[];
  /** `scheme://127.0.0.1:port`. */
  url(scheme: string): string;
  /** Stops listening, closes every relayed connection, waits for the relays. */
  close(): Promise<void>;
}

async function pump(
  from: Deno.Conn,
  to: Deno.Conn,
  record?: (chunk: Uint8Array) => void,
): Promise<void> {
  const buf = new Uint8Array(65536);
  try {
    for (;;) {
      const n = await from.read(buf);
      if (n === null) break;
      record?.(buf.subarray(0, n));
      for (let off = 0; off < n;) off += await to.write(buf.subarray(off, n));
    }
  } catch { /* either side closed */ }
  for (const c of [from, to]) {
    try {
      c.close();
    } catch { /* already closed */ }
  }
}

/** Options for {@link startTap}. */
export interface TapOptions {
  /** Bytes kept of what each client sends. Default 512. */
  keep?: number;
  /** Listen with TLS, with this certificate and key (PEM). */
  tls?: { cert: string; key: string };
}

/** Starts a tap relaying to `127.0.0.1:upstreamPort`. */
export function startTap(upstreamPort: number, options: TapOptions = {}): Tap {
  const keep = options.keep ?? 512;
  const at = { hostname: "127.0.0.1", port: 0 };
  const listener = options.tls
    ? Deno.listenTls({ ...at, ...options.tls })
    : Deno.listen(at);
  const port = (listener.addr as Deno.NetAddr).port;
  const sent: Uint8Array[] = [];
  const conns = new Set<Deno.Conn>();
  const relays = new Set<Promise<void>>();
  let connections = 0;
  const relay = async (client: Deno.Conn) => {
    const i = connections++;
    sent[i] = new Uint8Array(0);
    let upstream: Deno.Conn;
    try {
      upstream = await Deno.connect({
        hostname: "127.0.0.1",
        port: upstreamPort,
      });
    } catch {
      client.close();
      return;
    }
    conns.add(client).add(upstream);
    const record = (chunk: Uint8Array) => {
      if (sent[i].length >= keep) return;
      const next = new Uint8Array(
        Math.min(keep, sent[i].length + chunk.length),
      );
      next.set(sent[i]);
      next.set(chunk.subarray(0, next.length - sent[i].length), sent[i].length);
      sent[i] = next;
    };
    await Promise.all([pump(client, upstream, record), pump(upstream, client)]);
    conns.delete(client);
    conns.delete(upstream);
  };
  const accepting = (async () => {
    for (;;) {
      let c: Deno.Conn;
      try {
        c = await listener.accept();
      } catch {
        return;
      }
      const r = relay(c);
      relays.add(r);
      r.finally(() => relays.delete(r));
    }
  })();
  const close = async () => {
    try {
      listener.close();
    } catch { /* closed */ }
    await accepting;
    for (const c of conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    await Promise.all([...relays]);
  };
  return {
    port,
    get connections() {
      return connections;
    },
    sent,
    url: (scheme) => `${scheme}://127.0.0.1:${port}`,
    close,
    [Symbol.asyncDispose]: close,
  };
}
