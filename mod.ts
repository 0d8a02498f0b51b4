/**
 * `@x/nexus-ws`: the fastest WebSocket and HTTP/1.1 client on Deno.
 *
 * `connect()` opens a WebSocket whose `recv()` hands out views of one
 * reused receive buffer (no copy, no allocation per message);
 * `HttpConnection` and `ClientPool` send REST requests on the same
 * machinery. The sans-IO codec is `@x/nexus-ws/codec`.
 *
 * @example
 * ```ts
 * import { connect } from "@x/nexus-ws";
 *
 * // a local echo server, so the example runs anywhere
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
 *   const { socket, response } = Deno.upgradeWebSocket(req);
 *   socket.onmessage = (e) => socket.send(e.data);
 *   return response;
 * });
 *
 * const ws = await connect(`ws://127.0.0.1:${server.addr.port}/`);
 * await ws.sendText(JSON.stringify({ op: "subscribe", channel: "ticker" }));
 * const msg = await ws.recv(); // borrowed: valid until the next recv()
 * const echoed = msg?.json() as { op: string };
 * console.assert(echoed.op === "subscribe");
 * await ws.close();
 * await server.shutdown();
 * ```
 *
 * @module
 */
export {
  AppHeartbeatTimeoutError,
  CloseCode,
  ConnectionClosedError,
  HandshakeError,
  HttpLimitError,
  HttpProtocolError,
  NetworkError,
  type NetworkPeer,
  type NetworkStage,
  ProtocolError,
  ProxyError,
  type ProxyErrorInit,
  type ProxyFailure,
  type ProxyProtocol,
  StaleFeedError,
  TimeoutError,
  WorkerError,
} from "./src/errors.ts";
export type { Transport } from "./src/transport.ts";
export { connect, type ConnectOptions } from "./src/ws/connect.ts";
export { WsClient } from "./src/ws/client.ts";
export {
  connectInWorker,
  WorkerClient,
  type WorkerConnectOptions,
} from "./src/worker/worker_client.ts";
export type { HeartbeatOptions } from "./src/ws/heartbeat.ts";
export type {
  AppHeartbeatOptions,
  AppMessage,
  AppPingReply,
} from "./src/ws/app_heartbeat.ts";
export { matchPrefix, matchText } from "./src/ws/match.ts";
export type { ConnectTiming, WsStats } from "./src/ws/stats.ts";
export { Message, OwnedMessage } from "./src/ws/message.ts";
export { DecodedPayload } from "./src/ws/decoded_payload.ts";
export type {
  PerMessageDeflateOptions,
  SendOptions,
} from "./src/ws/compression.ts";
export type { DeflateParams } from "./src/codec/ws/deflate_negotiation.ts";
export type { PayloadFormat } from "./src/codec/deflate/payload_decoder.ts";
export { InflateError, InflateLimitError } from "./src/codec/deflate/errors.ts";
export {
  type BackoffOptions,
  type DisconnectInfo,
  type FeedStats,
  type FeedUrl,
  reconnecting,
  type ReconnectingFeed,
  type ReconnectOptions,
} from "./src/ws/reconnect.ts";
export type { WsReader, WsWriter } from "./src/ws/split.ts";
export {
  type ConnectBudgetOptions,
  type ConnectBudgetStats,
  connectBudgetStats,
  setConnectBudget,
} from "./src/ws/connect_budget.ts";
export {
  type AcquireOptions,
  ClientPool,
  type ClientPoolOptions,
  HttpConnection,
  type HttpConnectionOptions,
  type HttpRequestOptions,
  HttpResponse,
  type HttpShortcutOptions,
  type HttpShortcuts,
  type HttpStats,
  type PooledConnection,
  type PoolStats,
} from "./src/http/mod.ts";
export type {
  HttpHeadersInit,
  HttpRequestInit,
} from "./src/codec/http/request.ts";
export type { HeaderList } from "./src/codec/http/header_list.ts";
export type { HeadLimits } from "./src/codec/http/head.ts";
export type { ResponseLimits } from "./src/codec/http/response.ts";
export type { ReadBufOptions } from "./src/codec/read_buf.ts";
export type { BufferCounts, BufferStats } from "./src/codec/buffer_sizer.ts";
