/**
 * The one header-field parser: a `name: value` line of a response head or
 * of chunked trailers (and so of the WebSocket handshake's `101`) into a
 * {@link HeaderList}, with the strings it makes interned.
 *
 * @module
 */

import { HttpLimitError, HttpProtocolError } from "../../errors.ts";
import type { HeaderList } from "./header_list.ts";
import { TCHAR } from "./token.ts";

/**
 * A direct-mapped cache of short strings seen in heads (header names
 * lower-cased, common values, reason phrases), so a steady stream of
 * similar responses parses without allocating them again. Bounded: 1024
 * slots of at most 48 characters; a collision just replaces the slot.
 */
const INTERN = new Array<string>(1024).fill("");
const INTERN_MAX = 48;

/**
 * `b[from, to)` as a Latin-1 string, lower-cased when `lower` (ASCII
 * letters only), from the intern cache when short.
 *
 * @example
 * ```ts
 * import { interned } from "./field.ts";
 * const b = new TextEncoder().encode("Content-Type");
 * console.assert(interned(b, 0, b.length, true) === "content-type");
 * ```
 */
export function interned(
  b: Uint8Array,
  from: number,
  to: number,
  lower: boolean,
): string {
  const n = to - from;
  if (n > INTERN_MAX) {
    const s = latin1(b, from, to);
    return lower ? s.toLowerCase() : s;
  }
  let h = n;
  for (let i = from; i < to; i++) {
    let c = b[i];
    if (lower && c >= 65 && c <= 90) c |= 0x20;
    h = (Math.imul(h, 31) + c) | 0;
  }
  const slot = (h ^ (h >>> 10)) & 1023;
  const hit = INTERN[slot];
  if (hit.length === n) {
    let i = 0;
    for (; i < n; i++) {
      let c = b[from + i];
      if (lower && c >= 65 && c <= 90) c |= 0x20;
      if (hit.charCodeAt(i) !== c) break;
    }
    if (i === n) return hit;
  }
  let s = "";
  for (let i = from; i < to; i++) {
    let c = b[i];
    if (lower && c >= 65 && c <= 90) c |= 0x20;
    s += String.fromCharCode(c);
  }
  INTERN[slot] = s;
  return s;
}

/**
 * `b[from, to)` as a Latin-1 string (one character per byte).
 *
 * @example
 * ```ts
 * import { latin1 } from "./field.ts";
 * console.assert(latin1(new Uint8Array([0x68, 0xe9]), 0, 2) === "h\u00e9");
 * ```
 */
export function latin1(b: Uint8Array, from: number, to: number): string {
  if (to - from <= 16) {
    let t = "";
    for (let i = from; i < to; i++) t += String.fromCharCode(b[i]);
    return t;
  }
  let s = "";
  for (let i = from; i < to; i += 4096) {
    s += String.fromCharCode.apply(
      null,
      b.subarray(i, Math.min(to, i + 4096)) as unknown as number[],
    );
  }
  return s;
}

/** `b[from, to)` quoted for an error message, at most 64 bytes of it. */
export function quote(b: Uint8Array, from: number, to: number): string {
  const cut = Math.min(to, from + 64);
  return JSON.stringify(latin1(b, from, cut) + (cut < to ? "…" : ""));
}

/**
 * Parses the field line `b[from, to)` (CRLF excluded) and appends it to
 * `into`: a token name, a colon, a value trimmed of spaces and tabs. `noun`
 * (`"header"` or `"trailer"`) names the section in messages. Throws
 * {@link HttpProtocolError} for obs-fold (a line starting with whitespace),
 * a name that is not a token (or space before the colon), control bytes in
 * the value (HTAB and obs-text are kept); {@link HttpLimitError} when `into`
 * already holds `maxFields` fields.
 *
 * @example
 * ```ts
 * import { parseField } from "./field.ts";
 * import { HeaderList } from "./header_list.ts";
 * const h = new HeaderList();
 * const line = new TextEncoder().encode("X-Count:  3 ");
 * parseField(line, 0, line.length, h, 100, "header");
 * console.assert(h.get("x-count") === "3");
 * ```
 */
export function parseField(
  b: Uint8Array,
  from: number,
  to: number,
  into: HeaderList,
  maxFields: number,
  noun: string,
): void {
  if (b[from] === 32 || b[from] === 9) {
    throw new HttpProtocolError(
      `Expected a ${noun} field, got an obs-fold continuation line`,
    );
  }
  if (into.size >= maxFields) {
    throw new HttpLimitError(
      "maxHeaders",
      maxFields,
      `Expected at most ${maxFields} ${noun} fields, got more`,
    );
  }
  let colon = from;
  let token = true;
  for (; colon < to; colon++) {
    const c = b[colon];
    if (c === 58) break; // ':'
    if (c >= 128 || TCHAR[c] === 0) token = false;
  }
  if (colon === to || colon === from || !token) {
    throw new HttpProtocolError(
      `Expected a ${noun} field "name: value", got ${quote(b, from, to)}`,
    );
  }
  const name = interned(b, from, colon, true);
  let vs = colon + 1, ve = to;
  while (vs < ve && (b[vs] === 32 || b[vs] === 9)) vs++;
  while (ve > vs && (b[ve - 1] === 32 || b[ve - 1] === 9)) ve--;
  for (let k = vs; k < ve; k++) {
    const c = b[k];
    if ((c < 32 && c !== 9) || c === 127) {
      throw new HttpProtocolError(
        `Expected no control bytes in ${noun} "${name}", got 0x${
          c.toString(16).padStart(2, "0")
        }`,
      );
    }
  }
  into.append(name, interned(b, vs, ve, false));
}
