/**
 * connect(): options never pass silently, URLs are taken or refused as
 * documented, credentials are sent (never dropped), network failures are
 * NetworkErrors naming host and port.
 */
import assert from "node:assert/strict";
import { connect, NetworkError } from "../../mod.ts";
import { writeAccept } from "../support/raw_server.ts";
import { memoryPipe } from "../support/memory_transport.ts";
import { noTimersLeft } from "../support/timers.ts";
import { testTls } from "../support/tls.ts";

const test = (name: string, fn: () => Promise<void>) =>
  Deno.test(name, noTimersLeft(fn));

/** A port nothing listens on (bound, then released). */
function deadPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A server recording each handshake request head, then accepting it. */
function recordingServer() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const heads: string[] = [];
  const conns: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const c of listener) {
      conns.push(c);
      const buf = new Uint8Array(8192);
      const n = (await c.read(buf)) ?? 0;
      const head = new TextDecoder().decode(buf.subarray(0, n));
      heads.push(head);
      const key = /sec-websocket-key:\s*(\S+)/i.exec(head)![1];
      await writeAccept(c, key);
    }
  })();
  const port = (listener.addr as Deno.NetAddr).port;
  return {
    port,
    heads,
    async close() {
      listener.close();
      await accepting.catch(() => {});
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
    },
  };
}

test("an unknown option is a TypeError naming it, before anything is dialed", async () => {
  const port = deadPort();
  await assert.rejects(
    connect(`ws://127.0.0.1:${port}/`, { bufferCapcity: 4096 } as never),
    (e) =>
      e instanceof TypeError &&
      /unknown option "bufferCapcity" \(did you mean "bufferCapacity"\?\)/.test(
        e.message,
      ),
  );
});

test("an option of the wrong type is a TypeError naming the option and the type it got", async () => {
  const url = `ws://127.0.0.1:${deadPort()}/`;
  const cases: [Record<string, unknown>, RegExp][] = [
    [
      { bufferCapacity: "65536" },
      /"bufferCapacity" to be a number, got a string \("65536"\)/,
    ],
    [{ autoPong: "yes" }, /"autoPong" to be a boolean, got a string/],
    [
      { protocols: "v1" },
      /"protocols" to be an array of strings, got a string/,
    ],
    [{ onPing: true }, /"onPing" to be a function, got the boolean true/],
    [{ signal: {} }, /"signal" to be an AbortSignal, got an object/],
    [{ heartbeat: { interval: "5s" } }, /"heartbeat\.interval" to be a number/],
    [
      { heartbeat: { timeout: 5 } },
      /"heartbeat\.interval" to be a number, got undefined/,
    ],
    [{ transport: { read() {} } }, /"transport" to be a Transport/],
  ];
  for (const [options, message] of cases) {
    await assert.rejects(connect(url, options as never), (e) => {
      assert.ok(e instanceof TypeError, `${JSON.stringify(options)}: ${e}`);
      assert.match(e.message, message);
      return true;
    });
  }
  await assert.rejects(connect(url, { handshakeTimeout: -1 }), RangeError);
  await assert.rejects(connect(url, { closeTimeout: 2 ** 31 }), RangeError);
});

test("caCerts that are not PEM certificates are refused at connect", async () => {
  await assert.rejects(
    connect(`wss://127.0.0.1:${deadPort()}/`, { caCerts: ["/etc/ssl/ca.pem"] }),
    (e) =>
      e instanceof TypeError &&
      /"caCerts\[0\]" to be a PEM certificate/.test(e.message),
  );
});

test("http: and https: URLs are taken as ws: and wss:; other schemes are refused", async () => {
  const srv = recordingServer();
  const ws = await connect(`http://127.0.0.1:${srv.port}/feed?x=1`);
  assert.match(srv.heads[0], /^GET \/feed\?x=1 HTTP\/1\.1\r\n/);
  ws.terminate();
  await srv.close();
  for (const bad of ["ftp://127.0.0.1/", "file:///tmp/x", "not a url"]) {
    await assert.rejects(
      connect(bad),
      (e) =>
        e instanceof TypeError &&
        /Expected a ws:, wss:, http: or https: URL/.test(e.message),
    );
  }
});

test("credentials in the URL are sent as Basic Authorization, never dropped and never in Host", async () => {
  const srv = recordingServer();
  const ws = await connect(
    `ws://tr%40der:p%C3%A4ss%3Aw@127.0.0.1:${srv.port}/`,
  );
  const head = srv.heads[0];
  const auth = /\r\nAuthorization: Basic (\S+)\r\n/.exec(head);
  assert.ok(auth, head);
  const decoded = new TextDecoder().decode(
    Uint8Array.from(atob(auth[1]), (c) => c.charCodeAt(0)),
  );
  assert.equal(decoded, "tr@der:päss:w");
  assert.match(
    head,
    new RegExp(`\\r\\nHost: 127\\.0\\.0\\.1:${srv.port}\\r\\n`),
  );
  assert.doesNotMatch(head, /tr%40der|päss/);
  ws.terminate();
  await srv.close();
});

test("credentials both in the URL and in an Authorization header are refused", async () => {
  await assert.rejects(
    connect(`ws://u:p@127.0.0.1:${deadPort()}/`, {
      headers: { authorization: "Bearer t" },
    }),
    (e) =>
      e instanceof TypeError &&
      /credentials in the URL or an Authorization header, got both/.test(
        e.message,
      ),
  );
});

test("a refused connection is a NetworkError naming host and port, keeping Deno's error as cause", async () => {
  const port = deadPort();
  await assert.rejects(connect(`ws://127.0.0.1:${port}/`), (e) => {
    assert.ok(e instanceof NetworkError, String(e));
    assert.equal(e.stage, "connect");
    assert.equal(e.host, "127.0.0.1");
    assert.equal(e.port, port);
    assert.ok(e.cause instanceof Deno.errors.ConnectionRefused);
    return true;
  });
});

test("a host name that does not resolve is a NetworkError of stage dns", async () => {
  await assert.rejects(connect("wss://no-such-host.invalid/"), (e) => {
    assert.ok(e instanceof NetworkError, String(e));
    assert.equal(e.stage, "dns");
    assert.equal(e.port, 443);
    return true;
  });
});

test("a TLS server whose certificate is not trusted is a NetworkError of stage tls", async () => {
  const tls = await testTls();
  const listener = Deno.listenTls({
    hostname: "127.0.0.1",
    port: 0,
    cert: tls.cert,
    key: tls.key,
  });
  const port = (listener.addr as Deno.NetAddr).port;
  const accepted = (async () => {
    const c = await listener.accept();
    await c.handshake().catch(() => {});
    c.close();
  })();
  await assert.rejects(connect(`wss://localhost:${port}/`), (e) => {
    assert.ok(e instanceof NetworkError, String(e));
    assert.equal(e.stage, "tls");
    assert.equal(e.host, "localhost");
    assert.equal(e.port, port);
    assert.match(e.message, /UnknownIssuer/);
    return true;
  });
  await accepted;
  listener.close();
});

test("a connection reset during the handshake is a NetworkError of stage io naming the URL's host", async () => {
  const { transport, server } = memoryPipe();
  const connecting = connect("ws://feed.test:9443/", { transport });
  await server.written(1);
  server.reset();
  await assert.rejects(connecting, (e) => {
    assert.ok(e instanceof NetworkError, String(e));
    assert.equal(e.stage, "io");
    assert.equal(e.host, "feed.test");
    assert.equal(e.port, 9443);
    assert.ok(e.cause instanceof Deno.errors.ConnectionReset);
    return true;
  });
  assert.ok(server.closed, "the transport is closed");
});
