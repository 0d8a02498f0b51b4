/**
 * Proxy selection from the environment, following Deno's `fetch`
 * (`ext/fetch/proxy.rs` in Deno 2.9: `from_env` and `Proxies::intercept`).
 * A pure function of the variables: the adapter passes them in. Internal to
 * the codec.
 *
 * For a target URL, in this order:
 *
 * 1. `NO_PROXY` (`no_proxy` when `NO_PROXY` is not set) matches the target
 *    (see `no_proxy.ts` for the forms): no proxy;
 * 2. `ALL_PROXY` (else `all_proxy`) is set: that proxy, for every scheme.
 *    As in Deno it wins over the scheme's own variable (curl does the
 *    opposite);
 * 3. `wss:` / `https:`: `HTTPS_PROXY` (else `https_proxy`);
 * 4. `ws:` / `http:`: `HTTP_PROXY` (else `http_proxy`), ignored when
 *    `REQUEST_METHOD` is set (under CGI a request header `Proxy:` becomes
 *    `HTTP_PROXY`);
 * 5. otherwise no proxy.
 *
 * The upper-case name is read first, the lower-case one only when the
 * upper-case one is unset or empty. Where Deno skips a value it cannot
 * parse and falls through to the next, this refuses it with a `TypeError`
 * naming the variable (and never quoting the value): a proxy setting is
 * never ignored silently.
 *
 * @module
 */

import { bypassesProxy } from "./no_proxy.ts";
import { parseProxyUrl, type ProxyUrl } from "./url.ts";

/**
 * Environment variables as a plain object (`Deno.env.toObject()`, or only
 * {@link PROXY_ENV_NAMES} read one by one).
 *
 * @example
 * ```ts
 * import type { ProxyEnv } from "./env.ts";
 * const env: ProxyEnv = { HTTPS_PROXY: "http://127.0.0.1:3128" };
 * console.assert(env.HTTPS_PROXY !== undefined);
 * ```
 */
export type ProxyEnv = Readonly<Record<string, string | undefined>>;

/**
 * Every variable {@link proxyFromEnv} reads (names are case-sensitive on
 * Linux and macOS, so both cases are listed).
 *
 * @example
 * ```ts
 * import { PROXY_ENV_NAMES } from "./env.ts";
 * console.assert(PROXY_ENV_NAMES.includes("no_proxy"));
 * ```
 */
export const PROXY_ENV_NAMES: readonly string[] = [
  "ALL_PROXY",
  "all_proxy",
  "HTTPS_PROXY",
  "https_proxy",
  "HTTP_PROXY",
  "http_proxy",
  "NO_PROXY",
  "no_proxy",
  "REQUEST_METHOD",
];

const SECURE: Record<string, boolean> = {
  "ws:": false,
  "http:": false,
  "wss:": true,
  "https:": true,
};

/** The variable `upper` (else its lower-case twin) when set and not empty. */
function variable(env: ProxyEnv, upper: string): ProxyUrl | null {
  for (const name of [upper, upper.toLowerCase()]) {
    const value = env[name];
    if (value !== undefined && value.trim() !== "") {
      return parseProxyUrl(value, name);
    }
  }
  return null;
}

/**
 * The proxy the environment gives for `url` (`ws:`, `wss:`, `http:`,
 * `https:`), or `null` for a direct connection; see the module doc for the
 * precedence. Throws `TypeError` for another scheme, or when the variable
 * that applies is not a valid proxy URL.
 *
 * @example
 * ```ts
 * import { proxyFromEnv } from "./env.ts";
 * const env = { HTTPS_PROXY: "http://127.0.0.1:3128", NO_PROXY: "localhost,.internal" };
 * console.assert(proxyFromEnv(new URL("wss://stream.example.com/ws"), env)!.port === 3128);
 * console.assert(proxyFromEnv(new URL("wss://feed.internal/ws"), env) === null);
 * console.assert(proxyFromEnv(new URL("ws://stream.example.com/ws"), env) === null);
 * ```
 */
export function proxyFromEnv(url: URL, env: ProxyEnv): ProxyUrl | null {
  const secure = SECURE[url.protocol];
  if (secure === undefined) {
    throw new TypeError(
      `Expected a ws:, wss:, http: or https: URL, got "${url.protocol}"`,
    );
  }
  const noProxy = env.NO_PROXY ?? env.no_proxy;
  const port = url.port === "" ? (secure ? 443 : 80) : Number(url.port);
  if (noProxy !== undefined && bypassesProxy(noProxy, url.hostname, port)) {
    return null;
  }
  const all = variable(env, "ALL_PROXY");
  if (all !== null) return all;
  if (secure) return variable(env, "HTTPS_PROXY");
  if (env.REQUEST_METHOD !== undefined) return null;
  return variable(env, "HTTP_PROXY");
}
