/**
 * SOCKS5 exchange (RFC 1928, RFC 1929): the client's messages, and the
 * proxy's answers (good and hostile) fed whole, split at every byte
 * boundary and byte by byte.
 */

import { deepStrictEqual, equal, ok } from "node:assert/strict";
import {
  ReadBuf,
  Socks5Connect,
  type Socks5ConnectOptions,
  socks5ReplyText,
} from "../../src/codec/mod.ts";
import { bytes, concat, digest, enc, feedSplits, throwsA } from "./_helpers.ts";
import { type ProxyRun, type ProxyRunOptions, runProxy } from "./_proxy.ts";

const PROXY = "127.0.0.1:1080";
const TARGET = { proxy: PROXY, hostname: "127.0.0.1", port: 8080 };
const CREDS = { username: "bot", password: "hunter2-secret" };

const GREETING = digest(bytes([5, 1, 0]));
const GREETING_AUTH = digest(bytes([5, 2, 0, 2]));
const AUTH = digest(bytes([1, 3], "bot", [14], "hunter2-secret"));
const CONNECT_V4 = digest(bytes([5, 1, 0, 1, 127, 0, 0, 1, 0x1f, 0x90]));

/** A success reply bound to 127.0.0.1:1234. */
const OK_V4 = bytes([5, 0, 0, 1, 127, 0, 0, 1, 4, 210]);

function run(
  answer: Uint8Array,
  options: Partial<Socks5ConnectOptions> = {},
  more: ProxyRunOptions = {},
): ProxyRun {
  const secrets = options.credentials ? [CREDS.password] : [];
  return feedSplits(
    answer,
    (chunks) =>
      runProxy(() => new Socks5Connect({ ...TARGET, ...options }), chunks, {
        secrets,
        ...more,
      }),
  );
}

/** The CONNECT request the exchange writes for `hostname`/`port`. */
function connectFor(hostname: string, port: number): Uint8Array {
  const hs = new Socks5Connect({ proxy: PROXY, hostname, port });
  hs.output();
  const rb = new ReadBuf({ bufferCapacity: 256 });
  rb.push(bytes([5, 0]));
  equal(hs.read(rb), "write");
  return hs.output().slice();
}

Deno.test("SOCKS5 greeting offers no authentication, and username/password too when credentials are given", () => {
  equal(digest(new Socks5Connect(TARGET).output()), GREETING);
  equal(
    digest(new Socks5Connect({ ...TARGET, credentials: CREDS }).output()),
    GREETING_AUTH,
  );
});

Deno.test("SOCKS5 CONNECT request encodes IPv4, IPv6 and domain-name targets", () => {
  deepStrictEqual(
    connectFor("10.1.2.3", 443),
    bytes([5, 1, 0, 1, 10, 1, 2, 3, 1, 187]),
  );
  const v6 = bytes(
    [5, 1, 0, 4, 0x20, 0x01, 0x0d, 0xb8],
    new Uint8Array(10),
    [0, 7, 0xff, 0xff],
  );
  deepStrictEqual(connectFor("2001:db8::7", 65535), v6);
  deepStrictEqual(connectFor("[2001:db8::7]", 65535), v6);
  deepStrictEqual(
    connectFor("::ffff:10.0.0.1", 80),
    bytes([5, 1, 0, 4], new Uint8Array(10), [0xff, 0xff, 10, 0, 0, 1, 0, 80]),
  );
  deepStrictEqual(
    connectFor("localhost", 1),
    bytes([5, 1, 0, 3, 9], "localhost", [0, 1]),
  );
  const long = "a".repeat(255);
  deepStrictEqual(
    connectFor(long, 443),
    bytes([5, 1, 0, 3, 255], long, [1, 187]),
  );
});

Deno.test("SOCKS5 refuses targets it cannot encode and bad options", () => {
  for (
    const hostname of [
      "",
      "a".repeat(256),
      "ex ample.com",
      "ex\u00e4mple.com",
      "::1::",
    ]
  ) {
    throwsA(
      () => new Socks5Connect({ ...TARGET, hostname }),
      TypeError,
      /hostname/,
    );
  }
  for (const port of [0, 65536, 80.5]) {
    throwsA(() => new Socks5Connect({ ...TARGET, port }), RangeError, /port/);
  }
  throwsA(
    () => new Socks5Connect({ ...TARGET, headers: {} } as Socks5ConnectOptions),
    TypeError,
    /"headers"/,
  );
});

Deno.test("SOCKS5 refuses credentials RFC 1929 cannot carry, without showing them", () => {
  const cases = [
    [
      { username: "", password: "pw-secret" },
      /username of 1 to 255 bytes.*got 0/,
    ],
    [{ username: "bot", password: "" }, /password of 1 to 255 bytes.*got 0/],
    [{ username: "u".repeat(256), password: "pw-secret" }, /got 256/],
    // 128 two-byte characters: 256 bytes
    [{ username: "bot", password: "\u00e9".repeat(128) }, /password.*got 256/],
  ] as const;
  for (const [credentials, message] of cases) {
    const err = throwsA(
      () => new Socks5Connect({ ...TARGET, credentials }),
      RangeError,
      message,
    );
    ok(!err.message.includes("secret"));
  }
  const max = new Socks5Connect({
    ...TARGET,
    credentials: { username: "u".repeat(255), password: "\u00e9".repeat(127) },
  });
  equal(max.step, "write");
});

Deno.test("SOCKS5 without authentication opens after the method selection and the reply", () => {
  deepStrictEqual(run(bytes([5, 0], OK_V4)), {
    writes: [GREETING, CONNECT_V4],
    step: "open",
    error: null,
    rest: "",
  });
});

Deno.test("SOCKS5 hands the bytes after the reply to the tunnel", () => {
  const r = run(bytes([5, 0], OK_V4, "server speaks first\r\n"));
  equal(r.step, "open");
  equal(r.rest, digest(enc.encode("server speaks first\r\n")));
});

Deno.test("SOCKS5 reads replies bound to IPv6 and domain-name addresses", () => {
  const v6 = bytes([5, 0, 0, 4], new Uint8Array(15), [1, 0, 80]);
  equal(run(bytes([5, 0], v6, "x")).rest, digest(enc.encode("x")));
  const name = bytes([5, 0, 0, 3, 9], "localhost", [0, 80]);
  equal(run(bytes([5, 0], name, "y")).rest, digest(enc.encode("y")));
});

Deno.test("SOCKS5 reads the longest reply (262 bytes) into the smallest buffer", () => {
  const longest = bytes([5, 0, 0, 3, 255], "b".repeat(255), [0, 80]);
  const r = run(bytes([5, 0], longest, "z"), {}, {
    buf: { bufferCapacity: 256 },
    check: (rb) => ok(rb.capacity <= 512),
  });
  equal(r.step, "open");
  equal(r.rest, digest(enc.encode("z")));
});

Deno.test("SOCKS5 with credentials runs the RFC 1929 sub-negotiation when the proxy picks it", () => {
  deepStrictEqual(
    run(bytes([5, 2], [1, 0], OK_V4), { credentials: CREDS }),
    {
      writes: [GREETING_AUTH, AUTH, CONNECT_V4],
      step: "open",
      error: null,
      rest: "",
    },
  );
});

Deno.test("SOCKS5 with credentials skips them when the proxy picks no authentication", () => {
  deepStrictEqual(run(bytes([5, 0], OK_V4), { credentials: CREDS }).writes, [
    GREETING_AUTH,
    CONNECT_V4,
  ]);
});

Deno.test("SOCKS5 credentials are sent as UTF-8 with byte lengths", () => {
  const r = run(bytes([5, 2], [1, 0], OK_V4), {
    credentials: { username: "\u00fc", password: "\u20ac1" },
  });
  equal(
    r.writes[1],
    digest(bytes([1, 2, 0xc3, 0xbc, 4, 0xe2, 0x82, 0xac, 0x31])),
  );
});

Deno.test("SOCKS5 refused credentials are an auth failure that never shows them", () => {
  deepStrictEqual(run(bytes([5, 2], [1, 1]), { credentials: CREDS }), {
    writes: [GREETING_AUTH, AUTH],
    step: "failed",
    error: {
      failure: "auth",
      proxy: PROXY,
      message:
        "Expected SOCKS5 proxy 127.0.0.1:1080 to accept the credentials, got status 1: it refused them",
      cause: null,
    },
    rest: "",
  });
});

Deno.test("SOCKS5 'no acceptable method' is an auth failure", () => {
  deepStrictEqual(run(bytes([5, 0xff])).error, {
    failure: "auth",
    proxy: PROXY,
    message:
      'Expected SOCKS5 proxy 127.0.0.1:1080 to accept "no authentication", got no acceptable method: it requires credentials and none were given',
    cause: null,
  });
  deepStrictEqual(run(bytes([5, 0xff]), { credentials: CREDS }).error, {
    failure: "auth",
    proxy: PROXY,
    message:
      'Expected SOCKS5 proxy 127.0.0.1:1080 to accept "no authentication" or "username/password", got no acceptable method',
    cause: null,
  });
});

Deno.test("SOCKS5 refuses a method that was not offered", () => {
  for (
    const [method, creds, offered] of [
      [2, false, "0"],
      [1, false, "0"],
      [1, true, "0 or 2"],
      [0x80, true, "0 or 2"],
    ] as const
  ) {
    const r = run(
      bytes([5, method], OK_V4),
      creds ? { credentials: CREDS } : {},
    );
    deepStrictEqual(r.error, {
      failure: "protocol",
      proxy: PROXY,
      message:
        `Expected SOCKS5 proxy 127.0.0.1:1080 to select an offered method (${offered}), got ${method}`,
      cause: null,
    });
  }
});

Deno.test("SOCKS5 refuses a wrong version at every step", () => {
  const cases: [Uint8Array, string, boolean][] = [
    [
      bytes([4, 0]),
      "version 5 in the method selection from SOCKS5 proxy 127.0.0.1:1080, got 4",
      false,
    ],
    [
      bytes("HTTP/1.1 400 Bad Request\r\n\r\n"),
      "version 5 in the method selection from SOCKS5 proxy 127.0.0.1:1080, got 72 (an HTTP proxy? use http://)",
      false,
    ],
    [
      bytes([5, 2], [5, 0]),
      "version 1 in the authentication status from SOCKS5 proxy 127.0.0.1:1080, got 5",
      true,
    ],
    [
      bytes([5, 0], [4, 0, 0, 1]),
      "version 5 in the reply from SOCKS5 proxy 127.0.0.1:1080, got 4",
      false,
    ],
  ];
  for (const [answer, message, creds] of cases) {
    const r = run(answer, creds ? { credentials: CREDS } : {});
    deepStrictEqual(r.error, {
      failure: "protocol",
      proxy: PROXY,
      message: `Expected ${message}`,
      cause: null,
    });
  }
});

Deno.test("SOCKS5 reply codes are refusals carrying the code and its meaning", () => {
  const cases: [number, string][] = [
    [1, "general SOCKS server failure"],
    [2, "connection not allowed by the proxy's rules"],
    [3, "network unreachable"],
    [4, "host unreachable"],
    [5, "connection refused by the target"],
    [6, "TTL expired"],
    [7, "command not supported (CONNECT)"],
    [8, "address type not supported"],
    [9, "unassigned reply code"],
    [0x7f, "unassigned reply code"],
    [0xff, "unassigned reply code"],
  ];
  for (const [code, text] of cases) {
    equal(socks5ReplyText(code), text);
    // the rest of the reply may be missing or garbage: the code decides
    for (const tail of [[], [0, 1, 0, 0, 0, 0, 0, 0], [9, 9]]) {
      const r = run(bytes([5, 0], [5, code], tail));
      deepStrictEqual(r.error, {
        failure: "refused",
        reply: code,
        proxy: PROXY,
        message:
          `Expected SOCKS5 proxy 127.0.0.1:1080 to connect to 127.0.0.1:8080, got reply ${code}: ${text}`,
        cause: null,
      });
    }
  }
  equal(socks5ReplyText(0), "succeeded");
});

Deno.test("SOCKS5 refuses a reply with a reserved byte, an unknown address type or an empty name", () => {
  const cases: [number[], string][] = [
    [
      [5, 0, 1, 1, 127, 0, 0, 1, 0, 80],
      "reserved byte 0 in the reply from SOCKS5 proxy 127.0.0.1:1080, got 1",
    ],
    [
      [5, 0, 0, 2, 127, 0, 0, 1, 0, 80],
      "address type 1, 3 or 4 in the reply from SOCKS5 proxy 127.0.0.1:1080, got 2",
    ],
    [
      [5, 0, 0, 0],
      "address type 1, 3 or 4 in the reply from SOCKS5 proxy 127.0.0.1:1080, got 0",
    ],
    [
      [5, 0, 0, 0xff],
      "address type 1, 3 or 4 in the reply from SOCKS5 proxy 127.0.0.1:1080, got 255",
    ],
    [
      [5, 0, 0, 3, 0, 0, 80],
      "a bound address in the reply from SOCKS5 proxy 127.0.0.1:1080, got an empty name",
    ],
  ];
  for (const [reply, message] of cases) {
    deepStrictEqual(run(bytes([5, 0], reply)).error, {
      failure: "protocol",
      proxy: PROXY,
      message: `Expected ${message}`,
      cause: null,
    });
  }
});

Deno.test("SOCKS5 truncated at any point is a protocol failure naming what was awaited", () => {
  const full = bytes([5, 2], [1, 0], OK_V4);
  const awaited = (n: number): string =>
    n < 2
      ? "the method selection (2 bytes)"
      : n < 4
      ? "the authentication status (2 bytes)"
      : "the reply to CONNECT";
  for (let n = 0; n < full.length; n++) {
    const r = runProxy(
      () => new Socks5Connect({ ...TARGET, credentials: CREDS }),
      [full.subarray(0, n)],
      { end: true },
    );
    deepStrictEqual(r.error, {
      failure: "protocol",
      proxy: PROXY,
      message: `Expected ${
        awaited(n)
      } from SOCKS5 proxy 127.0.0.1:1080, got the end of the stream`,
      cause: null,
    }, `truncated after ${n} bytes`);
  }
  // a domain reply that claims more name bytes than arrive
  const lying = bytes([5, 0], [5, 0, 0, 3, 200], "short", [0, 80]);
  const r = run(lying, {}, { end: true });
  equal(r.error?.message.endsWith("got the end of the stream"), true);
});

Deno.test("SOCKS5 feeds a whole exchange that arrived at once, one message at a time", () => {
  const hs = new Socks5Connect({ ...TARGET, credentials: CREDS });
  const rb = new ReadBuf({ bufferCapacity: 256 });
  rb.push(concat([bytes([5, 2], [1, 0]), OK_V4, bytes("t")]));
  const writes = [digest(hs.output())];
  equal(hs.read(rb), "write");
  equal(rb.length, 2 + OK_V4.length + 1, "only the method selection consumed");
  writes.push(digest(hs.output()));
  equal(hs.read(rb), "write");
  writes.push(digest(hs.output()));
  equal(hs.read(rb), "open");
  deepStrictEqual(writes, [GREETING_AUTH, AUTH, CONNECT_V4]);
  deepStrictEqual(rb.data(), bytes("t"));
});

Deno.test("SOCKS5 says what it waits for at each step, for timeout messages", () => {
  const hs = new Socks5Connect({ ...TARGET, credentials: CREDS });
  const rb = new ReadBuf({ bufferCapacity: 256 });
  const seen = [hs.waiting];
  hs.output();
  seen.push(hs.waiting);
  rb.push(bytes([5, 2]));
  hs.read(rb);
  hs.output();
  seen.push(hs.waiting);
  rb.push(bytes([1, 0]));
  hs.read(rb);
  hs.output();
  seen.push(hs.waiting);
  rb.push(OK_V4);
  hs.read(rb);
  seen.push(hs.waiting);
  deepStrictEqual(seen, [
    "",
    "the method selection (2 bytes)",
    "the authentication status (2 bytes)",
    "the reply to CONNECT",
    "",
  ]);
  equal(hs.protocol, "socks5");
});

Deno.test("SOCKS5 requires proxy, hostname and port", () => {
  for (const name of ["proxy", "hostname", "port"] as const) {
    const options: Partial<Socks5ConnectOptions> = { ...TARGET };
    delete options[name];
    throwsA(
      () => new Socks5Connect(options as Socks5ConnectOptions),
      TypeError,
      new RegExp(`option "${name}" to be given, got undefined`),
    );
  }
  throwsA(
    () =>
      new Socks5Connect({
        ...TARGET,
        credentials: { username: "bot" } as never,
      }),
    TypeError,
    /option "credentials.password" to be given/,
  );
});
