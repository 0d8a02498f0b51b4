/**
 * How a response's body is delimited (RFC 9112 §6.3) and whether its
 * connection may carry another request: pure functions of the request
 * method and the response head, in the manner of h11's `_body_framing`.
 *
 * @module
 */

import { HttpProtocolError } from "../../errors.ts";
import type { HeaderList } from "./header_list.ts";
import { hasToken } from "./token.ts";

/** {@link bodyFraming}: the body is in the chunked transfer coding. */
export const CHUNKED = -1;
/** {@link bodyFraming}: the body runs to the end of the stream. */
export const UNTIL_EOF = -2;

/**
 * How the body of a final response (status >= 200) to a `method` request
 * is delimited: a length `>= 0` (`0`: no body: a `HEAD` request, a 204 or a
 * 304), {@link CHUNKED}, or {@link UNTIL_EOF}. Throws
 * {@link HttpProtocolError} for framing fields request smuggling is made
 * of, whatever the status: both `Content-Length` and `Transfer-Encoding`;
 * differing or non-decimal `Content-Length` values; a transfer coding other
 * than `chunked` alone, or any in an HTTP/1.0 response.
 *
 * @example
 * ```ts
 * import { bodyFraming, CHUNKED, UNTIL_EOF } from "./framing.ts";
 * import { HeaderList } from "./header_list.ts";
 * const h = new HeaderList();
 * console.assert(bodyFraming("GET", 200, 1, h) === UNTIL_EOF);
 * h.append("transfer-encoding", "chunked");
 * console.assert(bodyFraming("GET", 200, 1, h) === CHUNKED && bodyFraming("HEAD", 200, 1, h) === 0);
 * ```
 */
export function bodyFraming(
  method: string,
  status: number,
  minorVersion: number,
  headers: HeaderList,
): number {
  let te: string | null = null, cl: string | null = null;
  for (let i = 0, n = headers.size; i < n; i++) {
    const name = headers.nameAt(i);
    if (name.length !== 14 && name.length !== 17) continue;
    const v = headers.valueAt(i);
    if (name === "content-length") cl = cl === null ? v : `${cl}, ${v}`;
    else if (name === "transfer-encoding") te = te === null ? v : `${te}, ${v}`;
  }
  if (te !== null && cl !== null) {
    throw new HttpProtocolError(
      `Expected Content-Length or Transfer-Encoding, got both (${
        JSON.stringify(cl)
      } and ${JSON.stringify(te)})`,
    );
  }
  const length = cl === null ? -1 : parseContentLength(cl);
  if (te !== null) checkTransferEncoding(te, minorVersion);
  if (method === "HEAD" || status < 200 || status === 204 || status === 304) {
    return 0;
  }
  if (te !== null) return CHUNKED;
  return length >= 0 ? length : UNTIL_EOF;
}

function checkTransferEncoding(te: string, minorVersion: number): void {
  if (minorVersion === 0) {
    throw new HttpProtocolError(
      `Expected no Transfer-Encoding in an HTTP/1.0 response, got ${
        JSON.stringify(te)
      }`,
    );
  }
  if (te.trim().toLowerCase() !== "chunked") {
    throw new HttpProtocolError(
      `Expected Transfer-Encoding "chunked", got ${JSON.stringify(te)}`,
    );
  }
}

/**
 * Whether the connection may carry another request after this response:
 * HTTP/1.1 unless `Connection: close`; HTTP/1.0 only with `Connection:
 * keep-alive` (and not `close`). A body delimited by the end of the stream
 * ends the connection whatever this says.
 *
 * @example
 * ```ts
 * import { keepsAlive } from "./framing.ts";
 * import { HeaderList } from "./header_list.ts";
 * const h = new HeaderList();
 * console.assert(keepsAlive(1, h) && !keepsAlive(0, h));
 * h.append("connection", "Upgrade, Close");
 * console.assert(!keepsAlive(1, h));
 * ```
 */
export function keepsAlive(minorVersion: number, headers: HeaderList): boolean {
  let close = false, keep = false;
  for (let i = 0, n = headers.size; i < n; i++) {
    if (headers.nameAt(i) !== "connection") continue;
    const v = headers.valueAt(i);
    if (hasToken(v, "close")) close = true;
    else if (hasToken(v, "keep-alive")) keep = true;
  }
  return !close && (minorVersion === 1 || keep);
}

/**
 * The value of the `Content-Length` field(s), repeats joined with `", "`:
 * every element must be the same plain decimal number of 1 to 15 digits.
 * Throws {@link HttpProtocolError}.
 *
 * @example
 * ```ts
 * import { parseContentLength } from "./framing.ts";
 * console.assert(parseContentLength("42") === 42 && parseContentLength("7, 7") === 7);
 * ```
 */
export function parseContentLength(value: string): number {
  const n = digits(value, 0, value.length);
  if (n >= 0) return n; // one plain number: the usual case
  let first: string | null = null;
  for (const part of value.split(",")) {
    const p = part.trim();
    if (first === null) first = p;
    else if (p !== first) {
      throw new HttpProtocolError(
        `Expected one Content-Length, got differing values ${
          JSON.stringify(value)
        }`,
      );
    }
  }
  const s = first!;
  if (s.length === 0 || s.length > 15) {
    throw new HttpProtocolError(
      `Expected a Content-Length of 1 to 15 decimal digits, got ${
        JSON.stringify(s)
      }`,
    );
  }
  const m = digits(s, 0, s.length);
  if (m < 0) {
    throw new HttpProtocolError(
      `Expected a Content-Length of decimal digits, got ${JSON.stringify(s)}`,
    );
  }
  return m;
}

/** `s[from, to)` as a decimal number of 1 to 15 digits, or -1. */
function digits(s: string, from: number, to: number): number {
  if (to <= from || to - from > 15) return -1;
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}
