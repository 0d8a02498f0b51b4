/**
 * The HTTP/1.1 client: {@link HttpConnection} (one keep-alive connection),
 * {@link ClientPool} (a bounded pool of them) and {@link HttpResponse}.
 *
 * @module
 */
export {
  HttpConnection,
  type HttpConnectionOptions,
  type HttpRequestOptions,
  type HttpShortcutOptions,
  type HttpStats,
} from "./connection.ts";
export {
  type AcquireOptions,
  ClientPool,
  type ClientPoolOptions,
  PooledConnection,
  type PoolStats,
} from "./pool.ts";
export { HttpResponse } from "./response.ts";
export type { HttpShortcuts } from "./shortcuts.ts";
export type {
  HttpHeadersInit,
  HttpRequestInit,
} from "../codec/http/request.ts";
export type { HeadLimits } from "../codec/http/head.ts";
export type { HeaderList } from "../codec/http/header_list.ts";
export type { ResponseLimits } from "../codec/http/response.ts";
