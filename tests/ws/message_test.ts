/**
 * Borrowing rules of `Message`: valid until the next recv(), tryRecv(),
 * close() or terminate(); then every read throws instead of showing other
 * bytes.
 */
import assert from "node:assert/strict";
import { connect, type Message } from "../../mod.ts";
import { noTimersLeft } from "../support/timers.ts";
import { openMemory } from "../support/memory_transport.ts";
import { serverFrame } from "../support/raw_server.ts";

const test = (name: string, fn: () => Promise<void>) =>
  Deno.test(name, noTimersLeft(fn));

const enc = new TextEncoder();

/** Every way to read a message's payload. */
const READS: [string, (m: Message) => unknown][] = [
  ["data", (m) => m.data],
  ["bytes", (m) => m.bytes],
  ["offset", (m) => m.offset],
  ["byteLength", (m) => m.byteLength],
  ["text()", (m) => m.text()],
  ["json()", (m) => m.json()],
  ["copy()", (m) => m.copy()],
  ["toOwned()", (m) => m.toOwned()],
];

function assertInvalid(m: Message): void {
  assert.equal(m.valid, false);
  for (const [name, read] of READS) {
    assert.throws(
      () => read(m),
      (e) => e instanceof TypeError && /still borrowed/.test(e.message),
      `${name} must throw`,
    );
  }
}

/** A Deno.serve WebSocket server that sends `messages` then closes with 1000. */
function server(messages: string[]) {
  const ac = new AbortController();
  const s = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    (req) => {
      const { socket, response } = Deno.upgradeWebSocket(req);
      socket.onopen = () => {
        for (const m of messages) socket.send(m);
      };
      return response;
    },
  );
  return {
    url: `ws://127.0.0.1:${s.addr.port}/`,
    async close() {
      ac.abort();
      await s.finished;
    },
  };
}

test("a message read after close() throws TypeError instead of showing the close frame's bytes", async () => {
  const srv = server(['{"px":1}']);
  const ws = await connect(srv.url);
  const m = await ws.recv();
  assert.ok(m !== null);
  assert.equal(m.text(), '{"px":1}');
  await ws.close();
  assertInvalid(m);
  await srv.close();
});

test("a message is valid until the next recv() and the same object is valid again for the next message", async () => {
  const { ws, server } = await openMemory();
  server.send(serverFrame(1, enc.encode('"a"')));
  const a = await ws.recv();
  assert.equal(a?.json(), "a");
  const pending = ws.recv(); // nothing buffered: waits on the socket
  assertInvalid(a!);
  server.send(serverFrame(1, enc.encode('"b"')));
  const b = await pending;
  assert.equal(b, a, "the Message object is reused");
  assert.equal(b?.json(), "b");
  ws.terminate();
});

test("tryRecv() and terminate() invalidate the borrowed message too", async () => {
  const { ws, server } = await openMemory();
  server.send(serverFrame(1, enc.encode("one")));
  server.send(serverFrame(1, enc.encode("two")));
  const m = await ws.recv();
  assert.equal(m?.text(), "one");
  assert.equal(ws.tryRecv()?.text(), "two");
  assert.equal(ws.tryRecv(), undefined);
  assertInvalid(m!);
  server.send(serverFrame(2, new Uint8Array([7])));
  const n = await ws.recv();
  assert.equal(n?.bytes[n.offset], 7);
  ws.terminate();
  assertInvalid(n!);
});

test("after recv() resolves null, the message stays invalid", async () => {
  const { ws, server } = await openMemory();
  server.send(serverFrame(1, enc.encode("x")));
  server.send(serverFrame(8, new Uint8Array([0x03, 0xe8])));
  const m = await ws.recv();
  assert.equal(m?.text(), "x");
  const end = ws.recv();
  server.end();
  assert.equal(await end, null);
  assertInvalid(m!);
});

Deno.test("the last message is invalidated before an onPing or onPong callback runs: read there, it throws instead of giving the ping's bytes", async () => {
  const seen: string[] = [];
  const held: { m?: Message | null } = {};
  const look = () => {
    try {
      seen.push(held.m!.text());
    } catch (e) {
      seen.push((e as Error).name);
    }
  };
  const { ws, server } = await openMemory({ onPing: look, onPong: look });
  server.send(serverFrame(1, enc.encode("data")));
  server.send(serverFrame(9, enc.encode("ping!")));
  server.send(serverFrame(10, enc.encode("pong!")));
  server.send(serverFrame(1, enc.encode("next")));
  held.m = await ws.recv(); // the four frames are buffered now
  assert.equal(held.m?.text(), "data");
  assert.equal(ws.tryRecv()?.text(), "next"); // parses the ping and the pong
  assert.deepEqual(seen, ["TypeError", "TypeError"]);
  ws.terminate();
});
