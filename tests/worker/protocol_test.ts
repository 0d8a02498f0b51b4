/** The end event between the Worker and the main side: it always fits a record of the smallest ring. */
import assert from "node:assert/strict";
import {
  decodeEvent,
  encodeEnd,
  errorData,
  errorFrom,
} from "../../src/worker/protocol.ts";

Deno.test("an end event with unbounded strings is cut to fit a record, keeping the error's class and numbers", () => {
  const event = {
    type: "end" as const,
    code: 1006,
    reason: "\x01".repeat(123),
    error: {
      name: "NetworkError",
      message: "Expected ".repeat(1000),
      cause: "\n".repeat(1000),
      host: "h".repeat(253),
      port: 443,
    },
  };
  const bytes = encodeEnd(event, 504);
  assert.ok(bytes.length <= 504, `${bytes.length} bytes`);
  const back = decodeEvent(bytes, 0, bytes.length);
  assert.equal(back.type, "end");
  if (back.type !== "end") return;
  assert.equal(back.code, 1006);
  assert.equal(back.error?.name, "NetworkError");
  assert.equal(back.error?.port, 443);
  assert.ok(event.error.message.startsWith(back.error!.message));
  const small = {
    type: "end" as const,
    code: 1000,
    reason: "bye",
    error: null,
  };
  assert.deepEqual(
    decodeEvent(encodeEnd(small, 504), 0, encodeEnd(small, 504).length),
    small,
    "one that fits is whole",
  );
});

Deno.test("every error a Worker's connection can raise crosses to the main side with its class, message and fields", async () => {
  const mod = await import("../../mod.ts");
  const { HeaderList } = await import("../../src/codec/mod.ts");
  const headers = new HeaderList();
  headers.append("retry-after", "3");
  const cause = { cause: new Error("underneath") };
  const raised: Error[] = [
    new mod.ProtocolError(1007, "Expected UTF-8 text, got bad bytes", cause),
    new mod.ConnectionClosedError(4004, "no ping", false, undefined, cause),
    new mod.TimeoutError("Handshake did not complete within 5 ms"),
    new mod.AppHeartbeatTimeoutError(5000),
    new mod.StaleFeedError(30_000, cause),
    new mod.HandshakeError("Expected status 101, got 429", 429, headers),
    new mod.NetworkError("connect", "127.0.0.1", 1, {
      ...cause,
      peer: "proxy",
    }),
    new mod.ProxyError("Expected the proxy to accept, got 407", {
      proxy: "http://127.0.0.1:3128",
      protocol: "http",
      failure: "auth",
      status: 407,
    }),
    new mod.ProxyError("Expected SOCKS reply 0, got 5", {
      proxy: "socks5://127.0.0.1:1080",
      protocol: "socks5",
      failure: "refused",
      reply: 5,
    }),
    new TypeError("Expected a string"),
    new RangeError("Expected at most 125 bytes"),
  ];
  // every error class mod.ts exports is here, but those a Worker's
  // WebSocket connection cannot raise (HTTP's, the main side's WorkerError,
  // and the inflater's, which reach a connection as a ProtocolError's cause)
  const notFromAWorker = [
    "HttpProtocolError",
    "HttpLimitError",
    "WorkerError",
    "InflateError",
    "InflateLimitError",
  ];
  const exported = Object.entries(mod)
    .filter(([, v]) => typeof v === "function" && v.prototype instanceof Error)
    .map(([k]) => k)
    .filter((k) => !notFromAWorker.includes(k));
  assert.deepEqual(
    exported.sort(),
    [...new Set(raised.map((e) => e.constructor.name))]
      .filter((k) => k !== "TypeError" && k !== "RangeError").sort(),
  );
  for (const err of raised) {
    const back = errorFrom(
      JSON.parse(JSON.stringify(errorData(err))),
    ) as unknown as Record<string, unknown>;
    const orig = err as unknown as Record<string, unknown>;
    assert.equal(back.constructor, err.constructor, err.name);
    assert.equal(back.name, err.name);
    assert.equal(back.message, err.message);
    // every own field of the original, whichever it is, comes back equal
    for (const k of Object.keys(orig)) {
      if (k !== "headers" && k !== "cause") {
        assert.deepEqual(back[k], orig[k], `${err.name}.${k}`);
      }
    }
    if (err instanceof mod.HandshakeError) {
      assert.deepEqual([...(back.headers as Iterable<unknown>)], [
        ...err.headers,
      ]);
    }
    if (err.cause !== undefined) {
      assert.equal((back.cause as Error).message, "Error: underneath");
    }
  }
});
