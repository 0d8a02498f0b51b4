import assert from "node:assert/strict";
import { ClientPool, HttpConnection } from "../../mod.ts";
import {
  nginxAvailable,
  type NginxServer,
  startNginx,
} from "../support/http_nginx.ts";
import { delay, expectedBytes } from "../support/http_servers.ts";

// nginx is a Debian package that `.ci/run` installs; without it these tests
// fail (never skip) with a message saying what to install.
if (!nginxAvailable()) {
  console.error("nginx not found: apt-get install -y nginx (see .ci/run)");
}

async function withNginx(fn: (ng: NginxServer) => Promise<void>) {
  const ng = await startNginx();
  try {
    await fn(ng);
  } finally {
    await ng.close();
  }
}

for (const scheme of ["http", "https"] as const) {
  const origin = (ng: NginxServer) => scheme === "http" ? ng.http : ng.https;

  Deno.test({
    name:
      `nginx over ${scheme} serves sequential requests on one keep-alive socket`,
    fn: () =>
      withNginx(async (ng) => {
        using conn = new HttpConnection(origin(ng), { caCerts: ng.caCerts });
        for (let i = 0; i < 100; i++) {
          const res = await conn.get("/hello");
          assert.equal(res.status, 200);
          assert.equal(res.text(), "hello world");
          assert.match(res.headers.get("server")!, /^nginx/);
        }
        assert.equal(conn.dials, 1);
      }),
  });

  Deno.test({
    name:
      `nginx over ${scheme} sends a chunked body with trailers that is read with them`,
    fn: () =>
      withNginx(async (ng) => {
        using conn = new HttpConnection(origin(ng), { caCerts: ng.caCerts });
        const res = await conn.get("/chunked/small.txt");
        assert.equal(res.headers.get("transfer-encoding"), "chunked");
        assert.equal(res.headers.has("content-length"), false);
        assert.equal(res.text(), "small file\n");
        assert.equal(res.trailers?.get("x-trailer-a"), "one");
        assert.equal(res.trailers?.get("X-Trailer-B"), "two");
        const big = await conn.get("/chunked/big.bin");
        assert.equal(big.headers.get("transfer-encoding"), "chunked");
        assert.deepEqual(big.body, expectedBytes(4 << 20));
        assert.equal(big.trailers?.get("x-trailer-a"), "one");
        assert.equal(conn.dials, 1);
      }),
  });

  Deno.test({
    name: `nginx over ${scheme} sends a 4 MiB file that is read whole`,
    fn: () =>
      withNginx(async (ng) => {
        using conn = new HttpConnection(origin(ng), { caCerts: ng.caCerts });
        for (let i = 0; i < 3; i++) {
          const res = await conn.get("/static/big.bin");
          assert.equal(res.headers.get("content-length"), String(4 << 20));
          assert.deepEqual(res.body, expectedBytes(4 << 20));
        }
        assert.equal(conn.dials, 1);
      }),
  });

  Deno.test({
    name:
      `nginx over ${scheme} answers HEAD, 204 and 304 without a body and keeps the socket`,
    fn: () =>
      withNginx(async (ng) => {
        using conn = new HttpConnection(origin(ng), { caCerts: ng.caCerts });
        const head = await conn.head("/static/big.bin");
        assert.equal(head.status, 200);
        assert.equal(head.headers.get("content-length"), String(4 << 20));
        assert.equal(head.body.length, 0);
        const etag = head.headers.get("etag")!;
        assert.ok(etag);
        const nc = await conn.get("/204");
        assert.equal(nc.status, 204);
        assert.equal(nc.body.length, 0);
        const nm = await conn.get("/static/big.bin", {
          headers: { "if-none-match": etag },
        });
        assert.equal(nm.status, 304);
        assert.equal(nm.body.length, 0);
        assert.equal((await conn.get("/hello")).text(), "hello world");
        assert.equal(conn.dials, 1);
      }),
  });

  Deno.test({
    name:
      `nginx over ${scheme} closes after Connection: close and the next request dials again`,
    fn: () =>
      withNginx(async (ng) => {
        using conn = new HttpConnection(origin(ng), { caCerts: ng.caCerts });
        const res = await conn.get("/close");
        assert.equal(res.headers.get("connection"), "close");
        assert.equal(res.text(), "bye");
        assert.equal(conn.connected, false);
        assert.equal((await conn.get("/hello")).text(), "hello world");
        assert.equal(conn.dials, 2);
      }),
  });

  Deno.test({
    name: `nginx over ${scheme} receives methods and bodies`,
    fn: () =>
      withNginx(async (ng) => {
        using conn = new HttpConnection(origin(ng), { caCerts: ng.caCerts });
        assert.equal(
          (await conn.post("/method", { body: "abc" })).text(),
          "POST 3",
        );
        assert.equal(
          (await conn.put("/method", { json: { a: 1 } })).text(),
          "PUT 7",
        );
        assert.equal((await conn.delete("/method")).text(), "DELETE ");
        assert.equal(
          (await conn.post("/method", { body: new Uint8Array(200_000) }))
            .text(),
          "POST 200000",
        );
        assert.equal(conn.dials, 1);
      }),
  });

  Deno.test({
    name:
      `a pool against nginx over ${scheme} runs many requests over few sockets`,
    fn: () =>
      withNginx(async (ng) => {
        await using pool = new ClientPool(origin(ng), {
          caCerts: ng.caCerts,
          connections: 3,
        });
        const all = await Promise.all(
          Array.from({ length: 60 }, (_, i) =>
            pool.get(i % 2 ? "/hello" : "/chunked/small.txt")),
        );
        assert.ok(all.every((r, i) =>
          r.text() === (i % 2 ? "hello world" : "small file\n")
        ));
        assert.equal(pool.size, 3);
      }),
  });
}

Deno.test({
  name:
    "nginx closing idle keep-alive sockets is met by a retry on a fresh socket",
  fn: () =>
    withNginx(async (ng) => {
      // The client's own idle close is off, so the server closes first (1 s).
      using conn = new HttpConnection(ng.shortKeepAlive, { idleTimeout: 0 });
      assert.equal((await conn.get("/")).text(), "short");
      await delay(1400);
      assert.equal((await conn.get("/")).text(), "short");
      assert.equal(conn.dials, 2);
      // A pool whose idleTimeout is below the server's lets go first: no race.
      await using pool = new ClientPool(ng.shortKeepAlive, {
        idleTimeout: 100,
        connections: 1,
      });
      assert.equal((await pool.get("/")).text(), "short");
      await delay(500); // past the client's 100 ms, before the server's 1 s
      const lease = await pool.acquire();
      assert.equal(lease.connection.connected, false);
      assert.equal((await lease.get("/")).text(), "short");
      lease.release();
    }),
});

Deno.test({
  name:
    "a pool against nginx makes waiters queue when exhausted and times out a wait",
  fn: () =>
    withNginx(async (ng) => {
      await using pool = new ClientPool(ng.http, { connections: 1 });
      const lease = await pool.acquire();
      await assert.rejects(
        pool.acquire({ signal: AbortSignal.timeout(50) }),
        (err: unknown) => {
          return (err as Error).name === "TimeoutError";
        },
      );
      const waiting = pool.get("/hello");
      await delay(10);
      assert.equal(pool.waiting, 1);
      assert.equal((await lease.get("/hello")).text(), "hello world");
      lease.release();
      assert.equal((await waiting).text(), "hello world");
    }),
});
