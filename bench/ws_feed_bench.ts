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
 * messages/s = {@link MESSAGES} × iter/s (1,000,000 77-byte ticks per
 * iteration).
 *
 * The loops are those of `feed_clients.ts` / `feed_clients_npm.ts`, each
 * bench named by its loop's label (exactly what it runs). One group per
 * comparison ({@link comparisonOf}), its native `WebSocket` loop the
 * baseline:
 *
 * - a string per message: like for like with native `e.data`;
 * - a parsed JSON object per message: like for like with native
 *   `JSON.parse(e.data)`;
 * - the payload as bytes, no string: NOT like for like with native `e.data`
 *   (the native `WebSocket` has no loop without a string), so that group
 *   runs the native `e.data` loop again as its baseline.
 *
 * One group runs the fastest nexus loop (in place) as it is and with the
 * application liveness options configured: an application heartbeat whose
 * answer matcher sees every message (`isPong: matchText("pong")`, the OKX
 * shape; the interval is an hour, so what is measured is the matching, not
 * the sending), an application ping reply (`appPingReply` with
 * `matchPrefix('{"ping":')`), and the staleness watchdog (a timer only).
 * Stats are always on; there is no option to turn them off.
 *
 * A group measures the ceiling: the same stream read with plain
 * `conn.read()` and no WebSocket parsing at all. If a client gets close to
 * it, the server (or the loopback) is the bottleneck, not the client.
 *
 * The last group runs over `wss://`: a second feed server process serves
 * TLS with the bench CA (`bench/tls/`), and the baseline is the bare TLS
 * read loop (`Deno.connectTls`, `conn.read()` into 256 KiB, no parsing),
 * the ceiling of any `wss://` client on this runtime; the rows say what
 * share of it each loop reaches. The native `WebSocket` row needs the CA
 * at process start: run with `--cert bench/tls/ca.pem` (without it that
 * row is left out, with a note on stderr).
 *
 * @module
 */

import {
  FRAME_BYTES,
  startFeedServer,
  TICK_BYTES,
  TLS_CA_FILE,
} from "./feed_server.ts";
import {
  comparisonOf,
  FEED_LOOPS,
  type FeedLoop,
  type FeedResult,
  LIVENESS_OPTIONS,
  NATIVE_STRING,
  NEXUS_IN_PLACE,
  recvNative,
  recvRawTcp,
  recvRawTls,
  type Work,
} from "./feed_clients.ts";
import { NPM_FEED_LOOPS } from "./feed_clients_npm.ts";

/** Messages received per iteration. */
const MESSAGES = 1_000_000;

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

function bench(
  group: string,
  loop: FeedLoop,
  baseline: boolean,
  at: string = url,
  caCerts?: string[],
): void {
  Deno.bench({
    name: at.startsWith("wss:") ? `${loop.label} (wss)` : loop.label,
    group,
    baseline,
    n: 10,
    warmup: 3,
    async fn() {
      expectAll(await loop.run(at, { client: { caCerts } }));
    },
  });
}

const loops = [...FEED_LOOPS, ...NPM_FEED_LOOPS];
for (const work of ["string", "json", "bytes"] satisfies Work[]) {
  const { title, verdict, baseline } = comparisonOf(work);
  const group = `ws feed, ${title}: ${verdict}`;
  bench(group, baseline, true);
  for (const loop of loops) {
    if (loop.work === work && loop !== baseline) bench(group, loop, false);
  }
}

const livenessGroup =
  "ws feed, the in-place loop with application liveness options";
bench(livenessGroup, NEXUS_IN_PLACE, true);
for (const [what, client] of LIVENESS_OPTIONS) {
  Deno.bench({
    name: `${NEXUS_IN_PLACE.label}, ${what}`,
    group: livenessGroup,
    n: 10,
    warmup: 3,
    async fn() {
      expectAll(await NEXUS_IN_PLACE.run(url, { client }));
    },
  });
}

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

const tlsFeed = await startFeedServer({ tls: true });
tlsFeed.unref();
const tlsUrl = tlsFeed.url({ count: MESSAGES });
const ca = [await Deno.readTextFile(TLS_CA_FILE)];
const wss = "wss feed (TLS), vs the bare TLS read loop (the ceiling)";

Deno.bench({
  name: "bare TLS reads, no WebSocket parsing, the ceiling (wss)",
  group: wss,
  baseline: true,
  n: 10,
  warmup: 3,
  async fn() {
    const r = await recvRawTls(
      tlsFeed.port,
      `/?count=${MESSAGES}`,
      FRAME_BYTES,
      ca,
    );
    if (r.bytes !== MESSAGES * FRAME_BYTES + 4) {
      throw new Error(
        `Expected ${MESSAGES * FRAME_BYTES + 4} bytes, got ${r.bytes}`,
      );
    }
  },
});
for (const loop of FEED_LOOPS) {
  if (
    loop === NEXUS_IN_PLACE ||
    loop.label.includes("tryRecv() ?? await recv(), m.text()")
  ) {
    bench(wss, loop, false, tlsUrl, ca);
  }
}
if (await nativeTrustsBenchCa()) bench(wss, NATIVE_STRING, false, tlsUrl);
else {
  console.error(
    "Note: the native WebSocket wss:// row needs the bench CA at start: deno bench --cert bench/tls/ca.pem ...",
  );
}

/** Whether this process's native `WebSocket` trusts the bench CA (`--cert`). */
async function nativeTrustsBenchCa(): Promise<boolean> {
  try {
    await recvNative(tlsFeed.url({ count: 1 }));
    return true;
  } catch {
    return false;
  }
}
