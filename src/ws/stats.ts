/**
 * The statistics a {@link WsClient} keeps: plain counters bumped where the
 * work already happens (per socket read, per send, per control frame), so
 * keeping them costs no allocation and no clock read per message.
 *
 * @module
 */

/**
 * How long opening the connection took, in milliseconds.
 *
 * @example
 * ```ts
 * import type { ConnectTiming } from "@x/nexus-ws";
 * const t: ConnectTiming = { tcp: 0.4, tls: 0, handshake: 0.9 };
 * console.assert(t.tcp + t.tls + t.handshake < 2);
 * ```
 */
export interface ConnectTiming {
  /**
   * Name resolution and the TCP connect together (`Deno.connect` does
   * both); 0 when the caller gave the transport.
   */
  tcp: number;
  /** The TLS handshake (`wss:`); 0 for `ws:` and a caller's transport. */
  tls: number;
  /** The WebSocket opening handshake: request written, `101` read and checked. */
  handshake: number;
}

/**
 * A snapshot of a connection's counters, from {@link WsClient.stats}.
 * "In" counts what the client parsed (bytes still unread in the socket are
 * not counted yet); "out" counts what it encoded (`bytesOut`: what the
 * socket accepted). Times are milliseconds.
 *
 * @example
 * ```ts
 * import type { WsStats } from "@x/nexus-ws";
 * const line = (s: WsStats) =>
 *   `${s.messagesIn} msgs, ${s.bytesIn} B in, rtt ${s.rtt?.toFixed(1) ?? "-"} ms`;
 * console.assert(typeof line === "function");
 * ```
 */
export interface WsStats {
  /**
   * Text and binary messages received and parsed, application pings and
   * answers included (whether or not `recv()` returned them).
   */
  messagesIn: number;
  /** Bytes read from the socket since the handshake (frame headers included). */
  bytesIn: number;
  /** Complete frames parsed (data, continuation and control). */
  framesIn: number;
  /** Text and binary messages encoded for sending (application heartbeats and ping answers included). */
  messagesOut: number;
  /** Bytes the socket accepted since the handshake (masked frames, headers included). */
  bytesOut: number;
  /** Frames encoded for sending: messages, pings, pongs and the close frame. */
  framesOut: number;
  /** Ping frames received. */
  pingsIn: number;
  /** Pong frames received. */
  pongsIn: number;
  /** Ping frames sent (`ping()` and the heartbeat). */
  pingsOut: number;
  /** Pong frames sent (automatic answers to pings). */
  pongsOut: number;
  /** The last round trip from a ping we sent to the next pong, or `null` before one. */
  rtt: number | null;
  /** Application heartbeat messages sent. */
  appPingsOut: number;
  /** Application heartbeat answers recognised. */
  appPongsIn: number;
  /**
   * Server application pings recognised by `appPingReply` (and hidden);
   * each is answered unless the send buffer is over `maxBufferedAmount` or
   * the connection is closing, as with RFC pongs.
   */
  appPingsIn: number;
  /** The last application heartbeat round trip, or `null` before one. */
  appRtt: number | null;
  /**
   * Time since the socket read that delivered the last message's bytes
   * (reads are stamped, not messages), or `null` before the first message.
   */
  sinceLastMessage: number | null;
  /** Time since the connection opened. */
  openFor: number;
  /** How long opening it took. */
  connect: ConnectTiming;
}
