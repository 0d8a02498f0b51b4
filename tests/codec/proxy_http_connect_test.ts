/**
 * HTTP CONNECT exchange: request bytes, and the proxy's answers (good and
 * hostile) fed whole, split at every byte boundary and byte by byte.
 */

import { deepStrictEqual, equal, ok, throws } from "node:assert/strict";
import {
  HttpConnect,
  type HttpConnectOptions,
  HttpLimitError,
  HttpProtocolError,
  ProxyError,
  ReadBuf,
} from "../../src/codec/mod.ts";
import { bytes, digest, enc, feedSplits, throwsA } from "./_helpers.ts";
import { type ProxyRun, type ProxyRunOptions, runProxy } from "./_proxy.ts";

const PROXY = "127.0.0.1:3128";
const TARGET = { proxy: PROXY, hostname: "example.com", port: 443 };
const CREDS = { username: "bot", password: "hunter2-secret" };
const TOKEN = btoa("bot:hunter2-secret");

function request(options: Partial<HttpConnectOptions> = {}): string {
  const hs = new HttpConnect({ ...TARGET, ...options });
  return new TextDecoder().decode(hs.output());
}

/** Runs the answer `answer` whole, at every split and byte by byte. */
function answer(
  answer: Uint8Array | string,
  options: Partial<HttpConnectOptions> = {},
  run: ProxyRunOptions = {},
): ProxyRun {
  const b = typeof answer === "string" ? enc.encode(answer) : answer;
  const secrets = options.credentials ? [TOKEN, CREDS.password] : [];
  return feedSplits(
    b,
    (chunks) =>
      runProxy(() => new HttpConnect({ ...TARGET, ...options }), chunks, {
        secrets,
        ...run,
      }),
  );
}

Deno.test("CONNECT request names the target in authority form and in Host", () => {
  equal(
    request(),
    "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
  );
});

Deno.test("CONNECT request puts an IPv6 target in brackets, given with or without them", () => {
  const want = "CONNECT [::1]:8080 HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n";
  equal(request({ hostname: "::1", port: 8080 }), want);
  equal(request({ hostname: "[::1]", port: 8080 }), want);
  equal(
    request({ hostname: "10.0.0.7", port: 80 }),
    "CONNECT 10.0.0.7:80 HTTP/1.1\r\nHost: 10.0.0.7:80\r\n\r\n",
  );
});

Deno.test("CONNECT request carries Basic Proxy-Authorization of UTF-8 credentials (RFC 7617 examples)", () => {
  ok(
    request({ credentials: { username: "Aladdin", password: "open sesame" } })
      .includes(
        "\r\nProxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n",
      ),
  );
  ok(
    request({ credentials: { username: "test", password: "123\u00a3" } })
      .includes("\r\nProxy-Authorization: Basic dGVzdDoxMjPCow==\r\n"),
  );
  ok(
    request({ credentials: { username: "user", password: "" } })
      .includes(`\r\nProxy-Authorization: Basic ${btoa("user:")}\r\n`),
  );
});

Deno.test("CONNECT request appends the caller's header fields after Host", () => {
  equal(
    request({ headers: [["User-Agent", "bot/1"], ["X-Trace", "a b"]] }),
    "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n" +
      "User-Agent: bot/1\r\nX-Trace: a b\r\n\r\n",
  );
  ok(
    request({ headers: { "Proxy-Authorization": "Bearer t" } }).includes(
      "\r\nProxy-Authorization: Bearer t\r\n",
    ),
    "without credentials the caller may send its own Proxy-Authorization",
  );
});

Deno.test("CONNECT refuses header injection and the fields it owns", () => {
  const cases: [string, string, RegExp][] = [
    ["X-Evil", "a\r\nHost: evil", /without CR, LF or NUL/],
    ["X-Evil", "a\nb", /without CR, LF or NUL/],
    ["X-Nul", "a\0b", /without CR, LF or NUL/],
    ["Bad Name", "x", /token/],
    ["X-Bad\r\n", "x", /token/],
    ["X-Wide", "\u0100", /Latin-1/],
    ["Host", "other:443", /CONNECT request sets it/],
    ["content-length", "0", /CONNECT request sets it/],
    ["Transfer-Encoding", "chunked", /CONNECT request sets it/],
  ];
  for (const [name, value, message] of cases) {
    throwsA(
      () => new HttpConnect({ ...TARGET, headers: { [name]: value } }),
      TypeError,
      message,
    );
  }
  throwsA(
    () =>
      new HttpConnect({
        ...TARGET,
        credentials: CREDS,
        headers: { "proxy-authorization": "Basic x" },
      }),
    TypeError,
    /CONNECT request sets it/,
  );
});

Deno.test("CONNECT refuses credentials RFC 7617 cannot carry, without showing them", () => {
  for (
    const [credentials, message] of [
      [{ username: "a:b", password: "pw-secret" }, /without ":"/],
      [{ username: "bot", password: "pw\r\nsecret" }, /control characters/],
      [{ username: "b\0t", password: "pw-secret" }, /control characters/],
    ] as const
  ) {
    const err = throwsA(
      () => new HttpConnect({ ...TARGET, credentials }),
      TypeError,
      message,
    );
    ok(!err.message.includes("secret") && !err.message.includes("a:b"));
  }
});

Deno.test("CONNECT refuses bad targets, options and limits", () => {
  for (
    const hostname of [
      "",
      "exa mple.com",
      "user@example.com",
      "a/b",
      "x".repeat(256),
      "[1.2.3.4]",
      "ex\u00e4mple.com",
    ]
  ) {
    throwsA(
      () => new HttpConnect({ ...TARGET, hostname }),
      TypeError,
      /hostname/,
    );
  }
  for (const port of [0, 65536, 1.5, -1, NaN, Infinity]) {
    throwsA(
      () => new HttpConnect({ ...TARGET, port: port as number }),
      RangeError,
      /port/,
    );
  }
  throwsA(
    () => new HttpConnect({ ...TARGET, hostnme: "x" } as HttpConnectOptions),
    TypeError,
    /"hostnme"/,
  );
  throwsA(
    () => new HttpConnect(null as unknown as HttpConnectOptions),
    TypeError,
    /object, got null/,
  );
  throwsA(
    () => new HttpConnect({ ...TARGET, proxy: 3128 as unknown as string }),
    TypeError,
    /option "proxy" to be a string/,
  );
  throwsA(
    () => new HttpConnect({ ...TARGET, maxHeadSize: 10 }),
    RangeError,
    /option "maxHeadSize" to be an integer in \[64, .*got 10/,
  );
  throwsA(
    () => new HttpConnect({ ...TARGET, maxHeaders: -1 }),
    RangeError,
    /option "maxHeaders" to be an integer in \[0, .*got -1/,
  );
  throwsA(
    () => new HttpConnect({ ...TARGET, maxHeaders: "8" as unknown as number }),
    TypeError,
    /option "maxHeaders" to be a number, got a string/,
  );
  throwsA(
    () => new HttpConnect({ ...TARGET, port: "443" as unknown as number }),
    TypeError,
    /option "port" to be a number, got a string/,
  );
  throwsA(
    () =>
      new HttpConnect({
        ...TARGET,
        credentials: { username: "u", password: "p", realm: "x" } as never,
      }),
    TypeError,
    /"realm"/,
  );
  throwsA(
    () =>
      new HttpConnect({
        ...TARGET,
        credentials: { username: "u", password: 7 } as never,
      }),
    TypeError,
    /option "credentials.password" to be a string, got the number 7/,
  );
  equal(request({ hostname: "x".repeat(255) }).length > 255 * 2, true);
});

Deno.test("CONNECT refuses calls out of step", () => {
  const hs = new HttpConnect(TARGET);
  const rb = new ReadBuf({ bufferCapacity: 256 });
  throwsA(
    () => hs.read(rb),
    TypeError,
    /read\(\) in step "read", got step "write"/,
  );
  throwsA(() => hs.end(), TypeError, /end\(\)/);
  hs.output();
  throwsA(
    () => hs.output(),
    TypeError,
    /output\(\) in step "write", got step "read"/,
  );
  rb.push(enc.encode("HTTP/1.1 200 OK\r\n\r\n"));
  equal(hs.read(rb), "open");
  throwsA(() => hs.read(rb), TypeError, /got step "open"/);
  throwsA(() => hs.end(), TypeError, /got step "open"/);
});

Deno.test("CONNECT opens on 200 and leaves nothing in the buffer", () => {
  deepStrictEqual(answer("HTTP/1.1 200 Connection established\r\n\r\n"), {
    writes: [digest(enc.encode(request()))],
    step: "open",
    error: null,
    rest: "",
  });
});

Deno.test("CONNECT opens on an HTTP/1.0 200 with header fields (tinyproxy's answer)", () => {
  const run = answer(
    "HTTP/1.0 200 Connection established\r\nProxy-agent: tinyproxy/1.11.1\r\n\r\n",
  );
  equal(run.step, "open");
  equal(run.rest, "");
});

Deno.test("CONNECT hands the bytes after the head to the tunnel", () => {
  const run = answer(
    bytes("HTTP/1.1 200 OK\r\n\r\n", [0x16, 3, 3, 0, 5], "hello"),
  );
  equal(run.step, "open");
  equal(run.rest, digest(bytes([0x16, 3, 3, 0, 5], "hello")));
});

Deno.test("CONNECT opens on any 2xx and ignores Content-Length and Transfer-Encoding of the answer", () => {
  equal(answer("HTTP/1.1 204 No Content\r\n\r\n").step, "open");
  const withLength = answer(
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
  );
  equal(withLength.step, "open");
  equal(withLength.rest, digest(enc.encode("hello")));
  const chunked = answer(
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello",
  );
  equal(chunked.rest, digest(enc.encode("5\r\nhello")));
});

Deno.test("CONNECT answered 407 without credentials is an auth failure that says none were given", () => {
  const run = answer(
    'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="proxy"\r\n\r\n',
  );
  deepStrictEqual(run.error, {
    failure: "auth",
    status: 407,
    proxy: PROXY,
    message:
      "Expected proxy 127.0.0.1:3128 to open a tunnel to example.com:443, got 407 Proxy Authentication Required: the proxy requires credentials and none were given",
    cause: null,
  });
  equal(run.step, "failed");
});

Deno.test("CONNECT answered 407 with credentials says they were refused, and never shows them", () => {
  const run = answer(
    'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="proxy"\r\n\r\n',
    { credentials: CREDS },
  );
  equal(run.error!.failure, "auth");
  ok(run.error!.message.endsWith(": the proxy refused the credentials"));
});

Deno.test("CONNECT answered 401 (tinyproxy's answer to wrong credentials) is an auth failure too", () => {
  const run = answer(
    'HTTP/1.0 401 Unauthorized\r\nWWW-Authenticate: Basic realm="Tinyproxy"\r\n\r\n',
    { credentials: CREDS },
  );
  deepStrictEqual(run.error, {
    failure: "auth",
    status: 401,
    proxy: PROXY,
    message:
      "Expected proxy 127.0.0.1:3128 to open a tunnel to example.com:443, got 401 Unauthorized: the proxy refused the credentials",
    cause: null,
  });
});

Deno.test("CONNECT answered 407 asking for another scheme says only Basic is supported", () => {
  const run = answer(
    "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Negotiate\r\nProxy-Authenticate: NTLM\r\n\r\n",
    { credentials: CREDS },
  );
  ok(
    run.error!.message.endsWith(
      '(it asks for "Negotiate, NTLM"; only Basic is supported)',
    ),
    run.error!.message,
  );
});

Deno.test("CONNECT refused with a lying Content-Length fails at the head, without waiting for the body", () => {
  const run = answer(
    "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 99999999999\r\n\r\nabc",
  );
  equal(run.error!.status, 407);
  const smuggle = answer(
    "HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nxxHTTP/1.1 200 OK\r\n\r\n",
  );
  equal(smuggle.error!.status, 403);
  equal(smuggle.step, "failed");
});

Deno.test("CONNECT refusals carry their status and say what it means", () => {
  const cases: [string, string][] = [
    ["403 Forbidden", ": the proxy's rules do not allow this target"],
    ["502 Bad Gateway", ": the proxy could not connect to the target"],
    ["503 Service Unavailable", ": the proxy could not connect to the target"],
    ["504 Gateway Timeout", ": the proxy timed out connecting to the target"],
    ["500 Internal Server Error", ""],
    ["404 Not Found", ""],
    ["301 Moved Permanently", ""],
    ["400", ""],
  ];
  for (const [line, why] of cases) {
    const run = answer(`HTTP/1.1 ${line}\r\nContent-Length: 0\r\n\r\n`);
    deepStrictEqual(run.error, {
      failure: "refused",
      status: Number(line.slice(0, 3)),
      proxy: PROXY,
      message:
        `Expected proxy 127.0.0.1:3128 to open a tunnel to example.com:443, got ${line}${why}`,
      cause: null,
    });
  }
});

Deno.test("CONNECT clips a long reason phrase in the message", () => {
  const run = answer(`HTTP/1.1 403 ${"x".repeat(5000)}\r\n\r\n`);
  ok(run.error!.message.length < 250, run.error!.message);
});

Deno.test("CONNECT answered with a 1xx is a protocol failure", () => {
  for (
    const line of ["100 Continue", "101 Switching Protocols", "103 Early Hints"]
  ) {
    const run = answer(`HTTP/1.1 ${line}\r\n\r\nHTTP/1.1 200 OK\r\n\r\n`);
    deepStrictEqual(run.error, {
      failure: "protocol",
      status: Number(line.slice(0, 3)),
      proxy: PROXY,
      message:
        `Expected a final answer to CONNECT example.com:443 from proxy 127.0.0.1:3128, got ${line} (an interim answer)`,
      cause: null,
    });
  }
});

Deno.test("CONNECT answered with bytes that cannot start HTTP fails at the first wrong byte, with a hint for SOCKS5 and TLS", () => {
  const hinted: [Uint8Array, string][] = [
    [bytes([5, 0]), "0x05 first (a SOCKS5 proxy? use socks5://)"],
    [
      bytes([0x16, 3, 1, 0, 0x2a]),
      "0x16 first (a TLS server? use https:// for a TLS proxy)",
    ],
  ];
  for (const [b, shown] of hinted) {
    const run = answer(b);
    equal(run.error?.failure, "protocol");
    equal(
      run.error!.message,
      `Expected an HTTP/1.x answer to CONNECT from proxy 127.0.0.1:3128, got ${shown}`,
    );
    ok(run.error!.cause!.startsWith('Expected a status line "HTTP/1.x NNN'));
  }
  const quoted: [Uint8Array, string][] = [
    [bytes("SSH-2.0-OpenSSH_9.2\r\n"), '"S"'],
    [bytes([0]), '"\\u0000"'],
    [bytes("HTTP/2 200\r\n\r\n"), '"HTTP/2"'],
    [bytes("http/1.1 200 OK\r\n\r\n"), '"h"'],
  ];
  for (const [b, shown] of quoted) {
    const run = answer(b);
    const reader = `Expected a status line "HTTP/1.x NNN reason", got ${shown}`;
    deepStrictEqual(run.error, {
      failure: "protocol",
      proxy: PROXY,
      message:
        `Expected a valid answer to CONNECT from proxy 127.0.0.1:3128: ${reader}`,
      cause: reader,
    });
  }
});

Deno.test("CONNECT answered after empty lines opens, as the head reader allows them", () => {
  equal(answer("\r\nHTTP/1.1 200 OK\r\n\r\n").step, "open");
});

Deno.test("CONNECT answered with a bad status line or header is a protocol failure with the head reader's error as cause", () => {
  const cases = [
    "HTTP/1.1 2000 OK\r\n\r\n",
    "HTTP/1.1 20 OK\r\n\r\n",
    "HTTP/1.9 200 OK\r\n\r\n",
    "HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n",
    "HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n",
    "HTTP/1.1 200 OK\r\nX: a\nY: b\r\n\r\n",
    "HTTP/1.1 200 OK\r\n folded\r\n\r\n",
  ];
  for (const text of cases) {
    const run = answer(text);
    equal(run.error?.failure, "protocol", text);
    ok(run.error!.cause !== null, text);
    ok(
      run.error!.message.startsWith(
        "Expected a valid answer to CONNECT from proxy 127.0.0.1:3128: ",
      ),
      run.error!.message,
    );
  }
});

Deno.test("CONNECT keeps the head reader's error as the cause object", () => {
  const hs = new HttpConnect(TARGET);
  hs.output();
  const rb = new ReadBuf({ bufferCapacity: 256 });
  rb.push(enc.encode("HTTP/1.1 2000 OK\r\n\r\n"));
  const err = throwsA(() => hs.read(rb), ProxyError);
  ok(err.cause instanceof HttpProtocolError);
  equal(hs.step, "failed");
  throws(() => hs.read(rb), TypeError);
});

Deno.test("CONNECT answered with an endless head stops at maxHeadSize, memory bounded", () => {
  for (const buf of [{}, { bufferCapacity: 256 }]) {
    const run = answer(
      `HTTP/1.1 200 OK\r\nX-Pad: ${"a".repeat(20000)}`,
      {},
      {
        buf,
        check: (rb) => ok(rb.capacity <= Math.max(65536, 16384 + 1024)),
      },
    );
    equal(run.error?.failure, "protocol");
    ok(run.error!.message.includes("within 16384 bytes"), run.error!.message);
  }
  const hs = new HttpConnect({ ...TARGET, maxHeadSize: 1024 });
  hs.output();
  const rb = new ReadBuf({ bufferCapacity: 256 });
  let err: ProxyError | null = null;
  for (let i = 0; i < 5000 && err === null; i++) {
    rb.push(enc.encode(i === 0 ? "HTTP/1.1 200 OK\r\n" : "X: y\r\n"));
    try {
      hs.read(rb);
    } catch (e) {
      err = e as ProxyError;
    }
  }
  ok(err instanceof ProxyError && err.cause instanceof HttpLimitError);
  ok(rb.capacity <= 2048, `capacity ${rb.capacity}`);
});

Deno.test("CONNECT answered with too many header fields stops at maxHeaders", () => {
  const run = answer(
    `HTTP/1.1 200 OK\r\n${"X: y\r\n".repeat(11)}\r\n`,
    { maxHeaders: 64 },
  );
  equal(run.step, "open");
  const many = answer(`HTTP/1.1 200 OK\r\n${"X: y\r\n".repeat(65)}\r\n`, {
    maxHeaders: 64,
  });
  equal(many.error?.failure, "protocol");
  ok(many.error!.message.includes("at most 64 header fields"));
});

Deno.test("CONNECT answered by the end of the stream is a protocol failure", () => {
  for (const text of ["", "HTTP/1.1 200 OK\r\n", "HTTP/1.1 200 OK\r\nX: y"]) {
    const run = answer(text, {}, { end: true });
    deepStrictEqual(run.error, {
      failure: "protocol",
      proxy: PROXY,
      message:
        "Expected an answer to CONNECT example.com:443 from proxy 127.0.0.1:3128, got the end of the stream",
      cause: null,
    });
  }
});

Deno.test("CONNECT answered with bare LF line ends fails at the first LF, before the end of the stream", () => {
  const run = answer("HTTP/1.1 200 OK\n\n", {}, { end: true });
  equal(run.error?.failure, "protocol");
  ok(run.error!.message.includes("bare LF"), run.error!.message);
});

Deno.test("CONNECT never shows credentials a hostile proxy echoes into a bad line", () => {
  for (
    const text of [
      `HTTP/1.1 200 OK\r\nProxy-Authorization Basic ${TOKEN}\r\n\r\n`,
      `HTTP/1.1 200 OK\r\nEcho ${CREDS.password}\r\n\r\n`,
      `HTTP/1.1 ${CREDS.password}\r\n\r\n`,
    ]
  ) {
    // runProxy asserts no message, field or cause shows the secrets
    const run = answer(text, { credentials: CREDS });
    equal(run.error?.failure, "protocol");
    ok(
      run.error!.message.includes(
        "(quotes of the answer hidden: it may echo the credentials)",
      ),
      run.error!.message,
    );
    // not even a part of a secret shows
    for (const secret of [CREDS.password, TOKEN]) {
      for (let i = 0; i + 6 <= secret.length; i++) {
        ok(
          !run.error!.message.includes(secret.slice(i, i + 6)),
          run.error!.message,
        );
      }
    }
  }
});

Deno.test("CONNECT says what it waits for, for timeout messages", () => {
  const hs = new HttpConnect(TARGET);
  equal(hs.waiting, "");
  hs.output();
  equal(hs.waiting, "the answer to CONNECT example.com:443");
  const rb = new ReadBuf({ bufferCapacity: 256 });
  rb.push(bytes("HTTP/1.1 200 OK\r\n\r\n"));
  hs.read(rb);
  equal(hs.waiting, "");
  equal(hs.protocol, "http");
});
