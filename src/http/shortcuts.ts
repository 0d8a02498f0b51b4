/**
 * `HttpMethods`: the `get` / `head` / `post` / `put` / `delete` shortcuts,
 * written once for every HTTP client class.
 *
 * @module
 */

import type { HttpRequestOptions, HttpShortcutOptions } from "./connection.ts";
import type { HttpResponse } from "./response.ts";

/**
 * The method shortcuts of {@link HttpConnection}, {@link PooledConnection}
 * and {@link ClientPool}: each is `request({ ...options, method, path })`,
 * so the body semantics (borrowed or owned) are those of the class's
 * `request`.
 *
 * @example
 * ```ts ignore
 * import { HttpConnection } from "@x/nexus-ws";
 * using conn = new HttpConnection("https://api.example.com");
 * const res = await conn.post("/v1/orders", { json: { side: "buy", qty: 1 } });
 * console.log(res.status);
 * ```
 */
export abstract class HttpMethods {
  /** Sends one request (see the subclass for the body's lifetime). */
  abstract request(init: HttpRequestOptions): Promise<HttpResponse>;

  /** `GET path`. */
  get(path: string, options?: HttpShortcutOptions): Promise<HttpResponse> {
    return this.request({ ...options, method: "GET", path });
  }
  /** `HEAD path` (the response has no body). */
  head(path: string, options?: HttpShortcutOptions): Promise<HttpResponse> {
    return this.request({ ...options, method: "HEAD", path });
  }
  /** `POST path` with `options.body` or `options.json`. */
  post(path: string, options?: HttpShortcutOptions): Promise<HttpResponse> {
    return this.request({ ...options, method: "POST", path });
  }
  /** `PUT path` with `options.body` or `options.json`. */
  put(path: string, options?: HttpShortcutOptions): Promise<HttpResponse> {
    return this.request({ ...options, method: "PUT", path });
  }
  /** `DELETE path`. */
  delete(path: string, options?: HttpShortcutOptions): Promise<HttpResponse> {
    return this.request({ ...options, method: "DELETE", path });
  }
}
