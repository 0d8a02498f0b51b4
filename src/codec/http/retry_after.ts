/**
 * `Retry-After` (RFC 9110 §10.2.3): how long a `429` or `503` asks the
 * client to wait.
 *
 * @module
 */

/** asctime-date, the one HTTP-date form without a zone (it is GMT). */
const ASCTIME = /^[A-Za-z]{3} [A-Za-z]{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$/;

/**
 * The wait a `Retry-After` field value asks for, in milliseconds: its
 * delay-seconds (`"120"`), or the time from `now` (ms since the epoch,
 * e.g. `Date.now()`) until its HTTP-date (IMF-fixdate
 * `"Sun, 06 Nov 1994 08:49:37 GMT"`, or the obsolete RFC 850 and asctime
 * forms), never below 0. `null` for a value that is neither (the field
 * should then be ignored). No upper bound is applied: the caller caps it.
 *
 * @example
 * ```ts
 * import { retryAfter } from "@x/nexus-ws/codec";
 * console.assert(retryAfter("1", 0) === 1000);
 * const now = Date.parse("Sun, 06 Nov 1994 08:49:30 GMT");
 * console.assert(retryAfter("Sun, 06 Nov 1994 08:49:37 GMT", now) === 7000);
 * console.assert(retryAfter("soon", now) === null);
 * ```
 */
export function retryAfter(value: string, now: number): number | null {
  const v = value.trim();
  if (/^\d+$/.test(v)) {
    const s = Number(v);
    return Number.isSafeInteger(s * 1000) ? s * 1000 : null;
  }
  if (!/^[A-Za-z]{3}/.test(v)) return null;
  const at = Date.parse(ASCTIME.test(v) ? `${v} GMT` : v);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - now);
}
