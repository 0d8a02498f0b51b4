/**
 * The sans-IO codec of `@x/nexus-ws`: pure functions and state machines over
 * `Uint8Array`, with no I/O and no Promises. Feed bytes into a
 * {@link ReadBuf}, pull frames or responses out; ask a writer for bytes.
 *
 * @example
 * ```ts
 * import { FrameReader, Opcode, ReadBuf } from "@x/nexus-ws/codec";
 * const rb = new ReadBuf();
 * rb.push(new Uint8Array([0x81, 0x02, 0x68, 0x69])); // a server's text frame "hi"
 * const reader = new FrameReader();
 * console.assert(reader.next(rb) === Opcode.Text && reader.text() === "hi");
 * ```
 *
 * @module
 */
export {
  CloseCode,
  HandshakeError,
  HttpLimitError,
  HttpProtocolError,
  ProtocolError,
  ProxyError,
  type ProxyErrorInit,
  type ProxyFailure,
  type ProxyProtocol,
} from "../errors.ts";
export { ReadBuf, type ReadBufOptions } from "./read_buf.ts";
export { HeaderList } from "./http/header_list.ts";
export { type HeadLimits, HeadReader, type ResponseHead } from "./http/head.ts";
export {
  type HttpHeadersInit,
  type HttpRequestInit,
  RequestWriter,
  type RequestWriterOptions,
} from "./http/request.ts";
export {
  type ResponseLimits,
  type ResponseMessage,
  ResponseReader,
} from "./http/response.ts";
export { retryAfter } from "./http/retry_after.ts";
export { Utf8Validator } from "./ws/utf8.ts";
export {
  FrameReader,
  type FrameReaderOptions,
  isValidCloseCode,
  NEED_MORE,
  Opcode,
} from "./ws/frame_reader.ts";
export { closePayload, FrameWriter, WriteBuf } from "./ws/frame_writer.ts";
export {
  acceptKey,
  encodeHandshake,
  generateKey,
  type HandshakeRequest,
  type HandshakeResult,
  validateHandshake,
} from "./ws/handshake.ts";
export {
  type ProxyCredentials,
  ProxyHandshake,
  type ProxyStep,
} from "./proxy/handshake.ts";
export { HttpConnect, type HttpConnectOptions } from "./proxy/http_connect.ts";
export {
  Socks5Connect,
  type Socks5ConnectOptions,
  socks5ReplyText,
} from "./proxy/socks5.ts";
export { InflateError, InflateLimitError } from "./deflate/errors.ts";
export { Inflater, type InflaterOptions } from "./deflate/inflater.ts";
export { Deflater, type DeflaterOptions } from "./deflate/deflater.ts";
export type { ByteSink } from "./deflate/block_writer.ts";
export { DecodedOutput } from "./deflate/decoded_output.ts";
export {
  PayloadDecoder,
  type PayloadDecoderOptions,
  type PayloadFormat,
} from "./deflate/payload_decoder.ts";
export {
  MessageDeflater,
  type MessageDeflaterOptions,
  MessageInflater,
  type MessageInflaterOptions,
} from "./ws/permessage_deflate.ts";
export {
  acceptDeflateAnswer,
  type DeflateOffer,
  type DeflateParams,
  encodeDeflateOffers,
} from "./ws/deflate_negotiation.ts";
