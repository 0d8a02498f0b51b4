/**
 * A TCP server that ends connections with a reset (RST), for the tests of
 * socket failures: `Deno.Conn.close()` always ends a socket with an orderly
 * FIN (even with unread data), while `node:net`'s `resetAndDestroy()` sets
 * SO_LINGER to 0 and so sends a reset, as a crashing or overloaded server
 * (or a middlebox) does.
 *
 * @module
 */

import net from "node:net";

/** A running reset server. */
export interface ResetServer extends AsyncDisposable {
  /** `http://127.0.0.1:port`. */
  origin: string;
  /** The port. */
  port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Stops listening and destroys every socket. */
  close(): Promise<void>;
}

/**
 * Listens on loopback. Each connection answers its first `answers` requests
 * (GETs without a body) with `200` and a one-byte body, the connection's
 * 0-based index; then the first byte of the next request makes it reset the
 * socket (`answers: 0`: at the first byte of the first request).
 */
export async function startResetServer(
  options: { answers: number },
): Promise<ResetServer> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((s) => {
    const index = accepted++;
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
    let answered = 0, pending = "";
    s.on("data", (chunk: Uint8Array) => {
      pending += new TextDecoder().decode(chunk);
      for (;;) {
        if (answered >= options.answers) {
          if (pending.length > 0) s.resetAndDestroy();
          return;
        }
        const end = pending.indexOf("\r\n\r\n");
        if (end < 0) return;
        pending = pending.slice(end + 4);
        answered++;
        s.write(`HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\n${index}`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  const close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    get accepted() {
      return accepted;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
