/**
 * Proxy URLs: `http://`, `https://`, `socks5://`, `socks5h://`, with
 * percent-decoded credentials that never show when the URL is printed.
 * Internal to the codec (the adapters parse the `proxy` option with it).
 *
 * @module
 */

import type { ProxyCredentials } from "./handshake.ts";

/**
 * The proxy protocols a URL can name: `http` (CONNECT over plain TCP),
 * `https` (CONNECT over TLS to the proxy), `socks5` (the client resolves
 * the target name), `socks5h` (the proxy resolves it).
 *
 * @example
 * ```ts
 * import type { ProxyScheme } from "./url.ts";
 * const s: ProxyScheme = "socks5h";
 * console.assert(s === "socks5h");
 * ```
 */
export type ProxyScheme = "http" | "https" | "socks5" | "socks5h";

const DEFAULT_PORT: Record<ProxyScheme, number> = {
  http: 80,
  https: 443,
  socks5: 1080,
  socks5h: 1080,
};

const INSPECT = Symbol.for("Deno.customInspect");

/**
 * A parsed proxy URL. Its credentials are private fields: `String()`,
 * `JSON.stringify` and `console.log` show the scheme, host and port only.
 *
 * @example
 * ```ts
 * import { parseProxyUrl } from "./url.ts";
 * const p = parseProxyUrl("socks5h://bot:p%40ss@127.0.0.1:1080");
 * console.assert(p.credentials!.password === "p@ss" && String(p) === "socks5h://127.0.0.1:1080");
 * ```
 */
export class ProxyUrl {
  /** `http`, `https`, `socks5` or `socks5h`. */
  readonly scheme: ProxyScheme;
  /** The proxy's host name, or its IP address (IPv6 without brackets). */
  readonly hostname: string;
  /** The proxy's port (default 80, 443 or 1080 by scheme). */
  readonly port: number;
  #credentials: ProxyCredentials | undefined;

  /** Builds from parts already checked by {@link parseProxyUrl}. */
  constructor(
    scheme: ProxyScheme,
    hostname: string,
    port: number,
    credentials?: ProxyCredentials,
  ) {
    this.scheme = scheme;
    this.hostname = hostname;
    this.port = port;
    this.#credentials = credentials;
  }

  /** The decoded username and password, when the URL has them. */
  get credentials(): ProxyCredentials | undefined {
    return this.#credentials;
  }

  /** `host:port`, IPv6 in brackets: what errors name the proxy by. */
  get host(): string {
    const h = this.hostname.includes(":")
      ? `[${this.hostname}]`
      : this.hostname;
    return `${h}:${this.port}`;
  }

  /** `scheme://host:port`, without the credentials. */
  toString(): string {
    return `${this.scheme}://${this.host}`;
  }

  /** The same as {@link ProxyUrl.toString}. */
  toJSON(): string {
    return this.toString();
  }

  /** What `console.log` shows: no credentials. */
  [INSPECT](): string {
    return `ProxyUrl(${this}${this.#credentials ? ", with credentials" : ""})`;
  }
}

function bad(name: string, expected: string, got: string): TypeError {
  return new TypeError(`Expected ${name} to be ${expected}, got ${got}`);
}

function decode(name: string, s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw bad(
      name,
      "a proxy URL with percent-encoded credentials",
      "an invalid % escape in them",
    );
  }
}

// host, host:port, [v6], [v6]:port, with an optional trailing "/"
const HOST_PORT = /^(\[[0-9a-fA-F:.]*\]|[^:/\[\]]*)(:[0-9]*)?\/?$/;

/**
 * `text` with `http://` in front when it has no scheme (`host:port`,
 * `user:pass@host:port`), as Deno reads `HTTP_PROXY`; refuses `unix:…` and
 * other scheme-only forms.
 */
function withScheme(name: string, text: string): string {
  if (text.includes("://")) return text;
  if (HOST_PORT.test(text.slice(text.lastIndexOf("@") + 1))) {
    return `http://${text}`;
  }
  const scheme = /^[a-zA-Z][a-zA-Z0-9+.-]*:/.exec(text);
  throw bad(
    name,
    "an http://, https://, socks5:// or socks5h:// proxy URL",
    scheme !== null && !text.includes("@")
      ? `scheme "${scheme[0].toLowerCase()}"`
      : "a value that does not parse as one",
  );
}

/**
 * Parses a proxy URL; `name` (the option or variable it came from) is what
 * errors call it. A value without `://` is taken as `http://` (as Deno's
 * `fetch` does with `HTTP_PROXY=host:port`). Refuses with a `TypeError`,
 * never quoting the value (it may hold credentials): a scheme other than
 * `http:`, `https:`, `socks5:`, `socks5h:`; no host; a path other than
 * `/`, a query or a fragment; a bad `%` escape in the credentials.
 *
 * @example
 * ```ts
 * import { parseProxyUrl } from "./url.ts";
 * console.assert(parseProxyUrl("proxy.internal:3128").host === "proxy.internal:3128");
 * let threw = false;
 * try { parseProxyUrl("ftp://proxy.internal"); } catch (e) { threw = e instanceof TypeError; }
 * console.assert(threw);
 * ```
 */
export function parseProxyUrl(value: string | URL, name = "proxy"): ProxyUrl {
  if (typeof value !== "string" && !(value instanceof URL)) {
    throw bad(name, "a proxy URL string or URL", typeof value);
  }
  const text = withScheme(name, String(value).trim());
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw bad(name, "a proxy URL", "a value that does not parse as a URL");
  }
  const scheme = url.protocol.slice(0, -1);
  if (!(scheme in DEFAULT_PORT)) {
    throw bad(
      name,
      "an http://, https://, socks5:// or socks5h:// proxy URL",
      `scheme "${url.protocol}"`,
    );
  }
  if (url.hostname === "") throw bad(name, "a proxy URL with a host", "none");
  if (
    (url.pathname !== "" && url.pathname !== "/") || url.search !== "" ||
    url.hash !== ""
  ) {
    throw bad(
      name,
      "a proxy URL without a path, query or fragment",
      "one with them",
    );
  }
  // socks5: URLs have opaque hosts: parse the host as an http: one would be
  // (lower case, IDNA, IPv4 forms) to compare and connect the same way
  let hostname = url.hostname;
  if (scheme.startsWith("socks")) {
    try {
      hostname = new URL(`http://${hostname}`).hostname;
    } catch {
      throw bad(name, "a proxy URL with a valid host", "an invalid host");
    }
  }
  if (hostname.startsWith("[")) hostname = hostname.slice(1, -1);
  const port = url.port === ""
    ? DEFAULT_PORT[scheme as ProxyScheme]
    : Number(url.port);
  const credentials = url.username === "" && url.password === "" ? undefined : {
    username: decode(name, url.username),
    password: decode(name, url.password),
  };
  return new ProxyUrl(scheme as ProxyScheme, hostname, port, credentials);
}
