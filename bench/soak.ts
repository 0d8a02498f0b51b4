/**
 * Memory soak: pushes 10 million feed messages through `recv()` on the
 * borrowed path and checks that the heap stays flat.
 *
 * `deno task soak` (environment: `SOAK_MESSAGES`, default 10000000)
 *
 * One connection to the local feed server (own process). After
 * {@link WARMUP} messages (buffers allocated, code optimized) it takes a
 * full GC and reads `Deno.memoryUsage().heapUsed`; after
 * `SOAK_MESSAGES` more messages, still on the same open connection, it
 * does the same again. The borrowed path allocates nothing that survives a
 * message, so the difference must stay under 1 MiB; the exit code is 1
 * otherwise (or when a message is missing or has the wrong size).
 *
 * A full GC needs V8's `gc()`; it is exposed at run time through
 * `node:v8` / `node:vm`, so the task needs no extra flag.
 *
 * @module
 */

import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { connect } from "../mod.ts";
import { startFeedServer, TICK_BYTES } from "./feed_server.ts";

const WARMUP = 200_000;
const MESSAGES = Number(Deno.env.get("SOAK_MESSAGES") ?? 10_000_000);
const LIMIT = 1024 * 1024;

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

function heapUsed(): number {
  gc();
  gc();
  return Deno.memoryUsage().heapUsed;
}

const mib = (n: number) => `${(n / 1048576).toFixed(3)} MiB`;
const fmt = (n: number) => n.toLocaleString("en-US");

await using feed = await startFeedServer();
const total = WARMUP + MESSAGES;
const ws = await connect(feed.url({ count: total }));
let n = 0, bytes = 0, wrongSize = 0;
let start = 0, end = 0, t0 = 0, t1 = 0;
for (
  let m = ws.tryRecv() ?? await ws.recv();
  m !== null;
  m = ws.tryRecv() ?? await ws.recv()
) {
  const len = m.byteLength;
  if (m.bytes[m.offset] !== 0x7b) wrongSize++; // every tick starts with "{"
  bytes += len;
  if (len !== TICK_BYTES) wrongSize++;
  n++;
  if (n === WARMUP) {
    start = heapUsed();
    console.log(
      `heap used at start: ${mib(start)} (after ${
        fmt(WARMUP)
      } warm-up messages)`,
    );
    t0 = performance.now();
  } else if (n === total) {
    t1 = performance.now();
    end = heapUsed();
    console.log(
      `heap used at end:   ${mib(end)} (after ${fmt(MESSAGES)} more messages)`,
    );
  }
}

const growth = end - start;
const seconds = (t1 - t0) / 1000;
console.log(
  `growth: ${growth >= 0 ? "+" : ""}${fmt(growth)} bytes (${
    mib(growth)
  }), limit ${mib(LIMIT)}; ` +
    `${fmt(MESSAGES)} messages in ${seconds.toFixed(2)} s (${
      (MESSAGES / seconds / 1e6).toFixed(2)
    } M msg/s), ` +
    `rss ${mib(Deno.memoryUsage().rss)}`,
);

let ok = true;
if (n !== total || bytes !== total * TICK_BYTES || wrongSize !== 0) {
  console.error(
    `FAIL: expected ${fmt(total)} messages of ${TICK_BYTES} bytes, got ${
      fmt(n)
    } (${wrongSize} of the wrong size)`,
  );
  ok = false;
}
if (growth >= LIMIT) {
  console.error(`FAIL: heap grew by ${mib(growth)} (limit ${mib(LIMIT)})`);
  ok = false;
}
if (!ok) {
  await feed.close();
  Deno.exit(1);
}
console.log("PASS: heap flat");
