/**
 * Memory per connection of the compression engines: 1,000 of one kind, each
 * primed with real messages, in a fresh process per kind, measured as the
 * growth of RSS and of the V8 heap plus external memory.
 *
 * `deno run --allow-run --allow-read bench/deflate_memory.ts`
 *
 * Kinds: the codec's `MessageInflater` (15-bit window with and without
 * context takeover, 12-bit with) and `MessageDeflater` (15 and 12 bits),
 * and node:zlib's `InflateRaw` / `DeflateRaw` streams as npm ws creates them
 * per connection (window 15, level 6, memLevel 8), driven through their
 * handle with a 16 KiB output buffer (Node's default chunk). Garbage is
 * collected before each reading. Inflaters decode 100 ticks of a feed compressed with context
 * takeover (or without, for that kind); deflaters compress 100 ticks.
 *
 * @module
 */

import * as zlib from "node:zlib";
import {
  MessageDeflater,
  MessageInflater,
  WriteBuf,
} from "../src/codec/mod.ts";
import { ticks } from "./deflate_fixtures.ts";
import { compressMessages, SYNC_TAIL, ZlibSync } from "./zlib_sync.ts";

const COUNT = 1000;
const KINDS = [
  "MessageInflater 15 bits, context takeover",
  "MessageInflater 15 bits, no context takeover",
  "MessageInflater 12 bits, context takeover",
  "node:zlib InflateRaw 15 bits (npm ws)",
  "MessageDeflater 15 bits",
  "MessageDeflater 12 bits",
  "node:zlib DeflateRaw 15 bits, level 6, memLevel 8 (npm ws)",
];

const TICKS = ticks(100);
// compressed once, so priming an engine allocates that engine only
const FEEDS = new Map<string, Uint8Array[]>();
function feed(bits: number, takeover: boolean): Uint8Array[] {
  const key = `${bits} ${takeover}`;
  let f = FEEDS.get(key);
  if (f === undefined) {
    f = compressMessages(TICKS, {
      windowBits: bits,
      contextTakeover: takeover,
    });
    FEEDS.set(key, f);
  }
  return f;
}

function prime(kind: string): unknown {
  const i = KINDS.indexOf(kind);
  if (i <= 2) {
    const bits = i === 2 ? 12 : 15;
    const takeover = i !== 1;
    const inf = new MessageInflater({
      windowBits: bits,
      noContextTakeover: !takeover,
    });
    for (const m of feed(bits, takeover)) {
      inf.begin();
      inf.push(m);
      inf.finish();
    }
    return inf;
  }
  if (i === 3) {
    const z = new ZlibSync("inflate", { bufferSize: 16384 });
    for (const m of feed(15, true)) {
      z.write(m, zlib.constants.Z_SYNC_FLUSH);
      z.write(SYNC_TAIL, zlib.constants.Z_SYNC_FLUSH, 0, 4, true);
    }
    return z;
  }
  if (i <= 5) {
    const d = new MessageDeflater({ windowBits: i === 5 ? 12 : 15 });
    const out = new WriteBuf(256);
    for (const t of TICKS) {
      out.clear();
      d.compress(t, out);
    }
    return d;
  }
  const z = new ZlibSync("deflate", { bufferSize: 16384 });
  for (const t of TICKS) z.write(t, zlib.constants.Z_SYNC_FLUSH);
  return z;
}

function usage() {
  (globalThis as { gc?: () => void }).gc?.();
  const m = Deno.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed + m.external };
}

/** In the child: prime COUNT engines of one kind and print the growth. */
function measure(kind: string): void {
  prime(kind); // warm the code paths and build the feeds first
  const before = usage();
  const keep: unknown[] = [];
  for (let i = 0; i < COUNT; i++) keep.push(prime(kind));
  const after = usage();
  console.log(JSON.stringify({
    kind,
    rss: (after.rss - before.rss) / COUNT,
    heap: (after.heap - before.heap) / COUNT,
    kept: keep.length,
  }));
}

if (Deno.args[0] === "--kind") {
  measure(Deno.args[1]);
} else {
  console.log(
    `| engine (${COUNT} primed) | RSS per engine | V8 heap + external per engine |`,
  );
  console.log("| --- | ---: | ---: |");
  for (const kind of KINDS) {
    const out = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        "--v8-flags=--expose-gc",
        new URL(import.meta.url).pathname,
        "--kind",
        kind,
      ],
      stdout: "piped",
    }).outputSync();
    const r = JSON.parse(new TextDecoder().decode(out.stdout));
    const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
    console.log(`| ${r.kind} | ${kib(r.rss)} | ${kib(r.heap)} |`);
  }
}
