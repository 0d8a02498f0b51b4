/**
 * `NO_PROXY` matching: which targets bypass the proxy. Internal to the
 * codec.
 *
 * The forms, comma-separated, whitespace around entries ignored, case
 * ignored (as Deno's `fetch` reads them, with the port forms added):
 *
 * | entry | matches |
 * | --- | --- |
 * | `*` | every target |
 * | `example.com`, `.example.com`, `*.example.com` | `example.com` and every subdomain (not `badexample.com`) |
 * | `10.1.2.3`, `::1`, `[::1]` | that address (IPv6 compared as 16 bytes) |
 * | `10.0.0.0/8`, `fd00::/8` | every address in the range |
 * | `example.com:8443`, `10.1.2.3:8443`, `[::1]:8443` | as without the port, on that port only |
 *
 * Names are not resolved: `127.0.0.1` does not match `localhost`. An entry
 * of none of these forms (e.g. `10.0.0.0/99`) matches nothing, as in Deno.
 * Deno itself has no port forms: there `example.com:8443` matches nothing.
 *
 * @module
 */

import { parseIP, samePrefix } from "./ip.ts";

/** The entry's host part and port (-1: any), or null for a bad port. */
function splitPort(entry: string): [string, number] | null {
  let host = entry, portText = "";
  if (entry.startsWith("[")) {
    const close = entry.indexOf("]");
    if (close < 0) return null;
    host = entry.slice(0, close + 1);
    const rest = entry.slice(close + 1);
    if (rest !== "") {
      if (!rest.startsWith(":")) return null;
      portText = rest.slice(1);
    }
  } else {
    const colon = entry.indexOf(":");
    // two colons or more: a bare IPv6 address, which cannot carry a port
    if (colon >= 0 && entry.indexOf(":", colon + 1) < 0) {
      host = entry.slice(0, colon);
      portText = entry.slice(colon + 1);
    }
  }
  if (portText === "") return [host, -1];
  if (!/^[0-9]{1,5}$/.test(portText)) return null;
  return [host, Number(portText)];
}

function matchesHost(
  entry: string,
  hostname: string,
  ip: Uint8Array | null,
): boolean {
  const slash = entry.indexOf("/");
  if (slash >= 0) {
    const net = parseIP(entry.slice(0, slash));
    const bitsText = entry.slice(slash + 1);
    if (net === null || ip === null || !/^[0-9]{1,3}$/.test(bitsText)) {
      return false;
    }
    const bits = Number(bitsText);
    return bits <= net.length * 8 && samePrefix(ip, net, bits);
  }
  const addr = parseIP(entry);
  if (addr !== null) {
    if (ip === null || ip.length !== addr.length) return false;
    return addr.every((b, i) => b === ip[i]);
  }
  if (ip !== null) return false;
  const domain = entry.startsWith("*.")
    ? entry.slice(2)
    : entry.startsWith(".")
    ? entry.slice(1)
    : entry;
  return domain !== "" &&
    (hostname === domain || hostname.endsWith(`.${domain}`));
}

/**
 * Whether `noProxy` (a `NO_PROXY` value) says that `hostname:port` is
 * reached directly. `hostname` is a URL's (lower case; IPv6 in brackets or
 * not).
 *
 * @example
 * ```ts
 * import { bypassesProxy } from "./no_proxy.ts";
 * console.assert(bypassesProxy(".corp.example, 10.0.0.0/8", "feed.corp.example", 443));
 * console.assert(bypassesProxy("10.0.0.0/8", "10.9.8.7", 80));
 * console.assert(!bypassesProxy("example.com:8443", "example.com", 443));
 * ```
 */
export function bypassesProxy(
  noProxy: string,
  hostname: string,
  port: number,
): boolean {
  const host = hostname.toLowerCase();
  const ip = parseIP(host);
  for (const raw of noProxy.split(",")) {
    const entry = raw.trim().toLowerCase();
    if (entry === "") continue;
    if (entry === "*") return true;
    const parts = splitPort(entry);
    if (parts === null) continue;
    if (parts[1] >= 0 && parts[1] !== port) continue;
    if (matchesHost(parts[0], host, ip)) return true;
  }
  return false;
}
