/**
 * In-memory A/B of the WebSocket receive loop: the same loops run against
 * the client of a base revision (`main` by default, or `$AB_BASE`: any git
 * revision) and against the working tree's, in one `deno bench` process,
 * with the frames served from memory. No socket, no server process: what
 * differs between the rows is the client's own cost per message.
 *
 * ```sh
 * deno bench --allow-read --allow-write --allow-run --allow-env bench/client_ab_bench.ts
 * AB_BASE=HEAD~3 deno bench --allow-read --allow-write --allow-run --allow-env bench/client_ab_bench.ts
 * ```
 *
 * The base revision's `mod.ts` and `src/` are extracted with `git archive`
 * into a temporary directory and imported from there. Each iteration
 * connects over a {@link replayTransport} that answers the handshake and
 * then serves {@link BLOCKS} copies of the feed bench's block of 2048
 * 77-byte JSON ticks (64 KiB per read, as a socket would), then a close
 * frame: {@link MESSAGES} messages per iteration.
 *
 * Rows: base and head without options (the stats are always on in head);
 * head with an application heartbeat whose answer matcher sees every
 * message (`isPong: matchText("pong")`, the OKX shape); head answering
 * application pings (`appPingReply` with `matchPrefix('{"ping":')`); head
 * with the staleness watchdog (a timer only).
 *
 * @module
 */

import * as head from "../mod.ts";
import { buildBlock, TICKS_PER_BLOCK } from "./feed_server.ts";
import { replayTransport } from "./replay_transport.ts";

/** Blocks of 2048 ticks per iteration. */
const BLOCKS = 100;
/** Messages received per iteration. */
export const MESSAGES = BLOCKS * TICKS_PER_BLOCK;
const block = buildBlock();

/** Extracts `rev`'s `mod.ts` and `src/` into a temporary directory; returns its `mod.ts` URL. */
async function extract(rev: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "nexus-ab-" });
  const archive = new Deno.Command("git", {
    args: ["archive", rev, "mod.ts", "src"],
    cwd: new URL("..", import.meta.url),
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const tar = new Deno.Command("tar", {
    args: ["-x", "-C", dir],
    stdin: "piped",
  }).spawn();
  await archive.stdout.pipeTo(tar.stdin);
  const [a, t] = await Promise.all([archive.status, tar.status]);
  if (!a.success || !t.success) {
    throw new Error(`Expected git archive ${rev} to extract, it failed`);
  }
  return `file://${dir}/mod.ts`;
}

type Connect = typeof head.connect;

/** The in-place loop of the feed bench: one byte and the length of each message. */
async function inPlace(connect: Connect, options?: head.ConnectOptions) {
  const ws = await connect("ws://replay.test/", {
    ...options,
    transport: replayTransport(block, BLOCKS),
  });
  let messages = 0, braces = 0, bytes = 0;
  for (
    let m = ws.tryRecv() ?? await ws.recv();
    m !== null;
    m = ws.tryRecv() ?? await ws.recv()
  ) {
    if (m.bytes[m.offset] === 0x7b) braces++;
    bytes += m.byteLength;
    messages++;
  }
  if (messages !== MESSAGES || braces !== MESSAGES) {
    throw new Error(`Expected ${MESSAGES} ticks, got ${messages} (${braces})`);
  }
  return bytes;
}

/** The string loop: `m.text()` per message. */
async function text(connect: Connect, options?: head.ConnectOptions) {
  const ws = await connect("ws://replay.test/", {
    ...options,
    transport: replayTransport(block, BLOCKS),
  });
  let messages = 0, chars = 0;
  for (
    let m = ws.tryRecv() ?? await ws.recv();
    m !== null;
    m = ws.tryRecv() ?? await ws.recv()
  ) {
    chars += m.text().length;
    messages++;
  }
  if (messages !== MESSAGES) {
    throw new Error(`Expected ${MESSAGES} ticks, got ${messages}`);
  }
  return chars;
}

const baseRev = Deno.env.get("AB_BASE") ?? "main";
const base = await import(await extract(baseRev)) as typeof head;

const appHeartbeat: head.ConnectOptions = {
  appHeartbeat: {
    message: "ping",
    interval: 3_600_000,
    isPong: head.matchText("pong"),
  },
};
const isPing = head.matchPrefix('{"ping":');
const appPingReply: head.ConnectOptions = {
  appPingReply: (m) => isPing(m) ? "pong" : undefined,
};
const stale: head.ConnectOptions = { staleTimeout: 3_600_000 };

const bench = (
  group: string,
  name: string,
  fn: () => Promise<unknown>,
  baseline = false,
) =>
  Deno.bench({
    name,
    group,
    baseline,
    n: 30,
    warmup: 10,
    async fn() {
      await fn();
    },
  });

bench(
  "in place",
  `${baseRev}: tryRecv ?? recv, in place`,
  () => inPlace(base.connect),
  true,
);
bench(
  "in place",
  "head: tryRecv ?? recv, in place",
  () => inPlace(head.connect),
);
bench(
  "in place",
  "head: in place, appHeartbeat isPong matchText",
  () => inPlace(head.connect, appHeartbeat),
);
bench(
  "in place",
  "head: in place, appPingReply matchPrefix",
  () => inPlace(head.connect, appPingReply),
);
bench(
  "in place",
  "head: in place, staleTimeout",
  () => inPlace(head.connect, stale),
);
bench(
  "text",
  `${baseRev}: tryRecv ?? recv, m.text()`,
  () => text(base.connect),
  true,
);
bench("text", "head: tryRecv ?? recv, m.text()", () => text(head.connect));
bench(
  "text",
  "head: m.text(), appHeartbeat isPong matchText",
  () => text(head.connect, appHeartbeat),
);
