/**
 * The HTTP server the HTTP benches run against, in its own process.
 *
 * Run as a program (`deno run --allow-net bench/http_server.ts [port]`), it
 * serves with `Deno.serve` on `127.0.0.1:<port>` (0 = any free port), prints
 * one JSON line `{"port":N}` on stdout, and serves until its stdin reaches
 * end of stream (so it dies with the process that spawned it). Routes:
 *
 * - `/hello` → `hello world` (11 bytes, `Content-Length`);
 * - `/bytes?n=N` → N bytes, `Content-Length`;
 * - `/gzip?n=N` → an N-byte order-book JSON (`bookJson`), gzip-compressed
 *   (zlib level 6), `Content-Encoding: gzip`.
 *
 * Imported, it exports {@link startHttpServer}.
 *
 * @module
 */
import { spawnServer, stdinClosed } from "./server_process.ts";
import { gzipSync } from "node:zlib";
import { bookJson } from "./deflate_fixtures.ts";

/** The `/hello` body. */
export const HELLO = "hello world";

async function serve(port: number): Promise<void> {
  const ac = new AbortController();
  const sized = new Map<number, Uint8Array<ArrayBuffer>>();
  const gzipped = new Map<number, Uint8Array<ArrayBuffer>>();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port,
    signal: ac.signal,
    onListen(addr) {
      console.log(JSON.stringify({ port: addr.port }));
    },
  }, (req) => {
    const u = new URL(req.url);
    if (u.pathname === "/hello") return new Response(HELLO);
    if (u.pathname === "/bytes") {
      const n = Number(u.searchParams.get("n") ?? 0);
      let b = sized.get(n);
      if (b === undefined) sized.set(n, b = new Uint8Array(n).fill(120));
      return new Response(b);
    }
    if (u.pathname === "/gzip") {
      const n = Number(u.searchParams.get("n") ?? 0);
      let b = gzipped.get(n);
      if (b === undefined) {
        gzipped.set(n, b = new Uint8Array(gzipSync(bookJson(n))));
      }
      return new Response(b, {
        headers: {
          "content-encoding": "gzip",
          "content-type": "application/json",
        },
      });
    }
    return new Response("not found", { status: 404 });
  });
  await stdinClosed();
  ac.abort();
  await server.finished;
}

/** A running bench server process. */
export interface HttpBenchServer {
  /** `http://127.0.0.1:<port>`. */
  origin: string;
  /** Stops the process and waits for it to exit. */
  close(): Promise<void>;
  /** Lets this process exit without `close()` (the server exits with it). */
  unref(): void;
}

/**
 * Spawns the server in its own process (`Deno.execPath() run --allow-net`)
 * and resolves once it listens. Needs `--allow-run`.
 */
export async function startHttpServer(): Promise<HttpBenchServer> {
  const proc = await spawnServer(import.meta.url, "HTTP bench server");
  return {
    origin: `http://127.0.0.1:${proc.port}`,
    close: proc.close,
    unref: proc.unref,
  };
}

if (import.meta.main) {
  await serve(Number(Deno.args[0] ?? 0));
}
