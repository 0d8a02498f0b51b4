/**
 * The option, target and credential checks the proxy exchanges share.
 * Internal to the codec.
 *
 * @module
 */

import { parseIP } from "./ip.ts";

/**
 * Throws `TypeError` when `options` is not an object or has a key not in
 * `known` (options are never ignored silently).
 *
 * @example
 * ```ts
 * import { checkKeys } from "./checks.ts";
 * let threw = false;
 * try { checkKeys("Socks5Connect", { prot: 1 }, ["proxy"]); } catch { threw = true; }
 * console.assert(threw);
 * ```
 */
export function checkKeys(
  what: string,
  options: unknown,
  known: readonly string[],
): void {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `Expected ${what} options to be an object, got ${
        options === null ? "null" : typeof options
      }`,
    );
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new TypeError(
        `Expected ${what} options among ${known.join(", ")}, got "${key}"`,
      );
    }
  }
}

/** Throws `TypeError` unless `value` is a string. */
export function checkString(name: string, value: unknown): string {
  if (typeof value !== "string") {
    throw new TypeError(`Expected ${name} to be a string, got ${typeof value}`);
  }
  return value;
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
 * Checks a tunnel target (`TypeError` for a wrong type or a bad name,
 * `RangeError` for a port out of range): an IPv4 or IPv6
 * literal (brackets allowed) or a DNS name of at most 255 letters, digits,
 * `-`, `.` and `_`; a port from 1 to 65535.
 *
 * @example
 * ```ts
 * import { checkTarget } from "./checks.ts";
 * console.assert(checkTarget("[::1]", 8080).authority === "[::1]:8080");
 * ```
 */
export function checkTarget(hostname: unknown, port: unknown): Target {
  const host = checkString("hostname", hostname);
  if (typeof port !== "number") {
    throw new TypeError(`Expected port to be a number, got ${typeof port}`);
  }
  if (
    !Number.isInteger(port) || (port as number) < 1 || (port as number) > 65535
  ) {
    throw new RangeError(
      `Expected port to be an integer from 1 to 65535, got ${String(port)}`,
    );
  }
  const p = port as number;
  const ip = parseIP(host);
  if (ip !== null) {
    const bare = host.startsWith("[") ? host.slice(1, -1) : host;
    const authority = ip.length === 16 ? `[${bare}]:${p}` : `${bare}:${p}`;
    return { hostname: bare, port: p, ip, authority };
  }
  let ok = host.length > 0 && host.length <= 255;
  for (let i = 0; ok && i < host.length; i++) {
    ok = isNameChar(host.charCodeAt(i));
  }
  if (!ok) {
    throw new TypeError(
      `Expected hostname to be an IP address or a DNS name of at most 255 letters, digits, "-", "." and "_", got ${
        JSON.stringify(host.length > 64 ? `${host.slice(0, 64)}…` : host)
      }`,
    );
  }
  return { hostname: host, port: p, ip: null, authority: `${host}:${p}` };
}

/**
 * Checks `credentials` (an object with string `username` and `password`,
 * nothing else) without ever echoing them; `undefined` passes.
 *
 * @example
 * ```ts
 * import { checkCredentials } from "./checks.ts";
 * console.assert(checkCredentials({ username: "u", password: "p" })!.username === "u");
 * ```
 */
export function checkCredentials(
  credentials: unknown,
): { username: string; password: string } | undefined {
  if (credentials === undefined) return undefined;
  checkKeys("credentials", credentials, ["username", "password"]);
  const c = credentials as { username: unknown; password: unknown };
  return {
    username: checkString("credentials.username", c.username),
    password: checkString("credentials.password", c.password),
  };
}
