/**
 * HTTP peers for the HTTP client tests, all on loopback:
 *
 * - `startDenoServer()`: Deno's own `Deno.serve` (hyper) with a few routes,
 *   over http or https.
 * - `startRawServer()`: a scripted TCP server for behaviour no real server
 *   shows on demand (tiny chunks with trailers, closing a reused socket in
 *   the middle of the keep-alive race, never answering, lying framing).
 *
 * @module
 */

import { setImmediate } from "node:timers";
import { testTls } from "./tls.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A running `Deno.serve` with the routes below. */
export interface DenoServer {
  /** `http://127.0.0.1:port` or `https://localhost:port`. */
  origin: string;
  /** The CA to trust for https. */
  caCerts: string[];
  /** Requests handled so far. */
  requests: number;
  /** Stops the server (waits for in-flight requests). */
  close(): Promise<void>;
}

function pattern(n: number): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + 3) & 0xff;
  return b;
}

/** The byte pattern `/bytes` and `/stream` send: byte i is `(i * 7 + 3) & 0xff`. */
export function expectedBytes(n: number): Uint8Array<ArrayBuffer> {
  return pattern(n);
}

/**
 * Routes:
 * - `/hello` → `hello world`
 * - `/echo` → JSON `{ method, path, search, headers, body }`
 * - `/bytes?n=N` → N pattern bytes, `Content-Length`
 * - `/stream?chunks=K&size=S` → K×S pattern bytes, chunked, each S-byte
 *   piece its own chunk (a macrotask between them defeats coalescing)
 * - `/status?code=C` → empty response with status C (304 with an ETag)
 * - `/close` → `bye` with `Connection: close`
 * - `/slow?ms=M` → `late` after M ms
 */
export async function startDenoServer(
  options: { tls?: boolean } = {},
): Promise<DenoServer> {
  const tls = options.tls ? await testTls() : undefined;
  let requests = 0;
  const ac = new AbortController();
  const handler = async (req: Request): Promise<Response> => {
    requests++;
    const u = new URL(req.url);
    switch (u.pathname) {
      case "/hello":
        return new Response("hello world");
      case "/echo": {
        const body = await req.text();
        return Response.json({
          method: req.method,
          path: u.pathname,
          search: u.search,
          headers: Object.fromEntries(req.headers),
          body,
        });
      }
      case "/bytes":
        return new Response(pattern(Number(u.searchParams.get("n"))));
      case "/stream": {
        const chunks = Number(u.searchParams.get("chunks"));
        const size = Number(u.searchParams.get("size"));
        const all = pattern(chunks * size);
        let i = 0;
        return new Response(
          new ReadableStream({
            async pull(c) {
              if (i === chunks) return c.close();
              // A macrotask between chunks: hyper then sends each as its
              // own chunk instead of coalescing them.
              await new Promise((r) => setImmediate(r));
              c.enqueue(all.slice(i * size, (i + 1) * size));
              i++;
            },
          }),
        );
      }
      case "/status": {
        const code = Number(u.searchParams.get("code"));
        return new Response(null, {
          status: code,
          headers: code === 304 ? { etag: '"v1"' } : {},
        });
      }
      case "/close":
        return new Response("bye", { headers: { connection: "close" } });
      case "/slow": {
        const ms = Number(u.searchParams.get("ms"));
        await new Promise((r) => setTimeout(r, ms));
        return new Response("late");
      }
    }
    return new Response("not found", { status: 404 });
  };
  const server = Deno.serve({
    port: 0,
    hostname: "127.0.0.1",
    signal: ac.signal,
    onListen() {},
    ...(tls ? { cert: tls.cert, key: tls.key } : {}),
  }, handler);
  const port = server.addr.port;
  return {
    origin: tls ? `https://localhost:${port}` : `http://127.0.0.1:${port}`,
    caCerts: tls ? [tls.caCert] : [],
    get requests() {
      return requests;
    },
    async close() {
      ac.abort();
      await server.finished;
    },
  };
}

/** One request as the raw server read it. */
export interface RawRequest {
  /** The head, request line to the blank line (CRLFs kept). */
  head: string;
  /** Method from the request line. */
  method: string;
  /** Target from the request line. */
  path: string;
  /** Body (by Content-Length). */
  body: Uint8Array;
}

/** A socket accepted by the raw server, with request reading on top. */
export class RawConn {
  /** The socket. */
  readonly conn: Deno.Conn;
  /** 0-based index of this connection among those accepted. */
  readonly index: number;
  #buf = new Uint8Array(1 << 16);
  #len = 0;

  constructor(conn: Deno.Conn, index: number) {
    this.conn = conn;
    this.index = index;
  }

  /** Reads one request; `null` when the client closed first. */
  async readRequest(): Promise<RawRequest | null> {
    for (;;) {
      const text = dec.decode(this.#buf.subarray(0, this.#len));
      const end = text.indexOf("\r\n\r\n");
      if (end >= 0) {
        const head = text.slice(0, end + 4);
        const m = /content-length:\s*(\d+)/i.exec(head);
        const bodyLen = m ? Number(m[1]) : 0;
        const headLen = enc.encode(head).length;
        if (this.#len >= headLen + bodyLen) {
          const body = this.#buf.slice(headLen, headLen + bodyLen);
          this.#buf.copyWithin(0, headLen + bodyLen, this.#len);
          this.#len -= headLen + bodyLen;
          const [method, path] = head.split(" ", 2);
          return { head, method, path, body };
        }
      }
      if (this.#len === this.#buf.length) {
        const next = new Uint8Array(this.#buf.length * 2);
        next.set(this.#buf);
        this.#buf = next;
      }
      let n: number | null;
      try {
        n = await this.conn.read(this.#buf.subarray(this.#len));
      } catch {
        n = null;
      }
      if (n === null) return null;
      this.#len += n;
    }
  }

  /** Writes a string (Latin-1/UTF-8) or bytes; ignores a closed socket. */
  async write(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === "string" ? enc.encode(data) : data;
    try {
      for (let off = 0; off < bytes.length;) {
        off += await this.conn.write(bytes.subarray(off));
      }
    } catch { /* the client went away */ }
  }

  /** Closes the socket (idempotent). */
  close(): void {
    try {
      this.conn.close();
    } catch { /* already closed */ }
  }
}

/** A scripted TCP server. */
export interface RawServer {
  /** `http://127.0.0.1:port`. */
  origin: string;
  /** Connections accepted so far. */
  accepted: number;
  /** Every request read so far, in order. */
  requests: RawRequest[];
  /** Stops listening, closes every socket, waits for the scripts to end. */
  close(): Promise<void>;
}

/**
 * Listens on loopback and runs `script` for each accepted connection. The
 * script reads with `c.readRequest()` and answers with `c.write()`; the
 * socket is closed when the script returns.
 */
export function startRawServer(
  script: (c: RawConn, requests: RawRequest[]) => Promise<void>,
): RawServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const conns = new Set<RawConn>();
  const tasks = new Set<Promise<void>>();
  const requests: RawRequest[] = [];
  let accepted = 0;
  const loop = (async () => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        return;
      }
      const c = new RawConn(conn, accepted++);
      conns.add(c);
      const recording = {
        readRequest: async () => {
          const r = await RawConn.prototype.readRequest.call(c);
          if (r) requests.push(r);
          return r;
        },
      };
      c.readRequest = recording.readRequest;
      const task = script(c, requests)
        .catch(() => {})
        .finally(() => {
          c.close();
          conns.delete(c);
          tasks.delete(task);
        });
      tasks.add(task);
    }
  })();
  return {
    origin: `http://127.0.0.1:${port}`,
    get accepted() {
      return accepted;
    },
    requests,
    async close() {
      listener.close();
      await loop;
      for (const c of conns) c.close();
      await Promise.all([...tasks]);
    },
  };
}

/** Resolves after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
