/**
 * Smoke test of the thousands-of-connections bench (`bench/scale.ts`) with
 * 50 connections: three client kinds run in their own processes against the
 * feed server and report sane numbers. No timing assertions: the numbers
 * are checked for shape (finite, in range), not for speed.
 */
import assert from "node:assert/strict";
import { runScale, scaleTable } from "../bench/scale.ts";

Deno.test("the scale bench opens 50 connections per client kind and reports memory, rate and gaps", async () => {
  const clients = [
    "native WebSocket",
    "nexus (defaults)",
    "raw socket reads, no WebSocket parsing (the floor of a JS client)",
  ];
  const results = await runScale({
    connections: [50],
    clients,
    every: 50,
    warmup: 1,
    seconds: 1,
  });
  assert.deepEqual(results.map((r) => r.client), clients);
  for (const r of results) {
    assert.equal(r.connections, 50);
    assert.equal(r.every, 50);
    for (
      const v of [
        r.rssPerConnection,
        r.rssPerConnectionLive,
        r.rssPerConnectionOld,
        r.heapPerConnection,
        r.externalPerConnection,
        r.youngGeneration,
      ]
    ) assert.ok(Number.isFinite(v), `${r.client}: ${v}`);
    // 50 connections × 20 ticks/s: some arrived, and not more than were sent
    assert.ok(
      r.messagesPerSecond > 0 && r.messagesPerSecond <= 50 * 20 * 1.5,
      `${r.client}: ${r.messagesPerSecond} messages/s`,
    );
    assert.ok(r.worstGapMs >= r.p99GapMs && r.p99GapMs > 0);
    assert.ok(r.starved >= 0 && r.starved <= 50);
    assert.ok(r.seconds >= 1);
  }
  const table = scaleTable(results);
  assert.match(table, /\| 50 \| 50 ms \| native WebSocket \|/);
  assert.match(table, /\| 50 \| 50 ms \| nexus \(defaults\) \|/);
  assert.match(table, /\| 50 \| 50 ms \| raw socket reads, /);
});
