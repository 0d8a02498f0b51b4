/**
 * Thousands of connections: memory per connection, aggregate messages/s
 * and fairness, nexus against the native `WebSocket` in the same run.
 *
 * ```sh
 * deno run --allow-net --allow-read --allow-run bench/scale.ts \
 *   [--connections=1000,10000] [--every=MS] [--warmup=10] [--seconds=5] [--tls]
 *   [--clients="native WebSocket;nexus (defaults)"] [--client-v8-flags=...]
 * ```
 *
 * (`deno task scale`.) The feed server (`feed_server.ts`) runs in its own
 * process and sends every connection one 77-byte tick every `--every` ms
 * (`?every=`, spread over the period by one shared timer). By default the
 * period is `connections / 10` ms (at least 100 ms): 1,000 connections get
 * a tick every 100 ms, 10,000 one every second, 10,000 messages/s in
 * aggregate either way, which the feed server and a client can both keep
 * up with on a small machine (two cores shared by the server, the client
 * and everything else). For each
 * connection count, each client kind of `scale_client.ts`
 * (`SCALE_CLIENTS`: native `WebSocket`, nexus with its defaults, nexus
 * with the fixed 64 KiB buffer it had before adaptive buffers, and raw
 * socket reads without WebSocket parsing, the floor of any client written
 * in JavaScript) runs in a
 * fresh process of its own, one after the other, against the same server,
 * and reports its memory per connection (RSS, heap, external), the
 * messages/s of all its connections together, and the longest gap any one
 * connection waited between two messages.
 *
 * File descriptors: each side needs one per connection. A process cannot
 * raise its own limit from Deno, so the server and every client process are
 * started through `sh -c 'ulimit -n "$(ulimit -Hn)"; exec …'`
 * (`withFdLimit`), which raises the soft limit to the hard one. When the
 * hard limit is too low for `--connections` (check `ulimit -Hn`), raise it
 * first (e.g. `ulimit -Hn 65536` as root, or `LimitNOFILE=` for a service);
 * the bench says so when a client could not open its connections.
 *
 * `--tls` runs over `wss://` with the bench CA (`bench/tls/`): the native
 * client's process gets `--cert bench/tls/ca.pem`. `--client-v8-flags=a,b`
 * passes V8 flags to the client processes (e.g.
 * `--max-semi-space-size=1`, which caps V8's young generation: see
 * `docs/tuning.md`).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { startFeedServer, TLS_CA_FILE } from "./feed_server.ts";
import { withFdLimit } from "./server_process.ts";
import {
  SCALE_CLIENTS,
  type ScaleJob,
  type ScaleResult,
} from "./scale_client.ts";

/** Options of {@link runScale}. */
export interface ScaleOptions {
  /** Connection counts to measure, each in its own processes. */
  connections: number[];
  /** Client kinds (keys of `SCALE_CLIENTS`). Default: all. */
  clients?: string[];
  /** A tick every this many ms per connection. Default: `connections / 10`, at least 100. */
  every?: number;
  /** Seconds of ticks before reading memory and starting the window. */
  warmup: number;
  /** Seconds of the measured window. */
  seconds: number;
  /** Over `wss://`. */
  tls?: boolean;
  /** More V8 flags for the client processes, e.g. `--max-semi-space-size=1`. */
  v8Flags?: string[];
}

const CLIENT_MODULE = new URL("./scale_client.ts", import.meta.url).pathname;

/** Runs one client process for `job`; resolves with its result. */
async function runClient(
  job: ScaleJob,
  native: boolean,
  v8Flags: string[] = [],
): Promise<ScaleResult> {
  const flags = ["--quiet", "--no-config", "--allow-net", "--allow-read"];
  if (native && job.caFile !== undefined) flags.push(`--cert=${job.caFile}`);
  return await runReport<ScaleResult>(job.client, [
    "run",
    ...flags,
    `--v8-flags=${["--expose-gc", ...v8Flags].join(",")}`,
    CLIENT_MODULE,
    JSON.stringify(job),
  ]);
}

/**
 * Runs `deno <args>` with the open-file limit raised (a child process of
 * its own, `client` naming it in errors) and resolves with the JSON of the
 * last line it printed.
 */
export async function runReport<T>(client: string, args: string[]): Promise<T> {
  const cmd = withFdLimit(Deno.execPath(), args);
  const out = await new Deno.Command(cmd.command, {
    args: cmd.args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success || text === "") {
    throw new Error(
      `Expected the ${client} process to report, got exit code ${out.code}: ${
        new TextDecoder().decode(out.stderr).slice(-2000)
      }`,
    );
  }
  return JSON.parse(text.split("\n").at(-1)!);
}

/**
 * Starts the feed server and runs every client kind at every connection
 * count, one process at a time; resolves with their results in order.
 * Needs `--allow-run`, `--allow-read`, `--allow-net`.
 */
export async function runScale(options: ScaleOptions): Promise<ScaleResult[]> {
  const tls = options.tls === true;
  await using feed = await startFeedServer({ tls, raiseFdLimit: true });
  const results: ScaleResult[] = [];
  for (const connections of options.connections) {
    const every = options.every ?? periodFor(connections);
    for (const client of options.clients ?? Object.keys(SCALE_CLIENTS)) {
      results.push(
        await runClient(
          {
            url: feed.url({ every }),
            every,
            client,
            connections,
            warmup: options.warmup,
            seconds: options.seconds,
            caFile: tls ? TLS_CA_FILE : undefined,
          },
          client.startsWith("native"),
          options.v8Flags,
        ),
      );
    }
  }
  return results;
}

/** The default tick period for `connections`: 10,000 messages/s in all. */
export function periodFor(connections: number): number {
  return Math.max(100, Math.round(connections / 10));
}

const kib = (n: number) => (n / 1024).toFixed(1);
const count = (n: number) => Math.round(n).toLocaleString("en-US");

/** The results as a Markdown table. */
export function scaleTable(results: ScaleResult[]): string {
  const rows = [
    "| connections | tick every | client | process RSS | RSS/conn (after GC) | RSS/conn (live) | RSS/conn without young gen | young gen | heap/conn | external/conn | messages/s (expected) | worst gap | p99 of longest gaps | starved |",
    "| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const r of results) {
    const expected = r.connections * 1000 / r.every;
    const cells = [
      r.connections.toLocaleString("en-US"),
      `${r.every} ms`,
      r.client,
      `${(r.rss / 1048576).toFixed(1)} MiB`,
      `${kib(r.rssPerConnection)} KiB`,
      `${kib(r.rssPerConnectionLive)} KiB`,
      `${kib(r.rssPerConnectionOld)} KiB`,
      `${(r.youngGeneration / 1048576).toFixed(1)} MiB`,
      `${kib(r.heapPerConnection)} KiB`,
      `${kib(r.externalPerConnection)} KiB`,
      `${count(r.messagesPerSecond)} (${count(expected)})`,
      `${r.worstGapMs.toFixed(0)} ms`,
      `${r.p99GapMs.toFixed(0)} ms`,
      String(r.starved),
    ];
    rows.push(`| ${cells.join(" | ")} |`);
  }
  return rows.join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      connections: { type: "string", default: "1000,10000" },
      clients: { type: "string" },
      every: { type: "string" },
      warmup: { type: "string", default: "10" },
      seconds: { type: "string", default: "5" },
      tls: { type: "boolean", default: false },
      "client-v8-flags": { type: "string" },
    },
  });
  const results = await runScale({
    connections: values.connections.split(",").map(Number),
    clients: values.clients?.split(";"),
    every: values.every === undefined ? undefined : Number(values.every),
    warmup: Number(values.warmup),
    seconds: Number(values.seconds),
    tls: values.tls,
    v8Flags: values["client-v8-flags"]?.split(","),
  });
  console.log(scaleTable(results));
}
