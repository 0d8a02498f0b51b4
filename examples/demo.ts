/**
 * `deno task demo`: a market-data feed received by the loops users write,
 * nexus against the runtime's native `WebSocket`, no network.
 *
 * Starts the local feed server (its own process, 127.0.0.1 only), then runs
 * each receive loop of `bench/feed_clients.ts` (the same loops the feed
 * bench runs) against its stream of 77-byte JSON quote ticks for a few
 * seconds, with a live progress line, and prints messages/s and MB/s. Every
 * row is labelled by exactly the loop it runs:
 *
 * - a string per message: native `onmessage, e.data`; nexus
 *   `await recv(), m.text()` and `tryRecv() ?? await recv(), m.text()`;
 * - a parsed JSON object per message: native `onmessage, JSON.parse(e.data)`;
 *   nexus `await recv(), m.json()`;
 * - the payload as bytes, no string: nexus `await recv(), m.data` (a view)
 *   and `tryRecv() ?? await recv(), m.bytes[m.offset] in place` (one byte
 *   read in place, nothing allocated).
 *
 * The results are grouped the same way: within the first two groups the
 * comparison with native is like for like (the same work per message); the
 * byte loops are compared with native `e.data` too, and the table says that
 * this is not like for like (the native `WebSocket` always makes a string).
 *
 * Every loop gets the identical byte stream. Seconds per loop: `--seconds=N`
 * or the `DEMO_SECONDS` environment variable (default 2).
 *
 * @module
 */

import { startFeedServer, TICK_BYTES } from "../bench/feed_server.ts";
import {
  comparisonOf,
  FEED_LOOPS,
  type FeedLoop,
  type FeedResult,
  type Work,
} from "../bench/feed_clients.ts";

interface Row {
  result: FeedResult;
  seconds: number;
}

function secondsPerLoop(): number {
  const flag = Deno.args.find((a) => a.startsWith("--seconds="));
  const raw = flag?.slice("--seconds=".length) ??
    Deno.env.get("DEMO_SECONDS") ?? "2";
  const s = Number(raw);
  if (!(s > 0) || !Number.isFinite(s)) {
    throw new RangeError(
      `Expected --seconds / DEMO_SECONDS to be a positive number, got "${raw}"`,
    );
  }
  return s;
}

const encoder = new TextEncoder();
const write = (s: string) => Deno.stdout.writeSync(encoder.encode(s));
const isTty = Deno.stdout.isTerminal();
const rate = (n: number, s: number) => n / s;
const fmtMB = (bytesPerSecond: number) =>
  `${(bytesPerSecond / 1e6).toFixed(1)}`;
/** The label column: wide enough for every loop's label. */
const WIDTH = Math.max(...FEED_LOOPS.map((l) => l.label.length));

/** The progress line under a loop's label: count, msg/s, MB/s. */
function progress(messages: number, bytes: number, seconds: number): string {
  return `      ${messages.toLocaleString("en-US").padStart(13)} msgs  ${
    (rate(messages, seconds) / 1e6).toFixed(2).padStart(6)
  } M msg/s  ${fmtMB(rate(bytes, seconds)).padStart(7)} MB/s`;
}

async function run(loop: FeedLoop, url: string): Promise<Row> {
  write(`  ${loop.label}\n`);
  const t0 = performance.now();
  let lastPrint = t0;
  const onProgress = (messages: number, bytes: number) => {
    const now = performance.now();
    if (now - lastPrint < 100) return;
    lastPrint = now;
    const text = progress(messages, bytes, (now - t0) / 1000);
    // On a terminal: one line rewritten in place; elsewhere, a line per update.
    write(isTty ? `\r${text}` : `${text}\n`);
  };
  const result = await loop.run(url, { onProgress, progressEvery: 16384 });
  const seconds = (performance.now() - t0) / 1000;
  write(
    `${isTty ? "\r" : ""}${
      progress(result.messages, result.bytes, seconds)
    }  done\n`,
  );
  return { result, seconds };
}

function resultRow(label: string, row: Row, baseline: Row): string {
  const mps = rate(row.result.messages, row.seconds);
  const base = rate(baseline.result.messages, baseline.seconds);
  return `    ${label.padEnd(WIDTH)} ${
    Math.round(mps).toLocaleString("en-US").padStart(12)
  } ${fmtMB(rate(row.result.bytes, row.seconds)).padStart(8)}  ${
    (mps / base).toFixed(2)
  }x${row === baseline ? " (baseline)" : ""}\n`;
}

/** One table per work: its native baseline first, then its loops. */
function table(work: Work, rows: Map<FeedLoop, Row>): void {
  const { title, verdict, baseline } = comparisonOf(work);
  const base = rows.get(baseline)!;
  write(
    `\n  ${title[0].toUpperCase()}${title.slice(1)}, vs ${baseline.label}:\n` +
      `  ${verdict}\n`,
  );
  write(
    `    ${"loop".padEnd(WIDTH)} ${"messages/s".padStart(12)} ${
      "MB/s".padStart(8)
    }  vs native\n`,
  );
  write(resultRow(baseline.label, base, base));
  for (const [loop, row] of rows) {
    if (loop.work === work && loop !== baseline) {
      write(resultRow(loop.label, row, base));
    }
  }
}

const seconds = secondsPerLoop();
write(
  `Starting the local feed server (${TICK_BYTES}-byte JSON ticks, ${seconds} s for each of ${FEED_LOOPS.length} loops)...\n`,
);
await using feed = await startFeedServer();
const url = feed.url({ ms: Math.round(seconds * 1000) });
write(`Feed at ${url}\n\n`);

const rows = new Map<FeedLoop, Row>();
for (const loop of FEED_LOOPS) rows.set(loop, await run(loop, url));

for (const work of ["string", "json", "bytes"] satisfies Work[]) {
  table(work, rows);
}
write(
  "\n  Like for like: the same work per message on both sides. MB/s counts JSON payload bytes; 1 MB = 10^6 bytes.\n",
);
