/**
 * `HttpShortcuts`: the `get` / `head` / `post` / `put` / `delete` methods,
 * written once and installed on every HTTP client class.
 *
 * @module
 */

import { check } from "../options.ts";
import type { HttpShortcutOptions } from "./connection.ts";
import type { HttpResponse } from "./response.ts";
import { SHORTCUT_RULES } from "./rules.ts";

/**
 * The method shortcuts of {@link HttpConnection}, {@link PooledConnection}
 * and {@link ClientPool}: `conn.post(path, options)` sends what
 * `conn.request({ ...options, method: "POST", path })` sends (without
 * copying `options`), so the body's lifetime (borrowed or owned) is that of
 * the class's `request`. `options` may not hold `method` or `path`
 * (`TypeError`).
 *
 * @example
 * ```ts ignore
 * import { HttpConnection } from "@x/nexus-ws";
 * using conn = new HttpConnection("https://api.example.com");
 * const res = await conn.post("/v1/orders", { json: { side: "buy", qty: 1 } });
 * console.log(res.status);
 * ```
 */
export interface HttpShortcuts {
  /** `GET path`. */
  get(path: string, options?: HttpShortcutOptions): Promise<HttpResponse>;
  /** `HEAD path` (the response has no body). */
  head(path: string, options?: HttpShortcutOptions): Promise<HttpResponse>;
  /** `POST path` with `options.body` or `options.json`. */
  post(path: string, options?: HttpShortcutOptions): Promise<HttpResponse>;
  /** `PUT path` with `options.body` or `options.json`. */
  put(path: string, options?: HttpShortcutOptions): Promise<HttpResponse>;
  /** `DELETE path`. */
  delete(path: string, options?: HttpShortcutOptions): Promise<HttpResponse>;
}

/**
 * How a class sends a checked request: `method` and `path` apart from the
 * rest of the options, which are not copied.
 */
export type Send<T> = (
  this: T,
  method: string,
  path: string,
  options: HttpShortcutOptions | undefined,
) => Promise<HttpResponse>;

const SHORTCUTS: [keyof HttpShortcuts, string, string][] = [
  ["get", "GET", "get()"],
  ["head", "HEAD", "head()"],
  ["post", "POST", "post()"],
  ["put", "PUT", "put()"],
  ["delete", "DELETE", "delete()"],
];

/**
 * Installs the {@link HttpShortcuts} on `proto` (a class's prototype): each
 * checks its options against the shortcut rules, then calls `send`.
 *
 * @example
 * ```ts
 * import { installShortcuts, type HttpShortcuts } from "./shortcuts.ts";
 * import { HttpResponse } from "./response.ts";
 * import { HeaderList } from "../codec/http/header_list.ts";
 * interface Echo extends HttpShortcuts {}
 * class Echo {}
 * installShortcuts<Echo>(Echo.prototype, (method, path) =>
 *   Promise.resolve(new HttpResponse(200, method + " " + path, new HeaderList(), null, new Uint8Array())));
 * console.assert((await new Echo().put("/x")).reason === "PUT /x");
 * ```
 */
export function installShortcuts<T>(proto: T, send: Send<T>): void {
  for (const [name, method, where] of SHORTCUTS) {
    Object.defineProperty(proto, name, {
      value: function (
        this: T,
        path: string,
        options?: HttpShortcutOptions,
      ): Promise<HttpResponse> {
        try {
          check(options, SHORTCUT_RULES, where);
        } catch (err) {
          return Promise.reject(err);
        }
        return send.call(this, method, path, options);
      },
      writable: true,
      configurable: true,
    });
  }
}
