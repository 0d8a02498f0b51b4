/**
 * The reason connectInWorker() exists: a main thread blocked for 10 s
 * (a busy loop) keeps a Worker-held connection alive against a server that
 * drops any client not answering its pings within 3 s, and afterwards
 * receives every message the server sent meanwhile, in order. A connection
 * on the main thread, blocked by the same loop, is dropped by the same
 * server (close code 1011): the test has teeth.
 */
import assert from "node:assert/strict";
import { connect, connectInWorker } from "../../mod.ts";
import { startPythonTicker } from "../support/peers.ts";

const BLOCK_MS = 10_000;

function block(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) { /* the main thread does nothing else */ }
}

Deno.test("a main thread blocked for 10 s keeps a Worker-held connection alive (server ping timeout 3 s) and then gets every message in order", async () => {
  await using peer = await startPythonTicker();
  const inWorker = await connectInWorker(`${peer.url}/ticks`);
  const onMain = await connect(`${peer.url}/ticks`);
  try {
    const first = await inWorker.recv();
    assert.ok(first !== null);
    let expected = first.json<{ seq: number }>().seq;
    assert.ok((await onMain.recv()) !== null);

    block(BLOCK_MS);

    // Everything the server sent during the block, in order, no gap.
    const seen = [expected];
    const t0 = performance.now();
    while (seen.length < 1 + BLOCK_MS / 100) {
      const m = inWorker.tryRecv() ?? await inWorker.recv();
      assert.ok(m !== null, "the Worker-held connection is still open");
      const { seq } = m.json<{ seq: number }>();
      assert.equal(seq, ++expected, `message ${seen.length} in order`);
      seen.push(seq);
    }
    assert.ok(
      performance.now() - t0 < BLOCK_MS / 2,
      "the messages of the blocked time were already in the ring",
    );
    assert.equal(inWorker.closed, false);
    assert.equal(
      peer.closes.length,
      1,
      "the server dropped one connection (the main thread's), for want of a pong",
    );

    // The connection on the main thread could not answer: the server gave up.
    let m;
    do m = await onMain.recv(); while (m !== null);
    assert.equal(onMain.closeCode, 1011, "keepalive ping timeout");

    // The Worker's connection goes on, then closes cleanly.
    const next = await inWorker.recv();
    assert.equal(next?.json<{ seq: number }>().seq, expected + 1);
    await inWorker.close();
    assert.equal(inWorker.closeCode, 1000);
  } finally {
    inWorker.terminate();
    onMain.terminate();
  }
});
