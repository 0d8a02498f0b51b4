/**
 * The sans-IO codec of `@x/nexus-ws`: pure functions and state machines over
 * `Uint8Array`, with no I/O and no Promises.
 *
 * @module
 */
export * from "../errors.ts";
export * from "./read_buf.ts";
export * from "./http/head.ts";
export * from "./http/request.ts";
export * from "./http/response.ts";
export * from "./ws/utf8.ts";
export * from "./ws/sha1.ts";
export * from "./ws/frame_reader.ts";
export * from "./ws/frame_writer.ts";
export * from "./ws/handshake.ts";
export * from "./proxy/errors.ts";
export * from "./proxy/handshake.ts";
export * from "./proxy/http_connect.ts";
export * from "./proxy/socks5.ts";
