/**
 * The HTTP client's options never pass silently (issue 9, items 4 and 9):
 * an unknown name or a wrong type is a TypeError naming it, at the
 * constructor or as the request's rejection, before anything is sent.
 */
import assert from "node:assert/strict";
import { ClientPool, HttpConnection } from "../../mod.ts";
import { startRawServer } from "../support/http_servers.ts";

function typeError(re: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof TypeError, `expected a TypeError, got ${err}`);
    assert.match((err as Error).message, re);
    return true;
  };
}

Deno.test("maxMessageSize is not an HTTP option: the constructors refuse it with a TypeError", () => {
  // HTTP bodies are bounded by maxBodySize; maxMessageSize was ignored
  assert.throws(
    () => new HttpConnection("http://x.test", { maxMessageSize: 1 } as never),
    typeError(
      /Expected only known HttpConnection options, got unknown option "maxMessageSize"/,
    ),
  );
  assert.throws(
    () => new ClientPool("http://x.test", { maxMessageSize: 1 } as never),
    typeError(/known ClientPool options, got unknown option "maxMessageSize"/),
  );
});

Deno.test("an unknown HttpConnection option is a TypeError with the closest known name", () => {
  assert.throws(
    () => new HttpConnection("http://x.test", { timout: 5 } as never),
    typeError(/unknown option "timout" \(did you mean "timeout"\?\)/),
  );
  assert.throws(
    () => new HttpConnection("http://x.test", { retrystale: true } as never),
    typeError(/did you mean "retryStale"/),
  );
});

Deno.test("an HttpConnection option of the wrong type is a TypeError naming it and what came", () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [
      { bufferCapacity: "65536" },
      /"HttpConnection.bufferCapacity" to be a number, got a string \("65536"\)/,
    ],
    [{ timeout: "5000" }, /"HttpConnection.timeout" to be a number/],
    [
      { idleTimeout: null },
      /"HttpConnection.idleTimeout" to be a number, got null/,
    ],
    [{ retryStale: "no" }, /"HttpConnection.retryStale" to be a boolean/],
    [{ dial: 5 }, /"HttpConnection.dial" to be a function/],
    [
      { headers: "x-a: 1" },
      /"HttpConnection.headers" to be a record or an iterable/,
    ],
    [{ maxBodySize: "1mb" }, /"HttpConnection.maxBodySize" to be a number/],
    [
      { caCerts: "-----BEGIN CERTIFICATE-----" },
      /"HttpConnection.caCerts" to be an array of strings/,
    ],
    [
      { caCerts: ["not a certificate"] },
      /"HttpConnection.caCerts\[0\]" to be a PEM certificate/,
    ],
  ];
  for (const [options, re] of cases) {
    assert.throws(
      () => new HttpConnection("http://x.test", options as never),
      typeError(re),
    );
  }
  assert.throws(
    () => new HttpConnection("http://x.test", { bufferCapacity: 100 }),
    RangeError,
  );
  assert.throws(
    () => new HttpConnection("http://x.test", 5 as never),
    TypeError,
  );
});

Deno.test("a ClientPool option of the wrong type or value is refused, its connection options too", () => {
  assert.throws(
    () => new ClientPool("http://x.test", { connections: "8" } as never),
    typeError(/"ClientPool.connections" to be a number/),
  );
  assert.throws(
    () => new ClientPool("http://x.test", { connections: 0 }),
    RangeError,
  );
  assert.throws(
    () => new ClientPool("http://x.test", { connections: 2.5 }),
    RangeError,
  );
  assert.throws(
    () => new ClientPool("http://x.test", { idleTimeout: "1s" } as never),
    typeError(/"ClientPool.idleTimeout" to be a number/),
  );
  assert.throws(
    () => new ClientPool("http://x.test", { conections: 2 } as never),
    typeError(/did you mean "connections"/),
  );
});

Deno.test("a request option that is unknown or of the wrong type rejects before anything is sent", async () => {
  const server = startRawServer(async (c) => void await c.readRequest());
  try {
    using conn = new HttpConnection(server.origin);
    await using pool = new ClientPool(server.origin);
    const bad: [() => Promise<unknown>, RegExp][] = [
      [
        () => conn.request({ path: "/", methd: "POST" } as never),
        /Expected only known request\(\) options, got unknown option "methd" \(did you mean "method"\?\)/,
      ],
      [
        () => conn.request({ timeout: "100" } as never),
        /Expected option "timeout" to be a number, got a string/,
      ],
      [
        () => conn.request({ signal: {} } as never),
        /Expected option "signal" to be an AbortSignal, got an object/,
      ],
      [
        () => conn.request({ body: 5 } as never),
        /Expected option "body" to be a string or a Uint8Array/,
      ],
      // a shortcut's options hold neither the method nor the path
      [
        () => conn.get("/", { method: "POST" } as never),
        /Expected only known get\(\) options, got unknown option "method"/,
      ],
      [
        () => conn.post("/", { path: "/other" } as never),
        /known post\(\) options, got unknown option "path"/,
      ],
      [
        () => conn.delete("/", { sginal: null } as never),
        /unknown option "sginal" \(did you mean "signal"\?\)/,
      ],
      [
        () => pool.request({ path: "/", close: 1 } as never),
        /Expected option "close" to be a boolean/,
      ],
      [() => pool.put("/", { jsn: {} } as never), /did you mean "json"/],
      [
        () => pool.acquire({ signal: "abort" } as never),
        /Expected option "signal" to be an AbortSignal, got a string/,
      ],
      [
        () => pool.acquire({ timeout: 1 } as never),
        /Expected only known acquire\(\) options, got unknown option "timeout"/,
      ],
    ];
    for (const [call, re] of bad) await assert.rejects(call(), typeError(re));
    {
      using lease = await pool.acquire();
      await assert.rejects(
        lease.head("/", { query: "a=1" } as never),
        typeError(/Expected option "query" to be an object/),
      );
    }
    assert.equal(conn.dials, 0);
    assert.equal(server.accepted, 0, "nothing was sent");
  } finally {
    await server.close();
  }
});
