/**
 * `deno task demo`: a market-data feed, received three ways, no network.
 *
 * Starts the local feed server (its own process, 127.0.0.1 only), then for
 * each client receives its stream of 77-byte JSON quote ticks for a few
 * seconds with a live progress line, and prints messages/s and MB/s:
 *
 * - nexus `recv()` with borrowed bytes (`m.data`, a view of the receive
 *   buffer: no copy, no string),
 * - nexus `recv()` with `m.text()` (one string per message),
 * - the runtime's native `WebSocket`.
 *
 * Every client gets the identical byte stream. Seconds per client:
 * `--seconds=N` or the `DEMO_SECONDS` environment variable (default 2).
 *
 * @module
 */

import { startFeedServer } from "../bench/feed_server.ts";
import {
  type FeedLoopOptions,
  type FeedResult,
  recvNative,
  recvNexusBorrowed,
  recvNexusText,
} from "../bench/feed_clients.ts";

interface Row {
  name: string;
  result: FeedResult;
  seconds: number;
}

function secondsPerClient(): number {
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
const fmtM = (perSecond: number) => `${(perSecond / 1e6).toFixed(2)} M`;
const fmtMB = (bytesPerSecond: number) =>
  `${(bytesPerSecond / 1e6).toFixed(1)}`;

function line(
  name: string,
  messages: number,
  bytes: number,
  seconds: number,
): string {
  return `  ${name.padEnd(24)} ${
    messages.toLocaleString("en-US").padStart(13)
  } msgs  ` +
    `${fmtM(rate(messages, seconds)).padStart(8)} msg/s  ${
      fmtMB(rate(bytes, seconds)).padStart(7)
    } MB/s`;
}

async function run(
  name: string,
  loop: (url: string, options: FeedLoopOptions) => Promise<FeedResult>,
  url: string,
): Promise<Row> {
  const t0 = performance.now();
  let lastPrint = t0;
  const onProgress = (messages: number, bytes: number) => {
    const now = performance.now();
    if (now - lastPrint < 100) return;
    lastPrint = now;
    const text = line(name, messages, bytes, (now - t0) / 1000);
    // On a terminal: one line rewritten in place; elsewhere, a line per update.
    write(isTty ? `\r${text}` : `${text}\n`);
  };
  const result = await loop(url, { onProgress, progressEvery: 16384 });
  const seconds = (performance.now() - t0) / 1000;
  write(
    `${isTty ? "\r" : ""}${
      line(name, result.messages, result.bytes, seconds)
    }  done\n`,
  );
  return { name, result, seconds };
}

const seconds = secondsPerClient();
write(
  `Starting the local feed server (77-byte JSON ticks, ${seconds} s per client)...\n`,
);
await using feed = await startFeedServer();
const url = feed.url({ ms: Math.round(seconds * 1000) });
write(`Feed at ${url}\n\n`);

const rows: Row[] = [];
rows.push(await run("nexus recv() borrowed", recvNexusBorrowed, url));
rows.push(await run("nexus recv() text()", recvNexusText, url));
rows.push(await run("native WebSocket", recvNative, url));

const native = rows[rows.length - 1];
const nativeRate = rate(native.result.messages, native.seconds);
write("\n");
write(
  `  ${"client".padEnd(24)} ${"messages/s".padStart(12)} ${
    "MB/s".padStart(8)
  }  vs native\n`,
);
write(`  ${"-".repeat(24)} ${"-".repeat(12)} ${"-".repeat(8)}  ---------\n`);
for (const r of rows) {
  const mps = rate(r.result.messages, r.seconds);
  write(
    `  ${r.name.padEnd(24)} ${
      Math.round(mps).toLocaleString("en-US").padStart(12)
    } ` +
      `${fmtMB(rate(r.result.bytes, r.seconds)).padStart(8)}  ${
        (mps / nativeRate).toFixed(2)
      }x\n`,
  );
}
write("\n  (MB/s counts JSON payload bytes; 1 MB = 10^6 bytes.)\n");
