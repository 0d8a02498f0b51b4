/**
 * How the clients fail through proxies that are down, silent, stalled,
 * refusing or lying, and how the `proxy` option is checked. The
 * misbehaving proxies are scripted loopback servers (no real proxy hangs
 * on demand).
 */

import {
  deepStrictEqual,
  equal,
  ok,
  rejects,
  throws,
} from "node:assert/strict";
import {
  connect,
  HttpConnection,
  NetworkError,
  ProxyError,
  reconnecting,
  TimeoutError,
} from "../../mod.ts";
import { memoryPipe } from "../support/memory_transport.ts";
import { type RawConn, startRawServer } from "../support/http_servers.ts";
import { freePort } from "../support/process.ts";
import { shown, showsNone } from "./_origins.ts";

const SECRET = "pa55word";

/** A proxy that runs `script` after reading the client's first bytes. */
function fakeProxy(script: (c: RawConn) => Promise<void>) {
  let closed = 0;
  const server = startRawServer(async (c) => {
    await script(c);
    // wait for the client to close its end
    while (await c.readRequest() !== null) { /* more requests: ignore */ }
    closed++;
  });
  return {
    requests: server.requests,
    host: server.origin.slice("http://".length),
    /** Connections accepted. */
    get accepted() {
      return server.accepted;
    },
    /** Connections the client closed. */
    get closed() {
      return closed;
    },
    /** Waits (at most 1 s) until the client closed `n` connections. */
    async closes(n: number): Promise<number> {
      for (let i = 0; i < 100 && closed < n; i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      return closed;
    },
    [Symbol.asyncDispose]: () => server.close(),
  };
}

/** Reads the CONNECT request head (or, for SOCKS5, nothing: it never ends). */
const silent = async (c: RawConn) => {
  await c.readRequest();
};

Deno.test("a proxy that is down is a NetworkError naming the proxy's host and port, never its credentials", async () => {
  const port = freePort();
  for (const scheme of ["http", "socks5", "socks5h"]) {
    const proxy = `${scheme}://bot:${SECRET}@127.0.0.1:${port}`;
    // the origin is an address: socks5: would resolve a name first
    const ws = await connect("wss://127.0.0.1:1/feed", { proxy })
      .catch((e) => e);
    using conn = new HttpConnection("https://127.0.0.1:1", { proxy });
    const http = await conn.get("/").catch((e) => e);
    for (const err of [ws, http]) {
      ok(err instanceof NetworkError, String(err));
      deepStrictEqual(
        [err.stage, err.peer, err.host, err.port],
        ["connect", "proxy", "127.0.0.1", port],
      );
      ok(err.cause instanceof Deno.errors.ConnectionRefused);
      ok(
        err.message.startsWith(
          `Expected a TCP connection to proxy 127.0.0.1:${port}, got ConnectionRefused`,
        ),
        err.message,
      );
      showsNone(shown(err), [SECRET]);
    }
  }
});

Deno.test("a proxy whose name does not resolve is a NetworkError of stage dns naming the proxy", async () => {
  const err = await connect("ws://example.invalid/", {
    proxy: "http://no-such-proxy.invalid:3128",
  }).catch((e) => e);
  ok(err instanceof NetworkError, String(err));
  deepStrictEqual(
    [err.stage, err.peer, err.host, err.port],
    ["dns", "proxy", "no-such-proxy.invalid", 3128],
  );
  ok(err.message.includes("proxy no-such-proxy.invalid:3128"), err.message);
});

Deno.test("a proxy that accepts and never answers is a TimeoutError naming the proxy and the step, and its socket is closed", async () => {
  await using proxy = fakeProxy(silent);
  const ws = await connect("ws://127.0.0.1:1234/feed", {
    proxy: `http://${proxy.host}`,
    handshakeTimeout: 200,
  }).catch((e) => e);
  ok(ws instanceof TimeoutError, String(ws));
  equal(
    ws.message,
    `Expected the handshake with 127.0.0.1:1234 to complete within 200 ms, it did not (the tunnel through proxy ${proxy.host} stalled waiting for the answer to CONNECT 127.0.0.1:1234)`,
  );
  ok(ws.cause instanceof TimeoutError);

  using conn = new HttpConnection("https://127.0.0.1:1234", {
    proxy: `socks5://${proxy.host}`,
    timeout: 200,
  });
  const http = await conn.get("/").catch((e) => e);
  ok(http instanceof TimeoutError, String(http));
  equal(
    http.message,
    `Expected the response within 200 ms, it did not complete (the tunnel through proxy ${proxy.host} stalled waiting for the method selection (2 bytes))`,
  );
  equal(proxy.accepted, 2);
  equal(await proxy.closes(2), 2, "both sockets to the proxy were closed");
});

Deno.test("a proxy that stalls in the middle of its answer is a TimeoutError that says how much came", async () => {
  await using proxy = fakeProxy(async (c) => {
    await c.readRequest();
    await c.write("HTTP/1.1 200 Conn");
  });
  const err = await connect("ws://feed.example:80/", {
    proxy: `http://${proxy.host}`,
    handshakeTimeout: 200,
  }).catch((e) => e);
  ok(err instanceof TimeoutError, String(err));
  ok(
    err.message.endsWith(
      `(the tunnel through proxy ${proxy.host} stalled waiting for the answer to CONNECT feed.example:80 (17 bytes of it came))`,
    ),
    err.message,
  );
});

Deno.test("an abort during the proxy leg rejects with the signal's reason and closes the socket", async () => {
  await using proxy = fakeProxy(silent);
  const ac = new AbortController();
  const reason = new Error("stop");
  const pending = connect("wss://feed.example/", {
    proxy: `http://${proxy.host}`,
    signal: ac.signal,
  });
  while (proxy.requests.length === 0) {
    await new Promise((r) => setTimeout(r, 5));
  }
  ac.abort(reason);
  await rejects(pending, (e) => e === reason);
  equal(await proxy.closes(1), 1);

  // the same for a request whose dial is in the proxy leg
  using conn = new HttpConnection("https://feed.example", {
    proxy: `http://${proxy.host}`,
  });
  const http = new AbortController();
  const request = conn.get("/", { signal: http.signal });
  while (proxy.requests.length === 1) {
    await new Promise((r) => setTimeout(r, 5));
  }
  http.abort(reason);
  await rejects(request, (e) => e === reason);
  equal(await proxy.closes(2), 2);
});

Deno.test("a proxy's refusal is a ProxyError with its status, never showing the credentials", async () => {
  for (const [status, reason] of [[403, "Forbidden"], [502, "Bad Gateway"]]) {
    await using proxy = fakeProxy(async (c) => {
      await c.readRequest();
      await c.write(
        `HTTP/1.1 ${status} ${reason}\r\nContent-Length: 1000\r\n\r\n`,
      );
    });
    const err = await connect("wss://feed.example/", {
      proxy: `http://bot:${SECRET}@${proxy.host}`,
    }).catch((e) => e);
    ok(err instanceof ProxyError, String(err));
    deepStrictEqual(
      [err.failure, err.status, err.protocol, err.proxy],
      ["refused", status, "http", proxy.host],
    );
    ok(proxy.requests[0].head.includes("Proxy-Authorization: Basic "));
    showsNone(shown(err), [SECRET, btoa(`bot:${SECRET}`)]);
  }
});

Deno.test("bytes that come after the proxy's answer go to a plain origin's protocol, and fail a TLS origin", async () => {
  await using proxy = fakeProxy(async (c) => {
    await c.readRequest();
    await c.write(
      "HTTP/1.1 200 Connection established\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nearly",
    );
  });
  using conn = new HttpConnection("http://origin.example", {
    proxy: `http://${proxy.host}`,
  });
  equal((await conn.get("/")).text(), "early");
  const err = await connect("wss://origin.example/", {
    proxy: `http://${proxy.host}`,
  }).catch((e) => e);
  ok(err instanceof ProxyError, String(err));
  deepStrictEqual([err.failure, err.protocol], ["protocol", "http"]);
  equal(
    err.message,
    `Expected nothing from proxy ${proxy.host} after it opened the tunnel until the TLS handshake, got 43 bytes`,
  );
});

Deno.test("the proxy option is checked before any I/O, never quoting a URL", () => {
  for (const proxy of [42, true, null, {}]) {
    throws(
      () => new HttpConnection("http://x.example", { proxy: proxy as never }),
      (e) =>
        e instanceof TypeError &&
        e.message.startsWith(
          'Expected option "HttpConnection.proxy" to be a proxy URL (a string or a URL) or false, got',
        ),
    );
  }
  for (
    const proxy of [
      `ftp://bot:${SECRET}@proxy.example`,
      `http://bot:${SECRET}@proxy.example/path`,
      `http://bot:${SECRET}%zz@proxy.example`,
      "http://",
    ]
  ) {
    throws(
      () => new HttpConnection("http://x.example", { proxy }),
      (e) =>
        e instanceof TypeError &&
        e.message.startsWith('Expected option "HttpConnection.proxy" to be ') &&
        !e.message.includes(SECRET),
    );
  }
  throws(
    () => reconnecting("ws://x.example/", { connect: { proxy: 1 as never } }),
    /option "connect\.proxy"/,
  );
  throws(
    () =>
      new HttpConnection("http://x.example", {
        proxy: "http://p.example:3128",
        dial: () => memoryPipe().transport,
      }),
    /Expected option "dial" or option "proxy", got both/,
  );
});

Deno.test("credentials a proxy protocol cannot carry are refused before the proxy is contacted", async () => {
  await using proxy = fakeProxy(silent);
  const long = "u".repeat(256);
  await rejects(
    connect("ws://127.0.0.1:1/", {
      proxy: `socks5://${long}:${SECRET}@${proxy.host}`,
    }),
    (e) =>
      e instanceof RangeError && /username of 1 to 255 bytes/.test(e.message) &&
      !e.message.includes(SECRET),
  );
  using conn = new HttpConnection("http://127.0.0.1:1", {
    proxy: `http://a%3Ab:${SECRET}@${proxy.host}`,
  });
  await rejects(
    conn.get("/"),
    (e) =>
      e instanceof TypeError && /without ":"/.test(e.message) &&
      !e.message.includes(SECRET),
  );
  equal(proxy.accepted, 0);
});

Deno.test("connect() refuses a transport together with a proxy", async () => {
  const { transport } = memoryPipe();
  await rejects(
    connect("ws://x.example/", { transport, proxy: "http://p.example:3128" }),
    /Expected option "transport" or option "proxy", got both/,
  );
  transport.close();
});
