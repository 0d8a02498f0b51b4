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

/** How to run a server process. */
export interface SpawnOptions {
  /** Program arguments after the module. */
  args?: string[];
  /** Paths the server may read (`--allow-read=`), e.g. its TLS files. */
  allowRead?: string[];
  /** Raise the open-file limit to the hard limit first ({@link withFdLimit}). */
  raiseFdLimit?: boolean;
}

/**
 * The command and arguments that run `command args` with the soft limit
 * on open files raised to the hard limit (through `sh -c 'ulimit -n
 * "$(ulimit -Hn)"; exec ...'`; where the shell cannot raise it, the
 * command runs with the limit it has). A process cannot raise its own
 * limit from Deno, so the benches that open thousands of sockets start
 * their processes through this.
 */
export function withFdLimit(
  command: string,
  args: string[],
): { command: string; args: string[] } {
  return {
    command: "sh",
    args: [
      "-c",
      'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"',
      "sh",
      command,
      ...args,
    ],
  };
}

/** Spawns `moduleUrl` and resolves once it printed its port. Needs `--allow-run`. */
export async function spawnServer(
  moduleUrl: string,
  what: string,
  options: SpawnOptions = {},
): Promise<ServerProcess> {
  const read = options.allowRead?.length
    ? [`--allow-read=${options.allowRead.join(",")}`]
    : [];
  let cmd = {
    command: Deno.execPath(),
    args: [
      "run",
      "--quiet",
      "--no-config",
      "--allow-net",
      ...read,
      moduleUrl,
      ...(options.args ?? []),
    ],
  };
  if (options.raiseFdLimit) cmd = withFdLimit(cmd.command, cmd.args);
  const child = new Deno.Command(cmd.command, {
    args: cmd.args,
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
