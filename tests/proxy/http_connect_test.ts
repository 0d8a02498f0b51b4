/**
 * The clients through real HTTP CONNECT proxies from Debian, started on
 * loopback by the tests: tinyproxy without credentials, squid with Basic
 * auth. One proxy process per test, shared by its steps.
 */

import { deepStrictEqual, equal, ok, rejects } from "node:assert/strict";
import {
  ClientPool,
  connect,
  HttpConnection,
  NetworkError,
  ProxyError,
  reconnecting,
} from "../../mod.ts";
import { startSquid, startTinyproxy } from "../support/proxies.ts";
import { startRawServer } from "../support/http_servers.ts";
import { startTap } from "../support/tap.ts";
import { freePort } from "../support/process.ts";
import { testTls } from "../support/tls.ts";
import {
  allOrigins,
  echoes,
  gets,
  shown,
  showsNone,
  startOrigins,
} from "./_origins.ts";

const USER = "bot";
const PASSWORD = "s3cretPw";
const WRONG = "wrongPw";

Deno.test("Through tinyproxy (HTTP CONNECT, no credentials)", async (t) => {
  await using origins = await startOrigins();
  await using proxy = await startTinyproxy();
  await using tap = startTap(proxy.port);
  const url = tap.url("http");

  await t.step(
    "ws:, wss:, http: and https: origins answer through the tunnel",
    async () => {
      const before = tap.connections;
      await allOrigins(origins, url);
      // two feeds and two kept-alive HTTP connections: four tunnels
      equal(tap.connections, before + 4);
      ok(
        new TextDecoder().decode(tap.sent[before]).startsWith(
          `CONNECT 127.0.0.1:${new URL(origins.ws.url).port} HTTP/1.1\r\n`,
        ),
      );
    },
  );

  await t.step(
    "a wss: origin whose certificate is for another host is refused inside the tunnel, as on a direct connection",
    async () => {
      const direct = await connect(`${origins.wrongCert.url}/echo`, {
        caCerts: origins.caCerts,
        proxy: false,
      }).catch((e) => e);
      const tunneled = await connect(`${origins.wrongCert.url}/echo`, {
        caCerts: origins.caCerts,
        proxy: url,
      }).catch((e) => e);
      for (const err of [direct, tunneled]) {
        ok(err instanceof NetworkError, String(err));
        deepStrictEqual(
          [err.stage, err.peer, err.host, err.port],
          [
            "tls",
            "origin",
            "127.0.0.1",
            Number(new URL(origins.wrongCert.url).port),
          ],
        );
      }
      equal(tunneled.message, direct.message);
      // and so is an origin the test CA is not trusted for
      const untrusted = await connect(`${origins.wss.url}/echo`, { proxy: url })
        .catch((e) => e);
      ok(untrusted instanceof NetworkError && untrusted.stage === "tls");
    },
  );

  await t.step(
    "a closed target port is a ProxyError with tinyproxy's status",
    async () => {
      const closed = freePort();
      const err = await connect(`ws://127.0.0.1:${closed}/`, { proxy: url })
        .catch((e) => e);
      ok(err instanceof ProxyError, String(err));
      deepStrictEqual(
        [err.failure, err.protocol, err.status, err.proxy],
        ["refused", "http", 500, `127.0.0.1:${tap.port}`],
      );
    },
  );

  await t.step(
    "an https:// proxy (TLS to the proxy) carries ws: and http: origins, and is refused before any I/O for TLS origins",
    async () => {
      const tls = await testTls();
      await using front = startTap(proxy.port, {
        tls: { cert: tls.cert, key: tls.key },
      });
      const https = front.url("https");
      const { caCerts } = origins;
      await echoes(origins.ws.url, { proxy: https, caCerts });
      await gets(origins.http, { proxy: https, caCerts });
      equal(front.connections, 2);
      // the proxy's certificate is verified (here: the test CA is not trusted)
      const untrusted = await connect(`${origins.ws.url}/echo`, {
        proxy: https,
      })
        .catch((e) => e);
      ok(untrusted instanceof NetworkError, String(untrusted));
      deepStrictEqual(
        [untrusted.stage, untrusted.peer, untrusted.port],
        ["tls", "proxy", front.port],
      );
      ok(untrusted.message.includes(`proxy 127.0.0.1:${front.port}`));
      const before = front.connections;
      for (
        const attempt of [
          connect(`${origins.wss.url}/echo`, { proxy: https, caCerts }),
          new HttpConnection(origins.https, { proxy: https, caCerts }).get("/"),
        ]
      ) {
        await rejects(
          attempt,
          (e) =>
            e instanceof TypeError &&
            /TLS inside TLS is not available/.test(e.message),
        );
      }
      equal(front.connections, before, "the proxy was not contacted");
    },
  );

  await t.step("a reconnecting feed reconnects through the proxy", async () => {
    const before = tap.connections;
    const feed = reconnecting(`${origins.ws.url}/close?code=1011&send=tick`, {
      connect: { proxy: url },
      backoff: { initial: 1, max: 1 },
    });
    try {
      const seen = [];
      for (let i = 0; i < 3; i++) {
        const m = await feed.recv();
        seen.push(`${feed.generation}:${m?.text()}`);
      }
      deepStrictEqual(seen, ["1:tick", "2:tick", "3:tick"]);
      ok(tap.connections >= before + 3, "each connection is a new tunnel");
    } finally {
      await feed.close();
    }
  });

  await t.step(
    "a ClientPool keeps its tunnels alive and retries a stale one on a fresh tunnel",
    async () => {
      // the origin answers keep-alive, and closes its first socket after
      // its first response (the keep-alive race)
      const origin = startRawServer(async (c) => {
        for (let n = 0;; n++) {
          const req = await c.readRequest();
          if (req === null) return;
          await c.write(
            `HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nc${c.index}`,
          );
          if (c.index === 0 && n === 0) return; // closed by the server
        }
      });
      try {
        const before = tap.connections;
        await using pool = new ClientPool(origin.origin, {
          proxy: url,
          connections: 1,
        });
        equal((await pool.get("/a")).text(), "c0");
        // let the close travel back through the proxy
        await new Promise((r) => setTimeout(r, 100));
        equal((await pool.get("/b")).text(), "c1", "retried on a fresh tunnel");
        equal((await pool.get("/c")).text(), "c1", "kept alive");
        equal((await pool.get("/d")).text(), "c1", "kept alive");
        equal(origin.accepted, 2);
        equal(tap.connections, before + 2);
      } finally {
        await origin.close();
      }
    },
  );
});

Deno.test("Through squid with Basic auth (HTTP CONNECT, 407 for missing or wrong credentials)", async (t) => {
  await using origins = await startOrigins();
  await using proxy = await startSquid({
    credentials: { username: USER, password: PASSWORD },
  });
  const good = `http://${USER}:${PASSWORD}@${proxy.host}`;

  await t.step(
    "ws:, wss:, http: and https: origins answer with the right credentials",
    async () => {
      await allOrigins(origins, good);
    },
  );

  await t.step(
    "missing or wrong credentials are a ProxyError with 407 that never shows them",
    async () => {
      for (
        const proxyUrl of [
          `http://${proxy.host}`,
          `http://${USER}:${WRONG}@${proxy.host}`,
        ]
      ) {
        const ws = await connect(`${origins.wss.url}/echo`, {
          proxy: proxyUrl,
          caCerts: origins.caCerts,
        }).catch((e) => e);
        using conn = new HttpConnection(origins.http, { proxy: proxyUrl });
        const http = await conn.get("/hello").catch((e) => e);
        for (const err of [ws, http]) {
          ok(err instanceof ProxyError, String(err));
          deepStrictEqual(
            [err.failure, err.status, err.protocol, err.proxy],
            ["auth", 407, "http", proxy.host],
          );
          showsNone(shown(err), [WRONG, PASSWORD, btoa(`${USER}:${WRONG}`)]);
        }
      }
    },
  );

  await t.step(
    "a proxy given as a URL object works as its string",
    async () => {
      using conn = new HttpConnection(origins.http, { proxy: new URL(good) });
      equal((await conn.get("/hello")).text(), "hello world");
    },
  );
});
