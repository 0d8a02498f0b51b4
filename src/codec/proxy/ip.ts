/**
 * IP address literals as bytes: the SOCKS5 request's address types and the
 * `NO_PROXY` address and range forms need them. Internal to the codec.
 *
 * @module
 */

/**
 * The 4 bytes of a dotted-decimal IPv4 address (`"127.0.0.1"`), or `null`
 * when `s` is not one. Strict: four decimal parts 0-255, no leading zeros,
 * no other form (as URL host parsing leaves them: `new URL` already turned
 * `0x7f.1` into `127.0.0.1`).
 *
 * @example
 * ```ts
 * import { parseIPv4 } from "./ip.ts";
 * console.assert(parseIPv4("10.0.0.1")![3] === 1 && parseIPv4("10.0.0.01") === null);
 * ```
 */
export function parseIPv4(s: string): Uint8Array | null {
  const parts = s.split(".");
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i];
    if (p.length === 0 || p.length > 3 || (p.length > 1 && p[0] === "0")) {
      return null;
    }
    let v = 0;
    for (let k = 0; k < p.length; k++) {
      const d = p.charCodeAt(k) - 48;
      if (d < 0 || d > 9) return null;
      v = v * 10 + d;
    }
    if (v > 255) return null;
    out[i] = v;
  }
  return out;
}

/** Parses 1-4 hex digits; -1 when `s` is not that. */
function hexGroup(s: string): number {
  if (s.length === 0 || s.length > 4) return -1;
  let v = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const d = c >= 48 && c <= 57
      ? c - 48
      : c >= 97 && c <= 102
      ? c - 87
      : c >= 65 && c <= 70
      ? c - 55
      : -1;
    if (d < 0) return -1;
    v = (v << 4) | d;
  }
  return v;
}

/** The 16-bit groups of one side of `::` (an IPv4 tail counts as two). */
function groups(s: string, last: boolean): number[] | null {
  if (s.length === 0) return [];
  const parts = s.split(":");
  const out: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    if (last && i === parts.length - 1 && parts[i].includes(".")) {
      const v4 = parseIPv4(parts[i]);
      if (v4 === null) return null;
      out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      continue;
    }
    const g = hexGroup(parts[i]);
    if (g < 0) return null;
    out.push(g);
  }
  return out;
}

/**
 * The 16 bytes of an IPv6 address (`"::1"`, `"2001:db8::7"`,
 * `"::ffff:10.0.0.1"`; brackets allowed around it), or `null` when `s` is
 * not one. Zone identifiers (`%eth0`) are refused.
 *
 * @example
 * ```ts
 * import { parseIPv6 } from "./ip.ts";
 * console.assert(parseIPv6("[::1]")![15] === 1 && parseIPv6("::1::") === null);
 * ```
 */
export function parseIPv6(s: string): Uint8Array | null {
  if (s.startsWith("[") && s.endsWith("]")) s = s.slice(1, -1);
  if (s.length < 2 || !s.includes(":")) return null;
  const gap = s.indexOf("::");
  let head: number[] | null, tail: number[] | null;
  if (gap < 0) {
    head = groups(s, true);
    tail = [];
    if (head === null || head.length !== 8) return null;
  } else {
    if (s.indexOf("::", gap + 1) >= 0) return null;
    head = groups(s.slice(0, gap), false);
    tail = groups(s.slice(gap + 2), true);
    if (head === null || tail === null || head.length + tail.length > 7) {
      return null;
    }
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < head.length; i++) {
    out[2 * i] = head[i] >> 8;
    out[2 * i + 1] = head[i] & 0xff;
  }
  for (let i = 0; i < tail.length; i++) {
    const at = 16 - 2 * (tail.length - i);
    out[at] = tail[i] >> 8;
    out[at + 1] = tail[i] & 0xff;
  }
  return out;
}

/**
 * The bytes of an IPv4 or IPv6 literal (4 or 16), or `null` for a name.
 *
 * @example
 * ```ts
 * import { parseIP } from "./ip.ts";
 * console.assert(parseIP("127.0.0.1")!.length === 4 && parseIP("example.com") === null);
 * ```
 */
export function parseIP(s: string): Uint8Array | null {
  return parseIPv4(s) ?? parseIPv6(s);
}

/**
 * Whether the first `bits` bits of `a` and `b` (same length) are equal.
 *
 * @example
 * ```ts
 * import { parseIPv4, samePrefix } from "./ip.ts";
 * console.assert(samePrefix(parseIPv4("10.42.1.9")!, parseIPv4("10.42.1.0")!, 24));
 * ```
 */
export function samePrefix(
  a: Uint8Array,
  b: Uint8Array,
  bits: number,
): boolean {
  if (a.length !== b.length) return false;
  let i = 0;
  for (; bits >= 8; bits -= 8, i++) if (a[i] !== b[i]) return false;
  if (bits === 0) return true;
  const mask = (0xff00 >> bits) & 0xff;
  return (a[i] & mask) === (b[i] & mask);
}
