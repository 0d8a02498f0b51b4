/**
 * WebSocket receive benches against the local feed server.
 *
 * `deno task bench` (or `deno bench --allow-net --allow-read --allow-run
 * --allow-env --allow-sys bench/ws_feed_bench.ts`)
 *
 * The feed server (`feed_server.ts`) runs in its own process and sends every
 * client the identical byte stream: {@link MESSAGES} text frames, each a
 * 77-byte JSON quote tick, then a close frame 1000. One iteration is one
 * client connecting, receiving all of them and seeing the close, so
 * messages/s = {@link MESSAGES} × iter/s. The native `WebSocket` is the
 * baseline of the group.
 *
 * A second group measures the ceiling: the same stream read with plain
 * `conn.read()` and no WebSocket parsing at all. If a client gets close to
 * it, the server (or the loopback) is the bottleneck, not the client.
 *
 * @module
 */

import { FRAME_BYTES, startFeedServer, TICK_BYTES } from "./feed_server.ts";
import {
  type FeedResult,
  recvNative,
  recvNexusBorrowed,
  recvNexusText,
  recvNexusView,
  recvRawTcp,
} from "./feed_clients.ts";
import { recvNpmWs } from "./feed_clients_npm.ts";

/** Messages received per iteration. */
const MESSAGES = 1_000_000;
const GROUP = `ws feed: ${
  MESSAGES / 1e6
}M × ${TICK_BYTES}-byte JSON ticks per iter`;

const feed = await startFeedServer();
feed.unref(); // the server process exits when this one does (its stdin closes)
const url = feed.url({ count: MESSAGES });

function expectAll(r: FeedResult): void {
  if (r.messages !== MESSAGES || r.bytes !== MESSAGES * TICK_BYTES) {
    throw new Error(
      `Expected ${MESSAGES} messages of ${TICK_BYTES} bytes, got ${r.messages} messages, ${r.bytes} bytes`,
    );
  }
}

const common = { group: GROUP, n: 10, warmup: 3 };

Deno.bench({
  name: "native WebSocket (MessageEvent, string data)",
  baseline: true,
  ...common,
  async fn() {
    expectAll(await recvNative(url));
  },
});

Deno.bench({
  name: "nexus tryRecv() ?? recv(), borrowed bytes in place (m.bytes)",
  ...common,
  async fn() {
    expectAll(await recvNexusBorrowed(url));
  },
});

Deno.bench({
  name: "nexus await recv(), borrowed view (m.data)",
  ...common,
  async fn() {
    expectAll(await recvNexusView(url));
  },
});

Deno.bench({
  name: "nexus tryRecv() ?? recv(), decoded (m.text())",
  ...common,
  async fn() {
    expectAll(await recvNexusText(url));
  },
});

Deno.bench({
  name: "npm ws (message event, Buffer)",
  ...common,
  async fn() {
    expectAll(await recvNpmWs(url));
  },
});

Deno.bench({
  name: "raw TCP reads, no WebSocket parsing (server + loopback ceiling)",
  group: "feed server ceiling",
  n: 10,
  warmup: 3,
  async fn() {
    const r = await recvRawTcp(feed.port, `/?count=${MESSAGES}`, FRAME_BYTES);
    if (r.bytes !== MESSAGES * FRAME_BYTES + 4) {
      throw new Error(
        `Expected ${MESSAGES * FRAME_BYTES + 4} bytes, got ${r.bytes}`,
      );
    }
  },
});
