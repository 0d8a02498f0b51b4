/**
 * HTTP CONNECT (RFC 9110 §9.3.6) as a sans-IO exchange: the request bytes
 * out, the proxy's answer in, the tunnel open or a `ProxyError`.
 *
 * @module
 */

import { HttpProtocolError, type ProxyError } from "../../errors.ts";
import { headers, integer, type Rules } from "../../options.ts";
import { HeadReader, type ResponseHead } from "../http/head.ts";
import type { HttpHeadersInit } from "../http/request.ts";
import type { ReadBuf } from "../read_buf.ts";
import { checkHeader } from "../ws/handshake.ts";
import { checkOptions, checkTarget, TARGET_RULES } from "./checks.ts";
import {
  type ProxyCredentials,
  ProxyHandshake,
  type ProxyStep,
} from "./handshake.ts";

/**
 * Options for {@link HttpConnect}.
 *
 * @example
 * ```ts
 * import type { HttpConnectOptions } from "@x/nexus-ws/codec";
 * const options: HttpConnectOptions = {
 *   proxy: "proxy.internal:3128",
 *   hostname: "stream.example.com",
 *   port: 443,
 *   credentials: { username: "bot", password: "s3cret" },
 *   headers: { "user-agent": "bot/1" },
 * };
 * console.assert(options.port === 443);
 * ```
 */
export interface HttpConnectOptions {
  /** The proxy's `host:port`, named in errors (never put credentials here). */
  proxy: string;
  /** The target host: a DNS name, or an IPv4 / IPv6 literal. */
  hostname: string;
  /** The target port, 1 to 65535. */
  port: number;
  /** Sent as `Proxy-Authorization: Basic …` (UTF-8, RFC 7617). */
  credentials?: ProxyCredentials;
  /**
   * Extra request header fields (e.g. `User-Agent`). `Host`,
   * `Content-Length` and `Transfer-Encoding` are refused, and
   * `Proxy-Authorization` too when `credentials` are given.
   */
  headers?: HttpHeadersInit;
  /** Largest answer head in bytes, at least 64. Default 16384. */
  maxHeadSize?: number;
  /** Most header fields in the answer. Default 100. */
  maxHeaders?: number;
}

const RULES: Rules = {
  ...TARGET_RULES,
  headers,
  maxHeadSize: integer(64),
  maxHeaders: integer(0),
};

const OWNED = new Set(["host", "content-length", "transfer-encoding"]);

function entries(h: HttpHeadersInit): Iterable<readonly [string, string]> {
  if (Symbol.iterator in h) return h as Iterable<readonly [string, string]>;
  return Object.entries(h as Record<string, string>);
}

/** `Basic base64(utf8(user ":" pass))`, checked per RFC 7617. */
function basic(c: ProxyCredentials): string {
  for (
    const [what, s] of [["username", c.username], ["password", c.password]]
  ) {
    for (let i = 0; i < s.length; i++) {
      const code = s.charCodeAt(i);
      if (code < 32 || code === 127) {
        throw new TypeError(
          `Expected a proxy ${what} without control characters (RFC 7617), got one with 0x${
            code.toString(16).padStart(2, "0")
          }`,
        );
      }
    }
  }
  if (c.username.includes(":")) {
    throw new TypeError(
      'Expected a proxy username without ":" (RFC 7617), got one with ":"',
    );
  }
  const utf8 = new TextEncoder().encode(`${c.username}:${c.password}`);
  let bin = "";
  for (let i = 0; i < utf8.length; i++) bin += String.fromCharCode(utf8[i]);
  return `Basic ${btoa(bin)}`;
}

function latin1(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/**
 * What an answer's first byte says about the proxy, when it is another
 * protocol's: a SOCKS5 method selection, or a TLS record.
 */
function guess(first: number): string {
  if (first === 5) return "a SOCKS5 proxy? use socks5://";
  if (first >= 0x14 && first <= 0x17) {
    return "a TLS server? use https:// for a TLS proxy";
  }
  return "";
}

function clip(s: string): string {
  return s.length > 64 ? `${s.slice(0, 64)}…` : s;
}

/** The CONNECT request: request line, Host, credentials, the caller's fields. */
function encodeRequest(
  authority: string,
  token: string | null,
  headers: HttpHeadersInit | undefined,
): Uint8Array {
  let head = `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n`;
  if (token !== null) head += `Proxy-Authorization: ${token}\r\n`;
  for (const [name, value] of headers === undefined ? [] : entries(headers)) {
    checkHeader(name, value);
    const lower = name.toLowerCase();
    if (
      OWNED.has(lower) || (lower === "proxy-authorization" && token !== null)
    ) {
      throw new TypeError(
        `Expected no "${name}" header: the CONNECT request sets it`,
      );
    }
    head += `${name}: ${value}\r\n`;
  }
  return latin1(`${head}\r\n`);
}

/**
 * An HTTP CONNECT exchange with a proxy (RFC 9110 §9.3.6), sans-IO. It
 * writes `CONNECT host:port HTTP/1.1` with `Host`, Basic
 * `Proxy-Authorization` when credentials are given and the caller's header
 * fields, then reads the answer head with {@link HeadReader}:
 *
 * - 2xx: the tunnel is open; `Content-Length` / `Transfer-Encoding` of the
 *   answer are ignored (RFC 9110 §9.3.6) and every byte after the head is
 *   left in the `ReadBuf`: it belongs to the tunnel;
 * - 407 (and 401, which some proxies send for wrong credentials):
 *   `ProxyError` with failure `"auth"`; 1xx: `"protocol"`; any other
 *   status: `"refused"`; each with `status`. The body of a refusal is never
 *   read, so its `Content-Length` cannot make the exchange wait;
 * - bytes that cannot start `HTTP/1.x NNN` (refused at the first wrong
 *   byte, with a hint when they look like SOCKS5 or TLS), a bad head, a
 *   head over `maxHeadSize` or with more than `maxHeaders` fields, the end
 *   of the stream before the head: `ProxyError` with failure `"protocol"`
 *   (the head reader's `HttpProtocolError` as `cause`).
 *
 * Memory is bounded by `maxHeadSize`. Bad options, target or header fields
 * throw `TypeError` / `RangeError` from the constructor.
 *
 * @example
 * ```ts
 * import { HttpConnect, ProxyError, ReadBuf } from "@x/nexus-ws/codec";
 * const hs = new HttpConnect({
 *   proxy: "127.0.0.1:3128",
 *   hostname: "example.com",
 *   port: 443,
 *   credentials: { username: "bot", password: "wrong" },
 * });
 * const request = new TextDecoder().decode(hs.output());
 * console.assert(request.includes("\r\nProxy-Authorization: Basic "));
 * const rb = new ReadBuf({ bufferCapacity: 1024 });
 * rb.push(new TextEncoder().encode("HTTP/1.1 407 Proxy Authentication Required\r\n\r\n"));
 * let error: unknown;
 * try {
 *   hs.read(rb);
 * } catch (err) {
 *   error = err;
 * }
 * console.assert(error instanceof ProxyError && error.status === 407 && error.failure === "auth");
 * console.assert(!(error as ProxyError).message.includes("wrong") && hs.step === "failed");
 * ```
 */
export class HttpConnect extends ProxyHandshake {
  #heads: HeadReader;
  #target: string;
  #token: string | null;
  #first = -1; // the answer's first byte, once seen

  /** Checks the options and encodes the request (`TypeError` / `RangeError`). */
  constructor(options: HttpConnectOptions) {
    checkOptions(options, RULES, "new HttpConnect()");
    const target = checkTarget(options.hostname, options.port);
    const { credentials } = options;
    const heads = new HeadReader({
      maxHeadSize: options.maxHeadSize ?? 16384,
      maxHeaders: options.maxHeaders ?? 100,
    });
    const token = credentials ? basic(credentials) : null;
    super(
      options.proxy,
      "http",
      encodeRequest(target.authority, token, options.headers),
    );
    this.#heads = heads;
    this.#target = target.authority;
    this.#token = token;
  }

  /**
   * Reads the answer head: `"read"` while it is incomplete, `"open"` on a
   * 2xx (the bytes after the head stay in `rb`); throws
   * {@link ProxyError} otherwise.
   */
  protected receive(rb: ReadBuf): ProxyStep {
    if (this.#first < 0 && rb.length > 0) this.#first = rb.bytes[rb.start];
    let head: ResponseHead | null;
    try {
      head = this.#heads.read(rb);
    } catch (err) {
      if (!(err instanceof HttpProtocolError)) throw err;
      throw this.#invalid(err);
    }
    if (head === null) return "read";
    if (head.status >= 200 && head.status < 300) return this.opened();
    throw this.#refusal(head);
  }

  /** The message for the end of the stream before the answer. */
  protected ended(): string {
    return `Expected an answer to CONNECT ${this.#target} from proxy ${this.proxy}, got the end of the stream`;
  }

  /** What the exchange waits for (in step `"read"`). */
  protected awaited(): string {
    return `the answer to CONNECT ${this.#target}`;
  }

  /**
   * The head reader refused the answer: wrap it, never echoing credentials,
   * with a hint when the first byte is another protocol's.
   */
  #invalid(err: HttpProtocolError): ProxyError {
    const shown = this.#redact(err.message);
    const cause = shown === err.message ? err : new HttpProtocolError(shown);
    const hint = guess(this.#first);
    return this.fail(
      hint === ""
        ? `Expected a valid answer to CONNECT from proxy ${this.proxy}: ${shown}`
        : `Expected an HTTP/1.x answer to CONNECT from proxy ${this.proxy}, got 0x${
          this.#first.toString(16).padStart(2, "0")
        } first (${hint})`,
      { failure: "protocol" },
      { cause },
    );
  }

  /**
   * Hides what the answer showed when credentials were sent: a proxy may
   * echo them back into a line that an error quotes (the head reader
   * quotes up to 64 bytes of a bad line, or the bytes up to a bad one, so
   * a quote may hold a part of a secret, not all of it).
   */
  #redact(s: string): string {
    if (this.#token === null) return s;
    const hidden = s.replace(/"(?:[^"\\]|\\.)*"/g, '"…"');
    return hidden === s
      ? s
      : `${hidden} (quotes of the answer hidden: it may echo the credentials)`;
  }

  #refusal(head: ResponseHead): ProxyError {
    const { status } = head;
    const got = `got ${status}${head.reason ? ` ${clip(head.reason)}` : ""}`;
    const proxy = this.proxy;
    if (status < 200) {
      return this.fail(
        `Expected a final answer to CONNECT ${this.#target} from proxy ${proxy}, ${got} (an interim answer)`,
        { failure: "protocol", status },
      );
    }
    let why = "";
    // a 401 to CONNECT can only be about the proxy's own credentials
    // (tinyproxy 1.11 answers 401, not 407, to wrong ones)
    const auth = status === 407 || status === 401;
    if (auth) {
      why = this.#token === null
        ? ": the proxy requires credentials and none were given"
        : ": the proxy refused the credentials";
      const asked = head.headers.get(
        status === 407 ? "proxy-authenticate" : "www-authenticate",
      );
      if (asked !== null && !/\bbasic\b/i.test(asked)) {
        why += ` (it asks for ${
          JSON.stringify(clip(asked))
        }; only Basic is supported)`;
      }
    } else if (status === 403) {
      why = ": the proxy's rules do not allow this target";
    } else if (status === 502 || status === 503) {
      why = ": the proxy could not connect to the target";
    } else if (status === 504) {
      why = ": the proxy timed out connecting to the target";
    }
    return this.fail(
      `Expected proxy ${proxy} to open a tunnel to ${this.#target}, ${got}${why}`,
      { failure: auth ? "auth" : "refused", status },
    );
  }
}
