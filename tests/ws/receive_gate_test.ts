/**
 * What `tryRecv()` / `recv()` may return once the connection moves on
 * while frames are still buffered: the receive path's one check (the
 * client's gate) must follow every change of phase and of reader.
 */
import assert from "node:assert/strict";
import {
  ConnectionClosedError,
  type ConnectOptions,
  matchText,
  type WsClient,
} from "../../mod.ts";
import { Opcode } from "../../src/codec/mod.ts";
import { closePayload, concat, frame } from "../codec/_helpers.ts";
import { openMemory } from "../support/memory_transport.ts";

const text = (s: string) => frame({ op: Opcode.Text, payload: s });
const close1000 = frame({ op: Opcode.Close, payload: closePayload(1000) });

// With and without the application layer (a second parser on the path).
const KINDS: [string, ConnectOptions][] = [
  ["plain", {}],
  ["with an application heartbeat", {
    appHeartbeat: {
      interval: 3_600_000,
      message: "ping",
      isPong: matchText("pong"),
    },
  }],
];

for (const [kind, options] of KINDS) {
  Deno.test(`${kind}: no buffered message is returned after terminate()`, async () => {
    const { ws, server } = await openMemory(options);
    server.send(concat([text("a"), text("b"), text("c")]));
    assert.equal((await ws.recv())?.text(), "a");
    ws.terminate();
    assert.equal(ws.tryRecv(), undefined);
    await assert.rejects(ws.recv(), ConnectionClosedError);
    assert.equal(ws.closeCode, 1006);
  });

  Deno.test(`${kind}: a data frame after the server's close frame in the same read is never returned`, async () => {
    const { ws, server } = await openMemory(options);
    server.send(concat([text("a"), close1000, text("late")]));
    assert.equal((await ws.recv())?.text(), "a");
    assert.equal(ws.tryRecv(), undefined); // the close frame: closing starts
    assert.equal(ws.tryRecv(), undefined); // not "late"
    server.end();
    assert.equal(await ws.recv(), null);
    assert.equal(ws.closeCode, 1000);
  });

  Deno.test(`${kind}: messages buffered before the caller's close() are still returned until the server's close frame`, async () => {
    const { ws, server } = await openMemory(options);
    server.send(concat([text("a"), text("b"), close1000, text("late")]));
    assert.equal((await ws.recv())?.text(), "a");
    const closing = ws.close();
    // close() reads the socket now: recv() waits for the outcome.
    assert.equal(ws.tryRecv(), undefined);
    server.end();
    await closing;
    assert.equal(await ws.recv(), null);
    assert.equal(ws.closeCode, 1000);
  });
}

Deno.test("tryRecv() from an onPing callback while close() reads the socket returns nothing", async () => {
  const seen: (string | undefined)[] = [];
  const box: { ws?: WsClient } = {};
  const { ws, server } = await openMemory({
    onPing: () => seen.push(box.ws!.tryRecv()?.text()),
  });
  box.ws = ws;
  const closing = ws.close(); // waits for the server's answer on the socket
  await server.written(1); // our close frame
  server.send(concat([
    frame({ op: Opcode.Ping, payload: "p" }),
    text("x"),
    close1000,
  ]));
  server.end();
  await closing;
  assert.deepEqual(seen, [undefined]);
  assert.equal(ws.closeCode, 1000);
});
