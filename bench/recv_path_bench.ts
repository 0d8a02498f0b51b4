/**
 * The client's receive path alone: a `WsClient` over an in-memory transport
 * whose reads copy prebuilt frames (77-byte JSON ticks, 512 per read), so
 * the time is the client's own (parsing, the fast path, `Message`), with no
 * socket, no server and no scheduler noise from another process.
 *
 * `deno bench --allow-read --allow-env bench/recv_path_bench.ts`
 *
 * A/B against another checkout of the module, in the same run:
 *
 * `NEXUS_B=/path/to/other/mod.ts deno bench --allow-read --allow-env bench/recv_path_bench.ts`
 *
 * runs every loop against both and groups them, so the summary gives the
 * ratio of the two versions loop by loop. To compare with a git revision,
 * extract it first:
 *
 * `mkdir /tmp/nexus-main && git archive main mod.ts src | tar -x -C /tmp/nexus-main`
 *
 * A last group (this checkout only) runs the in-place loop as it is and
 * with the application liveness options of `connect()` configured: an
 * application heartbeat whose answer matcher sees every message
 * (`isPong: matchText("pong")`), an application ping reply (`appPingReply`
 * with `matchPrefix('{"ping":')`), and the staleness watchdog. Their
 * intervals are an hour: what is measured is what each message costs.
 *
 * @module
 */

import { acceptKey } from "../src/codec/ws/handshake.ts";
import type { ConnectOptions } from "../mod.ts";
import { LIVENESS_OPTIONS } from "./feed_clients.ts";

type Connect = typeof import("../mod.ts").connect;

const N = 200_000;
const TICK = new TextEncoder().encode(
  '{"s":"BTC-USD","b":64123.5,"a":64124.0,"bq":1.25,"aq":0.8,"t":1732950000123}',
);
const FRAME = new Uint8Array(2 + TICK.length);
FRAME[0] = 0x81;
FRAME[1] = TICK.length;
FRAME.set(TICK, 2);
const PER_READ = 512;
const BLOCK = new Uint8Array(FRAME.length * PER_READ);
for (let i = 0; i < PER_READ; i++) BLOCK.set(FRAME, i * FRAME.length);

/** A client over a transport that serves the handshake answer, then N frames. */
async function open(connect: Connect, options?: ConnectOptions) {
  let answer: Uint8Array | null = null;
  let sent = 0;
  const transport = {
    read(p: Uint8Array): Promise<number | null> {
      if (answer !== null) {
        const n = answer.length;
        p.set(answer);
        answer = null;
        return Promise.resolve(n);
      }
      if (sent >= N) return Promise.resolve(null);
      const frames = Math.min(
        Math.floor(p.length / FRAME.length),
        PER_READ,
        N - sent,
      );
      const n = frames * FRAME.length;
      p.set(BLOCK.subarray(0, n));
      sent += frames;
      return Promise.resolve(n);
    },
    write(p: Uint8Array): Promise<number> {
      if (sent === 0 && answer === null) {
        const key = /sec-websocket-key:\s*(\S+)/i.exec(
          new TextDecoder().decode(p),
        )![1];
        answer = new TextEncoder().encode(
          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n" +
            `Connection: Upgrade\r\nSec-WebSocket-Accept: ${
              acceptKey(key)
            }\r\n\r\n`,
        );
      }
      return Promise.resolve(p.length);
    },
    close() {},
  };
  return await connect("ws://memory.bench/", { ...options, transport });
}

/** The fastest loop: `tryRecv() ?? await recv()`, one byte read in place. */
async function inPlace(c: Connect, options?: ConnectOptions): Promise<void> {
  const ws = await open(c, options);
  let n = 0, x = 0;
  const next = () => ws.recv().catch(() => null);
  for (let m = ws.tryRecv() ?? await next(); m !== null;) {
    x += m.bytes[m.offset];
    n++;
    m = ws.tryRecv() ?? await next();
  }
  check(n, x);
  ws.terminate();
}

const IN_PLACE = "tryRecv() ?? await recv(), m.bytes[m.offset] in place";

/** The loops users write; each checks it saw every message. */
const LOOPS: [string, (connect: Connect) => Promise<void>][] = [
  [IN_PLACE, (c) => inPlace(c)],
  ["await recv(), m.data", async (c) => {
    const ws = await open(c);
    let n = 0, x = 0;
    const next = () => ws.recv().catch(() => null);
    for (let m = await next(); m !== null; m = await next()) {
      x += m.data[0];
      n++;
    }
    check(n, x);
    ws.terminate();
  }],
  ["await recv(), m.text()", async (c) => {
    const ws = await open(c);
    let n = 0, x = 0;
    const next = () => ws.recv().catch(() => null);
    for (let m = await next(); m !== null; m = await next()) {
      x += m.text().charCodeAt(0);
      n++;
    }
    check(n, x);
    ws.terminate();
  }],
  ["await recv(), m.json()", async (c) => {
    const ws = await open(c);
    let n = 0, x = 0;
    const next = () => ws.recv().catch(() => null);
    for (let m = await next(); m !== null; m = await next()) {
      x += (m.json() as { s: string }).s === "BTC-USD" ? 123 : 0;
      n++;
    }
    check(n, x);
    ws.terminate();
  }],
];

function check(n: number, x: number): void {
  if (n !== N || x !== N * 123) {
    throw new Error(`Expected ${N} ticks, got ${n} (checksum ${x})`);
  }
}

const a: Connect = (await import("../mod.ts")).connect;
const other = Deno.env.get("NEXUS_B");
const b: Connect | null = other === undefined
  ? null
  : (await import(new URL(other, `file://${Deno.cwd()}/`).href)).connect;

for (const [name, loop] of LOOPS) {
  Deno.bench({
    name: b === null ? name : `A (this checkout): ${name}`,
    group: name,
    baseline: true,
    n: 20,
    warmup: 5,
    fn: async () => await loop(a),
  });
  if (b !== null) {
    Deno.bench({
      name: `B (${other}): ${name}`,
      group: name,
      n: 20,
      warmup: 5,
      fn: async () => await loop(b),
    });
  }
}

const livenessGroup = `${IN_PLACE}, with application liveness options`;
Deno.bench({
  name: `${IN_PLACE}, no options`,
  group: livenessGroup,
  baseline: true,
  n: 20,
  warmup: 5,
  fn: async () => await inPlace(a),
});
for (const [what, options] of LIVENESS_OPTIONS) {
  Deno.bench({
    name: `${IN_PLACE}, ${what}`,
    group: livenessGroup,
    n: 20,
    warmup: 5,
    fn: async () => await inPlace(a, options),
  });
}
