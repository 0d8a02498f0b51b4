import assert from "node:assert/strict";
import { RequestWriter } from "../../src/codec/mod.ts";

const dec = new TextDecoder();

function text(w: RequestWriter, req: Parameters<RequestWriter["encode"]>[0]) {
  return dec.decode(w.encode(req));
}

Deno.test("a GET is written with the request line, Host and no body headers", () => {
  const w = new RequestWriter({ host: "example.com:8080" });
  assert.equal(
    text(w, { path: "/a/b?x=1" }),
    "GET /a/b?x=1 HTTP/1.1\r\nhost: example.com:8080\r\n\r\n",
  );
  assert.equal(w.tail, null);
});

Deno.test("query parameters are appended to the path", () => {
  const w = new RequestWriter({ host: "h" });
  assert.ok(
    text(w, { path: "/s", query: { q: "a b&c", n: 2, ok: true } }).startsWith(
      "GET /s?q=a+b%26c&n=2&ok=true HTTP/1.1\r\n",
    ),
  );
  assert.ok(
    text(w, { path: "/s?x=1", query: new URLSearchParams({ y: "2" }) })
      .startsWith(
        "GET /s?x=1&y=2 HTTP/1.1\r\n",
      ),
  );
});

Deno.test("a JSON body gets Content-Type and Content-Length", () => {
  const w = new RequestWriter({ host: "h" });
  assert.equal(
    text(w, { method: "POST", path: "/o", json: { a: "é" } }),
    'POST /o HTTP/1.1\r\nhost: h\r\ncontent-type: application/json\r\ncontent-length: 10\r\n\r\n{"a":"é"}',
  );
});

Deno.test("a string body is sent as UTF-8 with its byte length", () => {
  const w = new RequestWriter({ host: "h" });
  const s = "héllo 😀 \ud800";
  const bytes = w.encode({
    method: "PUT",
    path: "/",
    body: s,
    headers: { "Content-Type": "text/x" },
  });
  const t = dec.decode(bytes);
  const body = new TextEncoder().encode(s);
  assert.ok(t.includes(`\r\ncontent-length: ${body.length}\r\n\r\n`));
  assert.ok(t.includes("Content-Type: text/x\r\n"));
  assert.ok(!t.includes("text/plain"));
  assert.deepEqual(bytes.subarray(bytes.length - body.length), body);
});

Deno.test("a small byte body is inlined and a large one is returned as the tail", () => {
  const w = new RequestWriter({ host: "h", inlineBodySize: 4 });
  const small = w.encode({
    method: "POST",
    path: "/",
    body: new Uint8Array([1, 2, 3]),
  });
  assert.deepEqual([...small.subarray(small.length - 3)], [1, 2, 3]);
  assert.equal(w.tail, null);
  const big = new Uint8Array(5).fill(9);
  const head = dec.decode(w.encode({ method: "POST", path: "/", body: big }));
  assert.ok(head.endsWith("content-length: 5\r\n\r\n"));
  assert.equal(w.tail, big);
  const long = "x".repeat(10);
  const head2 = dec.decode(w.encode({ method: "POST", path: "/", body: long }));
  assert.ok(head2.endsWith("content-length: 10\r\n\r\n"));
  assert.equal(dec.decode(w.tail!), long);
});

Deno.test("a body-less POST gets Content-Length: 0 and a body-less GET none", () => {
  const w = new RequestWriter({ host: "h" });
  assert.ok(text(w, { method: "POST" }).includes("content-length: 0\r\n"));
  assert.ok(!text(w, { method: "DELETE" }).includes("content-length"));
});

Deno.test("default headers come before the request's own and Host can be replaced", () => {
  const w = new RequestWriter({ host: "h", headers: { "User-Agent": "t/1" } });
  assert.equal(
    text(w, { headers: [["Host", "virtual.test"], ["X-A", "1"]] }),
    "GET / HTTP/1.1\r\nUser-Agent: t/1\r\nHost: virtual.test\r\nX-A: 1\r\n\r\n",
  );
});

Deno.test("close: true sends Connection: close", () => {
  const w = new RequestWriter({ host: "h" });
  assert.ok(text(w, { close: true }).endsWith("connection: close\r\n\r\n"));
});

Deno.test("the buffer grows for a large head and is reused afterwards", () => {
  const w = new RequestWriter({ host: "h" });
  const v = "v".repeat(5000);
  assert.ok(text(w, { headers: { "x-big": v } }).includes(v));
  const a = w.encode({ path: "/1" });
  const b = w.encode({ path: "/2" });
  assert.equal(a.buffer, b.buffer);
});

Deno.test("CR, LF or NUL in the method, path, header name or value is refused", () => {
  const w = new RequestWriter({ host: "h" });
  for (const bad of ["\r", "\n", "\0"]) {
    assert.throws(
      () => w.encode({ method: `GE${bad}T` }),
      /Expected no CR, LF, NUL/,
    );
    assert.throws(
      () => w.encode({ path: `/a${bad}b` }),
      /Expected no CR, LF, NUL/,
    );
    assert.throws(
      () => w.encode({ headers: { [`x${bad}y`]: "v" } }),
      /Expected no CR, LF, NUL/,
    );
    assert.throws(
      () => w.encode({ headers: { x: `a${bad}b` } }),
      /Expected no CR, LF, NUL/,
    );
    assert.throws(() => new RequestWriter({ host: `h${bad}` }), TypeError);
    assert.throws(
      () => new RequestWriter({ host: "h", headers: { x: `a${bad}` } }),
      TypeError,
    );
  }
  // Injection attempt: nothing half-written survives into the next request.
  assert.equal(text(w, {}), "GET / HTTP/1.1\r\nhost: h\r\n\r\n");
});

Deno.test("a method or header name that is not a token is refused", () => {
  const w = new RequestWriter({ host: "h" });
  assert.throws(
    () => w.encode({ method: "GET X" }),
    /Expected a method that is a token/,
  );
  assert.throws(() => w.encode({ method: "" }), TypeError);
  assert.throws(
    () => w.encode({ headers: { "a b": "v" } }),
    /Expected a header name that is a token/,
  );
  assert.throws(() => w.encode({ headers: { "": "v" } }), TypeError);
});

Deno.test("a path that is not visible ASCII from / is refused", () => {
  const w = new RequestWriter({ host: "h" });
  assert.throws(() => w.encode({ path: "a" }), /starting with "\/"/);
  assert.throws(() => w.encode({ path: "/a b" }), /a space/);
  assert.throws(() => w.encode({ path: "/é" }), /visible ASCII/);
  assert.ok(
    text(w, { method: "OPTIONS", path: "*" }).startsWith("OPTIONS * HTTP/1.1"),
  );
});

Deno.test("headers the writer owns are refused", () => {
  const w = new RequestWriter({ host: "h" });
  for (const name of ["Content-Length", "transfer-encoding", "Connection"]) {
    assert.throws(
      () => w.encode({ headers: { [name]: "x" } }),
      /the request writer sets it/,
    );
  }
});

Deno.test("a header value outside Latin-1 or with control bytes is refused", () => {
  const w = new RequestWriter({ host: "h" });
  assert.throws(() => w.encode({ headers: { x: "€" } }), /Latin-1/);
  assert.throws(() => w.encode({ headers: { x: "a\x7fb" } }), /0x7f/);
  assert.ok(
    text(w, { headers: { x: "tab\there" } }).includes("x: tab\there\r\n"),
  );
});

Deno.test("both body and json, or a body of another type, are refused", () => {
  const w = new RequestWriter({ host: "h" });
  assert.throws(() => w.encode({ body: "a", json: 1 }), /either body or json/);
  assert.throws(
    () => w.encode({ body: 5 as unknown as string }),
    /string or a Uint8Array/,
  );
  assert.throws(() => w.encode({ json: () => 1 }), /JSON-serializable/);
});

Deno.test("a Host given with the request replaces a default Host, and two Host fields are refused", () => {
  const w = new RequestWriter({ host: "h", headers: { Host: "default.test" } });
  assert.equal(text(w, {}), "GET / HTTP/1.1\r\nHost: default.test\r\n\r\n");
  assert.equal(
    text(w, { headers: { "X-A": "1", host: "virtual.test" } }),
    "GET / HTTP/1.1\r\nX-A: 1\r\nhost: virtual.test\r\n\r\n",
  );
  assert.throws(
    () => w.encode({ headers: [["Host", "a.test"], ["host", "b.test"]] }),
    /Expected one "Host" header/,
  );
  assert.throws(
    () =>
      new RequestWriter({
        host: "h",
        headers: [["host", "a.test"], ["HOST", "b.test"]],
      }),
    /Expected one "Host" header/,
  );
  assert.equal(text(w, {}), "GET / HTTP/1.1\r\nHost: default.test\r\n\r\n");
});

Deno.test("a request's header replaces every default of the same name, case-insensitively", () => {
  const w = new RequestWriter({
    host: "h",
    headers: [["X-Api-Key", "k1"], ["accept", "a/b"], ["x-api-key", "k2"]],
  });
  assert.equal(
    text(w, { headers: { "X-API-KEY": "override" } }),
    "GET / HTTP/1.1\r\nhost: h\r\naccept: a/b\r\nX-API-KEY: override\r\n\r\n",
  );
  // several fields of that name in the request are all sent
  assert.equal(
    text(w, { headers: [["x-api-key", "a"], ["X-Api-Key", "b"]] }),
    "GET / HTTP/1.1\r\nhost: h\r\naccept: a/b\r\nx-api-key: a\r\nX-Api-Key: b\r\n\r\n",
  );
  // the defaults come back for the next request
  assert.equal(
    text(w, { headers: new Headers({ "x-other": "1" }) }),
    "GET / HTTP/1.1\r\nhost: h\r\nX-Api-Key: k1\r\naccept: a/b\r\nx-api-key: k2\r\nx-other: 1\r\n\r\n",
  );
});

Deno.test("a request's Content-Type replaces a default one, and a default one replaces the body's", () => {
  const w = new RequestWriter({
    host: "h",
    headers: { "content-type": "application/x-default" },
  });
  const json = text(w, { method: "POST", json: 1 });
  assert.ok(json.includes("content-type: application/x-default\r\n"));
  assert.ok(!json.includes("application/json"));
  const own = text(w, {
    method: "POST",
    json: 1,
    headers: { "Content-Type": "application/vnd.x+json" },
  });
  assert.ok(own.includes("Content-Type: application/vnd.x+json\r\n"));
  assert.ok(!own.includes("x-default") && !own.includes("application/json"));
});

Deno.test("standard methods are sent upper-cased whatever their case, other tokens as given", () => {
  const w = new RequestWriter({ host: "h" });
  const cases: [string, string][] = [
    ["get", "GET"],
    ["Post", "POST"],
    ["put", "PUT"],
    ["delete", "DELETE"],
    ["head", "HEAD"],
    ["options", "OPTIONS"],
    ["patch", "PATCH"],
    ["trace", "TRACE"],
    ["PROPFIND", "PROPFIND"],
    ["purge", "purge"],
    ["M-SEARCH", "M-SEARCH"],
  ];
  for (const [given, sent] of cases) {
    assert.ok(text(w, { method: given }).startsWith(`${sent} / HTTP/1.1\r\n`));
    assert.equal(w.method, sent);
  }
  // the body-less POST rule sees the normalized method
  assert.ok(text(w, { method: "post" }).includes("content-length: 0\r\n"));
  assert.ok(text(w, { method: "patch" }).includes("content-length: 0\r\n"));
});

Deno.test("CONNECT is refused: the writer does not open tunnels", () => {
  const w = new RequestWriter({ host: "h" });
  for (const m of ["CONNECT", "connect"]) {
    assert.throws(
      () => w.encode({ method: m, path: "*" }),
      /Expected a method other than CONNECT/,
    );
  }
});

Deno.test("an unknown request field or one of the wrong type is a TypeError naming it", () => {
  const w = new RequestWriter({ host: "h" });
  assert.throws(
    () => w.encode({ methd: "POST" } as never),
    (e) =>
      e instanceof TypeError &&
      /unknown option "methd" \(did you mean "method"\?\)/.test(e.message),
  );
  assert.throws(
    () => w.encode({ close: "yes" } as never),
    /Expected option "close" to be a boolean, got a string/,
  );
  assert.throws(
    () => w.encode({ headers: "x: 1" } as never),
    /Expected option "headers" to be a record or an iterable/,
  );
  assert.throws(
    () => w.encode({ query: 5 } as never),
    /Expected option "query" to be an object/,
  );
  assert.throws(
    () => w.encode({ path: 5 } as never),
    /Expected option "path" to be a string, got the number 5/,
  );
  assert.equal(text(w, {}), "GET / HTTP/1.1\r\nhost: h\r\n\r\n");
});

Deno.test("an unknown writer option or one of the wrong type is refused", () => {
  assert.throws(
    () => new RequestWriter({ host: "h", inlineBody: 1 } as never),
    /unknown option "inlineBody"/,
  );
  assert.throws(
    () => new RequestWriter({ host: "h", inlineBodySize: -1 }),
    RangeError,
  );
  assert.throws(
    () => new RequestWriter({ host: 5 } as never),
    /Expected option "RequestWriter.host" to be a string/,
  );
  assert.throws(() => new RequestWriter({ host: "" }), /non-empty string/);
});

Deno.test("RequestWriter.trim shrinks the encoding buffer only after a quiet window, to twice that window's largest request", () => {
  const w = new RequestWriter({ host: "h", shrinkAfter: 100 });
  const big = new Uint8Array(10_000);
  w.encode({ method: "POST", path: "/", body: big });
  assert.equal(w.capacity, 16384);
  w.trim(0); // the first window begins: it saw the big request
  w.encode({ path: "/" });
  w.trim(50); // not quiet long enough
  assert.equal(w.capacity, 16384);
  w.trim(100); // a window that holds the big request: stays
  assert.equal(w.capacity, 16384);
  const small = w.encode({ path: "/x".repeat(400) }).length; // ~830 bytes
  w.trim(200); // a window of small requests: twice the largest, rounded up
  assert.equal(w.capacity, 2048);
  assert.ok(small * 2 > 1024 && small * 2 <= 2048);
  assert.deepEqual([w.grows, w.shrinks], [1, 1]);
  const again = w.encode({ method: "POST", path: "/", body: big });
  assert.equal(again.length > 10_000, true); // encoded whole after the shrink
  assert.throws(
    () => new RequestWriter({ host: "h", shrinkAfter: "1s" as never }),
    /shrinkAfter/,
  );
});
