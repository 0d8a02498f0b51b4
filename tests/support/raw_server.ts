/**
 * A raw WebSocket server for tests that need a peer misbehaving on purpose:
 * it completes the handshake by hand, then hands the socket to the test.
 */
import { acceptKey } from "../../src/codec/ws/handshake.ts";

/** A listening raw server; `conns` collects the upgraded sockets. */
export interface RawServer {
  url: string;
  port: number;
  conns: Deno.Conn[];
  /** Stops listening and closes every accepted socket. */
  close(): Promise<void>;
}

/** Reads one HTTP request head; returns the Sec-WebSocket-Key. */
export async function readUpgrade(conn: Deno.Conn): Promise<string> {
  const buf = new Uint8Array(16384);
  let n = 0;
  for (;;) {
    const r = await conn.read(buf.subarray(n));
    if (r === null) throw new Error("client closed before the handshake");
    n += r;
    const text = new TextDecoder().decode(buf.subarray(0, n));
    if (text.includes("\r\n\r\n")) {
      const m = /sec-websocket-key:\s*(\S+)/i.exec(text);
      if (!m) throw new Error("no Sec-WebSocket-Key");
      return m[1];
    }
  }
}

/** Writes a 101 answer for `key`, accepting `extensions` when given. */
export async function writeAccept(
  conn: Deno.Conn,
  key: string,
  extensions?: string,
): Promise<void> {
  await conn.write(
    new TextEncoder().encode(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n` +
        (extensions === undefined
          ? ""
          : `Sec-WebSocket-Extensions: ${extensions}\r\n`) +
        "\r\n",
    ),
  );
}

/** An unmasked server frame (`rsv`: the RSV bits, e.g. 0x40 for a compressed message). */
export function serverFrame(
  op: number,
  payload: Uint8Array,
  fin = true,
  rsv = 0,
): Uint8Array {
  const n = payload.length;
  const hl = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const out = new Uint8Array(hl + n);
  out[0] = (fin ? 0x80 : 0) | rsv | op;
  if (hl === 2) out[1] = n;
  else if (hl === 4) {
    out[1] = 126;
    out[2] = n >> 8;
    out[3] = n & 0xff;
  } else {
    out[1] = 127;
    new DataView(out.buffer).setBigUint64(2, BigInt(n));
  }
  out.set(payload, hl);
  return out;
}

/**
 * Starts a raw server on 127.0.0.1. `onConn` runs for each upgraded socket
 * (or, with `handshake: false`, for each accepted socket before anything is
 * read); the socket is closed by `close()` if the handler leaves it open.
 * `extensions` is put in the 101 answer as `Sec-WebSocket-Extensions`.
 */
export function rawServer(
  onConn: (conn: Deno.Conn) => Promise<void> | void,
  options: { handshake?: boolean; extensions?: string } = {},
): RawServer {
  const handshake = options.handshake ?? true;
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  const tasks: Promise<void>[] = [];
  const accepting = (async () => {
    for await (const conn of listener) {
      conns.push(conn);
      tasks.push((async () => {
        try {
          if (handshake) {
            await writeAccept(
              conn,
              await readUpgrade(conn),
              options.extensions,
            );
          }
          await onConn(conn);
        } catch { /* the client went away: fine for these tests */ }
      })());
    }
  })();
  const port = (listener.addr as Deno.NetAddr).port;
  return {
    url: `ws://127.0.0.1:${port}/`,
    port,
    conns,
    async close() {
      listener.close();
      await accepting.catch(() => {});
      for (const c of conns) {
        try {
          c.close();
        } catch { /* already closed */ }
      }
      await Promise.allSettled(tasks);
    },
  };
}

/** Reads and discards until the peer closes. */
export async function drain(conn: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(65536);
  while ((await conn.read(buf)) !== null) { /* discard */ }
}
