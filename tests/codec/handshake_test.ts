import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import {
  acceptKey,
  encodeHandshake,
  generateKey,
  HandshakeError,
  type HandshakeRequest,
  HeadReader,
  ReadBuf,
  type ResponseHead,
  validateHandshake,
} from "../../src/codec/mod.ts";
import { checkHeader, checkProtocols } from "../../src/codec/ws/handshake.ts";
import { base64, sha1 } from "../../src/codec/ws/sha1.ts";
import { enc, throwsA } from "./_helpers.ts";

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function request(
  req: Omit<Partial<HandshakeRequest>, "url"> & { url: string },
): string {
  return new TextDecoder().decode(
    encodeHandshake({ key: KEY, ...req, url: new URL(req.url) }),
  );
}

function lines(s: string): string[] {
  ok(s.endsWith("\r\n\r\n"), "the head ends with an empty line");
  return s.slice(0, -4).split("\r\n");
}

function head(text: string): ResponseHead {
  const rb = new ReadBuf();
  rb.push(enc.encode(text));
  const h = new HeadReader().read(rb);
  ok(h !== null);
  return h;
}

const GOOD = [
  "HTTP/1.1 101 Switching Protocols",
  "Upgrade: websocket",
  "Connection: Upgrade",
  `Sec-WebSocket-Accept: ${ACCEPT}`,
];

function response(
  replace: Record<string, string | null> = {},
  extra: string[] = [],
  status = GOOD[0],
): ResponseHead {
  const out = [status];
  for (const line of GOOD.slice(1)) {
    const name = line.slice(0, line.indexOf(":"));
    if (name in replace) {
      if (replace[name] !== null) out.push(`${name}: ${replace[name]}`);
    } else {
      out.push(line);
    }
  }
  return head([...out, ...extra].join("\r\n") + "\r\n\r\n");
}

// --- SHA-1, base64 and keys ---------------------------------------------------

Deno.test("sha1 matches the FIPS 180 test vectors", () => {
  strictEqual(
    hex(sha1(new Uint8Array(0))),
    "da39a3ee5e6b4b0d3255bfef95601890afd80709",
  );
  strictEqual(
    hex(sha1(enc.encode("abc"))),
    "a9993e364706816aba3e25717850c26c9cd0d89d",
  );
  strictEqual(
    hex(
      sha1(
        enc.encode("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
      ),
    ),
    "84983e441c3bd26ebaae4aa1f95129e5e54670f1",
  );
  strictEqual(
    hex(sha1(new Uint8Array(1_000_000).fill(0x61))),
    "34aa973cd4c4daa4f61eeb2bdbad27316534016f",
  );
});

Deno.test("sha1 is right at every padding boundary (lengths 54 to 66)", async () => {
  for (let n = 54; n <= 66; n++) {
    const data = new Uint8Array(n).map((_, i) => i * 31);
    const want = new Uint8Array(await crypto.subtle.digest("SHA-1", data));
    strictEqual(hex(sha1(data)), hex(want), `length ${n}`);
  }
});

Deno.test("base64 encodes like btoa, with padding", () => {
  strictEqual(base64(new Uint8Array(0)), "");
  strictEqual(base64(new Uint8Array([0xff])), "/w==");
  strictEqual(base64(new Uint8Array([0xff, 0xfe])), "//4=");
  strictEqual(base64(new Uint8Array([1, 2, 3])), "AQID");
});

Deno.test("the accept key for RFC 6455's sample key is the RFC's answer", () => {
  strictEqual(acceptKey(KEY), ACCEPT);
});

Deno.test("generated keys are base64 of 16 random bytes, different each time", () => {
  const keys = new Set<string>();
  for (let i = 0; i < 50; i++) {
    const k = generateKey();
    strictEqual(k.length, 24);
    strictEqual(atob(k).length, 16);
    ok(/^[A-Za-z0-9+/]{22}==$/.test(k), k);
    keys.add(k);
  }
  strictEqual(keys.size, 50);
});

// --- request bytes ------------------------------------------------------------

Deno.test("the request is a GET with Host, Upgrade, Connection, the key and version 13", () => {
  deepStrictEqual(lines(request({ url: "ws://example.com/chat" })), [
    "GET /chat HTTP/1.1",
    "Host: example.com",
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Key: ${KEY}`,
    "Sec-WebSocket-Version: 13",
  ]);
});

Deno.test("the request target keeps the path and query, and is / for a bare host", () => {
  strictEqual(
    lines(request({ url: "ws://h/a/b?x=1&y=%20" }))[0],
    "GET /a/b?x=1&y=%20 HTTP/1.1",
  );
  strictEqual(lines(request({ url: "ws://h" }))[0], "GET / HTTP/1.1");
  strictEqual(lines(request({ url: "wss://h?q" }))[0], "GET /?q HTTP/1.1");
});

Deno.test("Host carries a non-default port and omits a default one", () => {
  strictEqual(lines(request({ url: "ws://h:8080/" }))[1], "Host: h:8080");
  strictEqual(lines(request({ url: "ws://h:80/" }))[1], "Host: h");
  strictEqual(lines(request({ url: "wss://h:443/" }))[1], "Host: h");
  strictEqual(lines(request({ url: "wss://h:80/" }))[1], "Host: h:80");
  strictEqual(
    lines(request({ url: "ws://[::1]:9000/" }))[1],
    "Host: [::1]:9000",
  );
});

Deno.test("Origin, subprotocols and caller headers are sent after the fixed ones", () => {
  const l = lines(request({
    url: "ws://h/",
    origin: "https://app.example",
    protocols: ["v2.feed", "v1.feed"],
    headers: { "X-Api-Key": "k1", Authorization: "Bearer t" },
  }));
  deepStrictEqual(l.slice(6), [
    "Origin: https://app.example",
    "Sec-WebSocket-Protocol: v2.feed, v1.feed",
    "X-Api-Key: k1",
    "Authorization: Bearer t",
  ]);
  const l2 = lines(
    request({ url: "ws://h/", headers: [["A", "1"], ["A", "2"]] }),
  );
  deepStrictEqual(l2.slice(6), ["A: 1", "A: 2"]);
});

Deno.test("CR, LF and NUL in header values throw TypeError", () => {
  for (const v of ["a\r\nHost: evil", "a\nb", "a\rb", "a\0b"]) {
    throwsA(
      () => request({ url: "ws://h/", headers: { "X-A": v } }),
      TypeError,
    );
    throwsA(() => request({ url: "ws://h/", origin: v }), TypeError);
    throwsA(() => checkHeader("X-A", v), TypeError);
  }
  for (const v of ["\x01", "\x7f", "\u0100", "☃"]) {
    throwsA(() => checkHeader("X-A", v), TypeError);
  }
  checkHeader("X-A", "tab\tand latin-1 \u00e9");
});

Deno.test("header names that are not tokens throw TypeError", () => {
  for (const name of ["", "X A", "X:A", "X\r\nY", "é", "X\0"]) {
    throwsA(
      () => request({ url: "ws://h/", headers: { [name]: "v" } }),
      TypeError,
    );
  }
});

Deno.test("headers the handshake sets itself throw TypeError, in any case", () => {
  const owned = [
    "Host",
    "upgrade",
    "CONNECTION",
    "Content-Length",
    "Transfer-Encoding",
    "Sec-WebSocket-Key",
    "sec-websocket-version",
    "Sec-WebSocket-Accept",
    "Sec-WebSocket-Extensions",
    "Sec-WebSocket-Protocol",
  ];
  for (const name of owned) {
    throwsA(
      () => request({ url: "ws://h/", headers: { [name]: "x" } }),
      TypeError,
    );
  }
  throwsA(
    () =>
      request({
        url: "ws://h/",
        origin: "https://a",
        headers: { Origin: "https://b" },
      }),
    TypeError,
  );
  ok(
    request({ url: "ws://h/", headers: { Origin: "https://b" } }).includes(
      "Origin: https://b\r\n",
    ),
  );
});

Deno.test("a URL with a fragment or a non-WebSocket scheme throws TypeError", () => {
  throwsA(() => request({ url: "ws://h/#frag" }), TypeError, /fragment/);
  throwsA(() => request({ url: "ws://h/p?q#" }), TypeError, /fragment/);
  throwsA(() => request({ url: "http://h/" }), TypeError);
  throwsA(() => request({ url: "https://h/" }), TypeError);
});

Deno.test("bad subprotocol offers throw TypeError", () => {
  for (const p of [["a b"], [""], ["a", "a"], ["a,b"], ["é"]]) {
    throwsA(() => request({ url: "ws://h/", protocols: p }), TypeError);
    throwsA(() => checkProtocols(p), TypeError);
  }
  checkProtocols([]);
  checkProtocols(["chat", "superchat"]);
});

// --- response validation ------------------------------------------------------

Deno.test("a valid 101 response is accepted with no subprotocol", () => {
  deepStrictEqual(validateHandshake(response(), KEY, []), {
    protocol: "",
    perMessageDeflate: null,
  });
  deepStrictEqual(validateHandshake(response(), KEY, ["chat"]), {
    protocol: "",
    perMessageDeflate: null,
  });
});

Deno.test("header names and token values are matched case-insensitively", () => {
  const h = head(
    "HTTP/1.1 101 OK\r\nupgrade: WebSocket\r\nconnection: keep-alive, UPGRADE\r\n" +
      `SEC-WEBSOCKET-ACCEPT: ${ACCEPT}\r\n\r\n`,
  );
  deepStrictEqual(validateHandshake(h, KEY, []), {
    protocol: "",
    perMessageDeflate: null,
  });
});

Deno.test("a status other than 101 throws HandshakeError carrying the status and headers", () => {
  for (
    const [line, status] of [["HTTP/1.1 200 OK", 200], [
      "HTTP/1.1 403 Forbidden",
      403,
    ], ["HTTP/1.1 426", 426]] as const
  ) {
    const err = throwsA(
      () => validateHandshake(response({}, ["X-Why: nope"], line), KEY, []),
      HandshakeError,
      /101/,
    );
    strictEqual(err.status, status);
    strictEqual(err.headers.get("x-why"), "nope");
  }
});

Deno.test("an HTTP/1.0 response throws HandshakeError", () => {
  const err = throwsA(
    () =>
      validateHandshake(
        response({}, [], "HTTP/1.0 101 Switching Protocols"),
        KEY,
        [],
      ),
    HandshakeError,
    /HTTP\/1\.1/,
  );
  strictEqual(err.status, 101);
});

Deno.test("a missing or wrong Upgrade throws HandshakeError", () => {
  for (const v of [null, "h2c", "websockets", ""]) {
    throwsA(
      () => validateHandshake(response({ Upgrade: v }), KEY, []),
      HandshakeError,
      /Upgrade/,
    );
  }
});

Deno.test("a missing or wrong Connection throws HandshakeError", () => {
  for (const v of [null, "close", "keep-alive", "upgraded"]) {
    throwsA(
      () => validateHandshake(response({ Connection: v }), KEY, []),
      HandshakeError,
      /Connection/,
    );
  }
});

Deno.test("a missing, wrong or repeated Sec-WebSocket-Accept throws HandshakeError", () => {
  for (
    const v of [
      null,
      "",
      acceptKey("AAAAAAAAAAAAAAAAAAAAAA=="),
      ACCEPT.toLowerCase(),
      ` ${ACCEPT}x`,
    ]
  ) {
    throwsA(
      () => validateHandshake(response({ "Sec-WebSocket-Accept": v }), KEY, []),
      HandshakeError,
      /Sec-WebSocket-Accept/,
    );
  }
  throwsA(
    () =>
      validateHandshake(
        response({}, [`Sec-WebSocket-Accept: ${ACCEPT}`]),
        KEY,
        [],
      ),
    HandshakeError,
  );
  throwsA(
    () => validateHandshake(response(), "AAAAAAAAAAAAAAAAAAAAAA==", []),
    HandshakeError,
  );
});

Deno.test("an offered subprotocol the server selected is returned", () => {
  const h = response({}, ["Sec-WebSocket-Protocol: v1.feed"]);
  deepStrictEqual(validateHandshake(h, KEY, ["v2.feed", "v1.feed"]), {
    protocol: "v1.feed",
    perMessageDeflate: null,
  });
});

Deno.test("a subprotocol that was not offered throws HandshakeError", () => {
  throwsA(
    () =>
      validateHandshake(
        response({}, ["Sec-WebSocket-Protocol: chat"]),
        KEY,
        [],
      ),
    HandshakeError,
    /subprotocol/,
  );
  throwsA(
    () =>
      validateHandshake(response({}, ["Sec-WebSocket-Protocol: chat"]), KEY, [
        "Chat",
      ]),
    HandshakeError,
  );
  throwsA(
    () =>
      validateHandshake(response({}, ["Sec-WebSocket-Protocol: a, b"]), KEY, [
        "a",
        "b",
      ]),
    HandshakeError,
  );
  throwsA(
    () =>
      validateHandshake(
        response({}, [
          "Sec-WebSocket-Protocol: a",
          "Sec-WebSocket-Protocol: a",
        ]),
        KEY,
        ["a"],
      ),
    HandshakeError,
  );
});

Deno.test("an extension the client did not offer throws HandshakeError", () => {
  for (const v of ["permessage-deflate", "x-custom; a=1", ""]) {
    throwsA(
      () =>
        validateHandshake(
          response({}, [`Sec-WebSocket-Extensions: ${v}`]),
          KEY,
          [],
        ),
      HandshakeError,
      /extension/,
    );
  }
});
