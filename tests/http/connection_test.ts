import assert from "node:assert/strict";
import {
  ClientPool,
  HttpConnection,
  HttpLimitError,
  HttpProtocolError,
  TimeoutError,
} from "../../mod.ts";
import {
  delay,
  expectedBytes,
  type RawConn,
  startDenoServer,
  startRawServer,
} from "../support/http_servers.ts";
import { testTls } from "../support/tls.ts";

const dec = new TextDecoder();

/** What the `/echo` route answers. */
interface Echo {
  method: string;
  path: string;
  search: string;
  headers: Record<string, string>;
  body: string;
}

for (const tls of [false, true]) {
  const over = tls ? "https" : "http";

  Deno.test(`sequential requests to Deno.serve over ${over} reuse one keep-alive socket`, async () => {
    const server = await startDenoServer({ tls });
    try {
      using conn = new HttpConnection(server.origin, {
        caCerts: server.caCerts,
      });
      assert.equal(conn.connected, false, "dialed before the first request");
      for (let i = 0; i < 50; i++) {
        const res = await conn.get("/hello");
        assert.equal(res.status, 200);
        assert.equal(res.text(), "hello world");
        assert.equal(res.headers.get("Content-Length"), "11");
      }
      assert.equal(conn.dials, 1);
      assert.equal(conn.requests, 50);
      assert.equal(server.requests, 50);
    } finally {
      await server.close();
    }
  });

  Deno.test(`methods, query, headers and bodies arrive at Deno.serve over ${over}`, async () => {
    const server = await startDenoServer({ tls });
    try {
      using conn = new HttpConnection(server.origin, {
        caCerts: server.caCerts,
        headers: { "user-agent": "nexus-test/1" },
      });
      const post = await conn.post("/echo", {
        json: { qty: 2, sym: "BTC" },
        query: { dry: "1" },
        headers: { "X-Id": "7" },
      });
      const echo = post.json<Echo>();
      assert.equal(echo.method, "POST");
      assert.equal(echo.search, "?dry=1");
      assert.equal(echo.headers["x-id"], "7");
      assert.equal(echo.headers["user-agent"], "nexus-test/1");
      assert.equal(echo.headers["content-type"], "application/json");
      assert.deepEqual(JSON.parse(echo.body), { qty: 2, sym: "BTC" });
      const put = (await conn.put("/echo", { body: "héllo" })).json<Echo>();
      assert.equal(put.method, "PUT");
      assert.equal(put.body, "héllo");
      assert.equal(put.headers["content-length"], "6");
      const bytes = new Uint8Array(100_000).fill(65);
      const big = (await conn.post("/echo", { body: bytes })).json<Echo>();
      assert.equal(big.body.length, 100_000);
      assert.equal(
        (await conn.delete("/echo")).json<Echo>().method,
        "DELETE",
      );
      assert.equal(conn.dials, 1);
    } finally {
      await server.close();
    }
  });

  Deno.test(`a chunked body of many tiny chunks from Deno.serve over ${over} is read whole`, async () => {
    const server = await startDenoServer({ tls });
    try {
      using conn = new HttpConnection(server.origin, {
        caCerts: server.caCerts,
      });
      const res = await conn.get("/stream", {
        query: { chunks: 3000, size: 1 },
      });
      assert.equal(res.headers.get("transfer-encoding"), "chunked");
      assert.deepEqual(res.body, expectedBytes(3000));
      const res2 = await conn.get("/stream", {
        query: { chunks: 40, size: 50_000 },
      });
      assert.deepEqual(res2.body, expectedBytes(2_000_000));
      assert.equal(conn.dials, 1);
    } finally {
      await server.close();
    }
  });

  Deno.test(`a large Content-Length body from Deno.serve over ${over} is read whole`, async () => {
    const server = await startDenoServer({ tls });
    try {
      using conn = new HttpConnection(server.origin, {
        caCerts: server.caCerts,
      });
      const res = await conn.get("/bytes", { query: { n: 5_000_000 } });
      assert.equal(res.body.length, 5_000_000);
      assert.deepEqual(res.body, expectedBytes(5_000_000));
      const small = await conn.get("/hello");
      assert.equal(small.text(), "hello world");
      assert.equal(conn.dials, 1);
    } finally {
      await server.close();
    }
  });

  Deno.test(`HEAD, 204 and 304 responses from Deno.serve over ${over} have no body and keep the socket`, async () => {
    const server = await startDenoServer({ tls });
    try {
      using conn = new HttpConnection(server.origin, {
        caCerts: server.caCerts,
      });
      const head = await conn.head("/bytes", { query: { n: 1000 } });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get("content-length"), "1000");
      assert.equal(head.body.length, 0);
      const noContent = await conn.get("/status", { query: { code: 204 } });
      assert.equal(noContent.status, 204);
      assert.equal(noContent.body.length, 0);
      const notModified = await conn.get("/status", { query: { code: 304 } });
      assert.equal(notModified.status, 304);
      assert.equal(notModified.headers.get("etag"), '"v1"');
      assert.equal((await conn.get("/hello")).text(), "hello world");
      assert.equal(conn.dials, 1);
    } finally {
      await server.close();
    }
  });

  Deno.test(`Connection: close from Deno.serve over ${over} makes the next request dial again`, async () => {
    const server = await startDenoServer({ tls });
    try {
      using conn = new HttpConnection(server.origin, {
        caCerts: server.caCerts,
      });
      const bye = await conn.get("/close");
      assert.equal(bye.text(), "bye");
      assert.equal(conn.connected, false);
      assert.equal((await conn.get("/hello")).text(), "hello world");
      assert.equal(conn.dials, 2);
      const asked = await conn.get("/hello", { close: true });
      assert.equal(asked.text(), "hello world");
      assert.equal(conn.connected, false);
    } finally {
      await server.close();
    }
  });

  Deno.test(`a slow response from Deno.serve over ${over} times out and the connection recovers`, async () => {
    const server = await startDenoServer({ tls });
    try {
      using conn = new HttpConnection(server.origin, {
        caCerts: server.caCerts,
        timeout: 150,
      });
      await conn.get("/hello");
      const t0 = performance.now();
      await assert.rejects(
        conn.get("/slow", { query: { ms: 600 } }),
        (err: unknown) => {
          assert.ok(err instanceof TimeoutError);
          assert.match((err as Error).message, /within 150 ms/);
          return true;
        },
      );
      const took = performance.now() - t0;
      assert.ok(took >= 140 && took < 1500, `timed out after ${took} ms`);
      assert.equal(conn.connected, false);
      // A per-request timeout overrides the default.
      assert.equal(
        (await conn.get("/slow", { query: { ms: 250 }, timeout: 2000 })).text(),
        "late",
      );
      assert.equal(conn.dials, 2);
    } finally {
      await server.close();
    }
  });
}

Deno.test("an abort signal cancels a request in flight with the signal's reason", async () => {
  const server = await startDenoServer();
  try {
    using conn = new HttpConnection(server.origin);
    const ac = new AbortController();
    const p = conn.get("/slow", { query: { ms: 400 }, signal: ac.signal });
    setTimeout(() => ac.abort(new Error("user gave up")), 50);
    await assert.rejects(p, /user gave up/);
    assert.equal(conn.busy, false);
    await assert.rejects(
      conn.get("/hello", { signal: AbortSignal.abort(new Error("already")) }),
      /already/,
    );
    assert.equal((await conn.get("/hello")).text(), "hello world");
  } finally {
    await server.close();
  }
});

Deno.test("a borrowed body is refused after the next request while a copy survives", async () => {
  const server = await startDenoServer();
  try {
    using conn = new HttpConnection(server.origin);
    const first = await conn.get("/hello");
    const copy = first.bytes();
    const owned = first.toOwned();
    assert.equal(first.valid, true);
    await conn.get("/bytes", { query: { n: 11 } });
    assert.equal(first.valid, false);
    assert.throws(() => first.body, /a later request has reused the buffer/);
    assert.throws(() => first.text(), TypeError);
    assert.equal(dec.decode(copy), "hello world");
    assert.equal(owned.text(), "hello world");
    assert.equal(owned.owned, true);
  } finally {
    await server.close();
  }
});

Deno.test("a second request while one is in flight is refused with a TypeError", async () => {
  const server = await startDenoServer();
  try {
    using conn = new HttpConnection(server.origin);
    const p = conn.get("/slow", { query: { ms: 50 } });
    await assert.rejects(conn.get("/hello"), /one request at a time/);
    assert.equal((await p).text(), "late");
  } finally {
    await server.close();
  }
});

Deno.test("closing a connection fails its request in flight and refuses later ones", async () => {
  const server = await startDenoServer();
  try {
    const conn = new HttpConnection(server.origin);
    const p = conn.get("/slow", { query: { ms: 300 } });
    await delay(30);
    conn.close();
    await assert.rejects(
      p,
      (err: unknown) => (err as Error).name === "AbortError",
    );
    await assert.rejects(conn.get("/hello"), TypeError);
    conn.close(); // idempotent
  } finally {
    await server.close();
  }
});

Deno.test("bad origins and options are refused at the call", () => {
  assert.throws(() => new HttpConnection("ftp://x"), TypeError);
  assert.throws(() => new HttpConnection("http://x/path"), /without path/);
  assert.throws(() => new HttpConnection("http://u:p@x"), /credentials/);
  assert.throws(
    () => new HttpConnection("http://x", { timeout: -1 }),
    RangeError,
  );
  assert.throws(
    () => new HttpConnection("http://x", { idleTimeout: NaN }),
    RangeError,
  );
  assert.throws(
    () => new HttpConnection("http://x", { maxBodySize: -5 }),
    RangeError,
  );
  assert.throws(
    () => new HttpConnection("http://x", { headers: { "x\r\n": "v" } }),
    TypeError,
  );
});

Deno.test("a request with CR or LF in a header is refused before anything is sent", async () => {
  let accepted = 0;
  const server = startRawServer(async (c) => {
    accepted++;
    await c.readRequest();
  });
  try {
    using conn = new HttpConnection(server.origin);
    await assert.rejects(
      conn.get("/", { headers: { "x-a": "1\r\nX-Injected: 1" } }),
      /Expected no CR, LF, NUL/,
    );
    assert.equal(conn.dials, 0);
    assert.equal(accepted, 0);
  } finally {
    await server.close();
  }
});

// ---- scripted servers ----

async function keepAlive(c: RawConn, answer: (path: string) => string) {
  for (let r = await c.readRequest(); r !== null; r = await c.readRequest()) {
    await c.write(answer(r.path));
  }
}

Deno.test("a GET on a reused socket the server closed is retried once on a fresh socket", async () => {
  // The keep-alive race, made deterministic: each socket answers one request,
  // then reads the next and closes without answering.
  const server = startRawServer(async (c) => {
    const first = await c.readRequest();
    if (!first) return;
    await c.write(`HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\n${c.index}`);
    await c.readRequest();
  });
  try {
    using conn = new HttpConnection(server.origin, { idleTimeout: 0 });
    assert.equal((await conn.get("/a")).text(), "0");
    const res = await conn.get("/b");
    assert.equal(res.text(), "1", "answered by the second socket");
    assert.equal(conn.dials, 2);
    assert.deepEqual(server.requests.map((r) => r.path), ["/a", "/b", "/b"]);
  } finally {
    await server.close();
  }
});

Deno.test("a POST on a reused socket the server closed is not retried", async () => {
  const server = startRawServer(async (c) => {
    if (!await c.readRequest()) return;
    await c.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
    await c.readRequest();
  });
  try {
    using conn = new HttpConnection(server.origin, { idleTimeout: 0 });
    await conn.get("/a");
    await assert.rejects(
      conn.post("/order", { json: { qty: 1 } }),
      (err: unknown) => {
        assert.ok(
          err instanceof HttpProtocolError ||
            err instanceof Deno.errors.ConnectionReset,
          `got ${err}`,
        );
        return true;
      },
    );
    assert.equal(server.requests.filter((r) => r.method === "POST").length, 1);
    // retryStale: false turns the retry off for GETs too.
    using strict = new HttpConnection(server.origin, {
      idleTimeout: 0,
      retryStale: false,
    });
    await strict.get("/a");
    await assert.rejects(strict.get("/b"));
    assert.equal(strict.dials, 1);
  } finally {
    await server.close();
  }
});

Deno.test("a socket idle past idleTimeout is closed by the client before the server does", async () => {
  const server = startRawServer((c) =>
    keepAlive(c, () => "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
  );
  try {
    using conn = new HttpConnection(server.origin, { idleTimeout: 300 });
    await conn.get("/");
    assert.equal(conn.connected, true);
    await delay(50);
    await conn.get("/");
    assert.equal(conn.dials, 1, "a socket used within idleTimeout is kept");
    await delay(800);
    assert.equal(
      conn.connected,
      false,
      "the idle socket was closed by its timer",
    );
    assert.equal((await conn.get("/")).text(), "ok");
    assert.equal(conn.dials, 2);
  } finally {
    await server.close();
  }
});

Deno.test("many one-byte chunks written one by one with trailers are read whole", async () => {
  const server = startRawServer(async (c) => {
    while (await c.readRequest()) {
      await c.write(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n",
      );
      for (let i = 0; i < 500; i++) {
        await c.write(`1;i=${i}\r\n${"abcdefghij"[i % 10]}\r\n`);
      }
      await c.write("0\r\nX-Sum: 500\r\nX-Other: yes\r\n\r\n");
    }
  });
  try {
    using conn = new HttpConnection(server.origin, { bufferCapacity: 1024 });
    for (let round = 0; round < 2; round++) {
      const res = await conn.get("/");
      assert.equal(res.text(), "abcdefghij".repeat(50));
      assert.equal(res.trailers?.get("x-sum"), "500");
      assert.equal(res.trailers?.get("X-Other"), "yes");
    }
    assert.equal(conn.dials, 1);
  } finally {
    await server.close();
  }
});

Deno.test("a response the codec refuses fails with HttpProtocolError and closes the socket", async () => {
  const server = startRawServer(async (c) => {
    const r = await c.readRequest();
    if (r?.path === "/smuggle") {
      await c.write(
        "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      );
      await c.readRequest(); // waits until the client closes
    } else if (r) {
      await c.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
    }
  });
  try {
    using conn = new HttpConnection(server.origin);
    await assert.rejects(conn.get("/smuggle"), (err: unknown) => {
      assert.ok(err instanceof HttpProtocolError);
      assert.match((err as Error).message, /got both/);
      return true;
    });
    assert.equal(conn.connected, false);
    assert.equal((await conn.get("/fine")).text(), "ok");
    assert.equal(conn.dials, 2);
  } finally {
    await server.close();
  }
});

Deno.test("a body over maxBodySize fails with HttpLimitError", async () => {
  const server = startRawServer((c) =>
    keepAlive(
      c,
      () =>
        "HTTP/1.1 200 OK\r\ncontent-length: 2048\r\n\r\n" + "x".repeat(2048),
    )
  );
  try {
    using conn = new HttpConnection(server.origin, { maxBodySize: 1024 });
    await assert.rejects(conn.get("/"), (err: unknown) => {
      assert.ok(err instanceof HttpLimitError);
      assert.equal(err.limit, "maxBodySize");
      return true;
    });
    assert.equal(conn.connected, false);
  } finally {
    await server.close();
  }
});

Deno.test("an HTTP/1.0 body delimited by the end of the stream is read and the socket dropped", async () => {
  const server = startRawServer(async (c) => {
    if (!await c.readRequest()) return;
    await c.write("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n");
    await c.write("until ");
    await c.write("the end");
  });
  try {
    using conn = new HttpConnection(server.origin);
    const res = await conn.get("/");
    assert.equal(res.text(), "until the end");
    assert.equal(conn.connected, false);
  } finally {
    await server.close();
  }
});

Deno.test("bytes the server sends between responses make the next request use a fresh socket", async () => {
  const server = startRawServer(async (c) => {
    if (!await c.readRequest()) return;
    await c.write(
      "HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\naHTTP/1.1 408 Request Timeout\r\n\r\n",
    );
    await c.readRequest();
  });
  try {
    using conn = new HttpConnection(server.origin, { idleTimeout: 0 });
    assert.equal((await conn.get("/")).text(), "a");
    assert.equal((await conn.get("/")).text(), "a");
    assert.equal(conn.dials, 2);
  } finally {
    await server.close();
  }
});

Deno.test("a server that never answers hits the timeout", async () => {
  const server = startRawServer(async (c) => {
    await c.readRequest();
    await c.readRequest();
  });
  try {
    using conn = new HttpConnection(server.origin, { timeout: 100 });
    const t0 = performance.now();
    await assert.rejects(conn.get("/"), TimeoutError);
    assert.ok(performance.now() - t0 < 1000);
    assert.equal(conn.connected, false);
  } finally {
    await server.close();
  }
});

Deno.test("an interim 100 Continue before the final response is skipped", async () => {
  const server = startRawServer((c) =>
    keepAlive(
      c,
      () =>
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\ncontent-length: 4\r\n\r\ndone",
    )
  );
  try {
    using conn = new HttpConnection(server.origin);
    const res = await conn.post("/", { body: "x" });
    assert.equal(res.status, 202);
    assert.equal(res.reason, "Accepted");
    assert.equal(res.text(), "done");
  } finally {
    await server.close();
  }
});

Deno.test("a custom dial runs requests over any Transport, byte for byte", async () => {
  const written: string[] = [];
  let pending: Uint8Array | null = null;
  let dials = 0;
  const transport = {
    write(p: Uint8Array) {
      written.push(dec.decode(p));
      pending = new TextEncoder().encode(
        "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\npong",
      );
      return Promise.resolve(p.length);
    },
    read(p: Uint8Array) {
      const out = pending!;
      pending = null;
      p.set(out);
      return Promise.resolve(out.length);
    },
    close() {},
  };
  using conn = new HttpConnection("http://example.test", {
    dial: () => {
      dials++;
      return transport;
    },
  });
  assert.equal((await conn.get("/x", { query: { a: 1 } })).text(), "pong");
  assert.equal((await conn.get("/y")).text(), "pong");
  assert.deepEqual(written, [
    "GET /x?a=1 HTTP/1.1\r\nhost: example.test\r\naccept-encoding: gzip, deflate\r\n\r\n",
    "GET /y HTTP/1.1\r\nhost: example.test\r\naccept-encoding: gzip, deflate\r\n\r\n",
  ]);
  assert.equal(dials, 1);
});

Deno.test("a 408 a server sends on an idle reused socket makes a GET retry on a fresh socket, not a POST", async () => {
  // Some servers answer an idle keep-alive socket with 408 before closing
  // it, long after the previous response: no read is pending then, so the
  // 408 is only seen as the "response" to the next request.
  const server = startRawServer(async (c) => {
    if (!await c.readRequest()) return;
    await c.write(`HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\n${c.index}`);
    await delay(10);
    await c.write(
      "HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
    );
    await c.readRequest();
  });
  try {
    using conn = new HttpConnection(server.origin, { idleTimeout: 0 });
    assert.equal((await conn.get("/a")).text(), "0");
    await delay(100);
    const res = await conn.get("/b");
    assert.equal(res.status, 200);
    assert.equal(res.text(), "1", "answered by the second socket");
    assert.equal(conn.dials, 2);
    await delay(100);
    const post = await conn.post("/order", { json: { qty: 1 } });
    assert.equal(post.status, 408, "a POST is never resent");
    assert.equal(conn.dials, 2, "no fresh socket for the POST");
  } finally {
    await server.close();
  }
});

Deno.test("a timeout or idleTimeout beyond setTimeout's range does not make the watchdog fire every millisecond", async () => {
  const realSetTimeout = globalThis.setTimeout;
  const delays: number[] = [];
  globalThis.setTimeout = ((fn: () => void, ms?: number) => {
    delays.push(ms ?? 0);
    return realSetTimeout(fn, ms);
  }) as typeof setTimeout;
  const response = new TextEncoder().encode(
    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
  );
  const transport = {
    write: (p: Uint8Array) => Promise.resolve(p.length),
    read: (p: Uint8Array) =>
      new Promise<number>((resolve) =>
        realSetTimeout(() => {
          p.set(response);
          resolve(response.length);
        }, 30)
      ),
    close() {},
  };
  try {
    // In flight for 30 ms with a deadline 30 years away, no idle timer.
    using busy = new HttpConnection("http://x.test", {
      timeout: 1e12,
      idleTimeout: 0,
      dial: () => transport,
    });
    assert.equal((await busy.get("/")).text(), "ok");
    // Idle for 30 ms with an idle timer 30 years away.
    using idle = new HttpConnection("http://x.test", {
      timeout: 0,
      idleTimeout: 1e12,
      dial: () => transport,
    });
    assert.equal((await idle.get("/")).text(), "ok");
    await new Promise((r) => realSetTimeout(r, 30));
    assert.equal(idle.connected, true);
    assert.ok(
      delays.every((ms) => ms <= 2 ** 31 - 1),
      `setTimeout delays past its 32-bit range fire at once: ${delays}`,
    );
    assert.ok(delays.length <= 4, `setTimeout called ${delays.length} times`);
  } finally {
    globalThis.setTimeout = realSetTimeout;
  }
});

// ---- per-request headers and methods (issue 9, item 7) ----

Deno.test("a request's header replaces a default of the same name at Deno.serve, whatever its case", async () => {
  const server = await startDenoServer();
  try {
    const headers = { "x-api-key": "k1", "user-agent": "bot/1" };
    using conn = new HttpConnection(server.origin, { headers });
    const echo = (await conn.get("/echo", {
      headers: { "X-Api-Key": "override" },
    })).json<Echo>();
    assert.equal(echo.headers["x-api-key"], "override");
    assert.equal(echo.headers["user-agent"], "bot/1");
    const again = (await conn.get("/echo")).json<Echo>();
    assert.equal(again.headers["x-api-key"], "k1", "the default is back");
    await using pool = new ClientPool(server.origin, { headers });
    const pooled = (await pool.post("/echo", {
      headers: [["X-API-KEY", "pooled"]],
      json: {},
    })).json<Echo>();
    assert.equal(pooled.headers["x-api-key"], "pooled");
    assert.equal(pooled.headers["user-agent"], "bot/1");
  } finally {
    await server.close();
  }
});

Deno.test("lower-case methods reach Deno.serve upper-cased", async () => {
  const server = await startDenoServer();
  try {
    using conn = new HttpConnection(server.origin);
    for (const m of ["get", "post", "put", "delete", "patch", "Options"]) {
      const echo = (await conn.request({ method: m, path: "/echo" }))
        .json<Echo>();
      assert.equal(echo.method, m.toUpperCase());
    }
    const head = await conn.request({ method: "head", path: "/hello" });
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0, "read as a HEAD: no body expected");
    assert.equal((await conn.get("/hello")).text(), "hello world");
    assert.equal(conn.dials, 1);
  } finally {
    await server.close();
  }
});

Deno.test("a lower-case get on a reused socket the server closed is retried like a GET", async () => {
  const server = startRawServer(async (c) => {
    if (!await c.readRequest()) return;
    await c.write(`HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\n${c.index}`);
    await c.readRequest();
  });
  try {
    using conn = new HttpConnection(server.origin, { idleTimeout: 0 });
    assert.equal(
      (await conn.request({ method: "get", path: "/a" })).text(),
      "0",
    );
    const res = await conn.request({ method: "get", path: "/b" });
    assert.equal(res.text(), "1", "answered by the second socket");
    assert.deepEqual(
      server.requests.map((r) => `${r.method} ${r.path}`),
      ["GET /a", "GET /b", "GET /b"],
    );
  } finally {
    await server.close();
  }
});

// ---- response reader hardening on real sockets (issue 9, item 8) ----

/** Checks a rejection is an HttpProtocolError (not a timeout) matching `re`. */
function protocolError(re: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof HttpProtocolError, `got ${err}`);
    assert.match((err as Error).message, re);
    return true;
  };
}

Deno.test("an http: origin served by a TLS server fails at once with HttpProtocolError naming TLS", async () => {
  const tls = await testTls();
  const server = Deno.serve({
    port: 0,
    hostname: "127.0.0.1",
    onListen() {},
    cert: tls.cert,
    key: tls.key,
  }, () => new Response("over TLS"));
  try {
    using conn = new HttpConnection(`http://127.0.0.1:${server.addr.port}`);
    await assert.rejects(
      conn.get("/"),
      protocolError(
        /Expected a status line "HTTP\/1.x NNN reason", got 0x15, the first byte of a TLS record \(is the origin https:\?\)/,
      ),
    );
    assert.equal(conn.connected, false);
  } finally {
    await server.shutdown();
  }
});

Deno.test("bytes that cannot begin a status line fail at once, not at the timeout, while the server keeps the socket open", async () => {
  const answers: Record<string, Uint8Array> = {
    // a TLS ServerHello record header, as a TLS server that waits would send
    "/tls": new Uint8Array([0x16, 0x03, 0x03, 0x00, 0x7a, 0x02, 0x00]),
    "/nul": new Uint8Array([0, 0, 0, 0]),
    "/ssh": new TextEncoder().encode("SSH-2.0-OpenSSH_9.2p1 Debian\r\n"),
    "/h2": new Uint8Array([0, 0, 18, 4, 0, 0, 0, 0, 0]), // a SETTINGS frame
  };
  const server = startRawServer(async (c) => {
    const r = await c.readRequest();
    if (!r) return;
    await c.conn.write(answers[r.path]);
    await c.readRequest(); // keeps the socket open until the client closes it
  });
  try {
    using conn = new HttpConnection(server.origin, { timeout: 20_000 });
    for (const path of Object.keys(answers)) {
      await assert.rejects(
        conn.get(path),
        protocolError(/Expected a status line/),
      );
      assert.equal(conn.connected, false);
    }
  } finally {
    await server.close();
  }
});

Deno.test("a head with bare-LF line ends fails at once while the server keeps the socket open", async () => {
  const server = startRawServer(async (c) => {
    if (!await c.readRequest()) return;
    await c.write("HTTP/1.1 200 OK\nContent-Length: 2\n\nok");
    await c.readRequest();
  });
  try {
    using conn = new HttpConnection(server.origin, { timeout: 20_000 });
    await assert.rejects(
      conn.get("/"),
      protocolError(/Expected CRLF, got a bare LF/),
    );
  } finally {
    await server.close();
  }
});

Deno.test("a 100 Continue, an empty line and a 404 from the server are one exchange on a kept socket", async () => {
  const server = startRawServer((c) =>
    keepAlive(
      c,
      (path) =>
        path === "/missing"
          ? "HTTP/1.1 100 Continue\r\n\r\n\r\nHTTP/1.1 404 Not Found\r\ncontent-length: 9\r\n\r\nnot found"
          : "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
    )
  );
  try {
    using conn = new HttpConnection(server.origin);
    const res = await conn.post("/missing", { json: { a: 1 } });
    assert.equal(res.status, 404);
    assert.equal(res.text(), "not found");
    assert.equal((await conn.get("/next")).text(), "ok");
    assert.equal(conn.dials, 1);
  } finally {
    await server.close();
  }
});
