/**
 * The codec's proxy exchanges against real proxies from Debian (tinyproxy,
 * squid, microsocks, danted), started on loopback by each test: a plain
 * `Deno.connect` to the proxy, the exchange driven by a small loop, then
 * raw bytes (or a TLS session) through the tunnel to a loopback echo
 * server.
 */

import { deepStrictEqual, equal, ok, rejects } from "node:assert/strict";
import {
  HttpConnect,
  type ProxyCredentials,
  ProxyError,
  type ProxyHandshake,
  ReadBuf,
  Socks5Connect,
} from "../../src/codec/mod.ts";
import {
  type RunningProxy,
  startDanted,
  startMicrosocks,
  startSquid,
  startTinyproxy,
} from "../support/proxies.ts";
import { freePort } from "../support/process.ts";
import { testTls } from "../support/tls.ts";

const CREDS: ProxyCredentials = { username: "bot", password: "s3cretPw" };
const WRONG: ProxyCredentials = { username: "bot", password: "wrongPw" };

/** A loopback echo server (TCP, or TLS with a cert and key). */
interface Echo extends AsyncDisposable {
  port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  close(): Promise<void>;
}

function startEcho(tls?: { cert: string; key: string }): Echo {
  const listener = tls
    ? Deno.listenTls({ hostname: "127.0.0.1", port: 0, ...tls })
    : Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const loops: Promise<void>[] = [];
  let accepted = 0;
  const serve = async (c: Deno.Conn) => {
    const buf = new Uint8Array(4096);
    try {
      for (;;) {
        const n = await c.read(buf);
        if (n === null) break;
        await writeAll(c, buf.subarray(0, n));
      }
    } catch { /* closed, or a TLS handshake the client refused */ }
    conns.delete(c);
    try {
      c.close();
    } catch { /* already closed */ }
  };
  const acceptLoop = (async () => {
    try {
      for await (const c of listener) {
        accepted++;
        conns.add(c);
        loops.push(serve(c));
      }
    } catch { /* listener closed */ }
  })();
  const close = async () => {
    try {
      listener.close();
    } catch { /* closed */ }
    for (const c of conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    await acceptLoop;
    await Promise.all(loops);
  };
  return {
    port: (listener.addr as Deno.NetAddr).port,
    get accepted() {
      return accepted;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

async function writeAll(w: Deno.Conn, b: Uint8Array): Promise<void> {
  for (let off = 0; off < b.length;) off += await w.write(b.subarray(off));
}

/** Runs the exchange over `conn`: the driver loop an adapter would have. */
async function drive(
  conn: Deno.Conn,
  hs: ProxyHandshake,
  rb: ReadBuf,
): Promise<void> {
  for (;;) {
    if (hs.step === "write") {
      await writeAll(conn, hs.output());
    } else if (hs.step === "read") {
      const n = await conn.read(rb.spare());
      if (n === null) hs.end();
      rb.commit(n!);
      hs.read(rb);
    } else {
      return;
    }
  }
}

/**
 * Connects to `proxy`, opens a tunnel to `hostname:port` with the codec
 * machine of its protocol; the connection is closed on failure, and after
 * 10 s (so a silent proxy fails the test instead of hanging it).
 */
async function openTunnel(
  proxy: RunningProxy,
  hostname: string,
  port: number,
  credentials?: ProxyCredentials,
): Promise<{ conn: Deno.TcpConn; rest: Uint8Array }> {
  const options = { proxy: proxy.host, hostname, port, credentials };
  const hs = proxy.protocol === "http"
    ? new HttpConnect(options)
    : new Socks5Connect(options);
  const conn = await Deno.connect({
    hostname: proxy.hostname,
    port: proxy.port,
  });
  const rb = new ReadBuf({ bufferCapacity: 1024 });
  const watchdog = setTimeout(() => conn.close(), 10000);
  try {
    await drive(conn, hs, rb);
  } catch (err) {
    try {
      conn.close();
    } catch { /* closed by the watchdog */ }
    throw err;
  } finally {
    clearTimeout(watchdog);
  }
  equal(hs.step, "open");
  return { conn, rest: rb.data().slice() };
}

/** Sends `text` through `conn` and reads the same number of bytes back. */
async function roundTrip(
  conn: Deno.Conn,
  text: string,
): Promise<string> {
  const sent = new TextEncoder().encode(text);
  await writeAll(conn, sent);
  const got = new Uint8Array(sent.length);
  for (let off = 0; off < got.length;) {
    const n = await conn.read(got.subarray(off));
    if (n === null) throw new Error(`The tunnel ended after ${off} bytes`);
    off += n;
  }
  return new TextDecoder().decode(got);
}

/** Opens a tunnel and echoes a few messages through it. */
async function echoes(
  proxy: RunningProxy,
  echo: Echo,
  hostname = "127.0.0.1",
  credentials?: ProxyCredentials,
): Promise<void> {
  const before = echo.accepted;
  const { conn, rest } = await openTunnel(
    proxy,
    hostname,
    echo.port,
    credentials,
  );
  try {
    equal(rest.length, 0, "nothing arrived before we spoke");
    equal(
      await roundTrip(conn, "hello through the tunnel"),
      "hello through the tunnel",
    );
    const big = "x".repeat(100_000);
    equal(await roundTrip(conn, big), big);
    equal(
      echo.accepted,
      before + 1,
      "the echo server saw the proxied connection",
    );
  } finally {
    conn.close();
  }
}

/** The ProxyError a tunnel attempt fails with. */
async function refusal(
  proxy: RunningProxy,
  port: number,
  credentials?: ProxyCredentials,
  hostname = "127.0.0.1",
): Promise<ProxyError> {
  let error: unknown = null;
  await rejects(
    openTunnel(proxy, hostname, port, credentials).then(({ conn }) =>
      conn.close()
    ),
    (err) => {
      error = err;
      return err instanceof ProxyError;
    },
  );
  const err = error as ProxyError;
  equal(err.proxy, proxy.host);
  for (const c of [CREDS, WRONG]) {
    ok(!err.message.includes(c.password), "no password in the message");
  }
  return err;
}

Deno.test("tinyproxy tunnels bytes to a loopback echo server through HttpConnect", async () => {
  await using echo = startEcho();
  await using proxy = await startTinyproxy();
  await echoes(proxy, echo);
  await echoes(proxy, echo, "localhost");
});

Deno.test("tinyproxy with Basic auth tunnels with the right credentials and refuses others", async () => {
  await using echo = startEcho();
  await using proxy = await startTinyproxy({ credentials: CREDS });
  await echoes(proxy, echo, "127.0.0.1", CREDS);
  const none = await refusal(proxy, echo.port);
  deepStrictEqual([none.failure, none.status], ["auth", 407]);
  ok(
    none.message.endsWith("the proxy requires credentials and none were given"),
  );
  // tinyproxy 1.11 answers wrong credentials with 401 (not 407)
  const wrong = await refusal(proxy, echo.port, WRONG);
  deepStrictEqual([wrong.failure, wrong.status], ["auth", 401]);
  ok(wrong.message.endsWith("the proxy refused the credentials"));
});

Deno.test("squid tunnels bytes to a loopback echo server through HttpConnect", async () => {
  await using echo = startEcho();
  await using proxy = await startSquid();
  await echoes(proxy, echo);
  await echoes(proxy, echo, "localhost");
});

Deno.test("squid with Basic auth tunnels with the right credentials and answers 407 to missing or wrong ones", async () => {
  await using echo = startEcho();
  await using proxy = await startSquid({ credentials: CREDS });
  await echoes(proxy, echo, "127.0.0.1", CREDS);
  const none = await refusal(proxy, echo.port);
  deepStrictEqual([none.failure, none.status], ["auth", 407]);
  const wrong = await refusal(proxy, echo.port, WRONG);
  deepStrictEqual([wrong.failure, wrong.status], ["auth", 407]);
  ok(
    wrong.message.endsWith("the proxy refused the credentials"),
    wrong.message,
  );
});

Deno.test("HTTP proxies refuse a tunnel to a closed port with their status", async () => {
  const closed = freePort();
  await using tiny = await startTinyproxy();
  const t = await refusal(tiny, closed);
  deepStrictEqual([t.failure, t.protocol, t.status], ["refused", "http", 500]);
  await using squid = await startSquid();
  const s = await refusal(squid, closed);
  deepStrictEqual([s.failure, s.protocol, s.status], ["refused", "http", 503]);
  ok(
    s.message.endsWith("the proxy could not connect to the target"),
    s.message,
  );
});

Deno.test("microsocks tunnels to an IPv4 target and to a name it resolves itself (socks5h)", async () => {
  await using echo = startEcho();
  await using proxy = await startMicrosocks();
  await echoes(proxy, echo);
  await echoes(proxy, echo, "localhost");
});

Deno.test("microsocks with username/password tunnels with the right ones and refuses others", async () => {
  await using echo = startEcho();
  await using proxy = await startMicrosocks({ credentials: CREDS });
  await echoes(proxy, echo, "127.0.0.1", CREDS);
  const wrong = await refusal(proxy, echo.port, WRONG);
  deepStrictEqual([wrong.failure, wrong.protocol, wrong.reply], [
    "auth",
    "socks5",
    undefined,
  ]);
  ok(wrong.message.endsWith("it refused them"), wrong.message);
  const none = await refusal(proxy, echo.port);
  equal(none.failure, "auth");
  ok(
    none.message.endsWith("it requires credentials and none were given"),
    none.message,
  );
});

Deno.test("danted tunnels to an IPv4 target and to a name it resolves itself (socks5h)", async () => {
  await using echo = startEcho();
  await using proxy = await startDanted();
  await echoes(proxy, echo);
  await echoes(proxy, echo, "localhost");
});

Deno.test("SOCKS5 proxies refuse a closed port with a reply code", async () => {
  const closed = freePort();
  for (const start of [startMicrosocks, startDanted]) {
    await using proxy = await start();
    const err = await refusal(proxy, closed);
    deepStrictEqual(
      [err.failure, err.protocol],
      ["refused", "socks5"],
      proxy.name,
    );
    equal(err.reply, 5, proxy.name);
    ok(
      err.message.endsWith("got reply 5: connection refused by the target"),
      err.message,
    );
  }
});

Deno.test("TLS to the origin runs inside the tunnel, with the origin's name verified", async () => {
  const tls = await testTls();
  await using good = startEcho({ cert: tls.cert, key: tls.key });
  await using wrong = startEcho(tls.wrongHost);
  for (const start of [startSquid, startMicrosocks]) {
    await using proxy = await start();
    const { conn } = await openTunnel(proxy, "localhost", good.port);
    const inner = await Deno.startTls(conn, {
      hostname: "localhost",
      caCerts: [tls.caCert],
    });
    try {
      equal(await roundTrip(inner, "secret over TLS"), "secret over TLS");
    } finally {
      inner.close();
    }
    // the certificate of a wrong host behind the tunnel is refused
    const other = await openTunnel(proxy, "localhost", wrong.port);
    const bad = await Deno.startTls(other.conn, {
      hostname: "localhost",
      caCerts: [tls.caCert],
    });
    try {
      await rejects(
        bad.handshake(),
        /certificate not valid for name "localhost"/,
      );
    } finally {
      bad.close();
    }
  }
});
