/**
 * Runs a bench server module in its own process: the shared plumbing of
 * `feed_server.ts` and `http_server.ts`.
 *
 * The child is `Deno.execPath() run --allow-net <module>`; it must print one
 * JSON line `{"port":N}` on stdout once it listens, and exit when its stdin
 * reaches end of stream (so it never outlives the process that spawned it).
 *
 * @module
 */

/** A running server process. */
export interface ServerProcess {
  /** The port it listens on at 127.0.0.1. */
  readonly port: number;
  /** Stops the process (closes its stdin) and waits for it to exit. */
  close(): Promise<void>;
  /** Lets this process exit without `close()`; the server exits with it. */
  unref(): void;
}

/** Spawns `moduleUrl` and resolves once it printed its port. Needs `--allow-run`. */
export async function spawnServer(
  moduleUrl: string,
  what: string,
): Promise<ServerProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--no-config", "--allow-net", moduleUrl],
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
        `Expected the ${what} to print its port, got end of stream`,
      );
    }
    line += decoder.decode(value, { stream: true });
  }
  const port: number = JSON.parse(line.slice(0, line.indexOf("\n"))).port;
  let closing: Promise<void> | undefined;
  return {
    port,
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

/** In the server process: resolves when stdin reaches end of stream (the parent is gone). */
export async function stdinClosed(): Promise<void> {
  const b = new Uint8Array(64);
  try {
    while ((await Deno.stdin.read(b)) !== null) { /* ignore */ }
  } catch { /* stdin gone */ }
}
