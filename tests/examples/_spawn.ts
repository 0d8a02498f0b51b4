/** Runs an example program in its own process and collects its stdout lines. */

const ROOT = new URL("../../", import.meta.url);

/** A running example. */
export class Example {
  #child: Deno.ChildProcess;
  #done: Promise<void>;
  #waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  /** Every stdout line so far. */
  readonly lines: string[] = [];

  /** Spawns `deno run <permissions> examples/<name> <args>`. */
  constructor(name: string, args: string[], permissions = ["--allow-net"]) {
    const child = this.#child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        ...permissions,
        new URL(`examples/${name}`, ROOT).pathname,
        ...args,
      ],
      cwd: ROOT.pathname,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#done = (async () => {
      let buf = "";
      for await (
        const chunk of child.stdout.pipeThrough(new TextDecoderStream())
      ) {
        buf += chunk;
        let i;
        while ((i = buf.indexOf("\n")) >= 0) {
          this.#line(buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
      }
      if (buf) this.#line(buf);
    })();
  }

  #line(line: string): void {
    this.lines.push(line);
    this.#waiters = this.#waiters.filter((w) => {
      const m = line.match(w.re);
      if (m) w.resolve(m);
      return !m;
    });
  }

  /** Resolves with the first stdout line (past or future) matching `re`; rejects after `ms`. */
  waitFor(re: RegExp, ms = 10_000): Promise<RegExpMatchArray> {
    for (const line of this.lines) {
      const m = line.match(re);
      if (m) return Promise.resolve(m);
    }
    const { promise, resolve, reject } = Promise.withResolvers<
      RegExpMatchArray
    >();
    const timer = setTimeout(() => {
      this.#waiters = this.#waiters.filter((w) => w.resolve !== done);
      reject(
        new Error(
          `Expected a line matching ${re} within ${ms} ms, got:\n${
            this.lines.join("\n")
          }`,
        ),
      );
    }, ms);
    const done = (m: RegExpMatchArray) => {
      clearTimeout(timer);
      resolve(m);
    };
    this.#waiters.push({ re, resolve: done });
    return promise;
  }

  /** Sends a signal (default SIGINT). */
  kill(signal: Deno.Signal = "SIGINT"): void {
    try {
      this.#child.kill(signal);
    } catch { /* already exited */ }
  }

  /** Waits for exit (killing it after `ms`); resolves with the code, stdout and stderr. */
  async exit(
    ms = 15_000,
  ): Promise<{ code: number; stdout: string; stderr: string }> {
    const timer = setTimeout(() => this.kill("SIGKILL"), ms);
    const stderr = new Response(this.#child.stderr).text();
    const { code } = await this.#child.status;
    clearTimeout(timer);
    await this.#done;
    return { code, stdout: this.lines.join("\n"), stderr: await stderr };
  }
}
