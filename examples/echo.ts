/**
 * Echo round trips: connect, send text and binary messages one at a time,
 * check each echo, print round-trip latency percentiles, close cleanly.
 *
 * ```sh
 * # Against a local echo server this example starts:
 * deno run --allow-net examples/echo.ts
 * # Against any echo server:
 * deno run --allow-net examples/echo.ts --url ws://127.0.0.1:9001/ --count 10000
 * ```
 *
 * The echo is compared on the borrowed bytes (`msg.data`, no copy, no
 * string) for binary messages, and on `msg.text()` for text ones.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { connect } from "../mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    url: { type: "string" },
    count: { type: "string", default: "1000" },
    size: { type: "string", default: "64" },
  },
});
const count = Number(values.count), size = Number(values.size);

/** A local echo server (Deno's own WebSocket server side). */
function startEchoServer(): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) => {
      const { socket, response } = Deno.upgradeWebSocket(req);
      socket.binaryType = "arraybuffer";
      socket.onmessage = (e) => socket.send(e.data);
      return response;
    },
  );
}

const server = values.url === undefined ? startEchoServer() : undefined;
const url = values.url ?? `ws://127.0.0.1:${server!.addr.port}/`;
const ws = await connect(url);
console.log(`connected to ${url} (subprotocol "${ws.protocol}")`);

const payload = new Uint8Array(size);
const rtts: number[] = [];
let mismatches = 0;
for (let i = 0; i < count; i++) {
  const t = performance.now();
  let ok: boolean;
  if (i % 2 === 0) {
    const text = `${i}:`.padEnd(size, "x");
    await ws.sendText(text);
    const m = await ws.recv();
    ok = m?.type === "text" && m.text() === text;
  } else {
    payload.fill(i & 0xff);
    await ws.sendBinary(payload);
    const m = await ws.recv();
    ok = m?.type === "binary" && m.byteLength === size &&
      m.data.every((b) => b === (i & 0xff));
  }
  rtts.push(performance.now() - t);
  if (!ok) mismatches++;
}
await ws.close(1000, "done");
await server?.shutdown();

rtts.sort((a, b) => a - b);
const pct = (p: number) =>
  rtts[Math.min(rtts.length - 1, Math.floor(rtts.length * p))].toFixed(3);
console.log(
  `echoed ${count} messages of ${size} bytes, ${mismatches} mismatches; ` +
    `rtt p50 ${pct(0.5)} ms p99 ${pct(0.99)} ms max ${pct(1)} ms`,
);
console.log(`closed with code ${ws.closeCode}`);
if (mismatches > 0) Deno.exit(1);
