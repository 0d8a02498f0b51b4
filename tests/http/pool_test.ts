import assert from "node:assert/strict";
import { ClientPool, TimeoutError } from "../../mod.ts";
import {
  delay,
  type RawConn,
  startDenoServer,
  startRawServer,
} from "../support/http_servers.ts";

async function keepAlive(c: RawConn, body = "ok", waitMs = 0) {
  for (let r = await c.readRequest(); r !== null; r = await c.readRequest()) {
    if (waitMs) await delay(waitMs);
    await c.write(
      `HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
    );
  }
}

Deno.test("a pool opens connections lazily and reuses the warm one", async () => {
  const server = startRawServer((c) => keepAlive(c));
  const pool = new ClientPool(server.origin, { connections: 4 });
  try {
    assert.equal(pool.size, 0);
    for (let i = 0; i < 10; i++) {
      assert.equal((await pool.get("/")).text(), "ok");
    }
    assert.equal(pool.size, 1);
    assert.equal(server.accepted, 1);
  } finally {
    await pool.close();
    await server.close();
  }
});

Deno.test("many requests in flight share at most the configured number of sockets", async () => {
  const server = startRawServer((c) => keepAlive(c, "pong", 2));
  const pool = new ClientPool(server.origin, { connections: 4 });
  try {
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => pool.get(`/${i}`)),
    );
    assert.ok(results.every((r) => r.text() === "pong" && r.owned));
    assert.equal(pool.size, 4);
    assert.equal(server.accepted, 4);
    assert.equal(server.requests.length, 100);
  } finally {
    await pool.close();
    await server.close();
  }
});

Deno.test("when all connections are lent, waiters are served first come, first served", async () => {
  const server = startRawServer((c) => keepAlive(c));
  const pool = new ClientPool(server.origin, { connections: 2 });
  try {
    const a = await pool.acquire();
    const b = await pool.acquire();
    assert.equal(pool.busy, 2);
    const order: string[] = [];
    const waiters = ["w1", "w2", "w3"].map((name) =>
      pool.acquire().then((lease) => {
        order.push(name);
        return lease;
      })
    );
    await delay(10);
    assert.equal(pool.waiting, 3);
    assert.deepEqual(order, []);
    const bConn = b.connection;
    b.release();
    const w1 = await waiters[0];
    assert.deepEqual(order, ["w1"]);
    assert.equal(
      w1.connection,
      bConn,
      "the released connection went to the first waiter",
    );
    a.release();
    const w2 = await waiters[1];
    w1.release();
    const w3 = await waiters[2];
    assert.deepEqual(order, ["w1", "w2", "w3"]);
    assert.equal(pool.waiting, 0);
    assert.equal((await w3.get("/")).text(), "ok");
    w2.release();
    w3.release();
    assert.equal(pool.size, 2);
    assert.equal(pool.idle, 2);
  } finally {
    await pool.close();
    await server.close();
  }
});

Deno.test("a waiter whose signal aborts leaves the queue without taking a connection", async () => {
  const server = startRawServer((c) => keepAlive(c));
  const pool = new ClientPool(server.origin, { connections: 1 });
  try {
    const held = await pool.acquire();
    const ac = new AbortController();
    const gaveUp = pool.acquire({ signal: ac.signal });
    const next = pool.acquire();
    ac.abort(new TimeoutError("waited too long"));
    await assert.rejects(gaveUp, TimeoutError);
    assert.equal(pool.waiting, 1);
    held.release();
    const lease = await next;
    assert.equal((await lease.get("/")).text(), "ok");
    lease.release();
  } finally {
    await pool.close();
    await server.close();
  }
});

Deno.test("using releases a lease at the end of its block", async () => {
  const server = startRawServer((c) => keepAlive(c));
  const pool = new ClientPool(server.origin, { connections: 1 });
  try {
    {
      using lease = await pool.acquire();
      assert.equal((await lease.get("/")).text(), "ok");
      assert.equal(pool.busy, 1);
    }
    assert.equal(pool.busy, 0);
    assert.equal(pool.idle, 1);
    const lease = await pool.acquire();
    lease.release();
    lease.release(); // idempotent
    assert.throws(() => lease.get("/"), /released/);
  } finally {
    await pool.close();
    await server.close();
  }
});

Deno.test("a connection closed by its user is replaced by a fresh one", async () => {
  const server = startRawServer((c) => keepAlive(c));
  const pool = new ClientPool(server.origin, { connections: 1 });
  try {
    const lease = await pool.acquire();
    await lease.get("/");
    const broken = lease.connection;
    broken.close();
    lease.release();
    assert.equal(pool.size, 0);
    const fresh = await pool.acquire();
    assert.notEqual(fresh.connection, broken);
    assert.equal((await fresh.get("/")).text(), "ok");
    fresh.release();
    assert.equal(server.accepted, 2);
  } finally {
    await pool.close();
    await server.close();
  }
});

Deno.test("releasing a lease mid-request aborts that request and replaces the connection", async () => {
  const server = startRawServer((c) => keepAlive(c, "slow", 200));
  const pool = new ClientPool(server.origin, { connections: 1 });
  try {
    const lease = await pool.acquire();
    const p = lease.get("/");
    await delay(20);
    lease.release();
    await assert.rejects(
      p,
      (err: unknown) => (err as Error).name === "AbortError",
    );
    assert.equal(pool.size, 0);
    assert.equal((await pool.get("/")).text(), "slow");
  } finally {
    await pool.close();
    await server.close();
  }
});

Deno.test("pool.request returns an owned body that outlives later requests", async () => {
  const server = await startDenoServer();
  const pool = new ClientPool(server.origin, { connections: 1 });
  try {
    const first = await pool.get("/hello");
    await pool.get("/bytes", { query: { n: 100 } });
    assert.equal(first.owned, true);
    assert.equal(first.text(), "hello world");
    const echoed = await pool.post("/echo", { json: { a: 1 } });
    assert.deepEqual(
      JSON.parse(echoed.json<{ body: string }>().body),
      { a: 1 },
    );
  } finally {
    await pool.close();
    await server.close();
  }
});

Deno.test("close drains lent connections and serves waiters already queued", async () => {
  const server = startRawServer((c) => keepAlive(c));
  const pool = new ClientPool(server.origin, { connections: 1 });
  const lease = await pool.acquire();
  await lease.get("/");
  const queued = pool.acquire();
  let closed = false;
  const closing = pool.close().then(() => closed = true);
  await assert.rejects(pool.acquire(), /closing/);
  await delay(10);
  assert.equal(closed, false, "closed while a connection was still lent");
  lease.release();
  const second = await queued;
  assert.equal((await second.get("/")).text(), "ok");
  assert.equal(closed, false);
  second.release();
  await closing;
  assert.equal(closed, true);
  assert.equal(pool.size, 0);
  await server.close();
});

Deno.test("pooled sockets idle past idleTimeout are closed", async () => {
  const server = startRawServer((c) => keepAlive(c));
  const pool = new ClientPool(server.origin, {
    connections: 2,
    idleTimeout: 100,
  });
  try {
    const a = await pool.acquire();
    const b = await pool.acquire();
    await Promise.all([a.get("/"), b.get("/")]);
    const conns = [a.connection, b.connection];
    a.release();
    b.release();
    assert.ok(conns.every((c) => c.connected));
    await delay(600);
    assert.ok(conns.every((c) => !c.connected), "idle sockets still open");
    assert.equal((await pool.get("/")).text(), "ok");
    assert.equal(server.accepted, 3);
  } finally {
    await pool.close();
    await server.close();
  }
});

Deno.test("bad pool options are refused at the call", () => {
  assert.throws(
    () => new ClientPool("http://x", { connections: 0 }),
    RangeError,
  );
  assert.throws(
    () => new ClientPool("http://x", { connections: 1.5 }),
    RangeError,
  );
  assert.throws(() => new ClientPool("http://x", { timeout: -1 }), RangeError);
  assert.throws(() => new ClientPool("ws://x"), TypeError);
});
