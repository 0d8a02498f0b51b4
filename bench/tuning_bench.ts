/**
 * The measured effect of the receive-buffer tunables on the fastest loop
 * (`tryRecv() ?? await recv()`, one byte of each payload read in place:
 * `recvNexusInPlace`): `bufferCapacity`, `minBufferCapacity` (adaptive
 * against a fixed buffer), `compactAt`, `maxReadSize`. Each group's
 * baseline is the default setting; numbers land in docs/tuning.md.
 *
 * `deno bench --allow-net --allow-read --allow-run --allow-env bench/tuning_bench.ts`
 *
 * @module
 */

import { startFeedServer, TICK_BYTES } from "./feed_server.ts";
import { recvNexusInPlace } from "./feed_clients.ts";
import type { ConnectOptions } from "../mod.ts";

const MESSAGES = 1_000_000;
const feed = await startFeedServer();
feed.unref();
const url = feed.url({ count: MESSAGES });

function variant(
  group: string,
  name: string,
  client: ConnectOptions,
  baseline = false,
) {
  Deno.bench({
    name,
    group,
    baseline,
    n: 8,
    warmup: 2,
    async fn() {
      const r = await recvNexusInPlace(url, { client });
      if (r.messages !== MESSAGES || r.bytes !== MESSAGES * TICK_BYTES) {
        throw new Error(`Expected ${MESSAGES} messages, got ${r.messages}`);
      }
    },
  });
}

const KiB = 1024;
const cap = "tuning: bufferCapacity (1M ticks, borrowed)";
variant(cap, "16 KiB", { bufferCapacity: 16 * KiB });
variant(cap, "64 KiB (default)", {}, true);
variant(cap, "256 KiB", { bufferCapacity: 256 * KiB });
variant(cap, "1 MiB", { bufferCapacity: 1024 * KiB });

const adaptive = "tuning: minBufferCapacity (adaptive, up to 64 KiB)";
variant(adaptive, "1 KiB, grows under load (default)", {}, true);
variant(adaptive, "64 KiB: fixed, the buffer before adaptive buffers", {
  minBufferCapacity: 64 * KiB,
});

const comp = "tuning: compactAt with a 64 KiB buffer";
variant(comp, "compactAt 4 KiB", { compactAt: 4 * KiB });
variant(comp, "compactAt 32 KiB (default)", {}, true);
variant(comp, "compactAt 60 KiB", { compactAt: 60 * KiB });

const reads = "tuning: maxReadSize with a 256 KiB buffer";
variant(reads, "maxReadSize 4 KiB", {
  bufferCapacity: 256 * KiB,
  maxReadSize: 4 * KiB,
});
variant(reads, "maxReadSize 16 KiB", {
  bufferCapacity: 256 * KiB,
  maxReadSize: 16 * KiB,
});
variant(reads, "maxReadSize 256 KiB (default = capacity)", {
  bufferCapacity: 256 * KiB,
}, true);
