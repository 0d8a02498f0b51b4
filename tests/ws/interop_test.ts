/**
 * Interop: the client against independent real servers on loopback —
 * Deno's own `Deno.upgradeWebSocket` server, npm `ws` and Python's
 * `websockets` (see tests/support/peers.ts) — plus `wss:` against Deno's
 * server with a test CA (tests/support/tls.ts).
 *
 * Needs: --allow-net --allow-read --allow-write --allow-run --allow-env;
 * Debian packages python3-websockets and openssl.
 */

import assert from "node:assert/strict";
import {
  connect,
  ConnectionClosedError,
  type ConnectOptions,
  HandshakeError,
  NetworkError,
  ProtocolError,
  type WsClient,
} from "../../mod.ts";
import {
  type Peer,
  PEERS,
  type ServerClose,
  startDenoPeer,
} from "../support/peers.ts";
import { testTls } from "../support/tls.ts";
import {
  asciiText,
  assertBytes,
  closeCleanly,
  randomBytes,
  recvMessage,
  SIZES,
  watchdog,
} from "./_echo.ts";

const MiB = 1 << 20;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

const BASE: ConnectOptions = { handshakeTimeout: 5000, closeTimeout: 3000 };

function open(
  peer: Peer,
  path: string,
  options: ConnectOptions = {},
): Promise<WsClient> {
  return connect(peer.url + path, { ...BASE, ...options });
}

async function recvText(ws: WsClient, what: string): Promise<string> {
  const m = await recvMessage(ws, what);
  assert.equal(m.type, "text", `${what}: message type`);
  return m.text();
}

/** The close the server received on its `index`-th ended connection (waits up to 3 s). */
async function serverClose(peer: Peer, index = 0): Promise<ServerClose> {
  for (let waited = 0; peer.closes.length <= index; waited += 10) {
    if (waited >= 3000) {
      assert.fail(
        `Expected the server to see connection ${index} end, it saw ${peer.closes.length}`,
      );
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return peer.closes[index];
}

/** Closes from the client side and checks the server echoed the close. */
const MULTIBYTE = [
  "é",
  "€",
  "😀",
  "héllo wörld — ✓ 日本語 😀 𝄞 Ω≈ç√∫",
  "\u0000 nul, \uFEFF bom, \uFFFD replacement, \u{10FFFF} last",
  "👩‍👩‍👧‍👦 e\u0301 🇫🇷", // ZWJ sequence, combining mark, flag
  "€😀é".repeat(10000), // 90000 bytes: past 65535 and the default buffer
];

for (const p of PEERS) {
  const name = (s: string) => `[${p.name}] ${s}`;

  Deno.test(
    name(
      "echoes text messages of 0, 1, 125, 126, 127, 65535, 65536 and 1048576 bytes",
    ),
    async () => {
      await using peer = await p.start();
      const ws = await open(peer, "/echo");
      using _ = watchdog(ws);
      for (const n of SIZES) {
        const sent = asciiText(n, n);
        await ws.sendText(sent);
        const m = await recvMessage(ws, `${n} bytes`);
        assert.equal(m.type, "text", `${n} bytes: type`);
        assert.equal(m.data.length, n, `${n} bytes: data length`);
        assert.ok(m.text() === sent, `${n} bytes: text differs`);
      }
      await closeCleanly(ws);
    },
  );

  Deno.test(
    name(
      "echoes binary messages of 0, 1, 125, 126, 127, 65535, 65536 and 1048576 bytes",
    ),
    async () => {
      await using peer = await p.start();
      const ws = await open(peer, "/echo");
      using _ = watchdog(ws);
      for (const n of SIZES) {
        const sent = randomBytes(n);
        await ws.sendBinary(sent);
        const m = await recvMessage(ws, `${n} bytes`);
        assert.equal(m.type, "binary", `${n} bytes: type`);
        assertBytes(m.data, sent, `${n} bytes`);
      }
      await closeCleanly(ws);
    },
  );

  Deno.test(
    name("echoes a pipelined burst of every size, text and binary, in order"),
    async () => {
      await using peer = await p.start();
      const ws = await open(peer, "/echo");
      using _ = watchdog(ws);
      const sent: (string | Uint8Array)[] = [];
      for (const n of SIZES) sent.push(asciiText(n, 3), randomBytes(n));
      // Send while receiving: the echoes of 2+ MiB must not wait for the sends.
      const sending = (async () => {
        for (const s of sent) {
          if (typeof s === "string") await ws.sendText(s);
          else await ws.sendBinary(s);
        }
      })();
      for (const [i, s] of sent.entries()) {
        const m = await recvMessage(ws, `message ${i}`);
        if (typeof s === "string") {
          assert.equal(m.type, "text", `message ${i}: type`);
          assert.ok(m.text() === s, `message ${i}: text differs`);
        } else {
          assert.equal(m.type, "binary", `message ${i}: type`);
          assertBytes(m.data, s, `message ${i}`);
        }
      }
      await sending;
      await closeCleanly(ws);
    },
  );

  Deno.test(
    name("echoes 5000 small JSON messages sent while receiving, in order"),
    async () => {
      await using peer = await p.start();
      const ws = await open(peer, "/echo");
      using _ = watchdog(ws);
      const count = 5000;
      const sending = (async () => {
        for (let i = 0; i < count; i++) {
          await ws.sendText(JSON.stringify({ seq: i, px: "64123.50", q: 3 }));
        }
      })();
      for (let i = 0; i < count; i++) {
        const m = await recvMessage(ws, `message ${i}`);
        assert.equal(m.json<{ seq: number }>().seq, i);
      }
      await sending;
      await closeCleanly(ws);
    },
  );

  Deno.test(
    name("echoes multibyte UTF-8 text intact, including 90000-byte messages"),
    async () => {
      await using peer = await p.start();
      const ws = await open(peer, "/echo");
      using _ = watchdog(ws);
      for (const s of MULTIBYTE) {
        await ws.sendText(s);
        const m = await recvMessage(ws, JSON.stringify(s.slice(0, 20)));
        assert.equal(m.type, "text");
        assert.equal(m.data.length, encoder.encode(s).length);
        assert.ok(
          m.text() === s,
          `text differs: ${JSON.stringify(s.slice(0, 20))}`,
        );
      }
      await closeCleanly(ws);
    },
  );

  Deno.test(
    name(
      "keeps a leading U+FEFF in text messages and close reasons: it is content, not a byte order mark",
    ),
    async () => {
      await using peer = await p.start();
      const ws = await open(peer, "/echo");
      using _ = watchdog(ws);
      for (const s of ["\uFEFF", "\uFEFFhello", "\uFEFF\uFEFFtwo"]) {
        await ws.sendText(s);
        const m = await recvMessage(ws, JSON.stringify(s));
        assert.equal(m.data.length, encoder.encode(s).length);
        assert.equal(m.text(), s, "Message.text()");
        assert.equal(m.toOwned().text(), s, "OwnedMessage.text()");
      }
      await closeCleanly(ws);

      const closing = await open(peer, "/close?code=4000&reason=%EF%BB%BFbye");
      using _2 = watchdog(closing);
      assert.equal(await closing.recv(), null);
      assert.equal(closing.closeCode, 4000);
      assert.equal(closing.closeReason, "\uFEFFbye");
    },
  );

  Deno.test(
    name(
      "echoes every size through a 256-byte receive buffer read 97 bytes at a time",
    ),
    async () => {
      await using peer = await p.start();
      const path = p.fragments ? "/fragmented?size=1000" : "/echo";
      const ws = await open(peer, path, {
        bufferCapacity: 256,
        maxReadSize: 97,
        compactAt: 64,
      });
      using _ = watchdog(ws);
      for (const n of SIZES) {
        const text = asciiText(n, 11);
        await ws.sendText(text);
        assert.ok((await recvText(ws, `${n} text`)) === text, `${n} text`);
        const bin = randomBytes(n);
        await ws.sendBinary(bin);
        const m = await recvMessage(ws, `${n} binary`);
        assert.equal(m.type, "binary");
        assertBytes(m.data, bin, `${n} binary`);
      }
      const long = MULTIBYTE[MULTIBYTE.length - 1];
      await ws.sendText(long);
      assert.ok((await recvText(ws, "long multibyte")) === long);
      await closeCleanly(ws);
    },
  );

  Deno.test(
    name(
      "fails with ProtocolError 1009 when the server sends a message over maxMessageSize",
    ),
    async () => {
      await using peer = await p.start();
      const ws = await open(peer, "/echo", { maxMessageSize: 1024 });
      using _ = watchdog(ws);
      await ws.sendText(asciiText(1024));
      assert.equal((await recvText(ws, "at the limit")).length, 1024);
      await ws.sendBinary(randomBytes(1025));
      const isTooBig = (e: unknown) =>
        e instanceof ProtocolError && e.code === 1009;
      await assert.rejects(ws.recv(), isTooBig);
      assert.equal(ws.closed, true);
      assert.equal(ws.closeCode, 1009);
      await assert.rejects(ws.recv(), isTooBig, "the error is sticky");
      assert.equal((await serverClose(peer)).code, 1009, "the server was told");
    },
  );

  Deno.test(
    name(
      "rejects with HandshakeError carrying status and headers when the server refuses the upgrade",
    ),
    async () => {
      await using peer = await p.start();
      await assert.rejects(
        open(peer, "/forbidden", { protocols: ["nexus.v1"] }),
        (e: unknown) => {
          assert.ok(e instanceof HandshakeError, `got ${e}`);
          assert.equal(e.status, 403);
          assert.equal(e.headers.get("x-refused"), "yes");
          return true;
        },
      );
      assert.equal(peer.upgrades, 0, "no WebSocket was opened");
      const ws = await open(peer, "/protocol");
      using _ = watchdog(ws);
      assert.equal(
        await recvText(ws, "protocol"),
        "",
        "the server still serves",
      );
      await closeCleanly(ws);
      assert.equal(peer.upgrades, 1);
    },
  );

  if (p.fragments) {
    Deno.test(
      name(
        "reassembles text the server sends in 1-unit fragments with a ping between them",
      ),
      async () => {
        await using peer = await p.start();
        const pings: string[] = [];
        const ws = await open(peer, "/fragmented?size=1", {
          onPing: (d) => pings.push(decoder.decode(d)),
        });
        using _ = watchdog(ws);
        // npm ws splits bytes (so code points straddle frames), Python splits characters.
        for (const s of MULTIBYTE.slice(0, 6)) {
          await ws.sendText(s);
          assert.ok(
            (await recvText(ws, s)) === s,
            `text differs: ${JSON.stringify(s)}`,
          );
        }
        assert.equal(pings.length, 6, "one ping between fragments per message");
        assert.ok(
          pings.every((x) => x.startsWith("mid-message")),
          String(pings),
        );
        // The connection is still in a sane state for unfragmented traffic.
        await ws.sendText("x");
        assert.equal(await recvText(ws, "after"), "x");
        await closeCleanly(ws);
      },
    );

    Deno.test(
      name(
        "closes cleanly while the server is in the middle of a fragmented message",
      ),
      async () => {
        await using peer = await p.start();
        const ws = await open(peer, "/fragmented?size=10");
        using _ = watchdog(ws);
        await ws.sendBinary(randomBytes(50000)); // echoed as 5000 frames
        await ws.close(1000, "mid-message");
        assert.equal(ws.closed, true);
        assert.equal(ws.closeCode, 1000);
        assert.equal(ws.closeReason, "mid-message");
        assert.deepEqual(await serverClose(peer), {
          code: 1000,
          reason: "mid-message",
        });
      },
    );

    Deno.test(
      name("reassembles fragmented messages of every size, text and binary"),
      async () => {
        await using peer = await p.start();
        let pings = 0;
        const ws = await open(peer, "/fragmented?size=4099", {
          onPing: () => pings++,
        });
        using _ = watchdog(ws);
        for (const n of SIZES) {
          const text = asciiText(n, 5);
          await ws.sendText(text);
          assert.ok(
            (await recvText(ws, `${n} text`)) === text,
            `${n} bytes: text differs`,
          );
          const bin = randomBytes(n);
          await ws.sendBinary(bin);
          const m = await recvMessage(ws, `${n} binary`);
          assert.equal(m.type, "binary");
          assertBytes(m.data, bin, `${n} bytes fragmented`);
        }
        assert.ok(pings >= 4, `expected pings between fragments, got ${pings}`);
        // 90000 bytes of 2-, 3- and 4-byte characters in 4099-unit fragments.
        const long = MULTIBYTE[MULTIBYTE.length - 1];
        await ws.sendText(long);
        assert.ok((await recvText(ws, "long multibyte")) === long);
        await closeCleanly(ws);
      },
    );
  }

  Deno.test(
    name("answers the server's ping with a pong the server accepts"),
    async () => {
      await using peer = await p.start();
      const pings: string[] = [];
      const ws = await open(peer, "/ping?payload=nexus-ping-1", {
        onPing: (d) => pings.push(decoder.decode(d)),
      });
      using _ = watchdog(ws);
      assert.equal(await recvText(ws, "pong report"), "pong:nexus-ping-1");
      assert.ok(pings.length >= 1, "onPing was called");
      const expected = peer.pingPayloads ? "nexus-ping-1" : "";
      assert.ok(pings.every((x) => x === expected), String(pings));
      await closeCleanly(ws);
    },
  );

  Deno.test(
    name(
      "does not answer pings when autoPong is false, so the server gives up",
    ),
    async () => {
      await using peer = await p.start();
      let pings = 0;
      const ws = await open(peer, "/ping?payload=nexus-ping-2&wait=300", {
        autoPong: false,
        onPing: () => pings++,
      });
      using _ = watchdog(ws);
      assert.equal(await ws.recv(), null, "the server closed the connection");
      assert.ok(pings >= 1);
      assert.equal(ws.closeCode, peer.noPongCode);
    },
  );

  Deno.test(
    name("gets the server's pong to its own ping, with the same payload"),
    async () => {
      await using peer = await p.start();
      const pongs: string[] = [];
      const ws = await open(peer, "/echo", {
        onPong: (d) => pongs.push(decoder.decode(d)),
      });
      using _ = watchdog(ws);
      await ws.ping(encoder.encode("are you there ✓"));
      // The pong is read by recv(); an echo sent after the ping comes after it.
      await ws.sendText("after ping");
      assert.equal(await recvText(ws, "echo"), "after ping");
      assert.deepEqual(pongs, ["are you there ✓"]);
      await closeCleanly(ws);
    },
  );

  for (
    const [code, reason] of [[4000, "bye"], [1000, "fin ✓ adiós"]] as const
  ) {
    Deno.test(
      name(
        `delivers the last message, then reports the server's close ${code} "${reason}"`,
      ),
      async () => {
        await using peer = await p.start();
        const ws = await open(
          peer,
          `/close?code=${code}&reason=${
            encodeURIComponent(reason)
          }&send=last%20words`,
        );
        using _ = watchdog(ws);
        assert.equal(await recvText(ws, "last message"), "last words");
        assert.equal(await ws.recv(), null, "clean close");
        assert.equal(ws.closed, true);
        assert.equal(ws.closeCode, code);
        assert.equal(ws.closeReason, reason);
        assert.equal(await ws.recv(), null, "recv after close stays null");
        assert.throws(
          () => ws.sendText("too late"),
          (e: unknown) =>
            e instanceof ConnectionClosedError && e.code === code &&
            e.reason === reason,
        );
        await ws.close(); // a no-op once closed
        assert.equal(ws.closeCode, code);
      },
    );
  }

  Deno.test(
    name("closes with its code and reason, which the server echoes back"),
    async () => {
      await using peer = await p.start();
      const ws = await open(peer, "/echo");
      using _ = watchdog(ws);
      await ws.sendText("hi");
      assert.equal(await recvText(ws, "echo"), "hi");
      await ws.close(4321, "client done ✓");
      assert.equal(ws.closed, true);
      assert.equal(ws.closeCode, 4321);
      assert.equal(ws.closeReason, "client done ✓");
      assert.equal(await ws.recv(), null);
      assert.throws(() => ws.sendText("after close"), TypeError);
      assert.deepEqual(await serverClose(peer), {
        code: 4321,
        reason: "client done ✓",
      });
    },
  );

  Deno.test(
    name("completes its close while unread echoes are still arriving"),
    async () => {
      await using peer = await p.start();
      const ws = await open(peer, "/echo");
      using _ = watchdog(ws);
      const sends: Promise<void>[] = [];
      for (let i = 0; i < 100; i++) {
        sends.push(ws.sendBinary(randomBytes(4096)));
      }
      await Promise.all(sends);
      await ws.close(1000, "enough");
      assert.equal(ws.closed, true);
      assert.equal(ws.closeCode, 1000);
      assert.equal(ws.closeReason, "enough");
      assert.deepEqual(await serverClose(peer), {
        code: 1000,
        reason: "enough",
      });
    },
  );

  Deno.test(
    name("negotiates the first offered subprotocol the server supports"),
    async () => {
      await using peer = await p.start();
      const ws = await open(peer, "/protocol", {
        protocols: ["x.unknown", "nexus.v1", "nexus.v2"],
      });
      using _ = watchdog(ws);
      assert.equal(ws.protocol, "nexus.v1");
      assert.equal(await recvText(ws, "server's view"), "nexus.v1");
      await closeCleanly(ws);

      const plain = await open(peer, "/protocol");
      using _2 = watchdog(plain);
      assert.equal(plain.protocol, "");
      assert.equal(await recvText(plain, "server's view"), "");
      await closeCleanly(plain);
    },
  );

  Deno.test(
    name(
      "sends custom headers, Origin, Host and the request target the server sees",
    ),
    async () => {
      await using peer = await p.start();
      const port = new URL(peer.url).port;
      type Seen = { path: string; headers: Record<string, string> };

      const ws = await open(peer, "/headers?q=1&r=a%20b", {
        headers: { "X-Nexus-Test": "alpha", "X-Api-Key": "k-123" },
        origin: "https://origin.nexus.test",
      });
      using _ = watchdog(ws);
      const seen: Seen = JSON.parse(await recvText(ws, "headers"));
      await closeCleanly(ws);
      assert.equal(seen.path, "/headers?q=1&r=a%20b");
      const h = seen.headers;
      assert.equal(h["x-nexus-test"], "alpha");
      assert.equal(h["x-api-key"], "k-123");
      assert.equal(h["origin"], "https://origin.nexus.test");
      assert.equal(h["host"], `127.0.0.1:${port}`);
      assert.equal(h["upgrade"]?.toLowerCase(), "websocket");
      assert.match(h["connection"] ?? "", /upgrade/i);
      assert.equal(h["sec-websocket-version"], "13");
      const key = h["sec-websocket-key"] ?? "";
      assert.match(key, /^[A-Za-z0-9+/]{22}==$/, "a 16-byte base64 key");

      const pairs = await open(peer, "/headers", {
        headers: [["X-One", "1"], ["X-Two", "two words"]],
      });
      using _2 = watchdog(pairs);
      const seen2: Seen = JSON.parse(await recvText(pairs, "headers"));
      await closeCleanly(pairs);
      assert.equal(seen2.headers["x-one"], "1");
      assert.equal(seen2.headers["x-two"], "two words");
      assert.notEqual(seen2.headers["sec-websocket-key"], key, "a fresh key");
    },
  );
}

// ---------------------------------------------------------------------------
// wss: against Deno.serve({ cert, key }) with a CA the tests generate

for (const host of ["localhost", "127.0.0.1"] as const) {
  Deno.test(
    `[Deno TLS] echoes text and 1 MiB binary over wss://${host} trusting the test CA`,
    async () => {
      const tls = await testTls();
      await using peer = await startDenoPeer({ tls, urlHost: host });
      assert.ok(peer.url.startsWith(`wss://${host}:`));
      const ws = await connect(`${peer.url}/protocol`, {
        ...BASE,
        caCerts: [tls.caCert],
        protocols: ["nexus.v2"],
      });
      using _ = watchdog(ws);
      assert.equal(ws.protocol, "nexus.v2");
      assert.equal(await recvText(ws, "protocol"), "nexus.v2");
      for (const s of ["hello over TLS", MULTIBYTE[3], asciiText(MiB)]) {
        await ws.sendText(s);
        assert.ok((await recvText(ws, "echo")) === s);
      }
      const bin = randomBytes(MiB);
      await ws.sendBinary(bin);
      const m = await recvMessage(ws, "binary");
      assert.equal(m.type, "binary");
      assertBytes(m.data, bin, "1 MiB over TLS");
      await closeCleanly(ws);
      assert.equal(peer.upgrades, 1);
    },
  );
}

Deno.test(
  "[Deno TLS] refuses a server certificate from an unknown CA when caCerts is not given",
  async () => {
    const tls = await testTls();
    await using peer = await startDenoPeer({ tls, urlHost: "localhost" });
    await assert.rejects(
      connect(`${peer.url}/echo`, BASE),
      (e: unknown) => {
        assert.ok(e instanceof NetworkError, String(e));
        assert.equal(e.stage, "tls");
        assert.equal(e.host, "localhost");
        assert.equal(e.port, Number(new URL(peer.url).port));
        assert.match(String(e), /UnknownIssuer/);
        return true;
      },
    );
    assert.equal(peer.upgrades, 0, "no WebSocket was opened");
  },
);

Deno.test(
  "[Deno TLS] refuses a certificate the test CA issued for another host",
  async () => {
    const tls = await testTls();
    await using peer = await startDenoPeer({
      tls: tls.wrongHost,
      urlHost: "localhost",
    });
    await assert.rejects(
      connect(`${peer.url}/echo`, { ...BASE, caCerts: [tls.caCert] }),
      (e: unknown) => {
        assert.ok(e instanceof NetworkError, String(e));
        assert.equal(e.stage, "tls");
        assert.ok(e.cause instanceof Error, "the runtime's error is the cause");
        assert.match(String(e), /not valid for name|NotValidForName/i);
        return true;
      },
    );
    assert.equal(peer.upgrades, 0, "no WebSocket was opened");
  },
);
