/**
 * Application-level liveness, for servers that do not stop at RFC 6455:
 * the caller's own heartbeat message sent every interval and its answer
 * recognised (OKX's `"ping"` / `"pong"`, Bybit's `{"op":"ping"}`), and the
 * server's own application pings answered (`{"ping": n}` → `{"pong": n}`).
 *
 * It lives on the receive path only when configured: the client then
 * parses through {@link AppLayer.inspect}, which sees each data message
 * before `recv()` would return it. A client without it parses exactly as
 * before, with no extra test per message.
 *
 * @module
 */

import { AppHeartbeatTimeoutError } from "../errors.ts";
import {
  boolean,
  bytes,
  check,
  func,
  integer,
  oneOf,
  required,
  type Rule,
  type Rules,
  string,
} from "../options.ts";
import type { Message } from "./message.ts";
import { MAX_TIMER_MS, overdue, Ticker } from "./ticker.ts";

/**
 * What an application heartbeat sends: text (a string), binary (a
 * `Uint8Array`), or a function returning one of them, called for every
 * heartbeat (e.g. to put a timestamp in).
 *
 * @example
 * ```ts
 * import type { AppMessage } from "@x/nexus-ws";
 * const okx: AppMessage = "ping";
 * const bybit: AppMessage = () => JSON.stringify({ op: "ping", req_id: String(Date.now()) });
 * console.assert(typeof okx === "string" && typeof bybit === "function");
 * ```
 */
export type AppMessage = string | Uint8Array | (() => string | Uint8Array);

/**
 * Application heartbeat settings (see {@link ConnectOptions.appHeartbeat}).
 * Times are milliseconds.
 *
 * @example
 * ```ts
 * import { type AppHeartbeatOptions, matchText } from "@x/nexus-ws";
 * // OKX: send "ping" every 20 s; "pong" must come back within 5 s
 * const okx: AppHeartbeatOptions = {
 *   message: "ping",
 *   interval: 20_000,
 *   isPong: matchText("pong"),
 *   timeout: 5_000,
 * };
 * console.assert(okx.hidePongs === undefined); // hidden by default
 * ```
 */
export interface AppHeartbeatOptions {
  /** What to send (see {@link AppMessage}). */
  message: AppMessage;
  /**
   * Send it every this many ms, whatever the traffic (the first one
   * `interval` ms after the connection opened).
   */
  interval: number;
  /**
   * Recognises the server's answer among the data messages (called with a
   * borrowed {@link Message}, valid during the call; check
   * `byteLength` or the first bytes before decoding anything: it sees every
   * message). Without it no answer is awaited: the heartbeat only keeps the
   * connection warm.
   */
  isPong?: (msg: Message) => boolean;
  /**
   * Fail the connection with {@link AppHeartbeatTimeoutError} when no
   * answer arrives within this many ms of a heartbeat (counting only time
   * during which a `recv()` waits on the socket). Requires `isPong`.
   * Default: `interval`.
   */
  timeout?: number;
  /** Keep the answers out of `recv()`. Default `true`. */
  hidePongs?: boolean;
}

/**
 * Answers the server's application pings (see
 * {@link ConnectOptions.appPingReply}): called with each data message (a
 * borrowed {@link Message}, valid during the call) before `recv()` would
 * return it. Return the answer (a string is sent as text, a `Uint8Array`
 * as binary) and the message is consumed: answered and never returned; or
 * return `undefined` to let it through.
 *
 * @example
 * ```ts
 * import { type AppPingReply, matchPrefix } from "@x/nexus-ws";
 * const isPing = matchPrefix('{"ping":');
 * // {"ping": 1700000000} -> {"pong": 1700000000}
 * const reply: AppPingReply = (m) =>
 *   isPing(m) ? `{"pong":${m.text().slice(8, -1)}}` : undefined;
 * console.assert(typeof reply === "function");
 * ```
 */
export type AppPingReply = (msg: Message) => string | Uint8Array | undefined;

const APP_HEARTBEAT_FIELDS: Rules = {
  message: oneOf(
    "a string, a Uint8Array or a function returning one",
    string,
    bytes,
    func,
  ),
  interval: integer(1, MAX_TIMER_MS),
  isPong: func,
  timeout: integer(1, MAX_TIMER_MS),
  hidePongs: boolean,
};

/** The rule of {@link AppHeartbeatOptions}: fields checked, `message` and `interval` required. */
export const appHeartbeatRule: Rule = (v, name) => {
  check(v, APP_HEARTBEAT_FIELDS, name);
  required(v, ["message", "interval"], name);
  const o = v as Partial<AppHeartbeatOptions>;
  if (o.timeout !== undefined && o.isPong === undefined) {
    throw new TypeError(
      `Expected option "${name}.isPong" with "${name}.timeout" (an answer must be recognised to be awaited), got none`,
    );
  }
};

/** What the application layer needs from its connection. */
export interface AppHooks {
  /**
   * Sends a data message at once (only while open and under the write
   * mark); `false` when it could not. Throws `TypeError` for a payload that
   * is neither a string nor a `Uint8Array`.
   */
  send(payload: unknown, what: string): boolean;
  /** When a read began waiting on the socket (`performance.now()`), 0 when none is. */
  waitingSince(): number;
  /** Fails the connection. */
  fail(error: Error): void;
}

/** The heartbeat timer: sends every `interval`, fails on a late answer. */
class AppTicker extends Ticker {
  #layer: AppLayer;
  constructor(period: number, layer: AppLayer) {
    super(period);
    this.#layer = layer;
  }
  protected tick(now: number): void {
    this.#layer.tick(now, this);
  }
}

/**
 * A connection's application layer: the heartbeat timer, the matching of
 * answers and pings, and their counters (read by `WsClient.stats()`).
 */
export class AppLayer {
  /** Heartbeat messages sent. */
  pingsOut = 0;
  /** Answers recognised by `isPong`. */
  pongsIn = 0;
  /** Server application pings recognised by `appPingReply` (answered unless over the write mark). */
  pingsIn = 0;
  /** Last heartbeat round trip in ms (send to answer), -1 before the first. */
  rtt = -1;
  #isPong: ((msg: Message) => boolean) | undefined;
  #hide: boolean;
  #reply: AppPingReply | undefined;
  #message: AppMessage | undefined;
  #interval = 0;
  #timeout = 0;
  #hooks: AppHooks;
  #ticker: AppTicker | undefined;
  #sentAt: number; // last heartbeat sent (or the start)
  #pendingSince = 0; // oldest unanswered heartbeat, 0 when none

  /** Starts the heartbeat timer when `hb` is given. */
  constructor(
    hb: AppHeartbeatOptions | undefined,
    reply: AppPingReply | undefined,
    hooks: AppHooks,
  ) {
    this.#hooks = hooks;
    this.#reply = reply;
    this.#isPong = hb?.isPong;
    this.#hide = hb?.hidePongs ?? true;
    this.#sentAt = performance.now();
    if (hb !== undefined) {
      this.#message = hb.message;
      this.#interval = hb.interval;
      this.#timeout = hb.timeout ?? hb.interval;
      const period = hb.isPong === undefined
        ? hb.interval
        : Math.min(hb.interval, this.#timeout);
      this.#ticker = new AppTicker(period >> 2, this);
    }
  }

  /**
   * Looks at a data message before `recv()` returns it: an answer to the
   * heartbeat is counted (and hidden unless `hidePongs` is false); a server
   * ping the reply function answers is answered and hidden. Returns whether
   * `recv()` should return the message. Errors of the caller's functions
   * propagate.
   */
  inspect(msg: Message): boolean {
    const isPong = this.#isPong;
    if (isPong !== undefined && isPong(msg)) {
      this.pongsIn++;
      if (this.#pendingSince !== 0) {
        this.rtt = performance.now() - this.#sentAt;
        this.#pendingSince = 0;
      }
      return !this.#hide;
    }
    const reply = this.#reply;
    if (reply === undefined) return true;
    const answer = reply(msg);
    if (answer === undefined) return true;
    this.pingsIn++;
    this.#hooks.send(answer, "appPingReply's answer");
    return false;
  }

  /** Messages that were application pings or answers, not data. */
  get consumed(): number {
    return this.pongsIn + this.pingsIn;
  }

  /** Stops the timer. Idempotent. */
  stop(): void {
    this.#ticker?.stop();
  }

  /** One timer tick (see {@link AppTicker}). */
  tick(now: number, ticker: Ticker): void {
    const h = this.#hooks;
    if (
      this.#pendingSince !== 0 &&
      overdue(now, this.#pendingSince, h.waitingSince(), this.#timeout)
    ) {
      ticker.stop();
      h.fail(new AppHeartbeatTimeoutError(this.#timeout));
      return;
    }
    if (now - this.#sentAt < this.#interval) return;
    try {
      const m = this.#message!;
      if (!h.send(typeof m === "function" ? m() : m, "appHeartbeat.message")) {
        return;
      }
    } catch (err) {
      ticker.stop();
      h.fail(err as Error);
      return;
    }
    this.pingsOut++;
    this.#sentAt = now;
    if (this.#isPong !== undefined && this.#pendingSince === 0) {
      this.#pendingSince = now;
    }
  }
}
