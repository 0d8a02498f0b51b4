/**
 * The option rules of the HTTP client (see `src/options.ts`): what
 * `HttpConnection`, `ClientPool`, their requests and `acquire()` accept.
 *
 * @module
 */

import {
  boolean,
  func,
  headers,
  integer,
  ms,
  type Rules,
  signal,
} from "../options.ts";
import { READ_BUF_RULES } from "../codec/read_buf.ts";
import { REQUEST_INIT_RULES } from "../codec/http/request.ts";
import { RESPONSE_LIMIT_RULES } from "../codec/http/response.ts";
import { caCertsRule } from "../transport.ts";
import { proxyRule } from "../proxy.ts";

/** `HttpConnectionOptions`. */
export const CONNECTION_RULES: Rules = {
  bufferCapacity: READ_BUF_RULES.bufferCapacity,
  minBufferCapacity: READ_BUF_RULES.minBufferCapacity,
  shrinkAfter: READ_BUF_RULES.shrinkAfter,
  compactAt: READ_BUF_RULES.compactAt,
  maxReadSize: READ_BUF_RULES.maxReadSize,
  ...RESPONSE_LIMIT_RULES,
  caCerts: caCertsRule,
  headers,
  timeout: ms,
  idleTimeout: ms,
  retryStale: boolean,
  dial: func,
  decompress: boolean,
  proxy: proxyRule,
};

/** `ClientPoolOptions`. */
export const POOL_RULES: Rules = {
  ...CONNECTION_RULES,
  connections: integer(1),
};

/** `HttpRequestOptions`, and a pool's `request()` (whose `signal` also bounds the wait). */
export const REQUEST_RULES: Rules = {
  ...REQUEST_INIT_RULES,
  signal,
  timeout: ms,
  decompress: boolean,
};

/** `HttpShortcutOptions`: a request without `method` and `path`. */
export const SHORTCUT_RULES: Rules = (() => {
  const { method: _m, path: _p, ...rest } = REQUEST_RULES;
  return rest;
})();

/** `AcquireOptions`. */
export const ACQUIRE_RULES: Rules = { signal };
