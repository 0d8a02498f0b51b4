/**
 * HTTP/1.1 request encoding (sans-IO): `RequestWriter` turns a request
 * description into bytes in a reused buffer.
 *
 * @module
 */

import { isToken } from "./head.ts";

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
  /** Request method, a token such as `"GET"`. Default `"GET"`. */
  method?: string;
  /**
   * Origin-form target starting with `/` (may hold a `?query`), or `*`.
   * Visible ASCII only: percent-encode anything else. Default `"/"`.
   */
  path?: string;
  /** Query parameters appended to `path` (after `?`, or `&` when `path` has a query). */
  query?: Record<string, string | number | boolean> | URLSearchParams;
  /**
   * Header fields. `Host` may be given to replace the default; the writer
   * owns `Content-Length`, `Transfer-Encoding` and `Connection` (refused).
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
  /** Header fields sent with every request, before the request's own. */
  headers?: HttpHeadersInit;
  /**
   * Bodies up to this many bytes are copied after the head so the request
   * goes out in one write; larger ones are returned in
   * {@link RequestWriter.tail} without a copy. Default 16384.
   */
  inlineBodySize?: number;
}

const enc = new TextEncoder();
const NO_BODY = new Uint8Array(0);

/** Methods that carry a body by convention: they get `Content-Length: 0` when there is none. */
const BODY_METHODS = new Set(["POST", "PUT", "PATCH"]);

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

function latin1Length(what: string, s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 255) {
      throw new TypeError(
        `Expected Latin-1 characters in the ${what}, got U+${
          c.toString(16).toUpperCase().padStart(4, "0")
        } in ${describe(s)}`,
      );
    }
  }
  return s.length;
}

function checkFieldValue(name: string, value: string): void {
  if (typeof value !== "string") {
    throw new TypeError(
      `Expected a string value for header "${name}", got ${typeof value}`,
    );
  }
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 32 && c !== 9) || c === 127) {
      throw badChar(`value of header "${name}"`, value, c);
    }
  }
  latin1Length(`value of header "${name}"`, value);
}

function checkFieldName(name: string): void {
  if (typeof name !== "string" || !isToken(name)) {
    for (let i = 0; i < (name?.length ?? 0); i++) {
      const c = name.charCodeAt(i);
      if (c < 32 || c === 127) throw badChar("header name", name, c);
    }
    throw new TypeError(
      `Expected a header name that is a token, got ${describe(String(name))}`,
    );
  }
}

/** 0: ordinary; 1: host; 2: content-type; 3: owned by the writer (refused). */
function classify(name: string): number {
  const n = name.length;
  if (n !== 4 && n !== 10 && n !== 12 && n !== 14 && n !== 17) return 0;
  const k = name.toLowerCase();
  if (k === "host") return 1;
  if (k === "content-type") return 2;
  if (
    k === "content-length" || k === "connection" || k === "transfer-encoding"
  ) return 3;
  return 0;
}

function twoHosts(): TypeError {
  return new TypeError(
    'Expected one "Host" header (a request\'s Host replaces the default one), got two',
  );
}

function entries(h: HttpHeadersInit): Iterable<readonly [string, string]> {
  if (Symbol.iterator in h) {
    return h as Iterable<readonly [string, string]>;
  }
  return Object.entries(h as Record<string, string>);
}

/**
 * Encodes HTTP/1.1 requests into one reused buffer: the returned bytes are a
 * view, valid until the next {@link RequestWriter.encode}. Writes the
 * request line, `Host` (from the options unless the request gives one),
 * the default then the request's header fields, `Content-Length` when there
 * is a body (and `Content-Length: 0` for a body-less POST/PUT/PATCH),
 * `Connection: close` when asked, then the body.
 *
 * Refuses with `TypeError`, before anything is written: a method that is
 * not a token, a path that is not visible ASCII starting with `/` (or `*`),
 * a header name that is not a token, a header value holding CR, LF, NUL or
 * other control bytes, `Content-Length` / `Transfer-Encoding` /
 * `Connection` headers (the writer owns them), two `Host` headers in one
 * list (a request's `Host` replaces a default one), both `body` and `json`.
 *
 * @example
 * ```ts
 * import { RequestWriter } from "@x/nexus-ws/codec";
 * const w = new RequestWriter({ host: "api.example.com" });
 * const bytes = w.encode({ method: "POST", path: "/v1/orders", json: { qty: 1 } });
 * const text = new TextDecoder().decode(bytes);
 * console.assert(text.startsWith("POST /v1/orders HTTP/1.1\r\nhost: api.example.com\r\n"));
 * console.assert(text.endsWith("content-length: 9\r\n\r\n{\"qty\":1}") && w.tail === null);
 * ```
 */
export class RequestWriter {
  #buf: Uint8Array;
  #pos = 0;
  #hostLine: Uint8Array;
  #defaults: [string, string][] = [];
  #defaultHost = -1; // index of a Host field in #defaults
  #defaultsHaveType = false;
  #inline: number;
  #tail: Uint8Array | null = null;

  /** Validates the options and the default headers (`TypeError` / `RangeError`). */
  constructor(options: RequestWriterOptions) {
    if (typeof options?.host !== "string" || options.host.length === 0) {
      throw new TypeError(
        `Expected options.host to be a non-empty string, got ${
          describe(String(options?.host))
        }`,
      );
    }
    const host = options.host;
    for (let i = 0; i < host.length; i++) {
      const c = host.charCodeAt(i);
      if (c <= 32 || c >= 127) throw badChar("host", host, c);
    }
    this.#hostLine = enc.encode(`host: ${host}\r\n`);
    const inline = options.inlineBodySize ?? 16384;
    if (!Number.isSafeInteger(inline) || inline < 0) {
      throw new RangeError(
        `Expected inlineBodySize to be an integer >= 0, got ${inline}`,
      );
    }
    this.#inline = inline;
    if (options.headers !== undefined) {
      for (const [name, value] of entries(options.headers)) {
        checkFieldName(name);
        checkFieldValue(name, value);
        const kind = classify(name);
        if (kind === 3) {
          throw new TypeError(
            `Expected no "${name}" header: the request writer sets it`,
          );
        }
        if (kind === 1) {
          if (this.#defaultHost >= 0) throw twoHosts();
          this.#defaultHost = this.#defaults.length;
        }
        if (kind === 2) this.#defaultsHaveType = true;
        this.#defaults.push([name, value]);
      }
    }
    this.#buf = new Uint8Array(1024);
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

  #ensure(n: number): void {
    const need = this.#pos + n;
    if (need <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
  }

  /** Writes a string already known to be Latin-1 (one byte per char). */
  #put(s: string): void {
    this.#ensure(s.length + 2);
    const b = this.#buf;
    let p = this.#pos;
    for (let i = 0; i < s.length; i++) b[p++] = s.charCodeAt(i);
    this.#pos = p;
  }

  #crlf(): void {
    this.#buf[this.#pos++] = 13;
    this.#buf[this.#pos++] = 10;
  }

  #field(name: string, value: string): void {
    this.#put(name);
    this.#ensure(2);
    this.#buf[this.#pos++] = 58; // ':'
    this.#buf[this.#pos++] = 32;
    this.#put(value);
    this.#crlf();
  }

  /**
   * Encodes one request. Returns a view of the internal buffer holding the
   * head (and the body when it is at most `inlineBodySize` bytes); see
   * {@link RequestWriter.tail} for a larger body. Throws `TypeError` for an
   * invalid request, leaving nothing half-written.
   */
  encode(req: HttpRequestInit = {}): Uint8Array {
    const method = req.method ?? "GET";
    if (typeof method !== "string" || !isToken(method)) {
      const m = String(method);
      for (let i = 0; i < m.length; i++) {
        const c = m.charCodeAt(i);
        if (c < 32 || c === 127) throw badChar("method", m, c);
      }
      throw new TypeError(
        `Expected a method that is a token, got ${describe(m)}`,
      );
    }
    let path = req.path ?? "/";
    if (typeof path !== "string") {
      throw new TypeError(`Expected path to be a string, got ${typeof path}`);
    }
    if (req.query !== undefined) {
      const qs =
        (req.query instanceof URLSearchParams ? req.query : new URLSearchParams(
          Object.entries(req.query).map(([k, v]) => [k, String(v)]),
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

    // Body, before anything is written, so a bad request leaves no trace.
    let body: Uint8Array = NO_BODY;
    let bodyString: string | null = null;
    let bodyLength = -1;
    let defaultType: string | null = null;
    if (req.json !== undefined) {
      if (req.body !== undefined) {
        throw new TypeError("Expected either body or json, got both");
      }
      const s = JSON.stringify(req.json);
      if (typeof s !== "string") {
        throw new TypeError(
          `Expected json to be a JSON-serializable value, got ${typeof req
            .json}`,
        );
      }
      bodyString = s;
      defaultType = "application/json";
    } else if (typeof req.body === "string") {
      bodyString = req.body;
      defaultType = "text/plain;charset=UTF-8";
    } else if (req.body instanceof Uint8Array) {
      body = req.body;
      bodyLength = body.length;
    } else if (req.body !== undefined) {
      throw new TypeError(
        `Expected body to be a string or a Uint8Array, got ${typeof req.body}`,
      );
    }
    if (bodyString !== null) {
      bodyLength = utf8Length(bodyString);
      if (bodyLength > this.#inline) {
        body = enc.encode(bodyString);
        bodyString = null;
      }
    }

    // Validate the request's header fields.
    let ownHost = false, hasType = this.#defaultsHaveType;
    let fields: [string, string][] | null = null;
    if (req.headers !== undefined) {
      fields = [];
      for (const [name, value] of entries(req.headers)) {
        checkFieldName(name);
        checkFieldValue(name, value);
        const kind = classify(name);
        if (kind === 3) {
          throw new TypeError(
            `Expected no "${name}" header: the request writer sets it${
              name.toLowerCase() === "connection" ? " (use close: true)" : ""
            }`,
          );
        }
        if (kind === 1) {
          if (ownHost) throw twoHosts();
          ownHost = true;
        }
        if (kind === 2) hasType = true;
        fields.push([name, value]);
      }
    }

    this.#pos = 0;
    this.#tail = null;
    this.#put(method);
    this.#ensure(1);
    this.#buf[this.#pos++] = 32;
    this.#put(path);
    this.#put(" HTTP/1.1\r\n");
    // The request's Host replaces the default one, which replaces the origin's.
    const skip = ownHost ? this.#defaultHost : -1;
    if (!ownHost && this.#defaultHost < 0) {
      this.#ensure(this.#hostLine.length);
      this.#buf.set(this.#hostLine, this.#pos);
      this.#pos += this.#hostLine.length;
    }
    const defaults = this.#defaults;
    for (let i = 0; i < defaults.length; i++) {
      if (i !== skip) this.#field(defaults[i][0], defaults[i][1]);
    }
    if (fields !== null) {
      for (let i = 0; i < fields.length; i++) {
        this.#field(fields[i][0], fields[i][1]);
      }
    }
    if (defaultType !== null && !hasType) {
      this.#field("content-type", defaultType);
    }
    if (bodyLength >= 0) {
      this.#field("content-length", String(bodyLength));
    } else if (BODY_METHODS.has(method)) {
      this.#put("content-length: 0\r\n");
    }
    if (req.close === true) this.#put("connection: close\r\n");
    this.#ensure(2);
    this.#crlf();
    if (bodyString !== null) {
      this.#ensure(bodyLength);
      const { written } = enc.encodeInto(
        bodyString,
        this.#buf.subarray(this.#pos),
      );
      this.#pos += written;
    } else if (body.length > 0) {
      if (body.length <= this.#inline) {
        this.#ensure(body.length);
        this.#buf.set(body, this.#pos);
        this.#pos += body.length;
      } else {
        this.#tail = body;
      }
    }
    return this.#buf.subarray(0, this.#pos);
  }
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
