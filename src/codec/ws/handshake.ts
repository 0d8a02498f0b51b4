/**
 * The client side of the opening handshake (RFC 6455 §4.1): request bytes
 * and validation of the server's `101 Switching Protocols`.
 *
 * @module
 */

import { HandshakeError } from "../../errors.ts";
import type { ResponseHead } from "../http/head.ts";
import { hasToken, isToken } from "../http/token.ts";
import { base64, sha1 } from "./sha1.ts";
import {
  acceptDeflateAnswer,
  type DeflateOffer,
  type DeflateParams,
  encodeDeflateOffers,
} from "./deflate_negotiation.ts";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const encoder = new TextEncoder();

/** Header names the handshake sets itself; callers may not pass them. */
const FORBIDDEN = new Set([
  "host",
  "upgrade",
  "connection",
  "content-length",
  "transfer-encoding",
  "sec-websocket-key",
  "sec-websocket-version",
  "sec-websocket-accept",
  "sec-websocket-extensions",
  "sec-websocket-protocol",
]);

/**
 * A fresh `Sec-WebSocket-Key`: base64 of 16 bytes from `crypto.getRandomValues`.
 *
 * @example
 * ```ts
 * import { generateKey } from "@x/nexus-ws/codec";
 * console.assert(generateKey().length === 24);
 * ```
 */
export function generateKey(): string {
  return base64(crypto.getRandomValues(new Uint8Array(16)));
}

/**
 * The `Sec-WebSocket-Accept` value a server must answer `key` with.
 *
 * @example
 * ```ts
 * import { acceptKey } from "@x/nexus-ws/codec";
 * // the example from RFC 6455 §1.3
 * console.assert(acceptKey("dGhlIHNhbXBsZSBub25jZQ==") === "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
 * ```
 */
export function acceptKey(key: string): string {
  return base64(sha1(encoder.encode(key + GUID)));
}

/**
 * What {@link encodeHandshake} needs.
 *
 * @example
 * ```ts
 * import type { HandshakeRequest } from "@x/nexus-ws/codec";
 * const req: HandshakeRequest = { url: new URL("ws://127.0.0.1:8080/feed"), key: "dGhlIHNhbXBsZSBub25jZQ==" };
 * console.assert(req.url.port === "8080");
 * ```
 */
export interface HandshakeRequest {
  /** The `ws:` / `wss:` URL (no fragment). */
  url: URL;
  /** The `Sec-WebSocket-Key` (see {@link generateKey}). */
  key: string;
  /** `Origin` header value, if any. */
  origin?: string;
  /** Subprotocols offered, in preference order (tokens, no duplicates). */
  protocols?: readonly string[];
  /** Extra headers. CR, LF, NUL and the names the handshake sets are refused. */
  headers?: Record<string, string> | Iterable<readonly [string, string]>;
  /**
   * permessage-deflate offers, in preference order (RFC 7692 §5); none or
   * empty: the extension is not offered.
   */
  perMessageDeflate?: readonly DeflateOffer[];
}

/**
 * Checks a caller-supplied header: the name must be a token, the value must
 * not contain CR, LF or NUL. Throws `TypeError` otherwise.
 *
 * @example
 * ```ts
 * import { checkHeader } from "./handshake.ts";
 * checkHeader("X-Api-Key", "k1");
 * let threw = false;
 * try { checkHeader("X-Evil", "a\r\nHost: b"); } catch { threw = true; }
 * console.assert(threw);
 * ```
 */
export function checkHeader(name: string, value: string): void {
  if (!isToken(name)) {
    throw new TypeError(
      `Expected a header name that is an HTTP token, got ${
        JSON.stringify(name)
      }`,
    );
  }
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 13 || c === 10 || c === 0) {
      throw new TypeError(
        `Expected a value without CR, LF or NUL for header "${name}", got ${
          JSON.stringify(value)
        }`,
      );
    }
    if ((c < 32 && c !== 9) || c === 127 || c > 255) {
      throw new TypeError(
        `Expected a header value of visible Latin-1 characters for "${name}", got ${
          JSON.stringify(value)
        }`,
      );
    }
  }
}

function headerEntries(
  h: HandshakeRequest["headers"],
): Iterable<readonly [string, string]> {
  if (!h) return [];
  if (Symbol.iterator in h) return h as Iterable<readonly [string, string]>;
  return Object.entries(h);
}

/**
 * Validates `protocols` for the offer: tokens, no duplicates. Throws `TypeError`.
 *
 * @example
 * ```ts
 * import { checkProtocols } from "./handshake.ts";
 * checkProtocols(["v2.feed", "v1.feed"]);
 * let threw = false;
 * try { checkProtocols(["a", "a"]); } catch { threw = true; }
 * console.assert(threw);
 * ```
 */
export function checkProtocols(protocols: readonly string[]): void {
  const seen = new Set<string>();
  for (const p of protocols) {
    if (!isToken(p)) {
      throw new TypeError(
        `Expected a subprotocol that is an HTTP token, got ${
          JSON.stringify(p)
        }`,
      );
    }
    if (seen.has(p)) {
      throw new TypeError(`Expected distinct subprotocols, got "${p}" twice`);
    }
    seen.add(p);
  }
}

/**
 * The bytes of the opening handshake request. Credentials in the URL
 * (`ws://user:pass@host/`) are sent as a Basic `Authorization` header, never
 * in the request line or `Host`. Throws `TypeError` for a bad URL,
 * subprotocol or header (including header injection attempts, names the
 * handshake owns, and credentials given both in the URL and as an
 * `Authorization` header).
 *
 * @example
 * ```ts
 * import { encodeHandshake } from "@x/nexus-ws/codec";
 * const bytes = encodeHandshake({ url: new URL("ws://localhost/chat"), key: "dGhlIHNhbXBsZSBub25jZQ==" });
 * console.assert(new TextDecoder().decode(bytes).startsWith("GET /chat HTTP/1.1\r\nHost: localhost\r\n"));
 * ```
 */
export function encodeHandshake(req: HandshakeRequest): Uint8Array {
  const { url } = req;
  if (url.protocol !== "ws:" && url.protocol !== "wss:") {
    throw new TypeError(`Expected a ws: or wss: URL, got "${url.protocol}"`);
  }
  // an empty fragment ("ws://h/#") has hash "" but still shows in href
  if (url.hash !== "" || url.href.includes("#")) {
    throw new TypeError(
      `Expected a URL without a fragment, got "${url.hash || "#"}"`,
    );
  }
  let s =
    `GET ${
      url.pathname || "/"
    }${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n` +
    `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${req.key}\r\n` +
    `Sec-WebSocket-Version: 13\r\n`;
  if (req.origin !== undefined) {
    checkHeader("Origin", req.origin);
    s += `Origin: ${req.origin}\r\n`;
  }
  if (req.protocols && req.protocols.length > 0) {
    checkProtocols(req.protocols);
    s += `Sec-WebSocket-Protocol: ${req.protocols.join(", ")}\r\n`;
  }
  if (req.perMessageDeflate && req.perMessageDeflate.length > 0) {
    s += `Sec-WebSocket-Extensions: ${
      encodeDeflateOffers(req.perMessageDeflate)
    }\r\n`;
  }
  const credentials = basicCredentials(url);
  for (const [name, value] of headerEntries(req.headers)) {
    checkHeader(name, value);
    const lower = name.toLowerCase();
    if (lower === "authorization" && credentials !== null) {
      throw new TypeError(
        "Expected credentials in the URL or an Authorization header, got both",
      );
    }
    if (
      FORBIDDEN.has(lower) || (lower === "origin" && req.origin !== undefined)
    ) {
      throw new TypeError(
        `Expected no "${name}" header from the caller: the handshake sets it`,
      );
    }
    s += `${name}: ${value}\r\n`;
  }
  if (credentials !== null) s += `Authorization: Basic ${credentials}\r\n`;
  s += "\r\n";
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/**
 * The `user:password` of a URL, percent-decoded and base64-encoded for
 * Basic authentication (RFC 7617, UTF-8), or `null` when it has none.
 */
function basicCredentials(url: URL): string | null {
  if (url.username === "" && url.password === "") return null;
  let pair: string;
  try {
    pair = `${decodeURIComponent(url.username)}:${
      decodeURIComponent(url.password)
    }`;
  } catch {
    throw new TypeError(
      "Expected percent-encoded UTF-8 credentials in the URL, got a malformed escape",
    );
  }
  return base64(encoder.encode(pair));
}

/**
 * What a valid handshake response negotiated.
 *
 * @example
 * ```ts
 * import type { HandshakeResult } from "@x/nexus-ws/codec";
 * const r: HandshakeResult = { protocol: "", perMessageDeflate: null };
 * console.assert(r.protocol === "" && r.perMessageDeflate === null);
 * ```
 */
export interface HandshakeResult {
  /** The subprotocol the server selected, or `""`. */
  protocol: string;
  /** The permessage-deflate parameters settled, or `null` when not negotiated. */
  perMessageDeflate: DeflateParams | null;
}

/**
 * Validates the server's answer to the handshake: status 101, `Upgrade:
 * websocket`, `Connection: Upgrade`, the right `Sec-WebSocket-Accept`, a
 * subprotocol only if it was offered, and no extension but a
 * permessage-deflate answer that accepts one of `perMessageDeflate` (the
 * offers made, checked strictly: see `acceptDeflateAnswer`). Throws
 * {@link HandshakeError} with the status and headers otherwise.
 *
 * @example
 * ```ts
 * import { HeadReader, ReadBuf, validateHandshake } from "@x/nexus-ws/codec";
 * const rb = new ReadBuf();
 * rb.push(new TextEncoder().encode(
 *   "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
 *   "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"));
 * const head = new HeadReader().read(rb)!;
 * console.assert(validateHandshake(head, "dGhlIHNhbXBsZSBub25jZQ==", []).protocol === "");
 * ```
 */
export function validateHandshake(
  head: ResponseHead,
  key: string,
  protocols: readonly string[],
  perMessageDeflate?: readonly DeflateOffer[],
): HandshakeResult {
  const h = head.headers;
  const err = (msg: string) => new HandshakeError(msg, head.status, h);
  if (head.status !== 101) {
    throw err(
      `Expected status 101 Switching Protocols, got ${head.status} ${head.reason}`
        .trimEnd(),
    );
  }
  if (head.minorVersion !== 1) {
    throw err("Expected an HTTP/1.1 response, got HTTP/1.0");
  }
  if (!hasToken(h.get("upgrade"), "websocket")) {
    throw err(
      `Expected "Upgrade: websocket", got ${JSON.stringify(h.get("upgrade"))}`,
    );
  }
  if (!hasToken(h.get("connection"), "upgrade")) {
    throw err(
      `Expected "Connection: Upgrade", got ${
        JSON.stringify(h.get("connection"))
      }`,
    );
  }
  const accept = h.getAll("sec-websocket-accept");
  const want = acceptKey(key);
  if (accept.length !== 1 || accept[0] !== want) {
    throw err(
      `Expected Sec-WebSocket-Accept "${want}", got ${
        JSON.stringify(accept.join(", ") || null)
      }`,
    );
  }
  const proto = h.getAll("sec-websocket-protocol");
  if (
    proto.length > 1 || (proto.length === 1 && !protocols.includes(proto[0]))
  ) {
    throw err(
      `Expected a subprotocol from the offer [${protocols.join(", ")}], got "${
        proto.join(", ")
      }"`,
    );
  }
  const ext = h.getAll("sec-websocket-extensions");
  let deflate: DeflateParams | null;
  try {
    deflate = acceptDeflateAnswer(
      ext.length === 0 ? null : ext.join(", "),
      perMessageDeflate ?? [],
    );
  } catch (e) {
    throw err((e as Error).message);
  }
  return { protocol: proto[0] ?? "", perMessageDeflate: deflate };
}
