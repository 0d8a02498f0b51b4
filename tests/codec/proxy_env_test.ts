/**
 * Proxy URLs, `NO_PROXY` and the choice of proxy from the environment, as
 * tables (the rules follow Deno's `fetch`, `ext/fetch/proxy.rs`).
 */

import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { type ProxyEnv, proxyFromEnv } from "../../src/codec/proxy/env.ts";
import { parseIP, parseIPv4, parseIPv6 } from "../../src/codec/proxy/ip.ts";
import { bypassesProxy } from "../../src/codec/proxy/no_proxy.ts";
import { parseProxyUrl, type ProxyUrl } from "../../src/codec/proxy/url.ts";
import { throwsA } from "./_helpers.ts";

function parts(p: ProxyUrl | null) {
  return p === null ? null : {
    scheme: p.scheme,
    hostname: p.hostname,
    port: p.port,
    credentials: p.credentials ?? null,
  };
}

Deno.test("IP literals parse strictly to bytes", () => {
  deepStrictEqual(
    parseIPv4("192.168.0.255"),
    new Uint8Array([192, 168, 0, 255]),
  );
  for (
    const bad of [
      "1.2.3",
      "1.2.3.4.5",
      "256.1.1.1",
      "01.2.3.4",
      "1..2.3",
      "a.b.c.d",
      "1.2.3.4 ",
      "",
    ]
  ) {
    equal(parseIPv4(bad), null, bad);
  }
  const v6: [string, number[]][] = [
    ["::", []],
    ["::1", [15, 1]],
    ["[::1]", [15, 1]],
    ["1::", [1, 1]],
    ["2001:db8::7", [0, 0x20, 1, 0x01, 2, 0x0d, 3, 0xb8, 15, 7]],
    ["1:2:3:4:5:6:7:8", [1, 1, 3, 2, 5, 3, 7, 4, 9, 5, 11, 6, 13, 7, 15, 8]],
    ["1:2:3:4:5:6:7::", [1, 1, 3, 2, 5, 3, 7, 4, 9, 5, 11, 6, 13, 7]],
    ["::ffff:10.0.0.1", [10, 0xff, 11, 0xff, 12, 10, 15, 1]],
    ["FFFF::", [0, 0xff, 1, 0xff]],
  ];
  for (const [text, set] of v6) {
    const want = new Uint8Array(16);
    for (let i = 0; i < set.length; i += 2) want[set[i]] = set[i + 1];
    deepStrictEqual(parseIPv6(text), want, text);
  }
  for (
    const bad of [
      ":",
      ":::",
      "1::2::3",
      "1:2:3:4:5:6:7:8:9",
      "1::2:3:4:5:6:7:8",
      "12345::",
      "::g",
      "fe80::1%eth0",
      ":1::",
      "1:2:3:4:5:6:7",
      "::1.2.3",
      "1.2.3.4",
    ]
  ) {
    equal(parseIPv6(bad), null, bad);
  }
  equal(parseIP("example.com"), null);
});

Deno.test("Proxy URLs of the four schemes parse, with default ports", () => {
  const cases: [string, ReturnType<typeof parts>][] = [
    ["http://proxy.internal:3128", {
      scheme: "http",
      hostname: "proxy.internal",
      port: 3128,
      credentials: null,
    }],
    ["http://proxy.internal", {
      scheme: "http",
      hostname: "proxy.internal",
      port: 80,
      credentials: null,
    }],
    ["https://proxy.internal/", {
      scheme: "https",
      hostname: "proxy.internal",
      port: 443,
      credentials: null,
    }],
    ["socks5://127.0.0.1", {
      scheme: "socks5",
      hostname: "127.0.0.1",
      port: 1080,
      credentials: null,
    }],
    ["socks5h://[::1]:9050", {
      scheme: "socks5h",
      hostname: "::1",
      port: 9050,
      credentials: null,
    }],
    ["SOCKS5H://Proxy.Internal:80", {
      scheme: "socks5h",
      hostname: "proxy.internal",
      port: 80,
      credentials: null,
    }],
    ["proxy.internal:3128", {
      scheme: "http",
      hostname: "proxy.internal",
      port: 3128,
      credentials: null,
    }],
    ["proxy.internal", {
      scheme: "http",
      hostname: "proxy.internal",
      port: 80,
      credentials: null,
    }],
    ["[::1]:3128/", {
      scheme: "http",
      hostname: "::1",
      port: 3128,
      credentials: null,
    }],
    ["u:p@127.0.0.1:3128", {
      scheme: "http",
      hostname: "127.0.0.1",
      port: 3128,
      credentials: { username: "u", password: "p" },
    }],
    ["  http://proxy.internal:3128  ", {
      scheme: "http",
      hostname: "proxy.internal",
      port: 3128,
      credentials: null,
    }],
    ["http://[::1]:80", {
      scheme: "http",
      hostname: "::1",
      port: 80,
      credentials: null,
    }],
  ];
  for (const [text, want] of cases) {
    deepStrictEqual(parts(parseProxyUrl(text)), want, text);
  }
  deepStrictEqual(parts(parseProxyUrl(new URL("socks5://10.0.0.1:1"))), {
    scheme: "socks5",
    hostname: "10.0.0.1",
    port: 1,
    credentials: null,
  });
});

Deno.test("Proxy URL credentials are percent-decoded", () => {
  const cases: [string, { username: string; password: string }][] = [
    ["http://bot:s3cret@proxy:3128", { username: "bot", password: "s3cret" }],
    ["socks5://b%40t:p%3Ass%2F%25@proxy", {
      username: "b@t",
      password: "p:ss/%",
    }],
    ["http://%C3%BC:%E2%82%AC@proxy", {
      username: "\u00fc",
      password: "\u20ac",
    }],
    ["http://bot@proxy", { username: "bot", password: "" }],
    ["http://:token@proxy", { username: "", password: "token" }],
  ];
  for (const [text, want] of cases) {
    deepStrictEqual(parseProxyUrl(text).credentials, want, text);
  }
});

Deno.test("A proxy URL never shows its credentials when printed", () => {
  const p = parseProxyUrl("socks5h://bot:hunter2-secret@127.0.0.1:1080");
  const shown = [
    String(p),
    `${p}`,
    JSON.stringify(p),
    JSON.stringify({ p }),
    Deno.inspect(p),
    Deno.inspect({ p }, { getters: true, showHidden: true }),
    Object.keys(p).join(),
  ];
  for (const s of shown) ok(!s.includes("hunter2") && !s.includes("bot"), s);
  equal(String(p), "socks5h://127.0.0.1:1080");
  equal(
    Deno.inspect(p),
    "ProxyUrl(socks5h://127.0.0.1:1080, with credentials)",
  );
  equal(p.host, "127.0.0.1:1080");
  equal(parseProxyUrl("http://[::1]:3128").host, "[::1]:3128");
});

Deno.test("Proxy URLs of other schemes or shapes are refused with a TypeError that never quotes them", () => {
  const cases: [unknown, RegExp][] = [
    [
      "ftp://proxy:21",
      /http:\/\/, https:\/\/, socks5:\/\/ or socks5h:\/\/ proxy URL, got scheme "ftp:"/,
    ],
    ["socks4://proxy:1080", /got scheme "socks4:"/],
    ["socks://proxy:1080", /got scheme "socks:"/],
    ["unix:/run/proxy.sock", /got scheme "unix:"/],
    ["vsock:1:1234", /got scheme "vsock:"/],
    ["bot:secret@unix:/x", /got a value that does not parse as one/],
    ["ws://proxy:80", /got scheme "ws:"/],
    [
      "http://bot:secret@proxy:3128/path",
      /without a path, query or fragment, got one with them/,
    ],
    ["http://bot:secret@proxy:3128/?q", /without a path/],
    ["http://bot:secret@proxy:3128/#f", /without a path/],
    ["socks5://bot:secret@proxy:1080/x", /without a path/],
    ["http://bot:secret@proxy:99999", /does not parse as a URL/],
    ["http://bot:secret@", /does not parse as a URL/],
    ["socks5://bot:secret@:1080", /with a host, got none|does not parse/],
    [
      "http://b%ZZt:secret@proxy",
      /percent-encoded credentials, got an invalid % escape/,
    ],
    ["http://bot:%E2%82secret@proxy", /invalid % escape/],
    ["", /does not parse as a URL/],
    [3128, /proxy URL string or URL, got number/],
    [null, /got object/],
  ];
  for (const [value, message] of cases) {
    const err = throwsA(
      () => parseProxyUrl(value as string, "HTTPS_PROXY"),
      TypeError,
      message,
    );
    ok(err.message.startsWith("Expected HTTPS_PROXY to be "), err.message);
    ok(
      !err.message.includes("secret") && !err.message.includes("bot"),
      err.message,
    );
  }
});

Deno.test("NO_PROXY matches hosts, domain suffixes, *, ports, addresses and ranges", () => {
  // [NO_PROXY, hostname, port, bypass?]
  const cases: [string, string, number, boolean][] = [
    ["example.com", "example.com", 443, true],
    ["example.com", "www.example.com", 443, true],
    ["example.com", "a.b.example.com", 80, true],
    ["example.com", "badexample.com", 443, false],
    ["example.com", "example.com.evil", 443, false],
    [".example.com", "example.com", 443, true],
    [".example.com", "www.example.com", 443, true],
    [".example.com", "notexample.com", 443, false],
    ["*.example.com", "www.example.com", 443, true],
    ["*.example.com", "example.com", 443, true],
    ["EXAMPLE.com", "www.example.com", 443, true],
    ["example.com", "WWW.EXAMPLE.COM", 443, true],
    ["*", "anything.at.all", 1, true],
    ["*", "10.0.0.1", 1, true],
    ["foo, *", "x", 1, true],
    ["", "example.com", 443, false],
    [" , ,", "example.com", 443, false],
    ["  example.com  ,  other.org ", "other.org", 443, true],
    ["example.com:8443", "example.com", 8443, true],
    ["example.com:8443", "example.com", 443, false],
    ["example.com:8443", "www.example.com", 8443, true],
    ["example.com:", "example.com", 443, true],
    ["example.com:x", "example.com", 443, false],
    ["localhost", "localhost", 80, true],
    ["localhost", "127.0.0.1", 80, false],
    ["127.0.0.1", "127.0.0.1", 80, true],
    ["127.0.0.1", "127.0.0.2", 80, false],
    ["127.0.0.1", "localhost", 80, false],
    ["127.0.0.1:8080", "127.0.0.1", 8080, true],
    ["127.0.0.1:8080", "127.0.0.1", 80, false],
    ["10.0.0.0/8", "10.200.3.4", 443, true],
    ["10.0.0.0/8", "11.0.0.1", 443, false],
    ["10.42.1.1/24", "10.42.1.100", 443, true],
    ["10.42.1.1/24", "10.43.1.1", 443, false],
    ["0.0.0.0/0", "8.8.8.8", 443, true],
    ["10.0.0.0/33", "10.0.0.1", 443, false],
    ["10.0.0.0/x", "10.0.0.1", 443, false],
    ["10.0.0.0/8", "example.com", 443, false],
    ["::1", "[::1]", 443, true],
    ["::1", "::1", 443, true],
    ["[::1]", "[::1]", 443, true],
    ["0:0::1", "[::1]", 443, true],
    ["::1", "[::2]", 443, false],
    ["[::1]:8443", "[::1]", 8443, true],
    ["[::1]:8443", "[::1]", 443, false],
    ["2001::/17", "[2001:db8:a0b:12f0::1]", 443, true],
    ["2001::/17", "[2005:db8:a0b:12f0::1]", 443, false],
    ["fd00::/8", "[fdab::1]", 443, true],
    ["::/0", "[::1]", 443, true],
    ["::/0", "10.0.0.1", 443, false],
    ["10.0.0.0/8", "[::ffff:10.0.0.1]", 443, false],
    ["::1", "0.0.0.1", 443, false],
  ];
  for (const [noProxy, host, port, want] of cases) {
    equal(
      bypassesProxy(noProxy, host, port),
      want,
      `${noProxy} / ${host}:${port}`,
    );
  }
});

const HTTP_P = "http://127.0.0.1:3128";
const SOCKS_P = "socks5h://127.0.0.1:1080";
const ALL_P = "http://10.0.0.9:8080";

function pick(url: string, env: ProxyEnv): string | null {
  const p = proxyFromEnv(new URL(url), env);
  return p === null ? null : String(p);
}

Deno.test("The environment's proxy is picked by the target's scheme, as Deno's fetch does", () => {
  // [target, env, chosen proxy]
  const cases: [string, ProxyEnv, string | null][] = [
    ["wss://feed.example/ws", {}, null],
    ["wss://feed.example/ws", { HTTPS_PROXY: HTTP_P }, HTTP_P],
    ["https://api.example/", { HTTPS_PROXY: HTTP_P }, HTTP_P],
    ["ws://feed.example/ws", { HTTPS_PROXY: HTTP_P }, null],
    ["ws://feed.example/ws", { HTTP_PROXY: HTTP_P }, HTTP_P],
    ["http://api.example/", { HTTP_PROXY: HTTP_P }, HTTP_P],
    ["wss://feed.example/ws", { HTTP_PROXY: HTTP_P }, null],
    ["wss://feed.example/ws", { https_proxy: SOCKS_P }, SOCKS_P],
    ["ws://feed.example/ws", { http_proxy: SOCKS_P }, SOCKS_P],
    // upper case first; lower case when the upper one is unset or empty
    [
      "wss://feed.example/ws",
      { HTTPS_PROXY: HTTP_P, https_proxy: SOCKS_P },
      HTTP_P,
    ],
    [
      "wss://feed.example/ws",
      { HTTPS_PROXY: "", https_proxy: SOCKS_P },
      SOCKS_P,
    ],
    [
      "wss://feed.example/ws",
      { HTTPS_PROXY: "  ", https_proxy: SOCKS_P },
      SOCKS_P,
    ],
    // ALL_PROXY applies to every scheme and wins over the scheme's variable
    ["wss://feed.example/ws", { ALL_PROXY: ALL_P }, ALL_P],
    ["ws://feed.example/ws", { all_proxy: ALL_P }, ALL_P],
    ["wss://feed.example/ws", { ALL_PROXY: ALL_P, HTTPS_PROXY: HTTP_P }, ALL_P],
    ["ws://feed.example/ws", { ALL_PROXY: ALL_P, HTTP_PROXY: HTTP_P }, ALL_P],
    ["ws://feed.example/ws", { ALL_PROXY: ALL_P, all_proxy: SOCKS_P }, ALL_P],
    // under CGI (REQUEST_METHOD set) HTTP_PROXY is not trusted
    [
      "ws://feed.example/ws",
      { HTTP_PROXY: HTTP_P, REQUEST_METHOD: "GET" },
      null,
    ],
    [
      "ws://feed.example/ws",
      { http_proxy: HTTP_P, REQUEST_METHOD: "GET" },
      null,
    ],
    [
      "wss://feed.example/ws",
      { HTTPS_PROXY: HTTP_P, REQUEST_METHOD: "GET" },
      HTTP_P,
    ],
    [
      "ws://feed.example/ws",
      { ALL_PROXY: ALL_P, REQUEST_METHOD: "GET" },
      ALL_P,
    ],
    // NO_PROXY first, for every variable
    [
      "wss://feed.internal/ws",
      { HTTPS_PROXY: HTTP_P, NO_PROXY: ".internal" },
      null,
    ],
    [
      "wss://feed.internal/ws",
      { ALL_PROXY: ALL_P, no_proxy: "feed.internal" },
      null,
    ],
    [
      "wss://feed.example/ws",
      { HTTPS_PROXY: HTTP_P, NO_PROXY: ".internal" },
      HTTP_P,
    ],
    ["wss://feed.internal/ws", {
      HTTPS_PROXY: HTTP_P,
      NO_PROXY: "",
      no_proxy: "*",
    }, HTTP_P],
    ["wss://feed.internal/ws", {
      HTTPS_PROXY: HTTP_P,
      NO_PROXY: "*",
      no_proxy: "",
    }, null],
    // NO_PROXY ports compare with the URL's port, explicit or default
    ["wss://feed.internal/ws", {
      HTTPS_PROXY: HTTP_P,
      NO_PROXY: "feed.internal:443",
    }, null],
    ["ws://feed.internal/ws", {
      HTTP_PROXY: HTTP_P,
      NO_PROXY: "feed.internal:443",
    }, HTTP_P],
    ["ws://feed.internal:443/ws", {
      HTTP_PROXY: HTTP_P,
      NO_PROXY: "feed.internal:443",
    }, null],
    [
      "https://[::1]:8443/",
      { HTTPS_PROXY: HTTP_P, NO_PROXY: "[::1]:8443" },
      null,
    ],
    [
      "https://127.0.0.1/",
      { HTTPS_PROXY: HTTP_P, NO_PROXY: "127.0.0.0/8" },
      null,
    ],
  ];
  for (const [url, env, want] of cases) {
    equal(pick(url, env), want, `${url} with ${JSON.stringify(env)}`);
  }
});

Deno.test("The environment's proxy keeps its credentials, decoded", () => {
  const p = proxyFromEnv(new URL("wss://feed.example/"), {
    HTTPS_PROXY: "http://bot:p%40ss@127.0.0.1:3128",
  });
  deepStrictEqual(p?.credentials, { username: "bot", password: "p@ss" });
});

Deno.test("An environment proxy that does not parse is refused, naming the variable and not the value", () => {
  const cases: [string, ProxyEnv, RegExp][] = [
    [
      "wss://x.example/",
      { HTTPS_PROXY: "ftp://bot:secret@p" },
      /^Expected HTTPS_PROXY to be .*got scheme "ftp:"$/,
    ],
    [
      "wss://x.example/",
      { https_proxy: "http://bot:secret@p/x" },
      /^Expected https_proxy to be /,
    ],
    [
      "ws://x.example/",
      { ALL_PROXY: "unix:/run/secret.sock" },
      /^Expected ALL_PROXY to be /,
    ],
    [
      "ws://x.example/",
      { HTTP_PROXY: "http://bot:secret@p:99999" },
      /^Expected HTTP_PROXY to be /,
    ],
  ];
  for (const [url, env, message] of cases) {
    const err = throwsA(
      () => proxyFromEnv(new URL(url), env),
      TypeError,
      message,
    );
    ok(!err.message.includes("secret"), err.message);
  }
  // a variable that does not apply to the target is not read
  equal(pick("ws://x.example/", { HTTPS_PROXY: "ftp://p" }), null);
  equal(
    pick("wss://x.internal/", { HTTPS_PROXY: "ftp://p", NO_PROXY: "*" }),
    null,
  );
});

Deno.test("Proxy selection refuses a target URL that is not ws, wss, http or https", () => {
  throwsA(
    () => proxyFromEnv(new URL("ftp://x.example/"), {}),
    TypeError,
    /Expected a ws:, wss:, http: or https: URL, got "ftp:"/,
  );
});
