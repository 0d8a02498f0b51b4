/**
 * Compressing messages for sending: the codec's own {@link Deflater} against
 * node:zlib, same payloads, same run.
 *
 * `deno bench --allow-read bench/deflate_bench.ts`
 *
 * Each message is compressed the permessage-deflate way: sync-flushed, the
 * 00 00 ff ff tail left off (RFC 7692 §7.2.1), appended to a reused output
 * buffer. Payloads (see `deflate_fixtures.ts`): the feed's 77-byte JSON
 * ticks with and without context takeover (one iteration = {@link BATCH}
 * messages), and one 16 KiB order-book document an iteration.
 *
 * The engines: `Deflater` (greedy LZ77, block type by size); node:zlib
 * through its internal handle (`ZlibSync`, the only synchronous way it keeps
 * a stream across messages) at level 1 and at level 6 (the default ws,
 * Python websockets and aiohttp use); node:zlib `deflateRawSync` per message
 * (no context takeover only). The compressed sizes are printed once.
 *
 * @module
 */

import { constants, deflateRawSync } from "node:zlib";
import { Deflater, WriteBuf } from "../src/codec/mod.ts";
import { bookJson, ticks } from "./deflate_fixtures.ts";
import { ZlibSync } from "./zlib_sync.ts";

/** Messages per iteration in the tick groups. */
const BATCH = 100;

const TICKS = ticks(4096);
const BOOK_16K = bookJson(16 * 1024);

let sink = 0;
globalThis.addEventListener("unload", () => {
  if (sink === 0) console.log(sink);
});

interface Engine {
  compress(m: Uint8Array): number;
}

function own(takeover: boolean): Engine {
  const d = new Deflater();
  const out = new WriteBuf(65536);
  return {
    compress(m) {
      if (!takeover) d.reset();
      out.clear();
      return d.compress(m, out);
    },
  };
}

function zlibHandle(takeover: boolean, level: number): Engine {
  const z = new ZlibSync("deflate", { level });
  return {
    compress(m) {
      if (!takeover) z.reset();
      return z.write(m).length - 4;
    },
  };
}

const oneShot: Engine = {
  compress(m) {
    return deflateRawSync(m, { finishFlush: constants.Z_SYNC_FLUSH }).length -
      4;
  },
};

function sizes(label: string, engines: [string, Engine][], msgs: Uint8Array[]) {
  const line = engines.map(([name, e]) => {
    let total = 0;
    for (const m of msgs) total += e.compress(m);
    return `${name} ${(total / msgs.length).toFixed(1)}`;
  });
  console.log(`${label}: average compressed bytes: ${line.join(", ")}`);
}

function group(
  label: string,
  msgs: Uint8Array[],
  batch: number,
  engines: [string, Engine][],
) {
  sizes(label, engines, msgs);
  engines.forEach(([name, e], k) => {
    let i = 0;
    Deno.bench({
      name,
      group: label,
      baseline: k === 0,
      fn() {
        for (let j = 0; j < batch; j++) {
          sink += e.compress(msgs[i]);
          i = i + 1 === msgs.length ? 0 : i + 1;
        }
      },
    });
  });
}

group(`deflate ${BATCH} × 77-byte ticks, context takeover`, TICKS, BATCH, [
  ["node:zlib handle level 6", zlibHandle(true, 6)],
  ["node:zlib handle level 1", zlibHandle(true, 1)],
  ["Deflater", own(true)],
]);

group(`deflate ${BATCH} × 77-byte ticks, no context takeover`, TICKS, BATCH, [
  ["node:zlib handle level 6 (reset)", zlibHandle(false, 6)],
  ["node:zlib handle level 1 (reset)", zlibHandle(false, 1)],
  ["Deflater (reset)", own(false)],
  ["node:zlib deflateRawSync", oneShot],
]);

group("deflate one 16 KiB JSON message", [BOOK_16K], 1, [
  ["node:zlib handle level 6", zlibHandle(false, 6)],
  ["node:zlib handle level 1", zlibHandle(false, 1)],
  ["Deflater", own(false)],
  ["node:zlib deflateRawSync", oneShot],
]);
