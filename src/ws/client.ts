/**
 * `WsClient` and `connect()`: the async WebSocket client over a
 * {@link Transport}. It moves bytes between the transport and the sans-IO
 * codec and turns codec events into the async API.
 *
 * @module
 */

import {
  ConnectionClosedError,
  HandshakeError,
  HttpProtocolError,
  ProtocolError,
  TimeoutError,
} from "../errors.ts";
import {
  READ_BUF_RULES,
  ReadBuf,
  type ReadBufOptions,
} from "../codec/read_buf.ts";
import { pick } from "../options.ts";
import { HeadReader } from "../codec/http/head.ts";
import { FrameReader, NEED_MORE, Opcode } from "../codec/ws/frame_reader.ts";
import { FrameWriter, WriteBuf } from "../codec/ws/frame_writer.ts";
import {
  encodeHandshake,
  generateKey,
  validateHandshake,
} from "../codec/ws/handshake.ts";
import { dial, type Transport } from "../transport.ts";
import { Message, type OwnedMessage } from "./message.ts";
import { WsReader, WsWriter } from "./split.ts";

/**
 * Options for {@link connect}. Sizes are bytes, times are milliseconds.
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
  /** Bound on the closing handshake (ours or the server's). Default 5000. */
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
   * Dead-peer detection: a ping every `interval` ms without traffic; if
   * nothing (data, ping or pong) arrives for `timeout` ms while `recv()`
   * waits on the socket, the connection fails with {@link TimeoutError}.
   * Off by default.
   */
  heartbeat?: HeartbeatOptions;
}

/**
 * Heartbeat settings (see {@link ConnectOptions.heartbeat}).
 *
 * @example
 * ```ts
 * import type { HeartbeatOptions } from "@x/nexus-ws";
 * const hb: HeartbeatOptions = { interval: 5000, timeout: 15000 };
 * console.assert(hb.timeout > hb.interval);
 * ```
 */
export interface HeartbeatOptions {
  /** Send a ping after this many ms without receiving anything. */
  interval: number;
  /** Fail the connection after this many ms without receiving anything. */
  timeout: number;
}

function checkNumber(
  name: string,
  v: number | undefined,
  dflt: number,
): number {
  if (v === undefined) return dflt;
  if (typeof v !== "number" || !(v >= 0) || !Number.isFinite(v)) {
    throw new RangeError(
      `Expected ${name} to be a finite number >= 0, got ${v}`,
    );
  }
  return v;
}

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (e: unknown) => void;
}

function deferred(): Deferred {
  const d = {} as Deferred;
  d.promise = new Promise<void>((res, rej) => {
    d.resolve = res;
    d.reject = rej;
  });
  d.promise.catch(() => {}); // a send nobody awaits must not become an unhandled rejection
  return d;
}

const OPEN = 0, CLOSING = 1, CLOSED = 2;
const NOT_PARSED = -2, PARSE_ERROR = -3; // #recvSlow: nothing parsed yet / next() threw

/**
 * Opens a WebSocket connection: dials `ws:` / `wss:` (TLS verified against
 * the system roots plus `caCerts`), sends the handshake, validates the
 * `101` answer and returns an open {@link WsClient}. Bad options throw
 * `TypeError` / `RangeError` before anything is dialed; a refused handshake
 * rejects with {@link HandshakeError}; the bound is `handshakeTimeout`
 * ({@link TimeoutError}).
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
  options: ConnectOptions = {},
): Promise<WsClient> {
  const u = new URL(url);
  if (u.protocol === "http:") u.protocol = "ws:";
  else if (u.protocol === "https:") u.protocol = "wss:";
  const key = generateKey();
  const protocols = options.protocols ?? [];
  const request = encodeHandshake({
    url: u,
    key,
    origin: options.origin,
    protocols,
    headers: options.headers,
  });
  const handshakeTimeout = checkNumber(
    "handshakeTimeout",
    options.handshakeTimeout,
    10000,
  );
  const closeTimeout = checkNumber("closeTimeout", options.closeTimeout, 5000);
  const maxBufferedAmount = checkNumber(
    "maxBufferedAmount",
    options.maxBufferedAmount,
    1 << 20,
  );
  const readableHighWaterMark = checkNumber(
    "readableHighWaterMark",
    options.readableHighWaterMark,
    16,
  );
  const heartbeat = options.heartbeat;
  if (heartbeat !== undefined) {
    if (!(checkNumber("heartbeat.interval", heartbeat.interval, 0) > 0)) {
      throw new RangeError(
        `Expected heartbeat.interval > 0, got ${heartbeat.interval}`,
      );
    }
    if (!(checkNumber("heartbeat.timeout", heartbeat.timeout, 0) > 0)) {
      throw new RangeError(
        `Expected heartbeat.timeout > 0, got ${heartbeat.timeout}`,
      );
    }
  }
  const rb = new ReadBuf(pick(options, READ_BUF_RULES));
  const reader = new FrameReader({
    maxMessageSize: rb.maxMessageSize,
    maxFragments: options.maxFragments,
  });
  const heads = new HeadReader({ maxHeadSize: options.maxHeadSize ?? 16384 });
  options.signal?.throwIfAborted();

  const ac = new AbortController();
  let transport: Transport | undefined = options.transport;
  const onAbort = () => {
    ac.abort(options.signal!.reason);
  };
  options.signal?.addEventListener("abort", onAbort, { once: true });
  const timer = setTimeout(() => {
    ac.abort(
      new TimeoutError(
        `Expected the handshake to complete within ${handshakeTimeout} ms, it did not`,
      ),
    );
  }, handshakeTimeout);
  const closeOnAbort = () => transport?.close();
  ac.signal.addEventListener("abort", closeOnAbort, { once: true });
  try {
    transport ??= await dial(u, {
      caCerts: options.caCerts,
      signal: ac.signal,
    });
    ac.signal.throwIfAborted();
    await writeAll(transport, request, request.length);
    for (;;) {
      let head;
      try {
        head = heads.read(rb);
      } catch (err) {
        if (err instanceof HttpProtocolError) {
          throw new HandshakeError(
            `Expected a valid handshake response: ${err.message}`,
          );
        }
        throw err;
      }
      if (head !== null) {
        const { protocol } = validateHandshake(head, key, protocols);
        return new WsClient(transport, rb, reader, protocol, {
          autoPong: options.autoPong ?? true,
          onPing: options.onPing,
          onPong: options.onPong,
          closeTimeout,
          maxBufferedAmount,
          readableHighWaterMark,
          heartbeat,
        });
      }
      const n = await transport.read(rb.spare());
      if (n === null) {
        throw new HandshakeError(
          "Expected a handshake response, got end of stream",
        );
      }
      rb.commit(n);
    }
  } catch (err) {
    try {
      transport?.close();
    } catch { /* already closed */ }
    if (ac.signal.aborted) throw ac.signal.reason;
    throw err;
  } finally {
    clearTimeout(timer);
    ac.signal.removeEventListener("abort", closeOnAbort);
    options.signal?.removeEventListener("abort", onAbort);
  }
}

async function writeAll(
  t: Transport,
  bytes: Uint8Array,
  len: number,
): Promise<void> {
  let off = 0;
  while (off < len) {
    off += await t.write(
      off === 0 && len === bytes.length ? bytes : bytes.subarray(off, len),
    );
  }
}

interface ClientConfig {
  maxBufferedAmount: number;
  readableHighWaterMark: number;
  heartbeat?: HeartbeatOptions;
  autoPong: boolean;
  onPing?: (data: Uint8Array) => void;
  onPong?: (data: Uint8Array) => void;
  closeTimeout: number;
}

interface QueuedSend {
  encode: () => void;
  resolve: (p: Promise<void>) => void;
  reject: (e: unknown) => void;
}

/**
 * An open WebSocket connection (client side). Get one from {@link connect}.
 *
 * Receiving, fast path: {@link WsClient.recv} returns a borrowed
 * {@link Message}, one call at a time, with no copy and no allocation per
 * message. Receiving, owned paths: `for await (const m of ws)` and
 * {@link WsClient.readable} yield {@link OwnedMessage} copies.
 *
 * Sending: `sendText`, `sendBinary`, `ping` encode the frame at once
 * (copying the payload, so a borrowed `Message.data` can be echoed) and
 * resolve when it has been written. Calls from several tasks are safe, also
 * while a `recv()` is pending: frames are written whole, in call order,
 * batched into as few socket writes as possible. While `bufferedAmount`
 * exceeds `maxBufferedAmount`, further sends wait in call order (their
 * payload is read when their turn comes) instead of buffering without bound.
 *
 * @example
 * ```ts ignore
 * import { connect } from "@x/nexus-ws";
 * const ws = await connect("ws://127.0.0.1:8080/echo");
 * await ws.sendText("hello");
 * const msg = await ws.recv();
 * console.log(msg?.text());
 * await ws.close(1000, "done");
 * ```
 */
export class WsClient implements AsyncIterable<OwnedMessage> {
  #t: Transport;
  #rb: ReadBuf;
  #reader: FrameReader;
  #writer = new FrameWriter();
  #msg: Message;
  #ready: Promise<Message>;
  #stash = NOT_PARSED; // an event tryRecv() met but could not act on
  #stashError: unknown;
  #cfg: ClientConfig;
  #protocol: string;
  // write side
  #out = new WriteBuf();
  #outAlt = new WriteBuf();
  #batch: Deferred | null = null;
  #writing = false;
  #inFlight = 0;
  #queue: QueuedSend[] = [];
  // lifecycle
  #state = OPEN;
  #reading = false;
  #closeSent = false;
  #closedByCaller = false;
  #closeReceived = false; // the server's close frame arrived: its code stands
  #closeDraining = false; // close() itself is reading until the server's close
  #closeCode = 1006;
  #closeReason = "";
  #clean = false;
  #error: Error | null = null;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = deferred();
  // heartbeat
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #lastRx = 0; // when the heartbeat last saw the frame counter move
  #lastFrames = 0;
  #waitingSince = 0; // when recv() began waiting on the socket, 0 when not
  // streams
  #readable: ReadableStream<OwnedMessage> | undefined;
  #writable: WritableStream<string | Uint8Array> | undefined;

  /** @internal Use {@link connect}. */
  constructor(
    transport: Transport,
    rb: ReadBuf,
    reader: FrameReader,
    protocol: string,
    cfg: ClientConfig,
  ) {
    this.#t = transport;
    this.#rb = rb;
    this.#reader = reader;
    this.#protocol = protocol;
    this.#cfg = cfg;
    this.#msg = new Message(reader);
    this.#ready = Promise.resolve(this.#msg);
    const hb = cfg.heartbeat;
    if (hb !== undefined) {
      this.#lastRx = performance.now();
      this.#heartbeat = setInterval(
        () => this.#tick(hb),
        Math.min(hb.interval, hb.timeout),
      );
      Deno.unrefTimer(this.#heartbeat);
    }
  }

  /** The subprotocol the server selected, or `""`. */
  get protocol(): string {
    return this.#protocol;
  }
  /**
   * The connection's close code, meaningful once closed: the code the
   * server sent (1005 when its close frame had none); the code the client
   * sent when it failed the connection (1002, 1007, 1009); 1006 when there
   * was no closing handshake.
   */
  get closeCode(): number {
    return this.#closeCode;
  }
  /** Close reason received. */
  get closeReason(): string {
    return this.#closeReason;
  }
  /** Whether the connection is fully closed. */
  get closed(): boolean {
    return this.#state === CLOSED;
  }
  /**
   * Bytes of encoded frames accepted by a send but not yet written to the
   * socket (sends still waiting for their turn are not counted).
   */
  get bufferedAmount(): number {
    return this.#out.length + this.#inFlight;
  }

  /**
   * Receives the next text or binary message. Resolves with a borrowed
   * {@link Message} (valid until the next `recv()`), or `null` once the
   * connection has closed cleanly (then `closeCode` / `closeReason` tell
   * why). Rejects with {@link ProtocolError} when the server broke the
   * protocol (the connection is failed with its close code first),
   * {@link TimeoutError} when the heartbeat found the peer dead, or
   * {@link ConnectionClosedError} when it ended without a closing
   * handshake. Frames already buffered are returned without a socket read.
   * Only one `recv()` may be pending at a time (`TypeError` otherwise).
   */
  recv(): Promise<Message | null> {
    // Fast path: a message already in the buffer resolves with a promise
    // made once per connection (the Message object is reused too).
    try {
      if (this.tryRecv() !== undefined) return this.#ready;
    } catch (err) { // thrown by an onPing / onPong callback
      return Promise.reject(err);
    }
    const stashed = this.#stash;
    if (stashed !== NOT_PARSED && !this.#reading) {
      this.#stash = NOT_PARSED;
      const err = this.#stashError;
      this.#stashError = undefined;
      return this.#recvSlow(stashed, err);
    }
    return this.#recvSlow(NOT_PARSED);
  }

  /**
   * The synchronous half of {@link WsClient.recv}: the next message if one
   * is already in the receive buffer, else `undefined` (then call `recv()`,
   * which reads the socket). It never reads the socket and never waits.
   * Pings and pongs met on the way are handled as `recv()` would; a close
   * frame or a protocol error is kept for the next `recv()` to act on. The
   * same borrowing rules apply: the message is valid until the next
   * `recv()` or `tryRecv()`. The fastest receive loop is
   * `for (let m = ws.tryRecv() ?? await ws.recv(); m !== null; m = ws.tryRecv() ?? await ws.recv())`,
   * which saves the `await` of every message already buffered.
   */
  tryRecv(): Message | undefined {
    if (this.#reading || this.#state !== OPEN || this.#stash !== NOT_PARSED) {
      return undefined;
    }
    let op: number;
    try {
      op = this.#next();
    } catch (err) {
      this.#stash = PARSE_ERROR;
      this.#stashError = err;
      return undefined;
    }
    if (op === Opcode.Close) this.#stash = op; // closing needs I/O: recv() does it
    return op === NEED_MORE || op === Opcode.Close ? undefined : this.#msg;
  }

  /**
   * Parses on until a message (the reused `Message` is set up: returns its
   * opcode), a close frame, or the end of the buffered bytes (`NEED_MORE`).
   * Pings and pongs met on the way are handled. Throws the reader's errors.
   */
  #next(): number {
    const reader = this.#reader;
    for (;;) {
      const op = reader.next(this.#rb);
      if (op === Opcode.Text) {
        this.#msg.type = "text";
        return op;
      }
      if (op === Opcode.Binary) {
        this.#msg.type = "binary";
        return op;
      }
      if (op === Opcode.Ping || op === Opcode.Pong) this.#control(op);
      else return op;
    }
  }

  /** Everything but a buffered message: reads, control frames, close, errors. */
  async #recvSlow(
    first: number,
    parseError?: unknown,
  ): Promise<Message | null> {
    if (this.#reading) {
      if (this.#closeDraining) {
        // close() is reading (discarding) until the server's close: this
        // recv() gets the outcome, as it would have once close() resolved
        await this.#closed.promise;
        if (this.#error !== null) throw this.#error;
        return null;
      }
      throw new TypeError(
        "Expected one recv() at a time, got a second call while one is pending",
      );
    }
    if (this.#state === CLOSED) { // a stashed event is moot once closed (terminate())
      if (this.#error !== null) throw this.#error;
      return null;
    }
    this.#reading = true;
    try {
      const reader = this.#reader;
      let op = first;
      for (;;) {
        if (op === PARSE_ERROR || op === NOT_PARSED) {
          try {
            if (op === PARSE_ERROR) throw parseError;
            op = this.#next();
          } catch (err) {
            if (err instanceof ProtocolError) throw await this.#fail(err);
            throw err;
          }
        }
        if (op === Opcode.Text || op === Opcode.Binary) return this.#msg;
        if (op === NEED_MORE) {
          if (this.#waitingSince === 0) this.#waitingSince = performance.now();
          await this.#fill();
        } else { // Close
          this.#closeCode = reader.closeCode;
          this.#closeReason = reader.closeReason;
          this.#closeReceived = true;
          if (!this.#closeSent) {
            this.#closeSent = true;
            this.#state = CLOSING;
            this.#armCloseTimer(); // the echo may wait on a peer that does not read
            // nothing may follow the close frame on the wire
            this.#rejectQueued(
              new ConnectionClosedError(
                this.#closeCode,
                this.#closeReason,
                false,
              ),
            );
            this.#writer.close(
              this.#out,
              reader.closeCode === 1005 ? undefined : reader.closeCode,
            );
            await this.#flush().catch(() => {});
          }
          await this.#drainUntilEof();
          this.#finish(true);
          return null;
        }
        op = NOT_PARSED;
      }
    } finally {
      this.#reading = false;
      this.#waitingSince = 0;
    }
  }

  /** Handles a ping or pong the reader just returned (synchronously). */
  #control(op: number): void {
    const reader = this.#reader;
    if (op === Opcode.Ping) {
      // Under write pressure only the latest pings get a pong (RFC 6455 §5.5.3).
      if (
        this.#cfg.autoPong && !this.#closeSent &&
        this.bufferedAmount <= this.#cfg.maxBufferedAmount
      ) {
        this.#writer.pong(this.#out, reader.payload());
        this.#flush();
      }
      this.#cfg.onPing?.(reader.payload());
    } else {
      this.#cfg.onPong?.(reader.payload());
    }
  }

  /** One socket read into the buffer; throws when the stream ended. */
  async #fill(): Promise<void> {
    let n: number | null;
    try {
      n = await this.#t.read(this.#rb.spare());
    } catch (err) {
      n = null;
      if (this.#state !== CLOSED && !this.#closeSent) {
        this.#error = this.#abnormal(err);
      }
    }
    if (n === null) {
      this.#finish(false);
      throw this.#error ?? this.#abnormal();
    }
    this.#rb.commit(n);
  }

  /**
   * Owned iteration: yields an {@link OwnedMessage} copy of each message
   * until the connection closes cleanly; throws what `recv()` throws. Costs
   * one allocation and one payload copy per message over `recv()`. Leaving
   * the loop early does not close the connection.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<
    OwnedMessage,
    void,
    undefined
  > {
    for (let m = await this.recv(); m !== null; m = await this.recv()) {
      yield m.toOwned();
    }
  }

  /**
   * A `ReadableStream` of {@link OwnedMessage} copies, created on first
   * access. Backpressure: the socket is read only while the stream's queue
   * holds fewer than `readableHighWaterMark` messages, so a slow consumer
   * bounds memory at that many messages plus the receive buffer. Cancelling
   * it closes the connection. Same cost as owned iteration; do not mix with
   * `recv()`.
   */
  get readable(): ReadableStream<OwnedMessage> {
    return this.#readable ??= new ReadableStream<OwnedMessage>(
      {
        pull: async (controller) => {
          try {
            const m = await this.recv();
            if (m === null) controller.close();
            else controller.enqueue(m.toOwned());
          } catch (err) {
            controller.error(err);
          }
        },
        cancel: () => this.close(),
      },
      new CountQueuingStrategy({
        highWaterMark: this.#cfg.readableHighWaterMark,
      }),
    );
  }

  /**
   * A `WritableStream` that sends strings as text and `Uint8Array`s as
   * binary messages, created on first access. Each write resolves once
   * written, so `pipeTo` gets the connection's backpressure. Closing it
   * closes the connection (code 1000); aborting it terminates it.
   */
  get writable(): WritableStream<string | Uint8Array> {
    return this.#writable ??= new WritableStream<string | Uint8Array>({
      write: (chunk) =>
        typeof chunk === "string"
          ? this.sendText(chunk)
          : this.sendBinary(chunk),
      close: () => this.close(),
      abort: () => this.terminate(),
    });
  }

  /**
   * Splits the connection into a receive half and a send half, to hand to
   * different tasks (both keep working on this connection).
   */
  split(): { reader: WsReader; writer: WsWriter } {
    return { reader: new WsReader(this), writer: new WsWriter(this) };
  }

  /** Sends a text message. Resolves once written. */
  sendText(text: string): Promise<void> {
    this.#checkOpen();
    if (typeof text !== "string") {
      throw new TypeError(`Expected a string, got ${typeof text}`);
    }
    if (this.#admit()) {
      this.#writer.text(this.#out, text);
      return this.#flush();
    }
    return this.#enqueue(() => this.#writer.text(this.#out, text));
  }

  /**
   * Sends a binary message. Resolves once written. The bytes are copied
   * before this returns, except when the send has to wait its turn (over
   * `maxBufferedAmount`): then a caller's own array is read when the turn
   * comes (do not change it before the promise settles), while a view
   * borrowed from this connection (`msg.data`) is copied at once.
   */
  sendBinary(data: Uint8Array): Promise<void> {
    this.#checkOpen();
    if (!(data instanceof Uint8Array)) {
      throw new TypeError(`Expected a Uint8Array, got ${typeof data}`);
    }
    if (this.#admit()) {
      this.#writer.binary(this.#out, data);
      return this.#flush();
    }
    // A send that waits its turn reads its payload later; a view borrowed
    // from this connection's buffers (an echoed msg.data) would be gone by
    // then, so that one is copied now.
    const rbuf = data.buffer;
    const payload = rbuf === this.#rb.bytes.buffer ||
        rbuf === this.#reader.payloadBytes.buffer
      ? data.slice()
      : data;
    return this.#enqueue(() => this.#writer.binary(this.#out, payload));
  }

  /** Sends a ping (payload ≤ 125 bytes, else `RangeError`). Pongs are reported to `onPong`. */
  ping(data?: Uint8Array): Promise<void> {
    this.#checkOpen();
    this.#writer.ping(this.#out, data);
    return this.#flush();
  }

  /**
   * Starts or completes the closing handshake: sends a close frame (default
   * code 1000), then reads until the server's close frame and the end of the
   * TCP stream, all bounded by `closeTimeout`, and closes the socket.
   * Messages that arrive meanwhile are discarded unless a `recv()` is
   * pending; a `recv()` called while `close()` reads settles once closed
   * (`null`, or the error that ended the connection). Resolves when closed
   * (check `closeCode`); never rejects for a peer that misbehaves while
   * closing. Bad code or reason: `RangeError`.
   */
  async close(code = 1000, reason = ""): Promise<void> {
    if (this.#state === CLOSED) return;
    if (!this.#closeSent) {
      this.#writer.close(this.#out, code, reason); // validates before anything changes
      this.#closeSent = true;
      this.#closedByCaller = true;
      this.#state = CLOSING;
      this.#rejectQueued(
        new TypeError("Expected an open connection, got one the caller closed"),
      );
      this.#armCloseTimer();
      await this.#flush().catch(() => {});
    }
    if (this.#reading) {
      await this.#closed.promise;
      return;
    }
    this.#closeDraining = true;
    try {
      while ((await this.recv()) !== null) { /* discard */ }
    } catch {
      /* the outcome is in closeCode */
    } finally {
      this.#closeDraining = false;
    }
  }

  /** Closes the socket at once, without a closing handshake. */
  terminate(): void {
    if (this.#state === CLOSED) return;
    this.#closeSent = true;
    this.#error ??= new ConnectionClosedError(
      1006,
      "",
      false,
      "Connection terminated by the caller",
    );
    this.#finish(false);
  }

  #checkOpen(): void {
    if (this.#closedByCaller) {
      throw new TypeError(
        "Expected an open connection, got one the caller already closed",
      );
    }
    if (this.#state !== OPEN) {
      throw this.#error ??
        new ConnectionClosedError(
          this.#closeCode,
          this.#closeReason,
          this.#clean,
        );
    }
  }

  #abnormal(cause?: unknown): ConnectionClosedError {
    const e = new ConnectionClosedError(
      1006,
      "",
      false,
      "Connection closed without a closing handshake (code 1006)",
    );
    if (cause !== undefined) (e as { cause?: unknown }).cause = cause;
    return e;
  }

  /** Whether a send may encode now (no one waiting, not over the mark). */
  #admit(): boolean {
    return this.#queue.length === 0 &&
      this.#out.length + this.#inFlight <= this.#cfg.maxBufferedAmount;
  }

  #enqueue(encode: () => void): Promise<void> {
    const p = new Promise<void>((resolve, reject) => {
      this.#queue.push({ encode, resolve, reject });
    });
    p.catch(() => {}); // a send nobody awaits must not become an unhandled rejection
    return p;
  }

  /** Lets queued sends encode, in order, while not over the mark. */
  #pump(): void {
    const q = this.#queue;
    while (
      q.length > 0 &&
      this.#out.length + this.#inFlight <= this.#cfg.maxBufferedAmount
    ) {
      const job = q.shift()!;
      try {
        job.encode();
        job.resolve(this.#flush());
      } catch (err) {
        job.reject(err);
      }
    }
  }

  #rejectQueued(err: unknown): void {
    const q = this.#queue;
    this.#queue = [];
    for (const job of q) job.reject(err);
  }

  /** Queues the current `#out` for writing; resolves when that batch is written. */
  #flush(): Promise<void> {
    let b = this.#batch;
    if (b === null) b = this.#batch = deferred();
    if (!this.#writing) this.#writeLoop();
    return b.promise;
  }

  async #writeLoop(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#out.length > 0) {
        const buf = this.#out, batch = this.#batch!;
        this.#out = this.#outAlt;
        this.#outAlt = buf;
        this.#batch = null;
        this.#inFlight = buf.length;
        try {
          await writeAll(this.#t, buf.bytes, buf.length);
          batch.resolve();
        } catch (err) {
          const e = this.#error ?? this.#abnormal(err);
          batch.reject(e);
          (this.#batch as Deferred | null)?.reject(e);
          this.#batch = null;
          this.#out.clear();
          this.#rejectQueued(e);
          return;
        } finally {
          buf.clear();
          this.#inFlight = 0;
        }
        this.#pump();
      }
    } finally {
      this.#writing = false;
    }
  }

  /**
   * Heartbeat timer: liveness is a complete frame (data, ping or pong), so a
   * peer that trickles bytes without finishing frames counts as dead too.
   */
  #tick(hb: HeartbeatOptions): void {
    if (this.#state !== OPEN) return;
    const now = performance.now();
    const frames = this.#reader.frames;
    if (frames !== this.#lastFrames) {
      this.#lastFrames = frames;
      this.#lastRx = now;
    }
    const since = this.#waitingSince;
    if (since !== 0 && now - Math.max(this.#lastRx, since) >= hb.timeout) {
      this.#error = new TimeoutError(
        `Expected a frame (data, ping or pong) within ${hb.timeout} ms, got none`,
      );
      this.#closeSent = true;
      this.#finish(false);
      return;
    }
    if (
      now - this.#lastRx >= hb.interval &&
      this.bufferedAmount <= this.#cfg.maxBufferedAmount
    ) {
      this.#writer.ping(this.#out);
      this.#flush();
    }
  }

  /** Fails the connection: close frame with the error's code, wait for EOF, close. */
  async #fail(err: ProtocolError): Promise<ProtocolError> {
    this.#error = err;
    if (!this.#closeSent) {
      this.#closeSent = true;
      this.#state = CLOSING;
      this.#rejectQueued(err);
      this.#writer.close(this.#out, err.code);
      this.#armCloseTimer();
      await this.#flush().catch(() => {});
    }
    this.#closeCode = err.code;
    await this.#drainUntilEof();
    this.#finish(false);
    return err;
  }

  #armCloseTimer(): void {
    if (this.#closeTimer !== undefined || this.#state === CLOSED) return;
    this.#closeTimer = setTimeout(() => {
      this.#closeTimer = undefined;
      this.#finish(false);
    }, this.#cfg.closeTimeout);
  }

  /** Reads and discards until the server closes TCP (bounded by the close timer). */
  async #drainUntilEof(): Promise<void> {
    this.#armCloseTimer();
    const scratch = this.#rb;
    try {
      while (this.#state !== CLOSED) {
        scratch.clear();
        const n = await this.#t.read(scratch.spare());
        if (n === null) break;
      }
    } catch { /* closed by the timer or reset by the peer */ }
  }

  #finish(clean: boolean): void {
    if (this.#state === CLOSED) return;
    if (this.#closeTimer !== undefined) {
      clearTimeout(this.#closeTimer);
      this.#closeTimer = undefined;
    }
    if (this.#heartbeat !== undefined) {
      clearInterval(this.#heartbeat);
      this.#heartbeat = undefined;
    }
    this.#state = CLOSED;
    this.#clean = clean;
    // Without the server's close frame the close code is 1006 (RFC 6455
    // §7.1.5); with it, only the TCP teardown timed out: its code stands.
    if (!clean && this.#error === null && !this.#closeReceived) {
      if (this.#closedByCaller) this.#closeCode = 1006;
      else this.#error = this.#abnormal();
    }
    this.#rejectQueued(
      this.#error ??
        new ConnectionClosedError(this.#closeCode, this.#closeReason, clean),
    );
    try {
      this.#t.close();
    } catch { /* already closed */ }
    this.#closed.resolve();
  }
}
