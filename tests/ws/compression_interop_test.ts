/**
 * permessage-deflate interop: the client (offering as it does by default,
 * compressing every send) against real servers that compress, started on
 * loopback: Python `websockets` (its defaults: 12-bit windows), npm `ws`
 * (threshold 0; with `serverNoContextTakeover`; with `serverMaxWindowBits`
 * 8), aiohttp and tornado. Echoes of 0 B to 1 MiB both ways, fragmented
 * compressed messages, a burst of small messages (context takeover both
 * ways), and the closing handshake. A counting transport shows that the
 * server's messages really arrived compressed.
 *
 * Needs: --allow-net --allow-read --allow-run --allow-env; Debian packages
 * python3-websockets, python3-aiohttp, python3-tornado.
 */

import assert from "node:assert/strict";
import { connect, type Transport, type WsClient } from "../../mod.ts";
import {
  type Peer,
  startPythonFrameworkPeer,
  startPythonPeer,
  startWsPeer,
} from "../support/peers.ts";
import {
  asciiText,
  assertBytes,
  closeCleanly,
  randomBytes,
  recvMessage,
  SIZES,
  watchdog,
} from "./_echo.ts";
import { ticks } from "../../bench/deflate_fixtures.ts";

const dec = new TextDecoder();

const PEERS: { start: () => Promise<Peer>; name: string }[] = [
  {
    name: "Python websockets (deflate)",
    start: () => startPythonPeer({ compression: true }),
  },
  {
    name: "npm ws (deflate, threshold 0)",
    start: () =>
      startWsPeer({
        name: "npm ws (deflate, threshold 0)",
        perMessageDeflate: { threshold: 0 },
      }),
  },
  {
    name: "npm ws (deflate, serverNoContextTakeover)",
    start: () =>
      startWsPeer({
        name: "npm ws (deflate, serverNoContextTakeover)",
        perMessageDeflate: { threshold: 0, serverNoContextTakeover: true },
      }),
  },
  {
    name: "npm ws (deflate, serverMaxWindowBits 8)",
    start: () =>
      startWsPeer({
        name: "npm ws (deflate, serverMaxWindowBits 8)",
        perMessageDeflate: { threshold: 0, serverMaxWindowBits: 8 },
      }),
  },
  {
    name: "aiohttp (deflate)",
    start: () => startPythonFrameworkPeer("aiohttp"),
  },
  {
    name: "tornado (deflate)",
    start: () => startPythonFrameworkPeer("tornado"),
  },
];

/** A TCP transport that counts the bytes it reads. */
async function countingTransport(
  url: string,
): Promise<Transport & { readonly bytesRead: number }> {
  const u = new URL(url);
  const conn = await Deno.connect({
    hostname: u.hostname,
    port: Number(u.port),
  });
  let bytesRead = 0;
  return {
    get bytesRead() {
      return bytesRead;
    },
    async read(p) {
      const n = await conn.read(p);
      if (n !== null) bytesRead += n;
      return n;
    },
    write: (p) => conn.write(p),
    close: () => conn.close(),
  };
}

/** Connects with compression offered as by default and every send compressed. */
async function open(
  peer: Peer,
  path: string,
): Promise<{ ws: WsClient; counter: { readonly bytesRead: number } }> {
  const counter = await countingTransport(peer.url);
  const ws = await connect(peer.url + path, {
    transport: counter,
    perMessageDeflate: { threshold: 0 },
    handshakeTimeout: 5000,
    closeTimeout: 3000,
  });
  return { ws, counter };
}

for (const p of PEERS) {
  const name = (s: string) => `[${p.name}] ${s}`;

  Deno.test(name("negotiates permessage-deflate"), async () => {
    await using peer = await p.start();
    const { ws } = await open(peer, "/extensions");
    using _ = watchdog(ws);
    const answered = (await recvMessage(ws, "extensions")).text();
    assert.match(answered, /^permessage-deflate/);
    const params = ws.perMessageDeflate;
    assert.ok(params !== null, `settled from "${answered}"`);
    if (/server_no_context_takeover/.test(answered)) {
      assert.equal(params.serverNoContextTakeover, true);
    }
    const bits = /server_max_window_bits=(\d+)/.exec(answered)?.[1];
    assert.equal(params.serverMaxWindowBits, Number(bits ?? 15));
    await closeCleanly(ws);
  });

  Deno.test(
    name(
      "echoes compressed text and binary of 0 B to 1 MiB both ways, and really receives them compressed",
    ),
    async () => {
      await using peer = await p.start();
      const { ws, counter } = await open(peer, "/echo");
      using _ = watchdog(ws, 30000);
      for (const n of SIZES) {
        const text = asciiText(n, n);
        const before = counter.bytesRead;
        await ws.sendText(text);
        const m = await recvMessage(ws, `${n} text`);
        assert.equal(m.type, "text", `${n}: type`);
        assert.ok(m.text() === text, `${n} bytes of text differ`);
        if (n >= 65536) {
          const read = counter.bytesRead - before;
          assert.ok(read < n / 4, `${n} bytes of text arrived as ${read}`);
        }
        const bin = randomBytes(n);
        await ws.sendBinary(bin);
        const b = await recvMessage(ws, `${n} binary`);
        assert.equal(b.type, "binary", `${n}: type`);
        assertBytes(b.data, bin, `${n} binary`);
      }
      await closeCleanly(ws);
    },
  );

  Deno.test(
    name("echoes 2000 ticks in order, context taken over both ways"),
    async () => {
      await using peer = await p.start();
      const { ws, counter } = await open(peer, "/echo");
      using _ = watchdog(ws, 30000);
      const msgs = ticks(2000).map((t) => dec.decode(t));
      const sending = (async () => {
        for (const t of msgs) await ws.sendText(t);
      })();
      const before = counter.bytesRead;
      for (const [i, t] of msgs.entries()) {
        const m = await recvMessage(ws, `tick ${i}`);
        assert.ok(m.text() === t, `tick ${i} differs`);
      }
      await sending;
      const perTick = (counter.bytesRead - before) / msgs.length;
      assert.ok(perTick < 77, `${perTick.toFixed(1)} bytes read per tick`);
      await closeCleanly(ws);
    },
  );

  Deno.test(
    name("a close from the server after a compressed message is clean"),
    async () => {
      await using peer = await p.start();
      const { ws } = await open(
        peer,
        `/close?code=4000&reason=bye&send=${"compressed-".repeat(20)}`,
      );
      using _ = watchdog(ws);
      const m = await recvMessage(ws, "the message before the close");
      assert.equal(m.text(), "compressed-".repeat(20));
      assert.equal(await ws.recv(), null);
      assert.equal(ws.closeCode, 4000);
      assert.equal(ws.closeReason, "bye");
    },
  );

  if (p.name.startsWith("aiohttp") || p.name.startsWith("tornado")) continue;

  Deno.test(
    name(
      "receives compressed messages fragmented into 1000-byte frames with a ping between",
    ),
    async () => {
      await using peer = await p.start();
      const { ws } = await open(peer, "/fragmented?size=1000");
      using _ = watchdog(ws, 30000);
      for (const n of [1001, 10_000, 300_000]) {
        const text = asciiText(n, 5);
        await ws.sendText(text);
        const m = await recvMessage(ws, `${n} text`);
        assert.ok(m.text() === text, `${n} bytes of text differ`);
        const bin = randomBytes(n);
        await ws.sendBinary(bin);
        assertBytes((await recvMessage(ws, `${n} binary`)).data, bin, `${n}`);
      }
      await closeCleanly(ws);
    },
  );
}
