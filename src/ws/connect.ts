/**
 * `connect()`: checks the options, dials, runs the opening handshake and
 * returns an open {@link WsClient}.
 *
 * @module
 */

import {
  HandshakeError,
  HttpProtocolError,
  NetworkError,
  TimeoutError,
} from "../errors.ts";
import {
  boolean,
  check,
  func,
  headers,
  integer,
  number,
  pick,
  type Rule,
  type Rules,
  signal,
  string,
  strings,
} from "../options.ts";
import {
  DEFAULT_SHRINK_AFTER,
  READ_BUF_RULES,
  ReadBuf,
  type ReadBufOptions,
} from "../codec/read_buf.ts";
import { HeadReader } from "../codec/http/head.ts";
import { FrameReader } from "../codec/ws/frame_reader.ts";
import {
  encodeHandshake,
  generateKey,
  type HandshakeResult,
  validateHandshake,
} from "../codec/ws/handshake.ts";
import type { DeflateOffer } from "../codec/ws/deflate_negotiation.ts";
import {
  caCertsRule,
  dial,
  hostnameOf,
  portOf,
  type Transport,
} from "../transport.ts";
import {
  type AppHeartbeatOptions,
  appHeartbeatRule,
  type AppPingReply,
} from "./app_heartbeat.ts";
import { HEARTBEAT_RULES, type HeartbeatOptions } from "./heartbeat.ts";
import {
  deflateOffers,
  deflateThreshold,
  PER_MESSAGE_DEFLATE_RULE,
  type PerMessageDeflateOptions,
} from "./compression.ts";
import { closeQuietly, writeAll } from "../socket.ts";
import { parseProxyOption, proxyRule } from "../proxy.ts";
import type { ProxyUrl } from "../codec/proxy/url.ts";
import { abortError } from "../tunnel.ts";
import { type ClientConfig, WsClient } from "./client.ts";

/**
 * Options for {@link connect}. Sizes are bytes, times are milliseconds.
 * Unknown names and values of the wrong type are refused with a
 * `TypeError` naming the option; values out of range with a `RangeError`.
 *
 * @example
 * ```ts
 * import type { ConnectOptions } from "@x/nexus-ws";
 * const options: ConnectOptions = { bufferCapacity: 1 << 20, protocols: ["v2.feed"], headers: { "X-Api-Key": "k" } };
 * console.assert(options.autoPong === undefined);
 * ```
 */
export interface ConnectOptions extends ReadBufOptions {
  /** Extra handshake headers. CR/LF/NUL and names the handshake owns are refused (`TypeError`). */
  headers?: Record<string, string> | Iterable<readonly [string, string]>;
  /** Subprotocols to offer, in preference order. */
  protocols?: string[];
  /** `Origin` header to send. */
  origin?: string;
  /** Extra PEM root certificates for `wss:` (the system roots stay trusted). */
  caCerts?: string[];
  /** Run over this transport instead of dialing the URL (the URL still gives Host and path). */
  transport?: Transport;
  /**
   * The proxy to tunnel through: `http://[user:pass@]host:port` (HTTP
   * CONNECT, Basic `Proxy-Authorization`), `https://…` (TLS to the proxy;
   * `ws:` URLs only), `socks5://` (the name is resolved here) or
   * `socks5h://` (the proxy resolves it), with RFC 1929 credentials. For
   * `wss:` the TLS session to the origin runs inside the tunnel, verified
   * as on a direct connection. `false`: connect directly, whatever the
   * environment says. Default: from `HTTPS_PROXY` / `HTTP_PROXY` /
   * `ALL_PROXY` / `NO_PROXY` when the process may read them (see
   * docs/proxies.md). Not with `transport`.
   */
  proxy?: string | URL | false;
  /** Most frames a message may arrive in. Default 131072. */
  maxFragments?: number;
  /** Largest handshake response head. Default 16384. */
  maxHeadSize?: number;
  /** Answer pings with pongs automatically. Default `true`. */
  autoPong?: boolean;
  /** Called with each ping's payload (a borrowed view). */
  onPing?: (data: Uint8Array) => void;
  /** Called with each pong's payload (a borrowed view). */
  onPong?: (data: Uint8Array) => void;
  /** Bound on dial + TLS + handshake. Default 10000. */
  handshakeTimeout?: number;
  /**
   * Bound on the closing handshake (ours or the server's) and the TCP
   * teardown after it. Default 5000. `0` closes the socket right after
   * sending our close frame.
   */
  closeTimeout?: number;
  /** Aborts the connect (dial and handshake). */
  signal?: AbortSignal;
  /**
   * Sends wait (their promise stays pending, in call order) while more than
   * this many bytes are encoded but not yet written. Default 1 MiB.
   */
  maxBufferedAmount?: number;
  /** Messages `readable` may queue ahead of its consumer. Default 16. */
  readableHighWaterMark?: number;
  /**
   * Dead-peer detection: a ping after `interval` ms without a frame from the
   * server; the connection fails with {@link TimeoutError} when nothing
   * arrives within `timeout` ms of that ping (while `recv()` waits on the
   * socket). Off by default. See {@link HeartbeatOptions}.
   */
  heartbeat?: HeartbeatOptions;
  /**
   * permessage-deflate (RFC 7692): `false` offers nothing; `true` (the
   * default) or an options object offers it, and the server decides.
   * Negotiated, compressed messages are inflated into a reused buffer
   * (`recv()` still borrows; `maxMessageSize` bounds the inflated size)
   * and sends of at least `threshold` bytes are compressed. The default
   * offer asks for a 1 KiB server window first, then for none; see
   * {@link PerMessageDeflateOptions} and `docs/websocket.md` for the costs.
   */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /**
   * Application-level heartbeat, for servers that want a message of their
   * own rather than a ping frame (OKX's `"ping"`, Bybit's
   * `{"op":"ping"}`): `message` is sent every `interval` ms; with `isPong`,
   * the answer is recognised (and kept out of `recv()` unless `hidePongs`
   * is false) and the connection fails with
   * {@link AppHeartbeatTimeoutError} when none comes within `timeout` ms.
   * Off by default. See {@link AppHeartbeatOptions}.
   */
  appHeartbeat?: AppHeartbeatOptions;
  /**
   * Answers the server's application pings (`{"ping": n}` →
   * `{"pong": n}`): called with each data message before `recv()` would
   * return it; what it returns is sent and the message is not returned;
   * `undefined` lets the message through. Pings are answered when they are
   * parsed, i.e. inside `recv()` / `tryRecv()`: a connection nobody reads
   * answers nothing. See {@link AppPingReply}.
   */
  appPingReply?: AppPingReply;
  /**
   * Staleness watchdog: fail the connection with {@link StaleFeedError}
   * when no data message (application pings and answers not counted)
   * arrives for this many ms while `recv()` waits, even if the server
   * answers pings. Off by default.
   */
  staleTimeout?: number;
}

/** The longest delay `setTimeout` honours. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** `maxBufferedAmount` when not given: 1 MiB. */
export const DEFAULT_MAX_BUFFERED_AMOUNT = 1 << 20;

/** `closeTimeout` when not given, in ms. */
export const DEFAULT_CLOSE_TIMEOUT = 5000;

const transportRule: Rule = (v, name) => {
  const t = v as Partial<Transport> | null;
  if (
    t === null || typeof t !== "object" || typeof t.read !== "function" ||
    typeof t.write !== "function" || typeof t.close !== "function"
  ) {
    throw new TypeError(
      `Expected option "${name}" to be a Transport (read, write and close methods), got ${
        t === null ? "null" : typeof t
      }`,
    );
  }
};

const heartbeatRule: Rule = (v, name) => {
  check(v, HEARTBEAT_RULES, name);
  if ((v as HeartbeatOptions).interval === undefined) {
    throw new TypeError(
      `Expected option "${name}.interval" to be a number, got undefined`,
    );
  }
};

/** The rules of {@link ConnectOptions}. */
export const CONNECT_RULES: Rules = {
  ...READ_BUF_RULES,
  headers,
  protocols: strings,
  origin: string,
  caCerts: caCertsRule,
  transport: transportRule,
  proxy: proxyRule,
  maxFragments: integer(1),
  maxHeadSize: integer(64),
  autoPong: boolean,
  onPing: func,
  onPong: func,
  handshakeTimeout: number(1, MAX_TIMER_MS),
  closeTimeout: number(0, MAX_TIMER_MS),
  signal,
  maxBufferedAmount: integer(0),
  readableHighWaterMark: integer(0),
  heartbeat: heartbeatRule,
  perMessageDeflate: PER_MESSAGE_DEFLATE_RULE,
  appHeartbeat: appHeartbeatRule,
  appPingReply: func,
  staleTimeout: integer(1, MAX_TIMER_MS),
};

/**
 * The `ws:` / `wss:` URL to connect to. `http:` and `https:` are taken as
 * `ws:` and `wss:`, as the WHATWG `WebSocket` constructor does; any other
 * scheme is a `TypeError`.
 */
export function wsUrl(url: string | URL): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TypeError(
      `Expected a ws:, wss:, http: or https: URL, got ${
        JSON.stringify(String(url))
      }`,
    );
  }
  if (u.protocol === "http:") u.protocol = "ws:";
  else if (u.protocol === "https:") u.protocol = "wss:";
  else if (u.protocol !== "ws:" && u.protocol !== "wss:") {
    throw new TypeError(
      `Expected a ws:, wss:, http: or https: URL, got "${u.protocol}"`,
    );
  }
  return u;
}

/** Everything `connect()` prepares before any I/O. */
interface Plan {
  url: URL;
  key: string;
  protocols: string[];
  request: Uint8Array;
  offers: DeflateOffer[];
  rb: ReadBuf;
  maxFragments: number | undefined;
  heads: HeadReader;
  handshakeTimeout: number;
  proxy: ProxyUrl | false | undefined;
  cfg: ClientConfig;
}

/** Checks the options and prepares the handshake: throws before any I/O. */
export function plan(url: string | URL, options: ConnectOptions): Plan {
  check(options, CONNECT_RULES, "connect()");
  if (options.transport !== undefined && options.proxy !== undefined) {
    throw new TypeError(
      'Expected option "transport" or option "proxy", got both (a given transport is not dialed, so it cannot go through a proxy)',
    );
  }
  const u = wsUrl(url);
  const key = generateKey();
  const protocols = options.protocols ?? [];
  const offers = deflateOffers(options.perMessageDeflate);
  const request = encodeHandshake({
    url: u,
    key,
    origin: options.origin,
    protocols,
    headers: options.headers,
    perMessageDeflate: offers,
  });
  const rb = new ReadBuf(pick(options, READ_BUF_RULES));
  return {
    url: u,
    key,
    protocols,
    request,
    offers,
    rb,
    maxFragments: options.maxFragments,
    heads: new HeadReader({ maxHeadSize: options.maxHeadSize ?? 16384 }),
    handshakeTimeout: options.handshakeTimeout ?? 10000,
    proxy: parseProxyOption(options.proxy),
    cfg: {
      autoPong: options.autoPong ?? true,
      onPing: options.onPing,
      onPong: options.onPong,
      closeTimeout: options.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT,
      shrinkAfter: options.shrinkAfter ?? DEFAULT_SHRINK_AFTER,
      maxBufferedAmount: options.maxBufferedAmount ??
        DEFAULT_MAX_BUFFERED_AMOUNT,
      readableHighWaterMark: options.readableHighWaterMark ?? 16,
      heartbeat: options.heartbeat,
      deflateThreshold: deflateThreshold(options.perMessageDeflate),
      appHeartbeat: options.appHeartbeat,
      appPingReply: options.appPingReply,
      staleTimeout: options.staleTimeout,
      timing: { tcp: 0, tls: 0, handshake: 0 },
    },
  };
}

/** Writes the request and reads the `101` answer; returns what it settled. */
async function handshake(t: Transport, p: Plan): Promise<HandshakeResult> {
  await io(p, () => writeAll(t, p.request, p.request.length));
  for (;;) {
    let head;
    try {
      head = p.heads.read(p.rb);
    } catch (err) {
      if (!(err instanceof HttpProtocolError)) throw err;
      throw new HandshakeError(
        `Expected a valid handshake response: ${err.message}`,
        0,
        undefined,
        { cause: err },
      );
    }
    if (head !== null) {
      return validateHandshake(head, p.key, p.protocols, p.offers);
    }
    const n = await io(p, () => t.read(p.rb.spare()));
    if (n === null) {
      throw new HandshakeError(
        "Expected a handshake response, got end of stream",
      );
    }
    p.rb.commit(n);
  }
}

/** Runs a socket call of the handshake; its failure is a {@link NetworkError}. */
async function io<T>(p: Plan, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (cause) {
    throw new NetworkError("io", hostnameOf(p.url), portOf(p.url), { cause });
  }
}

/**
 * Opens a WebSocket connection: dials `ws:` / `wss:` (TLS verified against
 * the system roots plus `caCerts`), sends the handshake, validates the
 * `101` answer and returns an open {@link WsClient}. `http:` / `https:`
 * URLs are taken as `ws:` / `wss:` (as the WHATWG `WebSocket` does);
 * credentials in the URL (`wss://user:pass@host/`) are sent as a Basic
 * `Authorization` header.
 *
 * Bad options throw `TypeError` / `RangeError` before anything is dialed.
 * A failed dial (DNS, refused, unreachable, TLS) rejects with
 * {@link NetworkError} (with `peer` `"proxy"` when the proxy cannot be
 * reached); a proxy that refuses the tunnel with `ProxyError`; a
 * refused handshake with {@link HandshakeError}; the bound is
 * `handshakeTimeout`, proxy leg included ({@link TimeoutError}, naming the
 * proxy and the step when the proxy stalls); an abort rejects with the
 * signal's reason.
 *
 * @example
 * ```ts ignore
 * import { connect } from "@x/nexus-ws";
 * const ws = await connect("wss://stream.example.com/ws", { protocols: ["v1"] });
 * await ws.sendText(JSON.stringify({ op: "subscribe", channel: "ticker" }));
 * for (let msg = await ws.recv(); msg !== null; msg = await ws.recv()) {
 *   console.log(msg.text());
 * }
 * ```
 */
export async function connect(
  url: string | URL,
  options?: ConnectOptions,
): Promise<WsClient> {
  options ??= {};
  const p = plan(url, options);
  const outer = options.signal;
  outer?.throwIfAborted();
  const ac = new AbortController();
  let transport: Transport | undefined = options.transport;
  const onAbort = () => ac.abort(outer!.reason);
  outer?.addEventListener("abort", onAbort, { once: true });
  const timer = setTimeout(() => {
    ac.abort(
      new TimeoutError(
        `Expected the handshake with ${p.url.host} to complete within ${p.handshakeTimeout} ms, it did not`,
      ),
    );
  }, p.handshakeTimeout);
  const closeOnAbort = () => transport?.close();
  ac.signal.addEventListener("abort", closeOnAbort, { once: true });
  try {
    const timing = p.cfg.timing;
    transport ??= await dial(p.url, {
      caCerts: options.caCerts,
      signal: ac.signal,
      proxy: p.proxy,
      timing,
    });
    ac.signal.throwIfAborted();
    const t0 = performance.now();
    const settled = await handshake(transport, p);
    timing.handshake = performance.now() - t0;
    const deflate = settled.perMessageDeflate ?? undefined;
    const reader = new FrameReader({
      maxMessageSize: p.rb.maxMessageSize,
      maxFragments: p.maxFragments,
      perMessageDeflate: deflate,
    });
    return new WsClient(transport, p.rb, reader, settled.protocol, {
      ...p.cfg,
      deflate,
    });
  } catch (err) {
    if (transport !== undefined) closeQuietly(transport);
    if (ac.signal.aborted) throw abortError(ac.signal.reason, err);
    throw err;
  } finally {
    clearTimeout(timer);
    ac.signal.removeEventListener("abort", closeOnAbort);
    outer?.removeEventListener("abort", onAbort);
  }
}
