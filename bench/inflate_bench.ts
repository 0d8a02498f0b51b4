/**
 * Decoding permessage-deflate messages: the codec's own {@link Inflater}
 * against node:zlib and `DecompressionStream("deflate-raw")`, same payloads,
 * same run.
 *
 * `deno bench --allow-read bench/inflate_bench.ts`
 *
 * Payloads (see `deflate_fixtures.ts`) are compressed up front by node:zlib
 * (level 6, 15-bit window, memLevel 8: what ws, Python websockets, aiohttp
 * use), each message sync-flushed with its 00 00 ff ff tail removed (RFC
 * 7692 §7.2.1), so decoding appends the tail (§7.2.2):
 *
 * - ticks with context takeover: one stream for the whole feed (20 bytes a
 *   tick on average), one iteration = {@link BATCH} messages;
 * - ticks without context takeover: every message from an empty window (71
 *   bytes a tick), one iteration = {@link BATCH} messages;
 * - a 16 KiB and a 1 MiB order-book JSON document, one message an iteration.
 *
 * The engines:
 *
 * - `Inflater`: synchronous, output into its own reused buffer;
 * - node:zlib through its internal handle (`ZlibSync`, the only synchronous
 *   way it keeps a stream across messages), output into a reused buffer;
 * - node:zlib `inflateRawSync` per message (no context takeover only: it
 *   makes and frees a zlib stream per call);
 * - `DecompressionStream`: one `await` per message (a write, then a read).
 *
 * Every engine's output is checked against the original once before the
 * bench runs.
 *
 * @module
 */

import { constants, inflateRawSync } from "node:zlib";
import { Inflater } from "../src/codec/mod.ts";
import { bookJson, ticks } from "./deflate_fixtures.ts";
import { compressMessages, SYNC_TAIL, ZlibSync } from "./zlib_sync.ts";

/** Messages per iteration in the tick groups. */
const BATCH = 100;

const TICKS = ticks(4096);
const TICKS_CTX = compressMessages(TICKS);
const TICKS_NOCTX = compressMessages(TICKS, { contextTakeover: false });
const BOOK_16K = bookJson(16 * 1024);
const BOOK_1M = bookJson(1024 * 1024);
const BOOK_16K_Z = compressMessages([BOOK_16K])[0];
const BOOK_1M_Z = compressMessages([BOOK_1M])[0];

/** The message followed by the sync-flush tail, in one array. */
function withTail(m: Uint8Array): Uint8Array {
  const out = new Uint8Array(m.length + 4);
  out.set(m);
  out.set(SYNC_TAIL, m.length);
  return out;
}
const TICKS_NOCTX_TAILED = TICKS_NOCTX.map(withTail);
const TICKS_CTX_TAILED = TICKS_CTX.map(withTail);

function same(a: Uint8Array, b: Uint8Array, what: string): void {
  if (a.length !== b.length || a.some((x, i) => x !== b[i])) {
    throw new Error(`${what}: output differs from the original`);
  }
}

/** A cycling message source over a compressed feed. */
function feed(compressed: Uint8Array[]) {
  let i = 0;
  return {
    next(): Uint8Array {
      const m = compressed[i];
      i = i + 1 === compressed.length ? 0 : i + 1;
      return m;
    },
    /** Whether the next message starts the feed again. */
    get atStart(): boolean {
      return i === 0;
    },
  };
}

let sink = 0;
globalThis.addEventListener("unload", () => {
  if (sink === 0) console.log(sink);
});

// --- engines ------------------------------------------------------------------

/** The codec's inflater, as the WebSocket layer will drive it. */
function ownEngine(takeover: boolean, windowBits = 15) {
  let inf = new Inflater({ windowBits });
  return {
    decode(m: Uint8Array): Uint8Array {
      if (takeover) inf.beginMessage();
      else inf.reset();
      inf.push(m);
      inf.push(SYNC_TAIL);
      if (!inf.atBlockBoundary) throw new Error("Truncated message");
      return inf.output();
    },
    restart() {
      inf = new Inflater({ windowBits });
    },
  };
}

/** node:zlib's handle, one stream kept open. */
function zlibEngine(takeover: boolean) {
  let z = new ZlibSync("inflate");
  return {
    decode(m: Uint8Array): Uint8Array {
      if (!takeover) z.reset();
      z.write(m);
      return z.write(SYNC_TAIL, undefined, 0, 4, true);
    },
    restart() {
      z.close();
      z = new ZlibSync("inflate");
    },
  };
}

/** node:zlib one-shot per message (tail included in the input). */
const zlibOneShot = {
  decode(m: Uint8Array): Uint8Array {
    return inflateRawSync(m, { finishFlush: constants.Z_SYNC_FLUSH });
  },
  restart() {},
};

/** DecompressionStream: one stream for the feed, one await per message. */
function streamEngine() {
  let ds = new DecompressionStream("deflate-raw");
  let writer = ds.writable.getWriter();
  let reader = ds.readable.getReader();
  return {
    async decode(m: Uint8Array): Promise<Uint8Array> {
      writer.write(m as Uint8Array<ArrayBuffer>);
      const r = await reader.read();
      if (r.done) throw new Error("Stream ended");
      return r.value;
    },
    restart() {
      writer.close().catch(() => {});
      ds = new DecompressionStream("deflate-raw");
      writer = ds.writable.getWriter();
      reader = ds.readable.getReader();
    },
  };
}

/** DecompressionStream, a new one per message (no context takeover). */
async function streamOneShot(m: Uint8Array): Promise<Uint8Array> {
  const ds = new DecompressionStream("deflate-raw");
  const writer = ds.writable.getWriter();
  const reader = ds.readable.getReader();
  writer.write(m as Uint8Array<ArrayBuffer>);
  writer.close().catch(() => {});
  const r = await reader.read();
  if (r.done) throw new Error("Stream ended");
  return r.value;
}

// --- correctness, once -----------------------------------------------------------

{
  const engines: [string, { decode(m: Uint8Array): Uint8Array }, boolean][] = [
    ["Inflater ctx", ownEngine(true), true],
    ["Inflater noctx", ownEngine(false), false],
    ["zlib ctx", zlibEngine(true), true],
    ["zlib noctx", zlibEngine(false), false],
  ];
  for (const [name, e, ctx] of engines) {
    const src = ctx ? TICKS_CTX : TICKS_NOCTX;
    src.forEach((m, i) => same(e.decode(m), TICKS[i], name));
  }
  TICKS_NOCTX_TAILED.forEach((m, i) =>
    same(zlibOneShot.decode(m), TICKS[i], "inflateRawSync")
  );
  const s = streamEngine();
  for (let i = 0; i < 64; i++) {
    same(await s.decode(TICKS_CTX_TAILED[i]), TICKS[i], "DecompressionStream");
  }
  same(await streamOneShot(TICKS_NOCTX_TAILED[0]), TICKS[0], "DS one-shot");
  same(ownEngine(false).decode(BOOK_1M_Z), BOOK_1M, "Inflater 1M");
}

// --- tick feeds ----------------------------------------------------------------------

function tickBench(
  group: string,
  name: string,
  compressed: Uint8Array[],
  engine: { decode(m: Uint8Array): Uint8Array; restart(): void },
  baseline = false,
) {
  const src = feed(compressed);
  Deno.bench({
    name,
    group,
    baseline,
    fn() {
      for (let i = 0; i < BATCH; i++) {
        if (src.atStart) engine.restart(); // the stream starts over with the feed
        sink += engine.decode(src.next()).length;
      }
    },
  });
}

function tickBenchAsync(
  group: string,
  name: string,
  compressed: Uint8Array[],
  engine: { decode(m: Uint8Array): Promise<Uint8Array>; restart(): void },
) {
  const src = feed(compressed);
  Deno.bench({
    name,
    group,
    async fn() {
      for (let i = 0; i < BATCH; i++) {
        if (src.atStart) engine.restart();
        sink += (await engine.decode(src.next())).length;
      }
    },
  });
}

{
  const g = `inflate ${BATCH} × 77-byte ticks, context takeover`;
  tickBench(
    g,
    "node:zlib handle (writeSync)",
    TICKS_CTX,
    zlibEngine(true),
    true,
  );
  tickBench(g, "Inflater", TICKS_CTX, ownEngine(true));
  tickBenchAsync(
    g,
    "DecompressionStream (await each)",
    TICKS_CTX_TAILED,
    streamEngine(),
  );
}

{
  const g = `inflate ${BATCH} × 77-byte ticks, no context takeover`;
  tickBench(
    g,
    "node:zlib handle (writeSync, reset)",
    TICKS_NOCTX,
    zlibEngine(false),
    true,
  );
  tickBench(g, "Inflater (reset)", TICKS_NOCTX, ownEngine(false));
  tickBench(g, "node:zlib inflateRawSync", TICKS_NOCTX_TAILED, zlibOneShot);
  tickBenchAsync(g, "DecompressionStream (new each)", TICKS_NOCTX_TAILED, {
    decode: streamOneShot,
    restart() {},
  });
}

// --- documents ------------------------------------------------------------------------

function docGroup(label: string, compressed: Uint8Array) {
  const g = `inflate one ${label} JSON message`;
  const tailed = withTail(compressed);
  const z = zlibEngine(false);
  const own = ownEngine(false);
  Deno.bench({
    name: "node:zlib handle (writeSync)",
    group: g,
    baseline: true,
    fn() {
      sink += z.decode(compressed).length;
    },
  });
  Deno.bench({
    name: "Inflater",
    group: g,
    fn() {
      sink += own.decode(compressed).length;
    },
  });
  Deno.bench({
    name: "node:zlib inflateRawSync",
    group: g,
    fn() {
      sink += zlibOneShot.decode(tailed).length;
    },
  });
  Deno.bench({
    name: "DecompressionStream (new each)",
    group: g,
    async fn() {
      const ds = new DecompressionStream("deflate-raw");
      const writer = ds.writable.getWriter();
      writer.write(tailed as Uint8Array<ArrayBuffer>);
      writer.close().catch(() => {});
      for await (const chunk of ds.readable) sink += chunk.length;
    },
  });
}

docGroup("16 KiB", BOOK_16K_Z);
docGroup("1 MiB", BOOK_1M_Z);
