/**
 * A gzip-compressed JSON body, decoded: nexus `HttpConnection` (the codec's
 * inflater, into a reused buffer, CRC-32 checked) against native `fetch`
 * (Rust), same server (`http_server.ts`, its own process) and run.
 *
 * `deno bench --allow-net --allow-read --allow-run --allow-env --allow-sys bench/http_gzip_bench.ts`
 *
 * One iteration is {@link SEQ} sequential GETs of `/gzip?n=N` on one
 * kept-alive connection, each body read whole and decoded (an order-book
 * JSON of N bytes, about 40 % of it after gzip), for N of 2 KiB, 64 KiB and
 * 1 MiB. `fetch` is the baseline of each group; the nexus `decompress:
 * false` row reads the same bytes without decoding them, for scale.
 *
 * @module
 */

import { HttpConnection } from "../mod.ts";
import { startHttpServer } from "./http_server.ts";

/** Sequential GETs per iteration. */
export const SEQ = 50;

const server = await startHttpServer();
server.unref();
const origin = server.origin;
const conn = new HttpConnection(origin);
const raw = new HttpConnection(origin, { decompress: false });

function expect(got: number, want: number): void {
  if (got !== want) throw new Error(`Expected ${want} bytes, got ${got}`);
}

for (
  const [size, label] of [[2048, "2 KiB"], [65536, "64 KiB"], [
    1 << 20,
    "1 MiB",
  ]] as const
) {
  const group =
    `http gzip body of ${label} JSON (${SEQ} sequential GETs per iter)`;
  const path = `/gzip?n=${size}`;
  const common = { group, n: 10, warmup: 3 };
  Deno.bench({
    name: "fetch (native), arrayBuffer() (decoded)",
    baseline: true,
    ...common,
    async fn() {
      for (let i = 0; i < SEQ; i++) {
        const res = await fetch(origin + path);
        expect((await res.arrayBuffer()).byteLength, size);
      }
    },
  });
  Deno.bench({
    name: "nexus HttpConnection, borrowed decoded body",
    ...common,
    async fn() {
      for (let i = 0; i < SEQ; i++) {
        expect((await conn.get(path)).body.length, size);
      }
    },
  });
  Deno.bench({
    name:
      "nexus HttpConnection, decompress: false (the gzip bytes, not decoded)",
    ...common,
    async fn() {
      for (let i = 0; i < SEQ; i++) {
        const res = await raw.get(path);
        if (res.body.length >= size) throw new Error("Expected gzip bytes");
      }
    },
  });
}
