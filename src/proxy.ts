/**
 * Which proxy a dial goes through: the `proxy` option when given, else the
 * environment (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`, as
 * Deno's `fetch` reads them: see `src/codec/proxy/env.ts`).
 *
 * The environment is read with `Deno.env` at each dial that needs it (no
 * `proxy` option, no custom transport or dial function), and only the
 * variables the process may read: each name's permission is queried once
 * per process (`Deno.permissions.querySync`, which never prompts), and a
 * variable that is not granted (no `--allow-env`, or
 * `--allow-env=OTHER_NAMES`) counts as unset.
 *
 * @module
 */

import { describe, type Rule } from "./options.ts";
import { PROXY_ENV_NAMES, proxyFromEnv } from "./codec/proxy/env.ts";
import { parseProxyUrl, type ProxyUrl } from "./codec/proxy/url.ts";

/**
 * The `proxy` option: a proxy URL (`http://`, `https://`, `socks5://`,
 * `socks5h://`, credentials in the user-info part), or `false` for a direct
 * connection whatever the environment says. Checked (parsed) with the
 * other options, so a bad URL is a `TypeError` before any I/O; the message
 * never quotes the value.
 */
export const proxyRule: Rule = (v, name) => {
  if (v === false) return;
  if (typeof v !== "string" && !(v instanceof URL)) {
    throw new TypeError(
      `Expected option "${name}" to be a proxy URL (a string or a URL) or false, got ${
        describe(v)
      }`,
    );
  }
  parseProxyUrl(v, `option "${name}"`);
};

/**
 * The checked `proxy` option, parsed: the proxy, `false` (direct), or
 * `undefined` (the environment decides at each dial).
 */
export function parseProxyOption(
  value: string | URL | false | undefined,
): ProxyUrl | false | undefined {
  return value === undefined || value === false
    ? value
    : parseProxyUrl(value, 'option "proxy"');
}

/** Each variable's permission state, queried once. */
const readable = new Map<string, boolean>();

function mayRead(name: string): boolean {
  let ok = readable.get(name);
  if (ok === undefined) {
    ok = Deno.permissions.querySync({ name: "env", variable: name }).state ===
      "granted";
    readable.set(name, ok);
  }
  return ok;
}

/** The proxy variables the process may read, as an object. */
function readEnv(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const name of PROXY_ENV_NAMES) {
    if (!mayRead(name)) continue;
    try {
      env[name] = Deno.env.get(name);
    } catch { /* permission revoked since: unset */ }
  }
  return env;
}

/**
 * The proxy the environment gives for `url`, or `null` for a direct
 * connection. A variable that applies but is not a valid proxy URL is a
 * `TypeError` naming it (never quoting it).
 */
export function proxyFromEnvironment(url: URL): ProxyUrl | null {
  return proxyFromEnv(url, readEnv());
}
