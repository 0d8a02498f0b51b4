/**
 * Smoke tests for the compressed feed (`bench/deflate_feed.ts`): the server
 * sends, compressed, exactly the ticks the plain feed sends (so
 * `ws_deflate_bench.ts` and `deflate_rss.ts` can never measure garbage),
 * for every window a client may ask for, and the bench's loops count them.
 */

import assert from "node:assert/strict";
import { buildBlock, FRAME_BYTES, TICK_BYTES } from "../bench/feed_server.ts";
import { startDeflateFeedServer, tickStream } from "../bench/deflate_feed.ts";
import { recvNexusInPlace, recvNexusTryText } from "../bench/feed_clients.ts";
import { recvNpmWsText } from "../bench/feed_clients_npm.ts";
import { connect } from "../mod.ts";
import { MessageInflater } from "../src/codec/mod.ts";

Deno.test("the compressed tick stream inflates to the plain feed's ticks, again and again, at every window", () => {
  const plain = buildBlock();
  const tick = (i: number) =>
    plain.subarray(i * FRAME_BYTES + 2, (i + 1) * FRAME_BYTES);
  for (const bits of [8, 10, 15]) {
    const s = tickStream(bits);
    const inf = new MessageInflater({ windowBits: bits });
    let i = 0;
    for (const part of [s.first, s.again, s.again, s.again]) {
      for (let k = 0, from = 0; k < part.ends.length; k++) {
        const frame = part.bytes.subarray(from, part.ends[k]);
        from = part.ends[k];
        assert.equal(frame[0], 0xc1, "FIN, RSV1, text");
        inf.begin();
        inf.push(frame, 2);
        inf.finish();
        assert.deepEqual(inf.output(), tick(i++ % part.ends.length));
      }
    }
    const wire = s.again.bytes.length / s.again.ends.length;
    assert.ok(wire < TICK_BYTES / 2, `${bits} bits: ${wire} bytes a tick`);
  }
});

Deno.test("the compressed feed server answers each client's offer and the bench loops count every tick", async () => {
  const feed = await startDeflateFeedServer();
  try {
    const url = feed.url({ count: 5000 });
    const all = { messages: 5000, bytes: 5000 * TICK_BYTES };
    const window15 = { perMessageDeflate: { serverMaxWindowBits: 15 } };
    assert.deepEqual(await recvNexusTryText(url, { client: window15 }), all);
    assert.deepEqual(await recvNexusInPlace(url, {}), all);
    assert.deepEqual(
      await recvNexusInPlace(url, { client: { perMessageDeflate: false } }),
      all,
    );
    assert.deepEqual(await recvNpmWsText(url, { npmDeflate: true }), all);
    const ws = await connect(feed.url({ every: 10 }));
    assert.equal(ws.perMessageDeflate?.serverMaxWindowBits, 10);
    for (let i = 0; i < 3; i++) {
      assert.equal((await ws.recv())?.byteLength, TICK_BYTES);
    }
    ws.terminate();
  } finally {
    await feed.close();
  }
});
