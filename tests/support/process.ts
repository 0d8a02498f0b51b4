/**
 * Process plumbing for the peers the tests start from Debian packages:
 * free loopback ports, waiting for a port to listen, and daemons run in
 * their own process group (so stopping one also stops every helper it
 * forked) with their own temp dir.
 *
 * @module
 */

/**
 * Where a Debian binary is: daemons live in `/usr/sbin`, which is not on a
 * normal user's `PATH`. Falls back to the bare name (looked up in `PATH`).
 */
export function binaryPath(name: string): string {
  for (const dir of ["/usr/sbin", "/usr/local/sbin", "/usr/bin"]) {
    try {
      Deno.statSync(`${dir}/${name}`);
      return `${dir}/${name}`;
    } catch { /* try the next */ }
  }
  return name;
}

/** A loopback TCP port that was free a moment ago. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Resolves once `127.0.0.1:port` accepts; rejects when `child` exits first or after 10 s. */
export async function waitForPort(
  port: number,
  child: Deno.ChildProcess,
  name: string,
): Promise<void> {
  const until = Date.now() + 10000;
  let exited = false;
  child.status.then(() => exited = true);
  while (Date.now() < until) {
    if (exited) throw new Error(`${name} exited during startup`);
    try {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      c.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  throw new Error(`${name} did not listen on ${port} within 10 s`);
}

/** A running daemon (see {@link startDaemon}). */
export interface Daemon {
  /** Its temp dir (config, logs), removed by `close()`. */
  readonly dir: string;
  /** Stops the whole process group and removes `dir`. Idempotent. */
  close(): Promise<void>;
}

/** What {@link startDaemon} runs. */
export interface DaemonSpec {
  /** Name for messages, e.g. `"squid"`. */
  name: string;
  /** The binary's name (see {@link binaryPath}), run in the foreground. */
  command: string;
  /** Its arguments. */
  args: string[];
  /** The temp dir the test made for it. */
  dir: string;
  /** The loopback port it listens on. */
  port: number;
  /** Files in `dir` to show when startup fails. */
  logs?: string[];
}

function killGroup(pid: number, signal: Deno.Signal): void {
  try {
    Deno.kill(-pid, signal);
  } catch { /* the group is gone */ }
}

/**
 * Starts `spec.command` in a new session (its own process group), waits
 * until it listens on `spec.port`, and returns a handle whose `close()`
 * sends SIGTERM to the group, SIGKILL after 5 s or once the main process
 * has exited (for forked helpers left behind), then removes `spec.dir`.
 * On a startup failure, the group is killed, the dir removed and the error
 * carries stderr and the logs.
 */
export async function startDaemon(spec: DaemonSpec): Promise<Daemon> {
  const child = new Deno.Command(binaryPath(spec.command), {
    args: spec.args,
    cwd: spec.dir,
    detached: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  let closed: Promise<void> | null = null;
  const close = (): Promise<void> =>
    closed ??= (async () => {
      killGroup(child.pid, "SIGTERM");
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          killGroup(child.pid, "SIGKILL");
          resolve();
        }, 5000);
      });
      await Promise.race([child.status, late]);
      clearTimeout(timer);
      killGroup(child.pid, "SIGKILL");
      await child.status;
      await stderr.catch(() => "");
      await Deno.remove(spec.dir, { recursive: true });
    })();
  try {
    await waitForPort(spec.port, child, spec.name);
  } catch (err) {
    const logs = await Promise.all(
      (spec.logs ?? []).map((f) =>
        Deno.readTextFile(`${spec.dir}/${f}`).catch(() => "")
      ),
    );
    killGroup(child.pid, "SIGKILL");
    await child.status;
    const text = await stderr.catch(() => "");
    await Deno.remove(spec.dir, { recursive: true });
    throw new Error(
      `${(err as Error).message}\n${text}\n${logs.join("\n")}`.trim(),
    );
  }
  return { dir: spec.dir, close };
}
