/**
 * The compressed tick feed: the compressed feed server (`deflate_feed.ts`,
 * its own process) accepts permessage-deflate and sends the feed server's
 * 77-byte JSON ticks compressed with context takeover (zlib), and each
 * client receives {@link MESSAGES} of them per iteration, then the close.
 *
 * `deno bench --allow-net --allow-read --allow-run --allow-env --allow-sys bench/ws_deflate_bench.ts`
 *
 * Groups (messages/s = {@link MESSAGES} × iter/s), the baseline first:
 *
 * - a string per message: npm `ws` with permessage-deflate (the only other
 *   client that can receive the feed: Deno's `WebSocket` has no
 *   compression), nexus `m.text()`;
 * - a parsed JSON object per message: npm `ws`, nexus `m.json()`;
 * - bytes, no string: nexus in place (not like for like with npm `ws`'s
 *   `Buffer` per message, which is a copy).
 *
 * nexus rows say which server window they negotiated: `window 15` offers
 * `serverMaxWindowBits: 15` (what npm `ws` gets: the same bytes), `default
 * offer` is connect()'s default (a 1 KiB window). The `uncompressed` rows
 * receive the same ticks without compression, for scale.
 *
 * @module
 */

import { TICK_BYTES } from "./feed_server.ts";
import {
  type FeedLoopOptions,
  type FeedResult,
  recvNexusInPlace,
  recvNexusJson,
  recvNexusText,
  recvNexusTryText,
} from "./feed_clients.ts";
import { recvNpmWsJson, recvNpmWsText } from "./feed_clients_npm.ts";
import {
  startDeflateFeedServer,
  tickStream,
  wireBytesPerTick,
} from "./deflate_feed.ts";

/** Messages received per iteration. */
const MESSAGES = 200_000;

const feed = await startDeflateFeedServer();
feed.unref();
// the server compresses when the client offers permessage-deflate
const compressed = feed.url({ count: MESSAGES });
const plain = compressed;

for (const bits of [15, 10]) {
  console.log(
    `compressed feed, server window ${bits}: ${
      wireBytesPerTick(tickStream(bits)).toFixed(1)
    } bytes a tick on the wire (uncompressed: ${TICK_BYTES + 2})`,
  );
}

const WINDOW_15: FeedLoopOptions = {
  client: { perMessageDeflate: { serverMaxWindowBits: 15 } },
};
const DEFAULT_OFFER: FeedLoopOptions = {};
const OFF: FeedLoopOptions = { client: { perMessageDeflate: false } };
const NPM: FeedLoopOptions = { npmDeflate: true };

function expectAll(r: FeedResult): void {
  if (r.messages !== MESSAGES || r.bytes !== MESSAGES * TICK_BYTES) {
    throw new Error(
      `Expected ${MESSAGES} messages of ${TICK_BYTES} bytes, got ${r.messages} messages, ${r.bytes} bytes`,
    );
  }
}

type Run = (url: string, options: FeedLoopOptions) => Promise<FeedResult>;

function bench(
  group: string,
  name: string,
  run: Run,
  url: string,
  options: FeedLoopOptions,
  baseline = false,
): void {
  Deno.bench({
    name,
    group,
    baseline,
    n: 5,
    warmup: 1,
    async fn() {
      expectAll(await run(url, options));
    },
  });
}

const TEXT = "compressed feed, a string per message";
bench(
  TEXT,
  'npm ws (deflate): on("message"), data.toString()',
  recvNpmWsText,
  compressed,
  NPM,
  true,
);
bench(
  TEXT,
  "nexus window 15: await recv(), m.text()",
  recvNexusText,
  compressed,
  WINDOW_15,
);
bench(
  TEXT,
  "nexus window 15: tryRecv() ?? await recv(), m.text()",
  recvNexusTryText,
  compressed,
  WINDOW_15,
);
bench(
  TEXT,
  "nexus default offer: tryRecv() ?? await recv(), m.text()",
  recvNexusTryText,
  compressed,
  DEFAULT_OFFER,
);
bench(
  TEXT,
  "nexus uncompressed: tryRecv() ?? await recv(), m.text()",
  recvNexusTryText,
  plain,
  OFF,
);

const JSON_GROUP = "compressed feed, a parsed JSON object per message";
bench(
  JSON_GROUP,
  'npm ws (deflate): on("message"), JSON.parse(data.toString())',
  recvNpmWsJson,
  compressed,
  NPM,
  true,
);
bench(
  JSON_GROUP,
  "nexus window 15: await recv(), m.json()",
  recvNexusJson,
  compressed,
  WINDOW_15,
);
bench(
  JSON_GROUP,
  "nexus uncompressed: await recv(), m.json()",
  recvNexusJson,
  plain,
  OFF,
);

const BYTES = "compressed feed, bytes in place (no string)";
bench(
  BYTES,
  "nexus window 15: tryRecv() ?? await recv(), m.bytes[m.offset]",
  recvNexusInPlace,
  compressed,
  WINDOW_15,
  true,
);
bench(
  BYTES,
  "nexus default offer: tryRecv() ?? await recv(), m.bytes[m.offset]",
  recvNexusInPlace,
  compressed,
  DEFAULT_OFFER,
);
bench(
  BYTES,
  "nexus uncompressed: tryRecv() ?? await recv(), m.bytes[m.offset]",
  recvNexusInPlace,
  plain,
  OFF,
);
