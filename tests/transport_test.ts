import assert from "node:assert/strict";
import { NetworkError } from "../mod.ts";
import { caCertsRule, dial } from "../src/transport.ts";

/** A port nothing listens on (bound, then released). */
function deadPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

Deno.test("a refused connection is a NetworkError naming host, port and the runtime's error", async () => {
  const port = deadPort();
  const err = await dial(new URL(`ws://127.0.0.1:${port}/`)).then(
    () => null,
    (e) => e,
  );
  assert.ok(err instanceof NetworkError, String(err));
  assert.equal(err.stage, "connect");
  assert.equal(err.host, "127.0.0.1");
  assert.equal(err.port, port);
  assert.ok(err.cause instanceof Deno.errors.ConnectionRefused);
  assert.match(
    err.message,
    new RegExp(
      `^Expected a TCP connection to 127\\.0\\.0\\.1:${port}, got ConnectionRefused`,
    ),
  );
});

Deno.test("a host name that does not resolve is a NetworkError of stage dns", async () => {
  const err = await dial(new URL("http://no-such-host.invalid:8080/")).then(
    () => null,
    (e) => e,
  );
  assert.ok(err instanceof NetworkError, String(err));
  assert.equal(err.stage, "dns");
  assert.equal(err.host, "no-such-host.invalid");
  assert.equal(err.port, 8080);
  assert.ok(err.cause instanceof Error);
});

Deno.test("a server that does not speak TLS fails the dial with a NetworkError of stage tls, not later", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const served = (async () => {
    const conn = await listener.accept();
    await conn.write(
      new TextEncoder().encode("HTTP/1.1 400 Bad Request\r\n\r\n"),
    );
    conn.close();
  })();
  const err = await dial(new URL(`wss://127.0.0.1:${port}/`)).then(
    () => null,
    (e) => e,
  );
  await served;
  listener.close();
  assert.ok(err instanceof NetworkError, String(err));
  assert.equal(err.stage, "tls");
  assert.equal(err.port, port);
});

Deno.test("an IPv6 host is shown in brackets in the message", () => {
  const err = new NetworkError("connect", "::1", 443);
  assert.match(err.message, /\[::1\]:443/);
});

Deno.test("an aborted dial rejects with the signal's reason", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const ac = new AbortController();
  const reason = new Error("stop");
  // The TCP connect succeeds; the TLS handshake waits for a server that never answers.
  const pending = dial(new URL(`wss://127.0.0.1:${port}/`), {
    signal: ac.signal,
  });
  const conn = await listener.accept();
  ac.abort(reason);
  await assert.rejects(pending, (e) => e === reason);
  conn.close();
  listener.close();
});

Deno.test("caCerts must be PEM certificates", () => {
  assert.throws(
    () => caCertsRule(["not a certificate"], "caCerts"),
    (e) =>
      e instanceof TypeError && /caCerts\[0\]/.test(e.message) &&
      /PEM/.test(e.message),
  );
  assert.throws(() => caCertsRule("pem", "caCerts"), TypeError);
  caCertsRule([
    "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
  ], "caCerts");
});
