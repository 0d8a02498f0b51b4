/**
 * HTTP socket failures are NetworkErrors naming the host and port, with the
 * runtime's error as `cause` (issue 9, item 5): at dial (refused, TLS) and
 * while a request is in flight (reset, broken pipe), without breaking the
 * stale keep-alive retry.
 */
import assert from "node:assert/strict";
import {
  HttpConnection,
  HttpProtocolError,
  NetworkError,
  type NetworkStage,
} from "../../mod.ts";
import { startDenoServer, startRawServer } from "../support/http_servers.ts";
import { deadPort } from "../support/ports.ts";
import { startResetServer } from "../support/reset_server.ts";

function networkError(
  stage: NetworkStage,
  host: string,
  port: number,
  cause?: abstract new (...args: never[]) => Error,
) {
  return (err: unknown) => {
    assert.ok(
      err instanceof NetworkError,
      `expected a NetworkError, got ${err}`,
    );
    assert.equal(err.stage, stage);
    assert.equal(err.host, host);
    assert.equal(err.port, port);
    if (cause) {
      assert.ok(err.cause instanceof cause, `cause: ${err.cause}`);
    }
    const where = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
    assert.ok(err.message.includes(where), err.message);
    return true;
  };
}

Deno.test("a refused connection is a NetworkError of stage connect naming the host and port", async () => {
  const port = deadPort();
  using conn = new HttpConnection(`http://127.0.0.1:${port}`);
  await assert.rejects(
    conn.get("/"),
    networkError("connect", "127.0.0.1", port, Deno.errors.ConnectionRefused),
  );
  assert.equal(conn.connected, false);
});

Deno.test("an https origin with a certificate no root vouches for is a NetworkError of stage tls", async () => {
  const server = await startDenoServer({ tls: true });
  try {
    const port = Number(new URL(server.origin).port);
    using conn = new HttpConnection(server.origin); // the test CA not given
    await assert.rejects(
      conn.get("/hello"),
      networkError("tls", "localhost", port),
    );
    using trusting = new HttpConnection(server.origin, {
      caCerts: server.caCerts,
    });
    assert.equal((await trusting.get("/hello")).text(), "hello world");
  } finally {
    await server.close();
  }
});

Deno.test("a connection reset while the response is awaited is a NetworkError of stage io", async () => {
  await using server = await startResetServer({ answers: 0 });
  using conn = new HttpConnection(server.origin);
  await assert.rejects(
    conn.get("/"),
    networkError("io", "127.0.0.1", server.port, Deno.errors.ConnectionReset),
  );
  assert.equal(conn.connected, false);
});

Deno.test("a request body written into a reset socket is a NetworkError of stage io", async () => {
  // reset at the first byte: the 32 MiB body is still being written
  await using server = await startResetServer({ answers: 0 });
  using conn = new HttpConnection(server.origin);
  const err = await conn.post("/upload", { body: new Uint8Array(32 << 20) })
    .then(() => null, (e) => e);
  networkError("io", "127.0.0.1", server.port)(err);
  assert.ok(
    err.cause instanceof Deno.errors.BrokenPipe ||
      err.cause instanceof Deno.errors.ConnectionReset,
    `cause: ${err.cause}`,
  );
});

Deno.test("a reset reused socket still makes a GET retry on a fresh socket, and a POST gets a NetworkError", async () => {
  // each socket answers its first request, then resets on the next one
  await using server = await startResetServer({ answers: 1 });
  using conn = new HttpConnection(server.origin, { idleTimeout: 0 });
  assert.equal((await conn.get("/a")).text(), "0");
  assert.equal((await conn.get("/b")).text(), "1", "retried on socket 1");
  assert.equal(conn.dials, 2);
  await assert.rejects(
    conn.post("/order", { json: { qty: 1 } }),
    networkError("io", "127.0.0.1", server.port, Deno.errors.ConnectionReset),
  );
  assert.equal(conn.dials, 2, "a POST is never resent");
});

Deno.test("an end of stream in the middle of a response stays an HttpProtocolError", async () => {
  const server = startRawServer(async (c) => {
    if (!await c.readRequest()) return;
    await c.write("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc");
  });
  try {
    using conn = new HttpConnection(server.origin);
    await assert.rejects(conn.get("/"), (err: unknown) => {
      assert.ok(err instanceof HttpProtocolError, `got ${err}`);
      assert.match((err as Error).message, /Expected 7 more body bytes/);
      return true;
    });
  } finally {
    await server.close();
  }
});

Deno.test("a custom dial's runtime errors become NetworkErrors; its own errors reach the caller unchanged", async () => {
  const failing = (err: unknown) => () => Promise.reject(err);
  using refused = new HttpConnection("http://api.example.test", {
    dial: failing(new Deno.errors.ConnectionRefused("refused")),
  });
  await assert.rejects(
    refused.get("/"),
    networkError(
      "connect",
      "api.example.test",
      80,
      Deno.errors.ConnectionRefused,
    ),
  );
  using tls = new HttpConnection("https://api.example.test:8443", {
    dial: failing(new Deno.errors.InvalidData("invalid peer certificate")),
  });
  await assert.rejects(
    tls.get("/"),
    networkError("tls", "api.example.test", 8443, Deno.errors.InvalidData),
  );
  const own = new NetworkError("dns", "elsewhere.test", 1);
  using passes = new HttpConnection("http://api.example.test", {
    dial: failing(own),
  });
  await assert.rejects(passes.get("/"), (err) => err === own);
  const bug = new TypeError("Expected a socket path, got undefined");
  using buggy = new HttpConnection("http://api.example.test", {
    dial: () => {
      throw bug;
    },
  });
  await assert.rejects(buggy.get("/"), (err) => err === bug);
});

Deno.test("a custom transport that fails mid-request gives a NetworkError of stage io with its error as cause", async () => {
  const broke = new Error("tunnel collapsed");
  using conn = new HttpConnection("http://[::1]:9000", {
    dial: () => ({
      write: (p: Uint8Array) => Promise.resolve(p.length),
      read: () => Promise.reject(broke),
      close() {},
    }),
  });
  const err = await conn.get("/").then(() => null, (e) => e);
  networkError("io", "::1", 9000)(err);
  assert.equal(err.cause, broke);
  assert.match(err.message, /\[::1\]:9000, got Error: tunnel collapsed/);
});
