/**
 * The HTTP server the HTTP benches run against, in its own process.
 *
 * Run as a program (`deno run --allow-net bench/http_server.ts [port]`), it
 * serves with `Deno.serve` on `127.0.0.1:<port>` (0 = any free port), prints
 * one JSON line `{"port":N}` on stdout, and serves until its stdin reaches
 * end of stream (so it dies with the process that spawned it). Routes:
 *
 * - `/hello` → `hello world` (11 bytes, `Content-Length`);
 * - `/bytes?n=N` → N bytes, `Content-Length`.
 *
 * Imported, it exports {@link startHttpServer}.
 *
 * @module
 */

/** The `/hello` body. */
export const HELLO = "hello world";

async function serve(port: number): Promise<void> {
  const ac = new AbortController();
  const sized = new Map<number, Uint8Array<ArrayBuffer>>();
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
    return new Response("not found", { status: 404 });
  });
  try {
    const b = new Uint8Array(64);
    while ((await Deno.stdin.read(b)) !== null) { /* ignore */ }
  } catch { /* stdin gone */ }
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
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--no-config", "--allow-net", import.meta.url],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const stdin = child.stdin.getWriter();
  const stdout = child.stdout.getReader();
  const decoder = new TextDecoder();
  let line = "";
  while (!line.includes("\n")) {
    const { value, done } = await stdout.read();
    if (done) {
      await stdin.close().catch(() => {});
      await child.status;
      throw new Error(
        "Expected the HTTP bench server to print its port, got end of stream",
      );
    }
    line += decoder.decode(value, { stream: true });
  }
  const port: number = JSON.parse(line.slice(0, line.indexOf("\n"))).port;
  let closing: Promise<void> | undefined;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      closing ??= (async () => {
        await stdin.close().catch(() => {});
        while (!(await stdout.read()).done) { /* drain */ }
        await child.status;
      })(),
    unref() {
      child.unref();
      stdout.releaseLock();
      child.stdout.cancel().catch(() => {});
    },
  };
}

if (import.meta.main) {
  await serve(Number(Deno.args[0] ?? 0));
}
