/**
 * HTTP/1.1 request encoding (sans-IO): `RequestWriter` turns a request
 * description into bytes in a reused buffer.
 *
 * @module
 */

import {
  boolean,
  check,
  describe as describeValue,
  headers,
  integer,
  number,
  object,
  type Rule,
  type Rules,
  string,
} from "../../options.ts";
import { isToken, lowerEquals } from "./token.ts";
import { BufferSizer } from "../buffer_sizer.ts";
import { DEFAULT_SHRINK_AFTER } from "../read_buf.ts";

/**
 * Header fields given by the caller: a record, or any iterable of
 * `[name, value]` pairs (a `Headers` object, a `Map`, an array).
 *
 * @example
 * ```ts
 * import type { HttpHeadersInit } from "@x/nexus-ws/codec";
 * const a: HttpHeadersInit = { accept: "application/json" };
 * const b: HttpHeadersInit = [["accept", "text/plain"], ["x-id", "7"]];
 * console.assert(Object.keys(a).length === 1 && [...b].length === 2);
 * ```
 */
export type HttpHeadersInit =
  | Record<string, string>
  | Iterable<readonly [string, string]>;

/**
 * What to send: one HTTP/1.1 request. `body` and `json` are exclusive.
 *
 * @example
 * ```ts
 * import type { HttpRequestInit } from "@x/nexus-ws/codec";
 * const req: HttpRequestInit = { method: "POST", path: "/orders", query: { dry: "1" }, json: { qty: 1 } };
 * console.assert(req.method === "POST");
 * ```
 */
export interface HttpRequestInit {
  /**
   * Request method, a token. Default `"GET"`. The standard methods are
   * sent upper-cased whatever case they are given in (`"post"` is sent as
   * `POST`): DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT, TRACE. Any
   * other token is sent as given (methods are case-sensitive). `CONNECT`
   * is refused: this client does not open tunnels.
   */
  method?: string;
  /**
   * Origin-form target starting with `/` (may hold a `?query`), or `*`.
   * Visible ASCII only: percent-encode anything else. Default `"/"`.
   */
  path?: string;
  /** Query parameters appended to `path` (after `?`, or `&` when `path` has a query). */
  query?: Record<string, string | number | boolean> | URLSearchParams;
  /**
   * Header fields. A field replaces every default field of the same name
   * (compared case-insensitively), as with `fetch`; `Host` replaces the
   * origin's. The writer owns `Content-Length`, `Transfer-Encoding` and
   * `Connection` (refused).
   */
  headers?: HttpHeadersInit;
  /**
   * Body: a string (sent as UTF-8, `Content-Type: text/plain;charset=UTF-8`
   * unless given) or bytes (sent as is, no default `Content-Type`).
   */
  body?: string | Uint8Array;
  /** A value sent as JSON (`Content-Type: application/json` unless given). */
  json?: unknown;
  /** Send `Connection: close`: the server closes after answering. Default `false`. */
  close?: boolean;
}

/**
 * Options for {@link RequestWriter}.
 *
 * @example
 * ```ts
 * import type { RequestWriterOptions } from "@x/nexus-ws/codec";
 * const options: RequestWriterOptions = { host: "api.example.com", headers: { "user-agent": "bot/1" } };
 * console.assert(options.host === "api.example.com");
 * ```
 */
export interface RequestWriterOptions {
  /** Value of the `Host` header (`host[:port]`). Required. */
  host: string;
  /** Header fields sent with every request, unless the request gives a field of the same name. */
  headers?: HttpHeadersInit;
  /**
   * Bodies up to this many bytes are copied after the head so the request
   * goes out in one write; larger ones are returned in
   * {@link RequestWriter.tail} without a copy. Default 16384.
   */
  inlineBodySize?: number;
  /**
   * Quiet milliseconds after which {@link RequestWriter.trim} gives back an
   * encoding buffer larger than the recent requests needed. Default 1000.
   */
  shrinkAfter?: number;
}

/** A string or a `Uint8Array`: a request body. */
const stringOrBytes: Rule = (v, name) => {
  if (typeof v !== "string" && !(v instanceof Uint8Array)) {
    throw new TypeError(
      `Expected option "${name}" to be a string or a Uint8Array, got ${
        describeValue(v)
      }`,
    );
  }
};

/** The rules of {@link HttpRequestInit} (see `src/options.ts`). */
export const REQUEST_INIT_RULES: Rules = {
  method: string,
  path: string,
  query: object,
  headers,
  body: stringOrBytes,
  json: () => {}, // any value; JSON.stringify says whether it can be sent
  close: boolean,
};

const WRITER_RULES: Rules = {
  host: string,
  headers,
  inlineBodySize: integer(0),
  shrinkAfter: number(0, Infinity),
};

/** Bytes the encoding buffer starts at and shrinks back to. */
const MIN_BUFFER = 1024;

const enc = new TextEncoder();
const NO_BODY = new Uint8Array(0);

/** Methods that carry a body by convention: they get `Content-Length: 0` when there is none. */
const BODY_METHODS = new Set(["POST", "PUT", "PATCH"]);

/** The methods sent upper-cased whatever their case (see {@link HttpRequestInit.method}). */
const STANDARD_METHODS = new Set([
  "DELETE",
  "GET",
  "HEAD",
  "OPTIONS",
  "PATCH",
  "POST",
  "PUT",
  "TRACE",
]);

function describe(s: string): string {
  return JSON.stringify(s.length > 64 ? `${s.slice(0, 64)}…` : s);
}

function badChar(what: string, s: string, c: number): TypeError {
  const name = c === 13
    ? "CR"
    : c === 10
    ? "LF"
    : c === 0
    ? "NUL"
    : `0x${c.toString(16).padStart(2, "0")}`;
  return new TypeError(
    `Expected no CR, LF, NUL or other control bytes in the ${what}, got ${name} in ${
      describe(s)
    }`,
  );
}

/** A token, or `TypeError` naming the control byte or saying it is not one. */
function checkToken(what: string, s: unknown): string {
  if (typeof s === "string" && isToken(s)) return s;
  const t = String(s);
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c < 32 || c === 127) throw badChar(what, t, c);
  }
  throw new TypeError(`Expected a ${what} that is a token, got ${describe(t)}`);
}

/** The method to send for `m` (see {@link HttpRequestInit.method}). */
function canonicalMethod(m: string | undefined): string {
  switch (m) {
    case undefined:
      return "GET";
    case "GET":
    case "POST":
    case "PUT":
    case "DELETE":
    case "HEAD":
    case "PATCH":
    case "OPTIONS":
      return m;
  }
  const upper = checkToken("method", m).toUpperCase();
  if (upper === "CONNECT") {
    throw new TypeError(
      `Expected a method other than CONNECT (this client does not open tunnels), got ${
        describe(m)
      }`,
    );
  }
  return STANDARD_METHODS.has(upper) ? upper : m;
}

/** `path` with `query` appended, checked: origin-form from `/`, or `*`. */
function requestTarget(
  path: string | undefined,
  query: HttpRequestInit["query"],
): string {
  if (path === undefined) path = "/";
  else if (typeof path !== "string") {
    throw new TypeError(
      `Expected path to be a string, got ${describeValue(path)}`,
    );
  }
  if (query !== undefined) {
    const qs = (query instanceof URLSearchParams ? query : new URLSearchParams(
      Object.entries(query).map(([k, v]) => [k, String(v)]),
    )).toString();
    if (qs.length > 0) path += (path.includes("?") ? "&" : "?") + qs;
  }
  if (path.length === 0 || (path.charCodeAt(0) !== 47 && path !== "*")) {
    throw new TypeError(
      `Expected a path starting with "/" (or "*"), got ${describe(path)}`,
    );
  }
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c <= 32 || c >= 127) {
      if (c < 32 || c === 127) throw badChar("path", path, c);
      throw new TypeError(
        `Expected a path of visible ASCII (percent-encode the rest), got ${
          c === 32 ? "a space" : `U+${c.toString(16).toUpperCase()}`
        } in ${describe(path)}`,
      );
    }
  }
  return path;
}

function checkFieldValue(name: string, value: string): void {
  if (typeof value !== "string") {
    throw new TypeError(
      `Expected a string value for header "${name}", got ${
        describeValue(value)
      }`,
    );
  }
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 32 && c !== 9) || c === 127) {
      throw badChar(`value of header "${name}"`, value, c);
    }
    if (c > 255) {
      throw new TypeError(
        `Expected Latin-1 characters in the value of header "${name}", got U+${
          c.toString(16).toUpperCase().padStart(4, "0")
        } in ${describe(value)}`,
      );
    }
  }
}

function is(name: string, lower: string): boolean {
  return name.length === lower.length && lowerEquals(name, 0, lower);
}

// What classify() says of a field name.
const ORDINARY = 0, HOST = 1, CONTENT_TYPE = 2, OWNED = 3;

function classify(name: string): number {
  switch (name.length) {
    case 4:
      return is(name, "host") ? HOST : ORDINARY;
    case 10:
      return is(name, "connection") ? OWNED : ORDINARY;
    case 12:
      return is(name, "content-type") ? CONTENT_TYPE : ORDINARY;
    case 14:
      return is(name, "content-length") ? OWNED : ORDINARY;
    case 17:
      return is(name, "transfer-encoding") ? OWNED : ORDINARY;
  }
  return ORDINARY;
}

/** Checks one field; returns what {@link classify} says of it. */
function checkField(name: string, value: string): number {
  checkToken("header name", name);
  checkFieldValue(name, value);
  const kind = classify(name);
  if (kind === OWNED) {
    throw new TypeError(
      `Expected no "${name}" header: the request writer sets it${
        is(name, "connection") ? " (use close: true)" : ""
      }`,
    );
  }
  return kind;
}

function twoHosts(): TypeError {
  return new TypeError(
    'Expected one "Host" header (a request\'s Host replaces the default one), got two',
  );
}

/** Calls `fn` for each field of `h` (a record or an iterable of pairs), in order, without copying it. */
export function eachField(
  h: HttpHeadersInit,
  fn: (name: string, value: string) => void,
): void {
  if (Symbol.iterator in h) {
    for (const [name, value] of h as Iterable<readonly [string, string]>) {
      fn(name, value);
    }
    return;
  }
  const rec = h as Record<string, string>;
  for (const name in rec) if (Object.hasOwn(rec, name)) fn(name, rec[name]);
}

/** The friend access {@link encodeRequest} uses (set in the class's static block). */
let encodeOn: (
  w: RequestWriter,
  method: string | undefined,
  path: string | undefined,
  req: HttpRequestInit,
) => Uint8Array;

/**
 * Encodes HTTP/1.1 requests into one reused buffer: the returned bytes are a
 * view, valid until the next {@link RequestWriter.encode}. Writes the
 * request line, `Host` (from the options unless a header field gives one),
 * the default header fields the request does not replace (a request field
 * replaces every default of the same name, case-insensitively, as with
 * `fetch`), the request's own, `Content-Length` when there is a body (and
 * `Content-Length: 0` for a body-less POST/PUT/PATCH), `Connection: close`
 * when asked, then the body. The standard methods are upper-cased (see
 * {@link HttpRequestInit.method}).
 *
 * Refuses with `TypeError`, before anything is written: an unknown request
 * field or one of the wrong type, a method that is not a token (or
 * `CONNECT`), a path that is not visible ASCII starting with `/` (or `*`),
 * a header name that is not a token, a header value holding CR, LF, NUL or
 * other control bytes, `Content-Length` / `Transfer-Encoding` /
 * `Connection` headers (the writer owns them), two `Host` headers in one
 * list, both `body` and `json`.
 *
 * @example
 * ```ts
 * import { RequestWriter } from "@x/nexus-ws/codec";
 * const w = new RequestWriter({ host: "api.example.com" });
 * const bytes = w.encode({ method: "post", path: "/v1/orders", json: { qty: 1 } });
 * const text = new TextDecoder().decode(bytes);
 * console.assert(text.startsWith("POST /v1/orders HTTP/1.1\r\nhost: api.example.com\r\n"));
 * console.assert(text.endsWith("content-length: 9\r\n\r\n{\"qty\":1}") && w.tail === null);
 * ```
 */
export class RequestWriter {
  #buf: Uint8Array = new Uint8Array(MIN_BUFFER);
  #sizer: BufferSizer;
  #pos = 0;
  #hostLine: Uint8Array;
  #defaults: [string, string][] = [];
  #defaultNames: string[] = []; // lower-cased
  #defaultHost = false;
  #defaultsHaveType = false;
  #inline: number;
  #tail: Uint8Array | null = null;
  #method = "GET";
  // The request's fields, checked, reused from request to request.
  #names: string[] = [];
  #values: string[] = [];
  #count = 0;
  #ownHost = false;
  #hasType = false;
  // The body of the request being encoded.
  #body: Uint8Array = NO_BODY;
  #bodyString: string | null = null;
  #bodyLength = -1;
  #bodyType: string | null = null;

  static {
    encodeOn = (w, method, path, req) => w.#encode(method, path, req);
  }

  /**
   * Validates the options and the default headers: `TypeError` for an
   * unknown option, a wrong type or a bad field, `RangeError` for a bad
   * value.
   */
  constructor(options: RequestWriterOptions) {
    check(options, WRITER_RULES, "RequestWriter");
    if (typeof options?.host !== "string" || options.host.length === 0) {
      throw new TypeError(
        `Expected options.host to be a non-empty string, got ${
          describeValue(options?.host)
        }`,
      );
    }
    const host = options.host;
    for (let i = 0; i < host.length; i++) {
      const c = host.charCodeAt(i);
      if (c <= 32 || c >= 127) throw badChar("host", host, c);
    }
    this.#hostLine = enc.encode(`host: ${host}\r\n`);
    this.#inline = options.inlineBodySize ?? 16384;
    this.#sizer = new BufferSizer(
      MIN_BUFFER,
      Number.MAX_SAFE_INTEGER,
      options.shrinkAfter ?? DEFAULT_SHRINK_AFTER,
    );
    if (options.headers !== undefined) {
      eachField(
        options.headers,
        (name, value) => this.#addDefault(name, value),
      );
    }
  }

  #addDefault(name: string, value: string): void {
    const kind = checkField(name, value);
    if (kind === HOST) {
      if (this.#defaultHost) throw twoHosts();
      this.#defaultHost = true;
    }
    if (kind === CONTENT_TYPE) this.#defaultsHaveType = true;
    this.#defaults.push([name, value]);
    this.#defaultNames.push(name.toLowerCase());
  }

  /**
   * The body bytes to write after the bytes {@link RequestWriter.encode}
   * returned, when the body was too large to copy inline; otherwise `null`.
   * A view of the caller's bytes (or of a fresh encoding of the string),
   * valid until the next `encode`.
   */
  get tail(): Uint8Array | null {
    return this.#tail;
  }

  /**
   * Bytes of the encoding buffer: 1024 at first, doubled when a request
   * (head plus an inline body) needs more, so at most about the largest
   * head plus `inlineBodySize`.
   */
  get capacity(): number {
    return this.#buf.length;
  }
  /** Times the encoding buffer grew. */
  get grows(): number {
    return this.#sizer.grows;
  }
  /** Whether the encoding buffer is larger than it starts (then {@link RequestWriter.trim} has work). */
  get oversized(): boolean {
    return this.#buf.length > MIN_BUFFER;
  }
  /** Times the encoding buffer shrank. */
  get shrinks(): number {
    return this.#sizer.shrinks;
  }

  /**
   * At time `now` (ms, the caller's clock): once `shrinkAfter` ms have
   * passed since the last window began, shrinks the encoding buffer to the
   * smallest power of two holding twice the largest request of that window
   * (at least 1024 bytes). Call it before {@link RequestWriter.encode},
   * once the bytes of the last request are written: they are dropped.
   */
  trim(now: number): void {
    const size = this.#buf.length;
    if (size <= MIN_BUFFER) return;
    const to = this.#sizer.shrinkTo(size, now);
    if (to === 0) return;
    this.#buf = new Uint8Array(to);
    this.#sizer.resized(size, to);
  }

  /** The method the last {@link RequestWriter.encode} wrote (upper-cased when standard). */
  get method(): string {
    return this.#method;
  }

  /**
   * Encodes one request. Returns a view of the internal buffer holding the
   * head (and the body when it is at most `inlineBodySize` bytes); see
   * {@link RequestWriter.tail} for a larger body. Throws `TypeError` for an
   * invalid request, leaving nothing half-written.
   */
  encode(req?: HttpRequestInit): Uint8Array {
    check(req, REQUEST_INIT_RULES, "RequestWriter.encode()");
    req ??= {};
    return this.#encode(req.method, req.path, req);
  }

  #encode(
    method: string | undefined,
    path: string | undefined,
    req: HttpRequestInit,
  ): Uint8Array {
    const m = canonicalMethod(method);
    const target = requestTarget(path, req.query);
    this.#prepareBody(req);
    this.#collect(req.headers);
    this.#method = m;
    this.#pos = 0;
    this.#tail = null;
    this.#writeHead(m, target, req.close === true);
    this.#writeBody();
    this.#sizer.use(this.#pos);
    return this.#buf.subarray(0, this.#pos);
  }

  /** Checks `body` / `json` and notes what to send (nothing is written yet). */
  #prepareBody(req: HttpRequestInit): void {
    this.#body = NO_BODY;
    this.#bodyString = null;
    this.#bodyLength = -1;
    this.#bodyType = null;
    if (req.json !== undefined) {
      if (req.body !== undefined) {
        throw new TypeError("Expected either body or json, got both");
      }
      const s = JSON.stringify(req.json);
      if (typeof s !== "string") {
        throw new TypeError(
          `Expected json to be a JSON-serializable value, got ${
            describeValue(req.json)
          }`,
        );
      }
      this.#bodyString = s;
      this.#bodyType = "application/json";
    } else if (typeof req.body === "string") {
      this.#bodyString = req.body;
      this.#bodyType = "text/plain;charset=UTF-8";
    } else if (req.body !== undefined) {
      this.#body = req.body;
      this.#bodyLength = req.body.length;
    }
    const s = this.#bodyString;
    if (s !== null) {
      this.#bodyLength = utf8Length(s);
      if (this.#bodyLength > this.#inline) {
        this.#body = enc.encode(s);
        this.#bodyString = null;
      }
    }
  }

  /** Checks the request's fields into the reused name/value arrays. */
  #collect(h: HttpHeadersInit | undefined): void {
    this.#count = 0;
    this.#ownHost = false;
    this.#hasType = this.#defaultsHaveType;
    if (h !== undefined) eachField(h, this.#addField);
  }

  #addField = (name: string, value: string): void => {
    const kind = checkField(name, value);
    if (kind === HOST) {
      if (this.#ownHost) throw twoHosts();
      this.#ownHost = true;
    }
    if (kind === CONTENT_TYPE) this.#hasType = true;
    this.#names[this.#count] = name;
    this.#values[this.#count++] = value;
  };

  /** Whether the request gives a field named `lower` (lower-case). */
  #replaced(lower: string): boolean {
    for (let j = 0; j < this.#count; j++) {
      if (is(this.#names[j], lower)) return true;
    }
    return false;
  }

  #writeHead(method: string, target: string, close: boolean): void {
    this.#put(method);
    this.#byte(32);
    this.#put(target);
    this.#put(" HTTP/1.1\r\n");
    if (!this.#ownHost && !this.#defaultHost) this.#bytes(this.#hostLine);
    const defaults = this.#defaults, count = this.#count;
    for (let i = 0; i < defaults.length; i++) {
      if (count === 0 || !this.#replaced(this.#defaultNames[i])) {
        this.#field(defaults[i][0], defaults[i][1]);
      }
    }
    for (let j = 0; j < count; j++) {
      this.#field(this.#names[j], this.#values[j]);
    }
    if (this.#bodyType !== null && !this.#hasType) {
      this.#field("content-type", this.#bodyType);
    }
    if (this.#bodyLength >= 0) {
      this.#field("content-length", String(this.#bodyLength));
    } else if (BODY_METHODS.has(method)) {
      this.#put("content-length: 0\r\n");
    }
    if (close) this.#put("connection: close\r\n");
    this.#put("\r\n");
  }

  #writeBody(): void {
    const s = this.#bodyString;
    if (s !== null) {
      this.#ensure(this.#bodyLength);
      const { written } = enc.encodeInto(s, this.#buf.subarray(this.#pos));
      this.#pos += written;
      this.#bodyString = null;
    } else if (this.#body.length > 0) {
      if (this.#body.length <= this.#inline) this.#bytes(this.#body);
      else this.#tail = this.#body;
    }
    this.#body = NO_BODY;
  }

  #ensure(n: number): void {
    const need = this.#pos + n;
    if (need <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#pos));
    this.#sizer.resized(this.#buf.length, size);
    this.#buf = next;
  }

  /** Writes a string already known to be Latin-1 (one byte per char). */
  #put(s: string): void {
    this.#ensure(s.length);
    const b = this.#buf;
    let p = this.#pos;
    for (let i = 0; i < s.length; i++) b[p++] = s.charCodeAt(i);
    this.#pos = p;
  }

  #byte(c: number): void {
    this.#ensure(1);
    this.#buf[this.#pos++] = c;
  }

  #bytes(b: Uint8Array): void {
    this.#ensure(b.length);
    this.#buf.set(b, this.#pos);
    this.#pos += b.length;
  }

  #field(name: string, value: string): void {
    this.#ensure(name.length + value.length + 4);
    this.#put(name);
    this.#buf[this.#pos++] = 58; // ':'
    this.#buf[this.#pos++] = 32;
    this.#put(value);
    this.#buf[this.#pos++] = 13;
    this.#buf[this.#pos++] = 10;
  }
}

/**
 * Encodes `req` with `writer` as {@link RequestWriter.encode} does, but
 * with `method` and `path` given apart (so the shortcuts need not copy the
 * caller's options) and without checking the request's fields against
 * their rules: the HTTP client has checked them already. Internal: not
 * exported from the codec's `mod.ts`.
 *
 * @example
 * ```ts
 * import { encodeRequest, RequestWriter } from "./request.ts";
 * const w = new RequestWriter({ host: "h" });
 * const text = new TextDecoder().decode(encodeRequest(w, "get", "/a", {}));
 * console.assert(text === "GET /a HTTP/1.1\r\nhost: h\r\n\r\n");
 * ```
 */
export function encodeRequest(
  writer: RequestWriter,
  method: string | undefined,
  path: string | undefined,
  req: HttpRequestInit,
): Uint8Array {
  return encodeOn(writer, method, path, req);
}

/** UTF-8 byte length of a string (lone surrogates count as U+FFFD, 3 bytes). */
function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 2; // 4 bytes for 2 UTF-16 units
        i++;
      } else n += 2;
    } else n += 2;
  }
  return n;
}
