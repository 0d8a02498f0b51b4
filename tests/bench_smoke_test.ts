/**
 * Smoke tests for the bench harness: the feed server sends what it claims
 * (so a bench can never silently measure garbage), every receive loop counts
 * what was sent, and the demo runs to completion.
 */

import assert from "node:assert/strict";
import {
  buildBlock,
  FRAME_BYTES,
  startFeedServer,
  TICK_BYTES,
  TICKS_PER_BLOCK,
} from "../bench/feed_server.ts";
import {
  comparisonOf,
  FEED_LOOPS,
  NATIVE_JSON,
  NATIVE_STRING,
  recvRawTcp,
  type Work,
} from "../bench/feed_clients.ts";
import { NPM_FEED_LOOPS } from "../bench/feed_clients_npm.ts";

/** Every receive loop the benches and the demo run. */
const ALL_LOOPS = [...FEED_LOOPS, ...NPM_FEED_LOOPS];
const WORKS: Work[] = ["string", "json", "bytes"];

const encoder = new TextEncoder();
const KEY = "x3JJHMbDL1EzLkh9GBhXDw==";

async function expectedAccept(key: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-1",
    encoder.encode(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"),
  );
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

function indexOfHeadEnd(b: Uint8Array, len: number): number {
  for (let i = 3; i < len; i++) {
    if (b[i - 3] === 13 && b[i - 2] === 10 && b[i - 1] === 13 && b[i] === 10) {
      return i + 1;
    }
  }
  return -1;
}

/**
 * Dials the feed server by hand, checks the 101 response, reads to the end
 * of the stream (answering the close frame with a masked close frame) and
 * returns the response head and every byte after it.
 */
async function rawSession(
  port: number,
  path: string,
): Promise<{ head: string; body: Uint8Array }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(
      encoder.encode(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ),
    );
    let buf = new Uint8Array(1 << 20);
    let len = 0;
    let answered = false;
    for (;;) {
      if (len === buf.length) {
        const bigger = new Uint8Array(buf.length * 2);
        bigger.set(buf);
        buf = bigger;
      }
      const n = await conn.read(buf.subarray(len));
      if (n === null) break;
      len += n;
      // Once the server's close frame is in, answer it (masked, code 1000).
      if (
        !answered && len >= 4 && buf[len - 4] === 0x88 &&
        buf[len - 3] === 0x02 &&
        buf[len - 2] === 0x03 && buf[len - 1] === 0xe8
      ) {
        answered = true;
        const mask = [1, 2, 3, 4];
        await conn.write(
          new Uint8Array([0x88, 0x82, ...mask, 0x03 ^ 1, 0xe8 ^ 2]),
        );
      }
    }
    assert.ok(
      answered,
      "Expected the server to send a close frame before ending the stream",
    );
    const headEnd = indexOfHeadEnd(buf, len);
    assert.ok(headEnd > 0, "Expected a complete HTTP response head");
    return {
      head: new TextDecoder().decode(buf.subarray(0, headEnd)),
      body: buf.slice(headEnd, len),
    };
  } finally {
    conn.close();
  }
}

/** Parses unmasked server frames independently of the codec under test. */
function parseTicks(
  body: Uint8Array,
): { ticks: string[]; closeCode: number | null; trailing: number } {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const ticks: string[] = [];
  let i = 0;
  let closeCode: number | null = null;
  while (i + 2 <= body.length) {
    const b0 = body[i], b1 = body[i + 1];
    assert.equal(b1 & 0x80, 0, `Expected an unmasked frame at byte ${i}`);
    const len = b1 & 0x7f;
    assert.ok(len < 126, `Expected a 7-bit length at byte ${i}, got ${len}`);
    const payload = body.subarray(i + 2, i + 2 + len);
    assert.equal(payload.length, len, `Expected a whole frame at byte ${i}`);
    if (b0 === 0x88) {
      assert.equal(len, 2, "Expected a close frame with just a code");
      closeCode = (payload[0] << 8) | payload[1];
      i += 2 + len;
      break;
    }
    assert.equal(
      b0,
      0x81,
      `Expected a FIN text frame at byte ${i}, got 0x${b0.toString(16)}`,
    );
    ticks.push(decoder.decode(payload));
    i += 2 + len;
  }
  return { ticks, closeCode, trailing: body.length - i };
}

function assertTick(json: string): void {
  assert.equal(json.length, TICK_BYTES);
  const t = JSON.parse(json);
  assert.deepEqual(Object.keys(t), ["s", "b", "a", "bq", "aq", "t"]);
  assert.equal(t.s, "BTC-USD");
  assert.ok(t.b >= 60000 && t.b < 70000, `bid ${t.b}`);
  assert.ok(t.a > t.b && t.a - t.b < 1, `ask ${t.a} vs bid ${t.b}`);
  assert.ok(t.bq > 0 && t.bq < 10 && t.aq > 0 && t.aq < 10);
  assert.ok(Number.isSafeInteger(t.t) && t.t > 1.7e12);
}

Deno.test("The tick block holds valid, varying 77-byte JSON text frames", () => {
  const block = buildBlock();
  assert.equal(block.length, TICKS_PER_BLOCK * FRAME_BYTES);
  const { ticks, closeCode, trailing } = parseTicks(block);
  assert.equal(ticks.length, TICKS_PER_BLOCK);
  assert.equal(closeCode, null);
  assert.equal(trailing, 0);
  ticks.forEach(assertTick);
  assert.ok(
    new Set(ticks).size > TICKS_PER_BLOCK * 0.99,
    "Expected the ticks to vary",
  );
  const times = ticks.map((s) => JSON.parse(s).t);
  assert.ok(
    times.every((t, i) => i === 0 || t > times[i - 1]),
    "Expected increasing timestamps",
  );
});

Deno.test("The feed server answers the upgrade and sends exactly count ticks, then close 1000", async () => {
  await using feed = await startFeedServer();
  const count = TICKS_PER_BLOCK * 2 + 77; // two whole blocks and part of a third
  const { head, body } = await rawSession(feed.port, `/?count=${count}`);
  assert.match(head, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
  assert.match(head, /\r\nupgrade: websocket\r\n/i);
  assert.match(head, /\r\nconnection: upgrade\r\n/i);
  assert.ok(
    head.includes(`\r\nSec-WebSocket-Accept: ${await expectedAccept(KEY)}\r\n`),
    `Expected the RFC 6455 accept value in ${JSON.stringify(head)}`,
  );
  assert.equal(body.length, count * FRAME_BYTES + 4);
  const { ticks, closeCode, trailing } = parseTicks(body);
  assert.equal(ticks.length, count);
  assert.equal(closeCode, 1000);
  assert.equal(trailing, 0);
  ticks.forEach(assertTick);
});

Deno.test("The feed server sends every client the identical bytes", async () => {
  await using feed = await startFeedServer();
  const [a, b] = await Promise.all([
    rawSession(feed.port, "/?count=5000"),
    rawSession(feed.port, "/?count=5000"),
  ]);
  assert.equal(a.body.length, 5000 * FRAME_BYTES + 4);
  assert.deepEqual(a.body, b.body);
});

Deno.test("The feed server sends zero ticks for count=0 and still closes cleanly", async () => {
  await using feed = await startFeedServer();
  const { body } = await rawSession(feed.port, "/?count=0");
  assert.deepEqual(body, new Uint8Array([0x88, 0x02, 0x03, 0xe8]));
});

Deno.test("The feed server bounds a stream by time with ms= and then closes cleanly", async () => {
  await using feed = await startFeedServer();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: feed.port });
  const t0 = performance.now();
  let total = 0, last4 = 0;
  const first = new Uint8Array(1 << 20); // the start of the stream, parsed below
  try {
    await conn.write(
      encoder.encode(
        `GET /?ms=100 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ),
    );
    const buf = new Uint8Array(1 << 18);
    for (let n = await conn.read(buf); n !== null; n = await conn.read(buf)) {
      if (total < first.length) {
        first.set(buf.subarray(0, Math.min(n, first.length - total)), total);
      }
      total += n;
      for (let i = Math.max(0, n - 4); i < n; i++) {
        last4 = ((last4 << 8) | buf[i]) >>> 0;
      }
      if (last4 === 0x880203e8) break; // the close frame
    }
  } finally {
    conn.close();
  }
  const elapsed = performance.now() - t0;
  assert.ok(elapsed >= 100 && elapsed < 5000, `elapsed ${elapsed} ms`);
  assert.equal(last4, 0x880203e8, "Expected the stream to end with close 1000");
  const headEnd = indexOfHeadEnd(first, Math.min(total, first.length));
  const body = total - headEnd - 4;
  assert.ok(
    body >= TICKS_PER_BLOCK * FRAME_BYTES,
    `got ${body} bytes of ticks`,
  );
  assert.equal(
    body % (TICKS_PER_BLOCK * FRAME_BYTES),
    0,
    "Expected whole blocks of ticks",
  );
  const { ticks } = parseTicks(
    first.subarray(headEnd, headEnd + TICKS_PER_BLOCK * FRAME_BYTES),
  );
  assert.equal(ticks.length, TICKS_PER_BLOCK);
  ticks.forEach(assertTick);
});

Deno.test("The feed server refuses a request without a WebSocket key", async () => {
  await using feed = await startFeedServer();
  const res = await fetch(`http://127.0.0.1:${feed.port}/?count=1`);
  assert.equal(res.status, 400);
  await res.body?.cancel();
});

Deno.test("Every bench receive loop counts exactly the messages and bytes the server sent", async () => {
  await using feed = await startFeedServer();
  const count = 10_000;
  const url = feed.url({ count });
  const expected = { messages: count, bytes: count * TICK_BYTES };
  assert.equal(ALL_LOOPS.length, 10);
  for (const loop of ALL_LOOPS) {
    assert.deepEqual(await loop.run(url), expected, loop.label);
  }
  assert.deepEqual(
    await recvRawTcp(feed.port, `/?count=${count}`, FRAME_BYTES),
    {
      messages: count,
      bytes: count * FRAME_BYTES + 4,
    },
  );
});

Deno.test("The receive loops that check payloads reject a feed whose messages are not ticks", async () => {
  // Valid JSON, but neither starting with "{" nor a BTC-USD tick.
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) => {
      const { socket, response } = Deno.upgradeWebSocket(req);
      socket.onopen = () => {
        socket.send('{"s":"BTC-USD"}');
        socket.send("[1]");
        socket.send('{"s":"ETH-USD"}');
        socket.close(1000);
      };
      return response;
    },
  );
  try {
    const url = `ws://127.0.0.1:${server.addr.port}/`;
    const checked = ALL_LOOPS.filter((l) =>
      l.work === "json" || l.label.endsWith("in place")
    );
    assert.equal(checked.length, 4);
    for (const loop of checked) {
      await assert.rejects(
        loop.run(url),
        (e: Error) => {
          assert.match(
            e.message,
            loop.work === "json"
              ? /^Expected a tick of BTC-USD in all 3 messages, got 1$/
              : /^Expected a first byte "\{" in all 3 messages, got 2$/,
            loop.label,
          );
          return true;
        },
        loop.label,
      );
    }
  } finally {
    await server.shutdown();
  }
});

Deno.test("Every loop's label is its client and exactly its loop, and no two loops share one", () => {
  const labels = ALL_LOOPS.map((l) => l.label);
  assert.equal(new Set(labels).size, labels.length, labels.join("\n"));
  for (const l of ALL_LOOPS) {
    assert.equal(l.label, `${l.client}: ${l.loop}`);
    assert.ok(WORKS.includes(l.work), l.label);
  }
  assert.deepEqual(
    FEED_LOOPS.map((l) => l.label),
    [
      "native WebSocket: onmessage, e.data",
      "nexus: await recv(), m.text()",
      "nexus: tryRecv() ?? await recv(), m.text()",
      "native WebSocket: onmessage, JSON.parse(e.data)",
      "nexus: await recv(), m.json()",
      "nexus: await recv(), m.data",
      "nexus: tryRecv() ?? await recv(), m.bytes[m.offset] in place",
    ],
  );
});

Deno.test("A loop is called like for like with native only when the native loop does the same work", () => {
  assert.equal(comparisonOf("string").baseline, NATIVE_STRING);
  assert.equal(comparisonOf("json").baseline, NATIVE_JSON);
  assert.equal(comparisonOf("bytes").baseline, NATIVE_STRING);
  for (const work of WORKS) {
    const c = comparisonOf(work);
    assert.equal(c.likeForLike, c.baseline.work === work, work);
    assert.equal(c.baseline.client, "native WebSocket");
    assert.match(
      c.heading,
      c.likeForLike ? /: like for like$/ : /: NOT like for like: /,
    );
    assert.ok(c.heading.includes(c.baseline.label), c.heading);
  }
  // Every work has nexus loops, and npm ws has one loop per work.
  for (const work of WORKS) {
    assert.ok(FEED_LOOPS.some((l) => l.client === "nexus" && l.work === work));
    assert.equal(NPM_FEED_LOOPS.filter((l) => l.work === work).length, 1);
  }
});

Deno.test("Every receive loop reports progress every progressEvery messages", async () => {
  await using feed = await startFeedServer();
  const url = feed.url({ count: 5000 });
  for (const loop of ALL_LOOPS) {
    const seen: number[] = [];
    const r = await loop.run(url, {
      progressEvery: 1024,
      onProgress: (n, bytes) => {
        assert.equal(bytes, n * TICK_BYTES, loop.label);
        seen.push(n);
      },
    });
    assert.equal(r.messages, 5000, loop.label);
    assert.deepEqual(seen, [1024, 2048, 3072, 4096], loop.label);
  }
});

Deno.test("docs/performance.md names every feed loop by its label", async () => {
  const doc = await Deno.readTextFile(
    new URL("../docs/performance.md", import.meta.url),
  );
  for (const loop of ALL_LOOPS) {
    assert.ok(
      doc.includes(loop.label),
      `Expected docs/performance.md to name "${loop.label}"`,
    );
  }
});

Deno.test("The demo runs every loop, counts whole blocks of ticks for each, and says which comparisons are like for like", async () => {
  const root = new URL("../", import.meta.url);
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-run",
      "--allow-env",
      "examples/demo.ts",
      "--seconds=0.2",
    ],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `demo failed:\n${stdout}\n${stderr}`);
  const lines = stdout.split("\n");
  for (const loop of FEED_LOOPS) {
    // The label on its own line, its progress lines under it, the last one "done".
    const at = lines.indexOf(`  ${loop.label}`);
    assert.ok(
      at >= 0,
      `Expected a progress block for ${loop.label}:\n${stdout}`,
    );
    const done = lines.slice(at + 1).find((l) => l.endsWith("  done"));
    assert.ok(done, `Expected a done line for ${loop.label}`);
    const messages = Number(done.trim().split(/\s+/)[0].replaceAll(",", ""));
    assert.ok(
      messages > 0 && messages % TICKS_PER_BLOCK === 0,
      `Expected whole blocks of ${TICKS_PER_BLOCK} ticks for ${loop.label}, got ${done}`,
    );
  }
  for (const work of WORKS) {
    const { title, verdict, baseline } = comparisonOf(work);
    const at = lines.findIndex((l) =>
      l.toLowerCase() === `  ${title}, vs ${baseline.label}:`.toLowerCase()
    );
    assert.ok(at >= 0, `Expected a table for ${title}:\n${stdout}`);
    assert.equal(lines[at + 1], `  ${verdict}`);
    const table = lines.slice(at + 3, lines.indexOf("", at));
    const rowLabels = [
      baseline,
      ...FEED_LOOPS.filter((l) => l.work === work && l !== baseline),
    ].map((l) => l.label);
    assert.equal(table.length, rowLabels.length, table.join("\n"));
    table.forEach((row, i) => {
      assert.ok(row.startsWith(`    ${rowLabels[i]} `), row);
      assert.match(
        row,
        i === 0 ? / {2}1\.00x \(baseline\)$/ : / {2}\d+\.\d\dx$/,
      );
    });
  }
});
