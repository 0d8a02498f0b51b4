/**
 * Compressed HTTP responses: `Accept-Encoding` sent by default, bodies
 * decoded as `Content-Encoding` says (gzip, deflate, br, zstd, stacked),
 * `maxBodySize` bounding the decoded size, the original headers kept, and
 * `decompress: false` for the raw body. Against `Deno.serve` on loopback.
 */
import assert from "node:assert/strict";
import * as zlib from "node:zlib";
import {
  ClientPool,
  HttpConnection,
  HttpLimitError,
  HttpProtocolError,
} from "../../mod.ts";
import { bookJson } from "../../bench/deflate_fixtures.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

const JSON_BODY = bookJson(50_000);
const u8 = (b: Uint8Array) => new Uint8Array(b) as Uint8Array<ArrayBuffer>;

/** Each coding applied to JSON_BODY. */
const ENCODED: Record<string, Uint8Array<ArrayBuffer>> = {
  gzip: u8(zlib.gzipSync(JSON_BODY)),
  "x-gzip": u8(zlib.gzipSync(JSON_BODY)),
  deflate: u8(zlib.deflateSync(JSON_BODY)),
  "deflate-raw": u8(zlib.deflateRawSync(JSON_BODY)), // sent as "deflate"
  br: u8(zlib.brotliCompressSync(JSON_BODY)),
  zstd: u8(zlib.zstdCompressSync(JSON_BODY)),
  "gzip, br": u8(zlib.brotliCompressSync(zlib.gzipSync(JSON_BODY))),
  "identity, gzip": u8(zlib.gzipSync(JSON_BODY)),
};

/** Bodies that decode to 64 MiB from a few KiB. */
const BOMBS: Record<string, Uint8Array<ArrayBuffer>> = {
  gzip: u8(zlib.gzipSync(new Uint8Array(64 << 20))),
  br: u8(zlib.brotliCompressSync(new Uint8Array(64 << 20))),
  zstd: u8(zlib.zstdCompressSync(new Uint8Array(64 << 20))),
};

interface Seen {
  acceptEncoding: string | null;
}

/**
 * A Deno.serve peer: `/enc?c=CODING` answers JSON_BODY encoded with CODING
 * (`&chunked=1`: as a stream), `/bomb?c=CODING` a bomb, `/raw?c=C&hex=H`
 * the bytes H labelled with C, `/plain` JSON_BODY as it is (no automatic
 * compression: the type is not compressible), `/empty?c=C` a 204.
 */
function server() {
  const seen: Seen[] = [];
  const ac = new AbortController();
  const s = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    (req) => {
      const u = new URL(req.url);
      seen.push({ acceptEncoding: req.headers.get("accept-encoding") });
      const c = u.searchParams.get("c") ?? "";
      const label = c === "deflate-raw" ? "deflate" : c;
      const headers = {
        "content-encoding": label,
        "content-type": "application/octet-stream",
      };
      switch (u.pathname) {
        case "/enc": {
          const body = ENCODED[c];
          if (u.searchParams.get("chunked") === "1") {
            const stream = new ReadableStream({
              start(ctl) {
                for (let i = 0; i < body.length; i += 1000) {
                  ctl.enqueue(body.slice(i, i + 1000));
                }
                ctl.close();
              },
            });
            return new Response(stream, { headers });
          }
          return new Response(body, { headers });
        }
        case "/bomb":
          return new Response(BOMBS[c], { headers });
        case "/raw": {
          const hex = u.searchParams.get("hex") ?? "";
          const bytes = new Uint8Array(
            hex.match(/../g)?.map((h) => parseInt(h, 16)) ?? [],
          );
          return new Response(bytes, { headers });
        }
        case "/plain":
          return new Response(u8(JSON_BODY), {
            headers: { "content-type": "application/octet-stream" },
          });
        case "/empty":
          return new Response(null, { status: 204, headers });
      }
      return new Response("not found", { status: 404 });
    },
  );
  return {
    origin: `http://127.0.0.1:${s.addr.port}`,
    seen,
    async close() {
      ac.abort();
      await s.finished;
    },
  };
}

const hex = (b: Uint8Array) =>
  Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

Deno.test("requests carry Accept-Encoding: gzip, deflate by default", async () => {
  const srv = server();
  using conn = new HttpConnection(srv.origin);
  await conn.get("/plain");
  assert.equal(srv.seen[0].acceptEncoding, "gzip, deflate");
  await srv.close();
});

Deno.test("every coding decodes to the original body, whole or chunked, headers kept as received", async () => {
  const srv = server();
  using conn = new HttpConnection(srv.origin);
  for (const coding of Object.keys(ENCODED)) {
    for (const chunked of ["0", "1"]) {
      const res = await conn.get("/enc", { query: { c: coding, chunked } });
      const what = `${coding}${chunked === "1" ? ", chunked" : ""}`;
      assert.equal(res.status, 200, what);
      assert.deepEqual(res.body, JSON_BODY, what);
      assert.equal(
        res.headers.get("content-encoding"),
        coding === "deflate-raw" ? "deflate" : coding,
        what,
      );
      assert.equal(
        res.headers.get("content-length"),
        chunked === "1" ? null : String(ENCODED[coding].length),
        what,
      );
    }
  }
  await srv.close();
});

Deno.test("a decoded body is borrowed like a raw one and its buffer is reused", async () => {
  const srv = server();
  using conn = new HttpConnection(srv.origin);
  const a = await conn.get("/enc", { query: { c: "gzip" } });
  const buffer = a.body.buffer;
  const kept = a.bytes();
  const b = await conn.get("/enc", { query: { c: "deflate" } });
  assert.throws(() => a.body, TypeError);
  assert.equal(b.body.buffer, buffer, "the same decoder buffer");
  assert.deepEqual(kept, JSON_BODY);
  assert.deepEqual(b.json(), JSON.parse(dec.decode(JSON_BODY)));
  await srv.close();
});

Deno.test("decompress: false sends no Accept-Encoding and returns bodies as they arrive", async () => {
  const srv = server();
  using conn = new HttpConnection(srv.origin, { decompress: false });
  const res = await conn.get("/enc", { query: { c: "gzip" } });
  assert.equal(srv.seen[0].acceptEncoding, null);
  assert.deepEqual(res.body, ENCODED.gzip);
  await srv.close();
});

Deno.test("a request's decompress: false returns that body encoded; the next one is decoded", async () => {
  const srv = server();
  using conn = new HttpConnection(srv.origin);
  const raw = await conn.get("/enc", {
    query: { c: "br" },
    decompress: false,
  });
  assert.deepEqual(raw.body, ENCODED.br);
  const decoded = await conn.get("/enc", { query: { c: "br" } });
  assert.deepEqual(decoded.body, JSON_BODY);
  await srv.close();
});

Deno.test("an accept-encoding of the caller's replaces the default, on the connection or a request", async () => {
  const srv = server();
  using conn = new HttpConnection(srv.origin, {
    headers: { "Accept-Encoding": "zstd" },
  });
  await conn.get("/plain");
  await conn.get("/plain", { headers: { "accept-encoding": "identity" } });
  assert.deepEqual(srv.seen.map((s) => s.acceptEncoding), [
    "zstd",
    "identity",
  ]);
  await srv.close();
});

Deno.test("a pool decodes too, and its owned responses keep the decoded body", async () => {
  const srv = server();
  const pool = new ClientPool(srv.origin, { connections: 2 });
  const [a, b] = await Promise.all([
    pool.get("/enc", { query: { c: "gzip" } }),
    pool.get("/enc", { query: { c: "zstd" } }),
  ]);
  await pool.get("/enc", { query: { c: "deflate" } });
  assert.deepEqual(a.body, JSON_BODY);
  assert.deepEqual(b.body, JSON_BODY);
  await pool.close();
  await srv.close();
});

Deno.test("a 204 with a Content-Encoding has an empty body and no error", async () => {
  const srv = server();
  using conn = new HttpConnection(srv.origin);
  const res = await conn.get("/empty", { query: { c: "gzip" } });
  assert.equal(res.status, 204);
  assert.equal(res.body.length, 0);
  await srv.close();
});

Deno.test("a body that would decode past maxBodySize fails with HttpLimitError, for every coding", async () => {
  const srv = server();
  using conn = new HttpConnection(srv.origin, { maxBodySize: 1 << 20 });
  for (const coding of Object.keys(BOMBS)) {
    assert.ok(BOMBS[coding].length < 100_000, `${coding} bomb is small`);
    const before = Deno.memoryUsage();
    await assert.rejects(
      conn.get("/bomb", { query: { c: coding } }),
      (e) =>
        e instanceof HttpLimitError && e.limit === "maxBodySize" &&
        e.max === 1 << 20 && new RegExp(coding).test(e.message),
      coding,
    );
    const after = Deno.memoryUsage();
    const grew = after.heapUsed + after.external - before.heapUsed -
      before.external;
    assert.ok(grew < 32 << 20, `${coding}: memory grew by ${grew} bytes`);
  }
  // the connection recovers: the next request works
  assert.deepEqual((await conn.get("/plain")).body, JSON_BODY);
  await srv.close();
});

Deno.test("bodies that do not decode fail with HttpProtocolError, truncated or with bytes after them", async () => {
  const srv = server();
  using conn = new HttpConnection(srv.origin);
  const cut = (b: Uint8Array, n: number) => hex(b.subarray(0, b.length - n));
  const cases: [string, string][] = [
    ["gzip", cut(ENCODED.gzip, 3)],
    ["gzip", hex(ENCODED.gzip) + "00"],
    ["gzip", hex(enc.encode("not gzip"))],
    ["deflate", cut(ENCODED.deflate, 2)],
    ["br", cut(ENCODED.br, 3)],
    ["br", hex(ENCODED.br) + "0102"],
    ["br", "0102030405"],
    ["zstd", cut(ENCODED.zstd, 3)],
    ["zstd", hex(ENCODED.zstd) + "0102"],
    ["zstd", "28b52ffd0102"],
  ];
  for (const [c, body] of cases) {
    await assert.rejects(
      conn.get("/raw", { query: { c, hex: body } }),
      (e) =>
        e instanceof HttpProtocolError && !(e instanceof HttpLimitError) &&
        new RegExp(`valid ${c} body`).test(e.message),
      `${c} ${body.slice(0, 20)}`,
    );
  }
  await srv.close();
});

Deno.test("an unknown content coding fails with HttpProtocolError naming it, and decompress: false reads it", async () => {
  const srv = server();
  using conn = new HttpConnection(srv.origin);
  await assert.rejects(
    conn.get("/raw", { query: { c: "compress", hex: "0102" } }),
    (e) =>
      e instanceof HttpProtocolError && /got "compress"/.test(e.message) &&
      /decompress: false/.test(e.message),
  );
  const raw = await conn.get("/raw", {
    query: { c: "compress", hex: "0102" },
    decompress: false,
  });
  assert.deepEqual(raw.body, new Uint8Array([1, 2]));
  await srv.close();
});

Deno.test("the decompress options are checked like every other option", () => {
  assert.throws(
    () =>
      new HttpConnection("http://127.0.0.1:9", { decompress: "yes" as never }),
    (e) =>
      e instanceof TypeError && /decompress" to be a boolean/.test(e.message),
  );
  using conn = new HttpConnection("http://127.0.0.1:9");
  return assert.rejects(
    conn.request({ path: "/", decompress: 0 as never }),
    (e) => e instanceof TypeError && /decompress/.test(e.message),
  );
});
