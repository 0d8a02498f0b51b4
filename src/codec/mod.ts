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
export * from "./deflate/errors.ts";
export * from "./deflate/inflater.ts";
export * from "./deflate/decoded_output.ts";
export * from "./deflate/deflater.ts";
export type { ByteSink } from "./deflate/block_writer.ts";
export * from "./deflate/crc32.ts";
export * from "./deflate/adler32.ts";
export * from "./deflate/payload_decoder.ts";
export * from "./ws/permessage_deflate.ts";
