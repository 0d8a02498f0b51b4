/**
 * The option rules and the target check the proxy exchanges share (the
 * options go through the one validator, `src/options.ts`). Internal to the
 * codec.
 *
 * @module
 */

import {
  check,
  integer,
  required,
  type Rule,
  type Rules,
  string,
} from "../../options.ts";
import { parseIP } from "./ip.ts";

/** A username and a password, both strings, nothing else. */
const credentials: Rule = (v, name) => {
  check(v, { username: string, password: string }, name);
  required(v, ["username", "password"], name);
};

/**
 * The options every proxy exchange takes: `proxy`, `hostname`, `port`
 * (1 to 65535) and `credentials`.
 */
export const TARGET_RULES: Rules = {
  proxy: string,
  hostname: string,
  port: integer(1, 65535),
  credentials,
};

/**
 * Checks an exchange's options against `rules` (see `src/options.ts`) and
 * that `proxy`, `hostname` and `port` are given. Never echoes credentials:
 * the rules quote no string they accept.
 *
 * @example
 * ```ts
 * import { checkOptions, TARGET_RULES } from "./checks.ts";
 * let threw = false;
 * try { checkOptions({ proxy: "p:1", hostname: "h", prot: 1 }, TARGET_RULES, "new Socks5Connect()"); } catch { threw = true; }
 * console.assert(threw);
 * ```
 */
export function checkOptions(
  options: unknown,
  rules: Rules,
  where: string,
): void {
  check(options, rules, where);
  required(options, ["proxy", "hostname", "port"], where);
}

/** A checked tunnel target. */
export interface Target {
  /** The host name, or the IP literal without brackets. */
  hostname: string;
  /** 1 to 65535. */
  port: number;
  /** The address bytes (4 or 16) of an IP literal, `null` for a name. */
  ip: Uint8Array | null;
  /** `host:port`, IPv6 in brackets: the CONNECT authority. */
  authority: string;
}

// letters, digits, "-", ".", "_": what URL host parsing leaves of a name
function isNameChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) ||
    (c >= 48 && c <= 57) || c === 45 || c === 46 || c === 95;
}

/**
 * Checks a tunnel target whose types the rules checked (`TypeError` for a
 * bad name): an IPv4 or IPv6 literal (brackets allowed) or a DNS name of at
 * most 255 letters, digits, `-`, `.` and `_`.
 *
 * @example
 * ```ts
 * import { checkTarget } from "./checks.ts";
 * console.assert(checkTarget("[::1]", 8080).authority === "[::1]:8080");
 * ```
 */
export function checkTarget(host: string, port: number): Target {
  const ip = parseIP(host);
  if (ip !== null) {
    const bare = host.startsWith("[") ? host.slice(1, -1) : host;
    const authority = ip.length === 16
      ? `[${bare}]:${port}`
      : `${bare}:${port}`;
    return { hostname: bare, port, ip, authority };
  }
  let ok = host.length > 0 && host.length <= 255;
  for (let i = 0; ok && i < host.length; i++) {
    ok = isNameChar(host.charCodeAt(i));
  }
  if (!ok) {
    throw new TypeError(
      `Expected option "hostname" to be an IP address or a DNS name of at most 255 letters, digits, "-", "." and "_", got ${
        JSON.stringify(host.length > 64 ? `${host.slice(0, 64)}…` : host)
      }`,
    );
  }
  return { hostname: host, port, ip: null, authority: `${host}:${port}` };
}
