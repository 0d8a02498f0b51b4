/**
 * What a local HTTP CONNECT tunnel costs: the same clients direct and
 * through tinyproxy (Debian package `tinyproxy`, started here on
 * loopback), in one run.
 *
 * `deno bench --allow-net --allow-read --allow-write --allow-run --allow-env --allow-sys bench/proxy_bench.ts`
 *
 * - ws feed: one iteration is one connection receiving {@link MESSAGES}
 *   77-byte ticks from the feed server (`feed_server.ts`, own process), as
 *   in `ws_feed_bench.ts`; the direct loop is the baseline.
 * - http sequential keep-alive GET: one iteration is {@link SEQ} GETs of
 *   `/hello` on one kept-alive {@link HttpConnection} (`http_server.ts`,
 *   own process); direct is the baseline.
 * - feed server ceiling: the same stream read with plain reads and no
 *   WebSocket parsing, direct and through the tunnel: what the feed server,
 *   the loopback and the proxy can deliver to one reader at all.
 * - http dial: one iteration is {@link DIALS} new connections, one GET on
 *   each: the cost of opening the tunnel (TCP to the proxy, CONNECT, the
 *   proxy's TCP to the origin) against a direct TCP connect.
 *
 * The tunnel hands the clients the proxy's raw `Deno.TcpConn` (nothing
 * wraps it), so any difference is the extra hop through the proxy process
 * (its copies and the second loopback connection), not client code.
 *
 * @module
 */

import { HttpConnection } from "../mod.ts";
import { FRAME_BYTES, startFeedServer, TICK_BYTES } from "./feed_server.ts";
import {
  type FeedLoop,
  recvNexusInPlace,
  recvNexusTryText,
  recvRawTcp,
} from "./feed_clients.ts";
import { dial } from "../src/transport.ts";
import { parseProxyUrl } from "../src/codec/proxy/url.ts";
import { HELLO, startHttpServer } from "./http_server.ts";
import { startTinyproxy } from "../tests/support/proxies.ts";

/** Messages received per feed iteration. */
const MESSAGES = 1_000_000;
/** Sequential GETs per iteration. */
const SEQ = 2000;
/** New connections per dial iteration. */
const DIALS = 200;

const feed = await startFeedServer();
feed.unref();
const http = await startHttpServer();
http.unref();
const proxy = await startTinyproxy();
// tinyproxy runs detached in its own process group: stop it when the
// benches end (close() sends SIGTERM to the group before its first await)
globalThis.addEventListener("unload", () => void proxy.close());
const tunnel = `http://${proxy.host}`;
const url = feed.url({ count: MESSAGES });

function bodyOf(n: number): void {
  if (n !== HELLO.length) {
    throw new Error(`Expected a ${HELLO.length}-byte body, got ${n} bytes`);
  }
}

const FEED_GROUP =
  `ws feed through a local CONNECT tunnel (${MESSAGES} ticks per iter)`;

function feedBench(loop: FeedLoop["run"], label: string, via: string | false) {
  Deno.bench({
    name: `${label}, ${via ? "through tinyproxy" : "direct"}`,
    group: `${FEED_GROUP}: ${label}`,
    baseline: via === false,
    n: 10,
    warmup: 3,
    async fn() {
      const r = await loop(url, { client: { proxy: via } });
      if (r.messages !== MESSAGES || r.bytes !== MESSAGES * TICK_BYTES) {
        throw new Error(`Expected ${MESSAGES} messages, got ${r.messages}`);
      }
    },
  });
}

for (const via of [false, tunnel] as const) {
  feedBench(recvNexusTryText, "nexus tryRecv() ?? await recv(), m.text()", via);
}
for (const via of [false, tunnel] as const) {
  feedBench(
    recvNexusInPlace,
    "nexus tryRecv() ?? await recv(), bytes in place",
    via,
  );
}

for (const via of [false, tunnel] as const) {
  Deno.bench({
    name: `raw TCP reads, no WebSocket parsing, ${
      via ? "through tinyproxy" : "direct"
    }`,
    group: "feed server ceiling, direct and through the tunnel",
    baseline: via === false,
    n: 10,
    warmup: 3,
    async fn() {
      const proxy = via ? parseProxyUrl(via) : false;
      const r = await recvRawTcp(
        feed.port,
        `/?count=${MESSAGES}`,
        FRAME_BYTES,
        () => dial(new URL(url), { proxy }),
      );
      if (r.bytes !== MESSAGES * FRAME_BYTES + 4) {
        throw new Error(
          `Expected ${MESSAGES * FRAME_BYTES + 4} bytes, got ${r.bytes}`,
        );
      }
    },
  });
}

const direct = new HttpConnection(http.origin, { proxy: false });
const proxied = new HttpConnection(http.origin, { proxy: tunnel });

for (
  const [conn, name] of [[direct, "direct"], [
    proxied,
    "through tinyproxy",
  ]] as const
) {
  Deno.bench({
    name: `nexus HttpConnection, borrowed body, ${name}`,
    group: `http sequential keep-alive GET (${SEQ} per iter, 11-byte body)`,
    baseline: conn === direct,
    n: 20,
    warmup: 5,
    async fn() {
      for (let i = 0; i < SEQ; i++) {
        bodyOf((await conn.get("/hello")).body.length);
      }
    },
  });
}

for (const via of [false, tunnel] as const) {
  Deno.bench({
    name: `nexus HttpConnection, new connection + GET, ${
      via ? "through tinyproxy" : "direct"
    }`,
    group: `http dial (${DIALS} new connections per iter, one GET each)`,
    baseline: via === false,
    n: 10,
    warmup: 2,
    async fn() {
      for (let i = 0; i < DIALS; i++) {
        using conn = new HttpConnection(http.origin, { proxy: via });
        bodyOf((await conn.get("/hello")).body.length);
      }
    },
  });
}
