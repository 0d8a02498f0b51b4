/**
 * A feed in a Worker, delivered to the main thread: the `SharedArrayBuffer`
 * ring of `connectInWorker()` against `postMessage` per message, and both
 * against receiving on the main thread itself.
 *
 * ```sh
 * deno bench --allow-net --allow-read --allow-run bench/worker_feed_bench.ts
 * ```
 *
 * One iteration: a connection to the feed server (own process) receives
 * {@link MESSAGES} 77-byte ticks and the close; messages/s = MESSAGES ×
 * iter/s. The time counts from the moment the connection is open to the
 * last tick on the main thread: starting the Worker is measured apart, in
 * the second group. Every row checks the count and each first byte (or
 * string length). Rows, the `postMessage` Worker the baseline:
 *
 * - Worker + `postMessage(m.text())` per message, main `onmessage`
 *   (`post_message_worker.ts`): what a Worker feed looks like without the
 *   ring;
 * - `connectInWorker()`, main `tryRecv() ?? await recv()` and `m.text()`:
 *   the same work (a string per message on the main thread), through the
 *   ring;
 * - `connectInWorker()`, main in-place loop (`m.bytes[m.offset]`): the ring
 *   without a string;
 * - `connect()` on the main thread, in-place and `m.text()`: no Worker at
 *   all (the fastest while the main thread has nothing else to do; it is
 *   the one that a busy main thread stalls).
 *
 * The second group measures what opening costs: `connectInWorker()` (a new
 * Worker: an isolate, its modules, then the dial and handshake) against
 * `connect()` on the main thread, to the same server.
 *
 * @module
 */

import { connect, connectInWorker, type Message } from "../mod.ts";
import { startFeedServer, TICK_BYTES } from "./feed_server.ts";

/** Messages per iteration. */
const MESSAGES = 500_000;

const feed = await startFeedServer();
feed.unref();
const url = feed.url({ count: MESSAGES });
const WORKER = new URL("./post_message_worker.ts", import.meta.url).href;

function expectAll(n: number, checked: number): void {
  if (n !== MESSAGES || checked !== MESSAGES) {
    throw new Error(
      `Expected ${MESSAGES} ticks, got ${n} (${checked} checked)`,
    );
  }
}

type Receiver = {
  tryRecv(): Message | undefined;
  recv(): Promise<Message | null>;
  terminate(): void;
};

async function inPlace(
  open: Promise<Receiver>,
  b: Deno.BenchContext,
): Promise<void> {
  const c = await open;
  b.start();
  let n = 0, braces = 0;
  for (
    let m = c.tryRecv() ?? await c.recv();
    m !== null;
    m = c.tryRecv() ?? await c.recv()
  ) {
    if (m.bytes[m.offset] === 0x7b) braces++;
    n++;
  }
  b.end();
  c.terminate();
  expectAll(n, braces);
}

async function strings(
  open: Promise<Receiver>,
  b: Deno.BenchContext,
): Promise<void> {
  const c = await open;
  b.start();
  let n = 0, whole = 0;
  for (
    let m = c.tryRecv() ?? await c.recv();
    m !== null;
    m = c.tryRecv() ?? await c.recv()
  ) {
    if (m.text().length === TICK_BYTES) whole++;
    n++;
  }
  b.end();
  c.terminate();
  expectAll(n, whole);
}

function postMessages(b: Deno.BenchContext): Promise<void> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, { type: "module" });
    let n = 0, whole = 0;
    worker.onmessage = (
      e: MessageEvent<string | { open: true } | { done: number }>,
    ) => {
      const d = e.data;
      if (typeof d === "string") {
        if (d.length === TICK_BYTES) whole++;
        n++;
        return;
      }
      if ("open" in d) {
        b.start();
        return;
      }
      b.end();
      worker.terminate();
      try {
        expectAll(n, whole);
        resolve();
      } catch (err) {
        reject(err);
      }
    };
    worker.onerror = (e) => {
      e.preventDefault();
      reject(new Error(e.message));
    };
    worker.postMessage(url);
  });
}

const group = `feed to the main thread (${MESSAGES} ticks per iteration)`;
const rows: [string, (b: Deno.BenchContext) => Promise<void>][] = [
  [
    "Worker + postMessage(m.text()) per message, main onmessage",
    async (b) => await postMessages(b),
  ],
  [
    "connectInWorker: ring, main tryRecv() ?? await recv(), m.text()",
    async (b) => await strings(connectInWorker(url), b),
  ],
  [
    "connectInWorker: ring, main in place (m.bytes[m.offset])",
    async (b) => await inPlace(connectInWorker(url), b),
  ],
  [
    "connect on the main thread: tryRecv() ?? await recv(), m.text()",
    async (b) => await strings(connect(url), b),
  ],
  [
    "connect on the main thread: in place (m.bytes[m.offset])",
    async (b) => await inPlace(connect(url), b),
  ],
];
// (Deno.bench awaits only an async function: every row is one.)
rows.forEach(([name, fn], i) =>
  Deno.bench({ name, group, baseline: i === 0, n: 8, warmup: 2, fn })
);

const opening = "opening a connection (to the first message)";
const first = feed.url({ count: 1 });
Deno.bench({
  name: "connect() on the main thread",
  group: opening,
  baseline: true,
  n: 20,
  warmup: 3,
  async fn() {
    const c = await connect(first);
    await c.recv();
    c.terminate();
  },
});
Deno.bench({
  name: "connectInWorker(): a new Worker, then connect() in it",
  group: opening,
  n: 20,
  warmup: 3,
  async fn() {
    const c = await connectInWorker(first);
    await c.recv();
    c.terminate();
  },
});
