/**
 * RFC 9110 tokens: `isToken` (a method, a field name, a subprotocol) and
 * `hasToken` (is a token in a comma-separated field value such as
 * `Connection: keep-alive, Upgrade`). Shared by the head parser, the
 * response reader, the request writer and the WebSocket handshake.
 *
 * @module
 */

/** `TCHAR[c]` is 1 when the ASCII byte `c` is a tchar (RFC 9110 §5.6.2). */
export const TCHAR: Uint8Array = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 48; c <= 57; c++) TCHAR[c] = 1;
for (let c = 65; c <= 90; c++) TCHAR[c] = 1;
for (let c = 97; c <= 122; c++) TCHAR[c] = 1;

/**
 * Whether `s` is a non-empty RFC 9110 token (a valid method or field name).
 *
 * @example
 * ```ts
 * import { isToken } from "./token.ts";
 * console.assert(isToken("X-Api-Key") && !isToken("Bad Name") && !isToken(""));
 * ```
 */
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || TCHAR[c] === 0) return false;
  }
  return true;
}

/**
 * Whether the comma-separated field value `value` holds `token`, compared
 * case-insensitively (`token` must be lower-case), elements trimmed of
 * spaces and tabs. `null` (no such field) holds nothing. Allocates nothing.
 *
 * @example
 * ```ts
 * import { hasToken } from "./token.ts";
 * console.assert(hasToken("keep-alive, Upgrade", "upgrade"));
 * console.assert(!hasToken("upgrades", "upgrade") && !hasToken(null, "close"));
 * ```
 */
export function hasToken(value: string | null, token: string): boolean {
  if (value === null) return false;
  const n = value.length, t = token.length;
  let i = 0;
  while (i <= n) {
    let j = i;
    while (j < n && value.charCodeAt(j) !== 44) j++; // ','
    let from = i, to = j;
    while (from < to && isOws(value.charCodeAt(from))) from++;
    while (to > from && isOws(value.charCodeAt(to - 1))) to--;
    if (to - from === t && lowerEquals(value, from, token)) return true;
    i = j + 1;
  }
  return false;
}

function isOws(c: number): boolean {
  return c === 32 || c === 9;
}

/**
 * Whether `s[from, from + lower.length)` equals `lower` (lower-case),
 * ASCII letters compared case-insensitively. Allocates nothing.
 *
 * @example
 * ```ts
 * import { lowerEquals } from "./token.ts";
 * console.assert(lowerEquals("X-Api-Key", 0, "x-api-key") && !lowerEquals("Host", 0, "hose"));
 * ```
 */
export function lowerEquals(s: string, from: number, lower: string): boolean {
  for (let k = 0; k < lower.length; k++) {
    let c = s.charCodeAt(from + k);
    if (c >= 65 && c <= 90) c |= 0x20;
    if (c !== lower.charCodeAt(k)) return false;
  }
  return true;
}
