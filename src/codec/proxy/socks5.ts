/**
 * SOCKS5 CONNECT (RFC 1928) with no authentication or username/password
 * (RFC 1929), as a sans-IO exchange.
 *
 * @module
 */

import type { ReadBuf } from "../read_buf.ts";
import {
  checkOptions,
  checkTarget,
  type Target,
  TARGET_RULES,
} from "./checks.ts";
import {
  type ProxyCredentials,
  ProxyHandshake,
  type ProxyStep,
} from "./handshake.ts";

/**
 * Options for {@link Socks5Connect}.
 *
 * @example
 * ```ts
 * import type { Socks5ConnectOptions } from "@x/nexus-ws/codec";
 * const options: Socks5ConnectOptions = { proxy: "127.0.0.1:1080", hostname: "example.com", port: 443 };
 * console.assert(options.hostname === "example.com");
 * ```
 */
export interface Socks5ConnectOptions {
  /** The proxy's `host:port`, named in errors (never put credentials here). */
  proxy: string;
  /**
   * The target: an IPv4 or IPv6 literal is sent as an address; a DNS name
   * is sent as a name for the proxy to resolve (`socks5h:`). For `socks5:`
   * (local resolution) the adapter resolves the name first and passes the
   * address.
   */
  hostname: string;
  /** The target port, 1 to 65535. */
  port: number;
  /**
   * Username and password (RFC 1929), each 1 to 255 bytes of UTF-8. With
   * them both "no authentication" and "username/password" are offered, and
   * the proxy chooses; without them only "no authentication".
   */
  credentials?: ProxyCredentials;
}

const VERSION = 5;
const NO_AUTH = 0;
const USER_PASS = 2;
const NO_METHOD = 0xff;
const AUTH_VERSION = 1;
const CMD_CONNECT = 1;
const ATYP_IPV4 = 1;
const ATYP_NAME = 3;
const ATYP_IPV6 = 4;

/** RFC 1928 §6 reply codes, in our words. */
const REPLIES = [
  "succeeded",
  "general SOCKS server failure",
  "connection not allowed by the proxy's rules",
  "network unreachable",
  "host unreachable",
  "connection refused by the target",
  "TTL expired",
  "command not supported (CONNECT)",
  "address type not supported",
];

/**
 * What a SOCKS5 reply code means (RFC 1928 §6): `"succeeded"` for 0, a
 * short English phrase for 1 to 8, `"unassigned reply code"` otherwise.
 *
 * @example
 * ```ts
 * import { socks5ReplyText } from "@x/nexus-ws/codec";
 * console.assert(socks5ReplyText(5) === "connection refused by the target");
 * ```
 */
export function socks5ReplyText(code: number): string {
  return REPLIES[code] ?? "unassigned reply code";
}

/** The bytes of a credential, checked to be 1 to 255 (RFC 1929). */
function field(what: string, s: string): Uint8Array {
  const b = new TextEncoder().encode(s);
  if (b.length < 1 || b.length > 255) {
    throw new RangeError(
      `Expected a SOCKS5 ${what} of 1 to 255 bytes of UTF-8 (RFC 1929), got ${b.length} bytes`,
    );
  }
  return b;
}

function authRequest(c: ProxyCredentials): Uint8Array {
  const user = field("username", c.username);
  const pass = field("password", c.password);
  const out = new Uint8Array(3 + user.length + pass.length);
  out[0] = AUTH_VERSION;
  out[1] = user.length;
  out.set(user, 2);
  out[2 + user.length] = pass.length;
  out.set(pass, 3 + user.length);
  return out;
}

function connectRequest(t: Target): Uint8Array {
  const name = t.ip === null ? new TextEncoder().encode(t.hostname) : null;
  const addr = name === null ? t.ip!.length : 1 + name.length;
  const out = new Uint8Array(4 + addr + 2);
  out[0] = VERSION;
  out[1] = CMD_CONNECT;
  out[2] = 0;
  if (name === null) {
    out[3] = t.ip!.length === 4 ? ATYP_IPV4 : ATYP_IPV6;
    out.set(t.ip!, 4);
  } else {
    out[3] = ATYP_NAME;
    out[4] = name.length;
    out.set(name, 5);
  }
  out[4 + addr] = t.port >> 8;
  out[5 + addr] = t.port & 0xff;
  return out;
}

/** What the exchange waits for: an index into WAITING. */
const Wait = { Method: 0, Auth: 1, Reply: 2 } as const;

const WAITING = [
  "the method selection (2 bytes)",
  "the authentication status (2 bytes)",
  "the reply to CONNECT",
];

/**
 * A SOCKS5 CONNECT exchange (RFC 1928) with a proxy, sans-IO: the greeting
 * offering "no authentication" (and "username/password" when credentials
 * are given), the RFC 1929 sub-negotiation when the proxy picks it, then
 * the CONNECT request for an IPv4, IPv6 or domain-name target, and the
 * reply. Only the exchange's bytes are consumed from the `ReadBuf`; once
 * open, what follows belongs to the tunnel.
 *
 * Throws `ProxyError`: failure `"auth"` when the proxy accepts none
 * of the offered methods or refuses the credentials; `"refused"` with
 * `reply` for a reply code other than 0 (see {@link socks5ReplyText});
 * `"protocol"` for a version other than 5 (1 in the sub-negotiation), a
 * method that was not offered, a non-zero reserved byte, an unknown address
 * type, an empty bound name, or the end of the stream mid-exchange. Memory
 * is bounded: the longest message is 262 bytes.
 *
 * @example
 * ```ts
 * import { ReadBuf, Socks5Connect } from "@x/nexus-ws/codec";
 * const hs = new Socks5Connect({ proxy: "127.0.0.1:1080", hostname: "127.0.0.1", port: 8080 });
 * const rb = new ReadBuf({ bufferCapacity: 1024 });
 * console.assert(hs.output().join() === "5,1,0"); // greeting: no authentication
 * rb.push(new Uint8Array([5, 0]));
 * console.assert(hs.read(rb) === "write");
 * console.assert(hs.output().join() === "5,1,0,1,127,0,0,1,31,144"); // CONNECT 127.0.0.1:8080
 * rb.push(new Uint8Array([5, 0, 0, 1, 127, 0, 0, 1, 4, 56]));
 * console.assert(hs.read(rb) === "open" && rb.length === 0);
 * ```
 */
export class Socks5Connect extends ProxyHandshake {
  #wait: number = Wait.Method;
  #target: Target;
  #auth: Uint8Array | null;

  /** Checks the options and encodes the greeting (`TypeError` / `RangeError`). */
  constructor(options: Socks5ConnectOptions) {
    checkOptions(options, TARGET_RULES, "new Socks5Connect()");
    const target = checkTarget(options.hostname, options.port);
    const { credentials } = options;
    const auth = credentials ? authRequest(credentials) : null;
    super(
      options.proxy,
      "socks5",
      auth === null
        ? new Uint8Array([VERSION, 1, NO_AUTH])
        : new Uint8Array([VERSION, 2, NO_AUTH, USER_PASS]),
    );
    this.#target = target;
    this.#auth = auth;
  }

  /**
   * Reads the proxy's answer: `"read"` when more bytes are needed,
   * `"write"` when the next message is ready, `"open"` when the proxy
   * connected; throws `ProxyError`.
   */
  protected receive(rb: ReadBuf): ProxyStep {
    if (this.#wait === Wait.Method) return this.#method(rb);
    if (this.#wait === Wait.Auth) return this.#authStatus(rb);
    return this.#reply(rb);
  }

  /** The message for the end of the stream mid-exchange. */
  protected ended(): string {
    return `Expected ${
      WAITING[this.#wait]
    } from SOCKS5 proxy ${this.proxy}, got the end of the stream`;
  }

  /** What the exchange waits for (in step `"read"`). */
  protected awaited(): string {
    return WAITING[this.#wait];
  }

  #protocol(message: string) {
    return this.fail(message, { failure: "protocol" });
  }

  #version(got: number, want: number, what: string): void {
    if (got === want) return;
    const hint = got === 0x48 ? " (an HTTP proxy? use http://)" : "";
    throw this.#protocol(
      `Expected version ${want} in the ${what} from SOCKS5 proxy ${this.proxy}, got ${got}${hint}`,
    );
  }

  #method(rb: ReadBuf): ProxyStep {
    const b = rb.bytes, s = rb.start;
    if (rb.length >= 1) this.#version(b[s], VERSION, "method selection");
    if (rb.length < 2) return "read";
    const method = b[s + 1];
    rb.consume(2);
    const proxy = this.proxy;
    if (method === NO_METHOD) {
      throw this.fail(
        this.#auth === null
          ? `Expected SOCKS5 proxy ${proxy} to accept "no authentication", got no acceptable method: it requires credentials and none were given`
          : `Expected SOCKS5 proxy ${proxy} to accept "no authentication" or "username/password", got no acceptable method`,
        { failure: "auth" },
      );
    }
    if (method === USER_PASS && this.#auth !== null) {
      this.#wait = Wait.Auth;
      const auth = this.#auth;
      this.#auth = null;
      return this.send(auth);
    }
    if (method !== NO_AUTH) {
      throw this.#protocol(
        `Expected SOCKS5 proxy ${proxy} to select an offered method (${
          this.#auth === null ? "0" : "0 or 2"
        }), got ${method}`,
      );
    }
    this.#wait = Wait.Reply;
    return this.send(connectRequest(this.#target));
  }

  #authStatus(rb: ReadBuf): ProxyStep {
    const b = rb.bytes, s = rb.start;
    if (rb.length >= 1) {
      this.#version(b[s], AUTH_VERSION, "authentication status");
    }
    if (rb.length < 2) return "read";
    const status = b[s + 1];
    rb.consume(2);
    if (status !== 0) {
      throw this.fail(
        `Expected SOCKS5 proxy ${this.proxy} to accept the credentials, got status ${status}: it refused them`,
        { failure: "auth" },
      );
    }
    this.#wait = Wait.Reply;
    return this.send(connectRequest(this.#target));
  }

  #reply(rb: ReadBuf): ProxyStep {
    const b = rb.bytes, s = rb.start, n = rb.length;
    const proxy = this.proxy;
    if (n >= 1) this.#version(b[s], VERSION, "reply");
    if (n >= 2 && b[s + 1] !== 0) {
      const reply = b[s + 1];
      throw this.fail(
        `Expected SOCKS5 proxy ${proxy} to connect to ${this.#target.authority}, got reply ${reply}: ${
          socks5ReplyText(reply)
        }`,
        { failure: "refused", reply },
      );
    }
    if (n >= 3 && b[s + 2] !== 0) {
      throw this.#protocol(
        `Expected reserved byte 0 in the reply from SOCKS5 proxy ${proxy}, got ${
          b[s + 2]
        }`,
      );
    }
    if (n < 4) return "read";
    const atyp = b[s + 3];
    let addr: number;
    if (atyp === ATYP_IPV4) addr = 4;
    else if (atyp === ATYP_IPV6) addr = 16;
    else if (atyp === ATYP_NAME) {
      if (n < 5) return "read";
      if (b[s + 4] === 0) {
        throw this.#protocol(
          `Expected a bound address in the reply from SOCKS5 proxy ${proxy}, got an empty name`,
        );
      }
      addr = 1 + b[s + 4];
    } else {
      throw this.#protocol(
        `Expected address type 1, 3 or 4 in the reply from SOCKS5 proxy ${proxy}, got ${atyp}`,
      );
    }
    const total = 4 + addr + 2;
    if (n < total) {
      rb.reserve(total);
      return "read";
    }
    rb.consume(total);
    return this.opened();
  }
}
