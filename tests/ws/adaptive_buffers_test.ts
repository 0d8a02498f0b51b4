/**
 * Adaptive buffers: a connection's receive buffer starts small, grows
 * toward `bufferCapacity` under load (reads that fill it) and shrinks back
 * after `shrinkAfter` quiet ms; the send buffers grow for large messages
 * and shrink back too; an HTTP connection's receive buffer does the same.
 * And, property-based, no message size, chunking or rate breaks the
 * borrowing rule while the buffers grow and shrink: a borrowed message's
 * bytes stay exactly what arrived until the next receive.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { HttpConnection } from "../../mod.ts";
import { concat, decodeClientFrames } from "../codec/_helpers.ts";
import { openMemory } from "../support/memory_transport.ts";
import { serverFrame } from "../support/raw_server.ts";
import { expectedBytes, startDenoServer } from "../support/http_servers.ts";

const SEED = Number(Deno.env.get("FUZZ_SEED") ?? 20261130);
const RUNS = Number(Deno.env.get("FUZZ_RUNS") ?? 60);
const enc = new TextEncoder();

const tick = (i: number) =>
  enc.encode(`{"s":"BTC-USD","seq":${i},"pad":"${"x".repeat(40)}"}`);

function frames(payloads: Uint8Array[]): Uint8Array {
  return concat(payloads.map((p) => serverFrame(2, p)));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("the receive buffer starts at 1 KiB, grows to bufferCapacity under a burst, and shrinks back when quiet", async () => {
  const { ws, server } = await openMemory({ shrinkAfter: 50 });
  try {
    assert.deepEqual(ws.bufferStats.receive, {
      capacity: 1024,
      grows: 0,
      shrinks: 0,
    });
    // a burst: 300 KB in the socket at once, read as fast as it goes
    const burst = Array.from({ length: 5000 }, (_, i) => tick(i));
    server.send(frames(burst));
    for (let i = 0; i < burst.length; i++) {
      const m = ws.tryRecv() ?? await ws.recv();
      assert.deepEqual(m?.data, burst[i]);
    }
    const grown = ws.bufferStats.receive;
    assert.equal(grown.capacity, 65536, "grown to bufferCapacity");
    assert.equal(grown.grows, 6, "1 KiB doubled six times");
    assert.equal(grown.shrinks, 0);
    // quiet: one tick now and then; once a window of 50 ms without the
    // burst has passed, a read shrinks it (within a few ticks)
    let ticks = 0;
    while (ws.bufferStats.receive.shrinks === 0 && ticks < 20) {
      await sleep(30);
      server.send(serverFrame(2, tick(ticks)));
      assert.deepEqual((await ws.recv())?.data, tick(ticks));
      ticks++;
    }
    assert.ok(ticks >= 2, "not before a quiet window has passed");
    assert.deepEqual(ws.bufferStats.receive, {
      capacity: 1024,
      grows: 6,
      shrinks: 1,
    });
  } finally {
    ws.terminate();
  }
});

Deno.test("a fixed buffer (minBufferCapacity = bufferCapacity) never resizes under load", async () => {
  const { ws, server } = await openMemory({
    minBufferCapacity: 4096,
    bufferCapacity: 4096,
    shrinkAfter: 0,
  });
  try {
    const burst = Array.from({ length: 2000 }, (_, i) => tick(i));
    server.send(frames(burst));
    for (let i = 0; i < burst.length; i++) {
      assert.deepEqual((ws.tryRecv() ?? await ws.recv())?.data, burst[i]);
    }
    server.send(serverFrame(2, tick(0)));
    await ws.recv();
    assert.deepEqual(ws.bufferStats.receive, {
      capacity: 4096,
      grows: 0,
      shrinks: 0,
    });
  } finally {
    ws.terminate();
  }
});

Deno.test("one message larger than bufferCapacity grows the buffer for it, and a quiet period gives the memory back", async () => {
  const { ws, server } = await openMemory({
    bufferCapacity: 8192,
    shrinkAfter: 20,
  });
  try {
    const big = expectedBytes(200_000);
    server.send(serverFrame(2, big));
    assert.deepEqual((await ws.recv())?.data, big);
    assert.ok(ws.bufferStats.receive.capacity >= 200_000);
    for (let i = 0; i < 20 && ws.bufferStats.receive.capacity > 1024; i++) {
      await sleep(25);
      server.send(serverFrame(2, tick(i)));
      assert.deepEqual((await ws.recv())?.data, tick(i));
    }
    // down to bufferCapacity at the first quiet read (its window held the
    // large message), to the minimum at the next
    assert.equal(ws.bufferStats.receive.capacity, 1024);
    assert.equal(ws.bufferStats.receive.shrinks, 2);
  } finally {
    ws.terminate();
  }
});

Deno.test("the send buffers grow for a large message and shrink back when quiet; a connection that never sends has none", async () => {
  const { ws, server } = await openMemory({ shrinkAfter: 20 });
  try {
    assert.deepEqual(ws.bufferStats.send, {
      capacity: 0,
      grows: 0,
      shrinks: 0,
    });
    const big = expectedBytes(100_000);
    await ws.sendBinary(big);
    const [frame] = decodeClientFrames(server.take());
    assert.deepEqual(frame.payload, big);
    const grown = ws.bufferStats.send;
    assert.ok(grown.capacity >= 100_000 && grown.grows >= 1);
    // quiet, then reads: the idle send buffer goes back to 64 bytes
    for (let i = 0; i < 20 && ws.bufferStats.send.capacity > 64; i++) {
      await sleep(25);
      server.send(serverFrame(2, tick(i)));
      await ws.recv();
    }
    const after = ws.bufferStats.send;
    assert.equal(after.capacity, 64);
    assert.equal(after.shrinks, 1);
    await ws.sendText("still works");
    assert.equal(
      new TextDecoder().decode(decodeClientFrames(server.take())[0].payload),
      "still works",
    );
  } finally {
    ws.terminate();
  }
});

Deno.test("an HTTP connection's receive buffer grows for a large body and shrinks back when quiet", async () => {
  const server = await startDenoServer();
  const conn = new HttpConnection(server.origin, { shrinkAfter: 20 });
  try {
    assert.equal(conn.bufferStats.receive.capacity, 1024);
    const res = await conn.get("/bytes", { query: { n: "300000" } });
    assert.deepEqual(res.body, expectedBytes(300_000));
    assert.ok(conn.bufferStats.receive.capacity >= 300_000);
    for (let i = 0; i < 20 && conn.bufferStats.receive.capacity > 1024; i++) {
      await sleep(25);
      assert.equal((await conn.get("/hello")).text(), "hello world");
    }
    assert.equal(conn.bufferStats.receive.capacity, 1024);
    assert.ok(conn.bufferStats.receive.shrinks >= 1);
  } finally {
    conn.close();
    await server.close();
  }
});

// --- the borrowing rule while buffers resize --------------------------------------------

/** One step of a run: the server sends some of its chunks, or the client receives. */
type Step =
  | { by: "server"; chunks: number }
  | { by: "client"; count: number; try: boolean };

const payload = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 300 }) },
  { weight: 2, arbitrary: fc.integer({ min: 301, max: 5000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 5001, max: 150_000 }) },
).chain((size) =>
  fc.record({
    size: fc.constant(size),
    text: fc.boolean(),
    fragments: fc.integer({ min: 1, max: 3 }),
    seed: fc.integer({ min: 0, max: 255 }),
  })
);

function bytesOf(p: { size: number; text: boolean; seed: number }) {
  const b = new Uint8Array(p.size);
  for (let i = 0; i < p.size; i++) {
    b[i] = p.text ? 0x20 + ((i + p.seed) % 90) : (i * 31 + p.seed) & 0xff;
  }
  return b;
}

/** The frames of one message, fragmented into `fragments` pieces. */
function messageFrames(
  p: { size: number; text: boolean; fragments: number },
  b: Uint8Array,
): Uint8Array[] {
  const n = Math.min(p.fragments, Math.max(1, b.length));
  const out: Uint8Array[] = [];
  for (let k = 0; k < n; k++) {
    const part = b.subarray(
      Math.floor(k * b.length / n),
      Math.floor((k + 1) * b.length / n),
    );
    const op = k === 0 ? (p.text ? 1 : 2) : 0;
    out.push(serverFrame(op, part, k === n - 1));
  }
  return out;
}

/** Cuts `stream` into chunks at the given proportions. */
function cut(stream: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = cuts.map((c) => Math.floor(c * stream.length)).sort((a, b) =>
    a - b
  );
  const out: Uint8Array[] = [];
  let at = 0;
  for (const p of [...points, stream.length]) {
    if (p > at) out.push(stream.subarray(at, p));
    at = Math.max(at, p);
  }
  return out;
}

Deno.test("an HTTP connection's request buffer grows for a large inline body and shrinks back when quiet", async () => {
  const server = await startDenoServer();
  const conn = new HttpConnection(server.origin, { shrinkAfter: 20 });
  try {
    assert.equal(conn.bufferStats.send.capacity, 1024);
    const body = new Uint8Array(12_000).fill(0x61); // inline: one write
    const sent = (await conn.post("/echo", { body })).json<{ body: string }>();
    assert.equal(sent.body, "a".repeat(12_000));
    assert.ok(conn.bufferStats.send.capacity >= 12_000);
    assert.equal(conn.bufferStats.send.grows, 1); // one resize, to 16 KiB
    for (let i = 0; i < 20 && conn.bufferStats.send.capacity > 1024; i++) {
      await sleep(25);
      assert.equal((await conn.get("/hello")).text(), "hello world");
    }
    assert.deepEqual(conn.bufferStats.send, {
      capacity: 1024,
      grows: 1,
      shrinks: 1,
    });
    // the next large request grows it again, and is sent whole
    const again = (await conn.post("/echo", { body })).json<{ body: string }>();
    assert.equal(again.body, "a".repeat(12_000));
    assert.ok(conn.bufferStats.send.capacity >= 12_000);
  } finally {
    conn.close();
    await server.close();
  }
});

Deno.test("fuzz: whatever the message sizes, fragmentation, chunking and rate, a borrowed message keeps its bytes until the next receive while buffers grow and shrink", async () => {
  let grows = 0, shrinks = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(payload, { minLength: 1, maxLength: 40 }),
      fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 60 }),
      fc.array(
        fc.oneof(
          fc.record({
            by: fc.constant("server" as const),
            chunks: fc.integer({ min: 1, max: 8 }),
          }),
          fc.record({
            by: fc.constant("client" as const),
            count: fc.integer({ min: 1, max: 6 }),
            try: fc.boolean(),
          }),
        ),
        { minLength: 1, maxLength: 40 },
      ),
      fc.constantFrom(256, 1024, 4096),
      async (messages, cuts, steps: Step[], min) => {
        const { ws, server } = await openMemory({
          minBufferCapacity: min,
          bufferCapacity: 16384,
          shrinkAfter: 0, // every quiet read may shrink: as many resizes as possible
        });
        try {
          const expected = messages.map(bytesOf);
          const all: Uint8Array[] = [];
          messages.forEach((p, i) =>
            all.push(...messageFrames(p, expected[i]))
          );
          const chunks = cut(concat(all), cuts);
          let sent = 0, got = 0;
          let held: { view: Uint8Array; copy: Uint8Array } | null = null;
          const receive = async (tryOnly: boolean) => {
            // the borrowed bytes are untouched until this next receive,
            // which ends the borrow whatever it returns
            if (held !== null) assert.deepEqual(held.view, held.copy);
            held = null;
            let m = ws.tryRecv();
            if (m === undefined && !tryOnly) {
              // the server goes on sending, a chunk at a time, until it comes
              const pending = ws.recv();
              let done = false;
              pending.finally(() => done = true).catch(() => {});
              while (!done && sent < chunks.length) {
                server.send(chunks[sent++]);
                await new Promise((r) => setTimeout(r, 0));
              }
              m = (await pending) ?? undefined;
            }
            if (m === undefined) return;
            assert.equal(m.type, messages[got].text ? "text" : "binary");
            assert.deepEqual(m.data, expected[got]);
            held = { view: m.data, copy: expected[got] };
            got++;
          };
          for (const step of steps) {
            if (step.by === "server") {
              for (let k = 0; k < step.chunks && sent < chunks.length; k++) {
                server.send(chunks[sent++]);
              }
            } else {
              for (let k = 0; k < step.count && got < messages.length; k++) {
                await receive(step.try);
              }
            }
          }
          while (sent < chunks.length) server.send(chunks[sent++]);
          while (got < messages.length) await receive(false);
          const last = held as { view: Uint8Array; copy: Uint8Array } | null;
          if (last !== null) assert.deepEqual(last.view, last.copy);
          const r = ws.bufferStats.receive;
          grows += r.grows;
          shrinks += r.shrinks;
          assert.ok(
            r.capacity >= min && r.capacity <= 16384 * 2 + 150_000,
            `capacity ${r.capacity}`,
          );
        } finally {
          ws.terminate();
        }
      },
    ),
    { seed: SEED, numRuns: RUNS, timeout: 5000 },
  );
  // the runs did resize, many times: the property was not vacuous
  assert.ok(
    grows > RUNS && shrinks >= 10,
    `${grows} grows, ${shrinks} shrinks`,
  );
});
