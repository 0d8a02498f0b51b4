/**
 * `@x/nexus-ws`: the fastest WebSocket and HTTP/1.1 client on Deno.
 *
 * @module
 */
export * from "./src/errors.ts";
export * from "./src/transport.ts";
export * from "./src/ws/client.ts";
export * from "./src/ws/message.ts";
export * from "./src/ws/reconnect.ts";
export * from "./src/ws/split.ts";
export * from "./src/http/mod.ts";
export type { ReadBufOptions } from "./src/codec/read_buf.ts";
