/**
 * The reader and writer halves of a {@link WsClient}, for handing the
 * receive side to one task and the send side to others.
 *
 * @module
 */

import type { WsClient } from "./client.ts";
import type { SendOptions } from "./compression.ts";
import type { Message, OwnedMessage } from "./message.ts";

/**
 * The receive half of a connection: the only side that may call `recv()`.
 *
 * @example
 * ```ts ignore
 * import { connect } from "@x/nexus-ws";
 * const { reader, writer } = (await connect("ws://127.0.0.1:8080/")).split();
 * const pump = (async () => { for await (const m of reader) console.log(m.text()); })();
 * await writer.sendText("subscribe");
 * await writer.close();
 * await pump;
 * ```
 */
export class WsReader implements AsyncIterable<OwnedMessage> {
  #ws: WsClient;
  /**
   * Created by `WsClient.split()`.
   *
   * @ignore
   */
  constructor(ws: WsClient) {
    this.#ws = ws;
  }
  /** See `WsClient.recv()`: a borrowed message, or `null` after a clean close. */
  recv(): Promise<Message | null> {
    return this.#ws.recv();
  }
  /** Owned iteration (see `WsClient[Symbol.asyncIterator]`). */
  [Symbol.asyncIterator](): AsyncGenerator<OwnedMessage, void, undefined> {
    return this.#ws[Symbol.asyncIterator]();
  }
  /** See `WsClient.readable`. */
  get readable(): ReadableStream<OwnedMessage> {
    return this.#ws.readable;
  }
}

/**
 * The send half of a connection. Safe to share between tasks: frames from
 * concurrent calls are written whole and in call order; each call resolves
 * once its frame is written and waits its turn while `bufferedAmount` is
 * over `maxBufferedAmount`.
 *
 * @example
 * ```ts ignore
 * import { connect } from "@x/nexus-ws";
 * const { writer } = (await connect("ws://127.0.0.1:8080/")).split();
 * await Promise.all([writer.sendText("a"), writer.sendText("b")]);
 * console.log(writer.bufferedAmount);
 * ```
 */
export class WsWriter {
  #ws: WsClient;
  /**
   * Created by `WsClient.split()`.
   *
   * @ignore
   */
  constructor(ws: WsClient) {
    this.#ws = ws;
  }
  /** Sends a text message (see `WsClient.sendText`). */
  sendText(text: string, options?: SendOptions): Promise<void> {
    return this.#ws.sendText(text, options);
  }
  /** Sends a binary message (see `WsClient.sendBinary`). */
  sendBinary(data: Uint8Array, options?: SendOptions): Promise<void> {
    return this.#ws.sendBinary(data, options);
  }
  /** Sends a ping. */
  ping(data?: Uint8Array): Promise<void> {
    return this.#ws.ping(data);
  }
  /** Starts the closing handshake (the reader sees `null` when it completes). */
  close(code?: number, reason?: string): Promise<void> {
    return this.#ws.close(code, reason);
  }
  /** Bytes encoded but not yet written. */
  get bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }
  /** See `WsClient.writable`. */
  get writable(): WritableStream<string | Uint8Array> {
    return this.#ws.writable;
  }
}
