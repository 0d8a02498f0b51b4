/**
 * The naive way to run a feed in a Worker, for `worker_feed_bench.ts` to
 * compare the ring with: the Worker connects with nexus and posts every
 * message's text to the main thread with `postMessage` (a structured clone
 * and a `MessageEvent` per message): `{ open: true }` once connected, the
 * strings, then `{ done: count }`.
 *
 * @module
 */

import { connect } from "../mod.ts";

const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent<string>) => void) | null;
  postMessage(m: unknown): void;
  close(): void;
};

scope.onmessage = async (e) => {
  const ws = await connect(e.data);
  scope.postMessage({ open: true });
  let n = 0;
  for (
    let m = ws.tryRecv() ?? await ws.recv();
    m !== null;
    m = ws.tryRecv() ?? await ws.recv()
  ) {
    scope.postMessage(m.text());
    n++;
  }
  scope.postMessage({ done: n });
  scope.close();
};
