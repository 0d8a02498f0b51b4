/**
 * `HttpResponse`: what `HttpConnection.request()` and `ClientPool.request()`
 * resolve with.
 *
 * @module
 */

import type { HeaderList } from "../codec/http/header_list.ts";

const decoder = new TextDecoder();

const OWNED: { readonly gen: number } = { gen: 0 };

/**
 * A complete HTTP response: status, headers, trailers and the whole body.
 *
 * From {@link HttpConnection.request} (and a {@link PooledConnection}) the
 * body is *borrowed*: {@link HttpResponse.body} is a view of the
 * connection's receive buffer (of its decoder's buffer when the body was
 * compressed: the body is always the decoded one, while `headers` keep
 * `Content-Encoding` and `Content-Length` as they came), valid until the
 * next request on that connection starts. Reading it (or `text()` / `json()` / `bytes()`) after
 * that throws `TypeError` rather than returning bytes of another response.
 * {@link HttpResponse.bytes} and {@link HttpResponse.toOwned} copy.
 * {@link ClientPool.request} returns an owned response, valid forever.
 *
 * @example
 * ```ts ignore
 * import { HttpConnection } from "@x/nexus-ws";
 * using conn = new HttpConnection("http://127.0.0.1:8080");
 * const res = await conn.get("/status");
 * console.log(res.status, res.headers.get("content-type"), res.text());
 * const kept = res.bytes(); // an owned copy survives the next request
 * await conn.get("/other");
 * console.log(kept.length);
 * ```
 */
export class HttpResponse {
  /** Status code, e.g. 200. */
  readonly status: number;
  /** Reason phrase from the status line (may be empty). */
  readonly reason: string;
  /** Header fields, case-insensitive lookup. */
  readonly headers: HeaderList;
  /** Trailer fields of a chunked body, or `null`. */
  readonly trailers: HeaderList | null;
  #body: Uint8Array;
  #borrow: { readonly gen: number };
  #gen: number;

  /**
   * Created by the client. `borrow` ties a borrowed body to its connection
   * (whose counter goes up when the next request starts, which invalidates
   * the body); omit it for an owned response.
   *
   * @ignore
   */
  constructor(
    status: number,
    reason: string,
    headers: HeaderList,
    trailers: HeaderList | null,
    body: Uint8Array,
    borrow?: { readonly gen: number },
  ) {
    borrow ??= OWNED;
    this.status = status;
    this.reason = reason;
    this.headers = headers;
    this.trailers = trailers;
    this.#body = body;
    this.#borrow = borrow;
    this.#gen = borrow.gen;
  }

  /** Whether the status is 200–299. */
  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  /** Whether the body is owned (a copy) rather than borrowed from a connection. */
  get owned(): boolean {
    return this.#borrow === OWNED;
  }

  /**
   * Whether a borrowed body is still readable (no later request started on
   * its connection). Always `true` for an owned response.
   */
  get valid(): boolean {
    return this.#borrow.gen === this.#gen;
  }

  /**
   * The body bytes. Borrowed: a view of the connection's buffer, valid
   * until the next request on that connection (then this throws
   * `TypeError`). Do not keep it: copy with {@link HttpResponse.bytes}.
   */
  get body(): Uint8Array {
    if (this.#borrow.gen !== this.#gen) {
      throw new TypeError(
        "Expected a body still borrowed from its connection, but a later request has reused the buffer: copy it with bytes() before the next request, or use ClientPool.request()",
      );
    }
    return this.#body;
  }

  /** The body decoded as UTF-8 (invalid sequences become U+FFFD). */
  text(): string {
    return decoder.decode(this.body);
  }

  /**
   * The body parsed as JSON; throws `SyntaxError` when it is not JSON.
   * `T` is what the caller says the JSON is (not checked); by default
   * `unknown`, to be narrowed.
   */
  json<T = unknown>(): T {
    return JSON.parse(decoder.decode(this.body));
  }

  /** An owned copy of the body. */
  bytes(): Uint8Array {
    return this.body.slice();
  }

  /** This response with an owned copy of its body (itself when already owned). */
  toOwned(): HttpResponse {
    if (this.#borrow === OWNED) return this;
    return new HttpResponse(
      this.status,
      this.reason,
      this.headers,
      this.trailers,
      this.bytes(),
    );
  }
}
