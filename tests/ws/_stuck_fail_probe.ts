/**
 * Run by hostile_test.ts in its own process: a protocol error whose close
 * frame waits behind a stuck write, then terminate(). Prints how long the
 * process lived on after terminate() (a leaked close timer keeps it alive
 * for closeTimeout).
 */
import { connect, ProtocolError } from "../../mod.ts";
import { rawServer, serverFrame } from "../support/raw_server.ts";
import { moreThanSocketsHold } from "../support/socket_buffers.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const hold = Promise.withResolvers<void>();
const srv = rawServer(async (c) => {
  await sleep(100); // the client's writes have backed up by now
  const bad = serverFrame(1, new TextEncoder().encode("x"));
  bad[0] |= 0x40; // RSV1 without an extension
  await c.write(bad);
  await hold.promise; // never reads
});
const ws = await connect(srv.url, { closeTimeout: 3000 });
ws.sendBinary(new Uint8Array(moreThanSocketsHold())).catch(() => {});
const recv = ws.recv();
recv.catch(() => {});
await sleep(200); // the failure's close frame is queued behind the stuck write
const failing = !ws.closed;
const t0 = performance.now();
ws.terminate();
const err = await recv.catch((e) => e);
hold.resolve();
await srv.close();
globalThis.addEventListener("unload", () => {
  console.log(JSON.stringify({
    failing,
    code: err instanceof ProtocolError ? err.code : String(err),
    lingered: Math.round(performance.now() - t0),
  }));
});
