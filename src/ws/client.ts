/**
 * `WsClient`: an open WebSocket connection over a {@link Transport}. It
 * moves bytes between the transport and the sans-IO codec and turns codec
 * events into the async API; its phase lives in one {@link Lifecycle}.
 *
 * @module
 */

import { CloseCode, ConnectionClosedError, ProtocolError } from "../errors.ts";
import type { BufferStats } from "../codec/buffer_sizer.ts";
import type { ReadBuf } from "../codec/read_buf.ts";
import {
  type FrameReader,
  NEED_MORE,
  Opcode,
} from "../codec/ws/frame_reader.ts";
import { closePayload, FrameWriter } from "../codec/ws/frame_writer.ts";
import type { DeflateParams } from "../codec/ws/deflate_negotiation.ts";
import type { MessageDeflater } from "../codec/ws/permessage_deflate.ts";
import { check } from "../options.ts";
import type { Transport } from "../transport.ts";
import { closeQuietly } from "../socket.ts";
import {
  SEND_RULES,
  SendCompression,
  type SendOptions,
} from "./compression.ts";
import {
  type AppHeartbeatOptions,
  AppLayer,
  type AppPingReply,
} from "./app_heartbeat.ts";
import { Heartbeat, type HeartbeatOptions } from "./heartbeat.ts";
import { abnormal, Event, Lifecycle, Phase } from "./lifecycle.ts";
import {
  forget,
  lend,
  lendsFrom,
  Message,
  type OwnedMessage,
  revoke,
} from "./message.ts";
import { SendQueue } from "./send_queue.ts";
import { WsReader, WsWriter } from "./split.ts";
import { StaleWatchdog } from "./stale_watchdog.ts";
import type { ConnectTiming, WsStats } from "./stats.ts";

/** What {@link connect} hands a new client (options resolved to values). */
export interface ClientConfig {
  maxBufferedAmount: number;
  readableHighWaterMark: number;
  heartbeat?: HeartbeatOptions;
  appHeartbeat?: AppHeartbeatOptions;
  appPingReply?: AppPingReply;
  staleTimeout?: number;
  autoPong: boolean;
  onPing?: (data: Uint8Array) => void;
  onPong?: (data: Uint8Array) => void;
  closeTimeout: number;
  /** Milliseconds of quiet before the buffers shrink. */
  shrinkAfter: number;
  /** Sends of at least this many bytes are compressed (when negotiated). */
  deflateThreshold: number;
  /** The permessage-deflate parameters settled, if any. */
  deflate?: DeflateParams;
  /** How long opening took (filled in by `connect()`). */
  timing: ConnectTiming;
}

/** The counters off the receive hot path (see {@link WsStats}). */
class Counters {
  messagesOut = 0;
  pingsIn = 0;
  pongsIn = 0;
  pingsOut = 0;
  pongsOut = 0;
  closesOut = 0;
  pingSentAt = 0; // the outstanding ping, 0 when none
  rtt = -1;
  lastMessageAt = 0; // the stamp of the read that carried the last message
  messagesAtStamp = 0; // messagesIn when that was worked out
}

/** The friend access {@link paceSends} uses (set in the class's static block). */
let paceOf: (ws: WsClient, interval: number) => void;

/**
 * Spaces the text and binary messages `ws` sends from now on by `interval`
 * ms (0: no spacing for sends made from now on; sends already waiting keep
 * their pace). Used by the reconnecting feed to pace re-subscription.
 */
export function paceSends(ws: WsClient, interval: number): void {
  paceOf(ws, interval);
}

// Who reads the socket now: nobody, a recv(), or close() draining.
const NOBODY = 0, RECV = 1, CLOSE = 2;

// What tryRecv() may do (the receive path's one check): parse frames,
// parse them through the application layer, or nothing (the socket is
// being read, or the connection is past CloseSent).
const PARSE = 0, PARSE_APP = 1, SHUT = 2;

/**
 * An open WebSocket connection (client side). Get one from {@link connect}.
 *
 * Receiving, fast path: {@link WsClient.recv} returns a borrowed
 * {@link Message}, one call at a time, with no copy and no allocation per
 * message; {@link WsClient.tryRecv} is its synchronous half. Receiving,
 * owned paths: `for await (const m of ws)` and {@link WsClient.readable}
 * yield {@link OwnedMessage} copies.
 *
 * Sending: `sendText`, `sendBinary`, `ping` encode the frame at once
 * (copying the payload, so a borrowed `Message.data` can be echoed) and
 * resolve when it has been written. Calls from several tasks are safe, also
 * while a `recv()` is pending: frames are written whole, in call order,
 * batched into as few socket writes as possible. While `bufferedAmount`
 * exceeds `maxBufferedAmount`, further sends wait in call order (their
 * payload is read when their turn comes) instead of buffering without bound.
 *
 * Compression: when the server accepted permessage-deflate
 * (`perMessageDeflate` is not `null`), compressed messages arrive inflated
 * into a reused buffer, still borrowed, and sends of at least the
 * `threshold` go compressed (see `SendOptions` for one message).
 *
 * Lifecycle: open; then closing (the caller's `close()`, the server's close
 * frame, or a protocol violation that fails the connection); then closed
 * (`closed`, `closeCode`, `closeReason`). Sends are refused once closing
 * starts.
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
  #readArray: Uint8Array; // the receive array the last socket read went to
  #reader: FrameReader;
  #writer = new FrameWriter();
  #sends: SendQueue;
  #msg: Message;
  #ready: Promise<Message>;
  #cfg: ClientConfig;
  #protocol: string;
  #life = new Lifecycle();
  #readOwner = NOBODY;
  #gate = PARSE; // follows #readOwner, the phase and #app: see #regate()
  #waitingSince = 0; // when a read began waiting on the socket, 0 when none
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  #closed: PromiseWithResolvers<void> | null = null; // made when someone waits for the end
  #heartbeat: Heartbeat | undefined;
  #app: AppLayer | undefined;
  #stale: StaleWatchdog | undefined;
  #messagesIn = 0;
  #bytesIn: number;
  #readAt: number; // when the last socket read returned (performance.now())
  #openedAt: number;
  #n = new Counters();
  #readable: ReadableStream<OwnedMessage> | undefined;
  #writable: WritableStream<string | Uint8Array> | undefined;
  #compression: SendCompression | null;

  /**
   * Created by {@link connect}.
   *
   * @ignore
   */
  constructor(
    transport: Transport,
    rb: ReadBuf,
    reader: FrameReader,
    protocol: string,
    cfg: ClientConfig,
  ) {
    this.#t = transport;
    this.#rb = rb;
    this.#readArray = rb.bytes;
    this.#reader = reader;
    this.#protocol = protocol;
    this.#cfg = cfg;
    this.#msg = new Message(reader);
    this.#ready = Promise.resolve(this.#msg);
    this.#compression = cfg.deflate === undefined
      ? null
      : new SendCompression(cfg.deflate, cfg.deflateThreshold);
    this.#sends = new SendQueue(
      transport,
      cfg.maxBufferedAmount,
      (cause) => this.#life.error ?? abnormal(cause as Error),
      cfg.shrinkAfter,
    );
    this.#bytesIn = rb.length; // what followed the handshake's head
    this.#openedAt = this.#readAt = performance.now();
    this.#startLiveness(cfg);
    this.#regate();
  }

  static {
    paceOf = (ws, interval) => ws.#sends.pace(interval);
  }

  /** Starts the liveness checks the options ask for (each off by default). */
  #startLiveness(cfg: ClientConfig): void {
    const waitingSince = () => this.#waitingSince;
    if (cfg.heartbeat !== undefined) {
      this.#heartbeat = new Heartbeat(cfg.heartbeat, {
        frames: () => this.#reader.frames,
        waitingSince,
        ping: () => this.#autoPing(),
        fail: (error) => this.#on(Event.HeartbeatTimeout, { error }),
      });
    }
    if (cfg.appHeartbeat !== undefined || cfg.appPingReply !== undefined) {
      this.#app = new AppLayer(cfg.appHeartbeat, cfg.appPingReply, {
        send: (payload, what) => this.#sendApp(payload, what),
        waitingSince,
        fail: (error) => this.#on(Event.AppHeartbeatFailed, { error }),
      });
    }
    if (cfg.staleTimeout !== undefined) {
      this.#stale = new StaleWatchdog(cfg.staleTimeout, {
        data: () => this.#messagesIn - (this.#app?.consumed ?? 0),
        waitingSince,
        fail: (error) => this.#on(Event.Stale, { error }),
      });
    }
  }

  /** The subprotocol the server selected, or `""`. */
  get protocol(): string {
    return this.#protocol;
  }
  /**
   * The permessage-deflate parameters the handshake settled, or `null`
   * when the server did not accept the extension (or none was offered).
   */
  get perMessageDeflate(): DeflateParams | null {
    return this.#cfg.deflate ?? null;
  }
  /**
   * The connection's close code, final once `closed`: the code of the
   * server's close frame (1005 when it had none); the code the client sent
   * when it failed the connection (1002, 1007, 1009); 1006 when there was
   * no closing handshake (the socket ended, the caller's close was not
   * answered in time, `terminate()`, a heartbeat timeout).
   */
  get closeCode(): number {
    return this.#life.code;
  }
  /** The close reason the server sent, or `""`. */
  get closeReason(): string {
    return this.#life.reason;
  }
  /** Whether the connection is fully closed (the socket is closed). */
  get closed(): boolean {
    return this.#life.phase === Phase.Closed;
  }
  /**
   * Bytes of encoded frames accepted by a send but not yet written to the
   * socket (sends still waiting for their turn are not counted).
   */
  get bufferedAmount(): number {
    return this.#sends.bufferedAmount;
  }

  /**
   * The sizes of the receive and send buffers and how often each was
   * resized (a new object per call; for debugging and tuning). Buffers
   * start small, grow under load and shrink back when quiet: see
   * `docs/tuning.md`.
   */
  get bufferStats(): BufferStats {
    const rb = this.#rb, sends = this.#sends;
    return {
      receive: { capacity: rb.capacity, grows: rb.grows, shrinks: rb.shrinks },
      send: {
        capacity: sends.capacity,
        grows: sends.grows,
        shrinks: sends.shrinks,
      },
    };
  }

  /**
   * Receives the next text or binary message. Resolves with a borrowed
   * {@link Message} (valid until the next `recv()`, `tryRecv()`, `close()`
   * or `terminate()`), or `null` once the connection has closed cleanly or
   * by the caller (then `closeCode` / `closeReason` tell why). Rejects with
   * {@link ProtocolError} when the server broke the protocol (the
   * connection is failed with its close code first), `TimeoutError` when
   * the heartbeat found the peer dead, or {@link ConnectionClosedError}
   * when it ended without a closing handshake; every later `recv()` gives
   * the same outcome. Messages the server sends after the caller's
   * `close()` are still returned until its close frame. Frames already
   * buffered are returned without a socket read. Only one `recv()` may be
   * pending at a time (`TypeError` otherwise); one called while `close()`
   * is reading settles with the outcome once closed. An error thrown by an
   * `onPing` / `onPong` callback rejects it.
   */
  recv(): Promise<Message | null> {
    try {
      if (this.tryRecv() !== undefined) return this.#ready;
    } catch (err) { // thrown by an onPing / onPong callback
      return Promise.reject(err);
    }
    if (this.#readOwner !== NOBODY) return this.#recvBusy();
    // Still open after tryRecv(): the buffer holds no whole message.
    return this.#life.phase <= Phase.CloseSent
      ? this.#fetch()
      : this.#read(RECV);
  }

  /**
   * The synchronous half of {@link WsClient.recv}: the next message if one
   * is already in the receive buffer, else `undefined` (then call `recv()`,
   * which reads the socket). It never reads the socket and never waits.
   * Pings and pongs met on the way are handled as `recv()` would; a close
   * frame or a protocol violation moves the connection to closing (and
   * sends our close frame), and the next `recv()` finishes the close and
   * gives the outcome. The same borrowing rules apply. The fastest receive
   * loop is
   * `for (let m = ws.tryRecv() ?? await ws.recv(); m !== null; m = ws.tryRecv() ?? await ws.recv())`,
   * which saves the `await` of every message already buffered. An error
   * thrown by an `onPing` / `onPong` callback is thrown from here.
   */
  tryRecv(): Message | undefined {
    const msg = this.#msg;
    const gate = this.#gate;
    if (gate !== SHUT) {
      const op = gate === PARSE ? this.#parseFrames() : this.#parseApp();
      if (op === Opcode.Text || op === Opcode.Binary) {
        lend(msg);
        return msg;
      }
    }
    revoke(msg);
    return undefined;
  }

  /**
   * Parses the buffered bytes: a message's opcode (the reused `Message` is
   * set up), `NEED_MORE`, or `Opcode.Close` (the lifecycle has moved). A
   * protocol violation fails the connection and gives `NEED_MORE`; an error
   * thrown by an `onPing` / `onPong` callback is rethrown.
   */
  #parseFrames(): number {
    let op: number;
    try {
      op = this.#next();
    } catch (err) {
      return this.#parseError(err);
    }
    if (op === Opcode.Close) this.#serverClose();
    return op;
  }

  /** A parse failed: the connection fails (a violation) or the callback's error goes on. */
  #parseError(err: unknown): number {
    revoke(this.#msg); // the previous message's frame is consumed
    if (!(err instanceof ProtocolError)) throw err;
    this.#on(Event.ProtocolError, { error: err });
    return NEED_MORE;
  }

  /** The server's close frame: the lifecycle moves (our echo is sent). */
  #serverClose(): void {
    const reader = this.#reader;
    this.#on(Event.ServerClose, {
      code: reader.closeCode,
      reason: reader.closeReason,
    });
  }

  /**
   * Parses on until a message (sets the `Message` type, returns its
   * opcode), a close frame, or the end of the buffered bytes; pings and
   * pongs met on the way are handled. Throws the reader's errors.
   */
  #next(): number {
    const reader = this.#reader, rb = this.#rb;
    for (;;) {
      const op = reader.next(rb);
      if (op === Opcode.Text) {
        this.#msg.type = "text";
        this.#messagesIn++;
        return op;
      }
      if (op === Opcode.Binary) {
        this.#msg.type = "binary";
        this.#messagesIn++;
        return op;
      }
      if (op !== Opcode.Ping && op !== Opcode.Pong) return op;
      revoke(this.#msg); // its frame is consumed: a callback must not read it
      this.#control(op);
    }
  }

  /**
   * {@link WsClient.#parseFrames} through the application layer: a data
   * message it consumes (a heartbeat answer it hides, a server ping it
   * answers) is not returned, parsing goes on. Installed only when the
   * application layer is configured.
   */
  #parseApp(): number {
    const app = this.#app!, msg = this.#msg;
    for (;;) {
      const op = this.#parseFrames();
      if (op !== Opcode.Text && op !== Opcode.Binary) return op;
      // Lent to the matchers; a message they consume is followed by the
      // next one in the same object (the caller never got it), and one that
      // throws is revoked: its frame is gone.
      lend(msg);
      try {
        if (app.inspect(msg)) return op;
      } catch (err) {
        revoke(msg);
        throw err;
      }
    }
  }

  /** Handles a ping or pong the reader just returned (synchronously). */
  #control(op: number): void {
    const reader = this.#reader;
    const n = this.#n;
    if (op === Opcode.Ping) {
      n.pingsIn++;
      // Under write pressure only the latest pings get a pong (RFC 6455 §5.5.3).
      const cfg = this.#cfg;
      if (
        cfg.autoPong && this.#life.phase === Phase.Open &&
        this.#sends.underMark()
      ) {
        this.#writer.pong(this.#sends.out, reader.payload());
        n.pongsOut++;
        this.#sends.flush();
      }
      cfg.onPing?.(reader.payload());
    } else {
      n.pongsIn++;
      if (n.pingSentAt !== 0) {
        n.rtt = performance.now() - n.pingSentAt;
        n.pingSentAt = 0;
      }
      this.#cfg.onPong?.(reader.payload());
    }
  }

  /** A `recv()` while someone reads the socket. */
  async #recvBusy(): Promise<Message | null> {
    if (this.#readOwner === RECV) {
      throw new TypeError(
        "Expected one recv() at a time, got a second call while one is pending",
      );
    }
    // close() is reading until the end: this recv() gets the outcome.
    await this.#whenClosed();
    return this.#outcome();
  }

  /**
   * The slow path of `recv()` while open: one socket read, then the next
   * message or, when that read did not complete one, the general loop
   * ({@link WsClient.#read}). Written with `then()` and two handlers made
   * once per connection rather than as an async function: a waiting
   * `recv()` then costs one promise per socket read instead of an async
   * frame and its await closures, which matters with thousands of
   * low-rate connections (every read waits, every wait survives young GCs).
   * Only the first read is chained so: a handler returning another
   * `#fetch()` would link one more promise per read, all held until a
   * message comes (a quiet feed's pings would pile up without bound).
   */
  #fetch(): Promise<Message | null> {
    this.#own(RECV);
    return this.#t.read(this.#readView()).then(this.#onRead, this.#onReadError);
  }

  #onRead = (n: number | null): Message | null | Promise<Message | null> => {
    this.#own(NOBODY);
    this.#afterRead(n);
    return this.#afterFetch();
  };

  #onReadError = (err: unknown): Message | null | Promise<Message | null> => {
    this.#own(NOBODY);
    this.#afterRead(null, err as Error);
    return this.#afterFetch();
  };

  /** After a `#fetch()` read: a message, or the general loop. */
  #afterFetch(): Message | null | Promise<Message | null> {
    let m: Message | undefined;
    try {
      m = this.tryRecv();
    } catch (err) { // thrown by an onPing / onPong callback
      this.#waitingSince = 0;
      throw err;
    }
    if (m !== undefined) {
      this.#waitingSince = 0;
      return m;
    }
    return this.#read(RECV);
  }

  /** Who reads the socket from now on: {@link WsClient.#gate} follows. */
  #own(owner: number): void {
    this.#readOwner = owner;
    this.#regate();
  }

  /**
   * Works out what `tryRecv()` may do from who reads the socket, the phase
   * and whether the application layer is configured, so that the receive
   * path checks one field. Called whenever one of them changes.
   */
  #regate(): void {
    this.#gate =
      this.#readOwner !== NOBODY || this.#life.phase > Phase.CloseSent
        ? SHUT
        : this.#app === undefined
        ? PARSE
        : PARSE_APP;
  }

  /** Takes in what a socket read gave: `n` bytes, or the end of the stream (`null`). */
  #afterRead(n: number | null, cause?: Error): void {
    if (n === null) this.#on(Event.SocketEnd, { error: cause });
    else {
      this.#rb.commit(n);
      this.#bytesIn += n;
      this.#readAt = performance.now(); // for stats(): one clock read per read
    }
  }

  /**
   * Reads the socket as `owner` (a `recv()` once the connection is
   * closing, or `close()` draining) until a message (returned to a
   * `recv()`, discarded by `close()`) or the end of the connection (its
   * outcome). The phase says what to do next.
   */
  async #read(owner: number): Promise<Message | null> {
    const msg = this.#msg;
    this.#own(owner);
    try {
      for (;;) {
        const phase = this.#life.phase;
        if (phase === Phase.Closed) return this.#outcome();
        if (phase === Phase.CloseReceived || phase === Phase.Failing) {
          await this.#drainUntilEnd();
          continue;
        }
        const op = this.#app === undefined
          ? this.#parseFrames()
          : this.#parseApp();
        if (op === Opcode.Text || op === Opcode.Binary) {
          if (owner === RECV) {
            lend(msg);
            return msg;
          }
        } else if (op === NEED_MORE && this.#life.phase <= Phase.CloseSent) {
          const view = this.#readView();
          let n: number | null = null;
          let cause: Error | undefined;
          try {
            n = await this.#t.read(view);
          } catch (err) {
            cause = err as Error;
          }
          this.#afterRead(n, cause);
        }
      }
    } finally {
      this.#own(NOBODY);
      this.#waitingSince = 0;
    }
  }

  /** `null` for a clean or caller's close; throws what ended the connection otherwise. */
  #outcome(): null {
    const error = this.#life.error;
    if (error !== null) throw error;
    return null;
  }

  /**
   * The receive buffer's free tail for the next socket read, which starts
   * the heartbeat's wait (and closes the stamp of the last message, see
   * {@link WsClient.stats}). The buffers adapt here (grow after a full read,
   * shrink when quiet): nothing borrowed is live at a socket read, since
   * every receive revokes the last message first.
   */
  #readView(): Uint8Array {
    const now = performance.now();
    if (this.#waitingSince === 0) this.#waitingSince = now;
    this.#noteLastMessage();
    const rb = this.#rb;
    const view = rb.forRead(now);
    if (rb.bytes !== this.#readArray) { // resized here, or for a large frame
      this.#readArray = rb.bytes;
      this.#reader.release();
      forget(this.#msg);
    }
    if (this.#sends.oversized) this.#sends.trim(now);
    return view;
  }

  /** Messages parsed since the last stamp came from the last read: that read's time is the last message's. */
  #noteLastMessage(): void {
    const n = this.#n;
    if (this.#messagesIn !== n.messagesAtStamp) {
      n.messagesAtStamp = this.#messagesIn;
      n.lastMessageAt = this.#readAt;
    }
  }

  /**
   * A snapshot of the connection's counters and timings (see
   * {@link WsStats}). Counting costs nothing per message beyond an
   * increment: no allocation, no clock read (reads are stamped, not
   * messages); the snapshot object is made here.
   */
  stats(): WsStats {
    this.#noteLastMessage();
    const n = this.#n, app = this.#app, now = performance.now();
    const sends = this.#sends;
    return {
      messagesIn: this.#messagesIn,
      bytesIn: this.#bytesIn,
      framesIn: this.#reader.frames,
      messagesOut: n.messagesOut,
      bytesOut: sends.written,
      framesOut: n.messagesOut + n.pingsOut + n.pongsOut + n.closesOut,
      pingsIn: n.pingsIn,
      pongsIn: n.pongsIn,
      pingsOut: n.pingsOut,
      pongsOut: n.pongsOut,
      rtt: n.rtt < 0 ? null : n.rtt,
      appPingsOut: app?.pingsOut ?? 0,
      appPongsIn: app?.pongsIn ?? 0,
      appPingsIn: app?.pingsIn ?? 0,
      appRtt: app === undefined || app.rtt < 0 ? null : app.rtt,
      sinceLastMessage: n.messagesAtStamp === 0 ? null : now - n.lastMessageAt,
      openFor: now - this.#openedAt,
      connect: { ...this.#cfg.timing },
    };
  }

  /** Reads and discards until the server ends the TCP stream (or the close timer fires). */
  async #drainUntilEnd(): Promise<void> {
    const rb = this.#rb;
    try {
      for (;;) {
        rb.clear();
        const n = await this.#t.read(rb.spare());
        if (n === null) break;
        this.#bytesIn += n;
      }
    } catch { /* closed by the timer, or reset by the peer */ }
    this.#on(Event.SocketEnd);
  }

  /**
   * The one place the phase changes: applies `event` to the lifecycle and
   * does what the move asks (close frames, timers, closing the socket).
   */
  #on(
    event: Event,
    detail?: { code?: number; reason?: string; error?: Error },
  ): void {
    const life = this.#life;
    const from = life.on(event, detail);
    const to = life.phase;
    if (to === from) return;
    this.#regate();
    const sends = this.#sends;
    switch (to) {
      case Phase.CloseSent: // the caller's close frame is already encoded
        sends.rejectWaiting(
          new TypeError(
            "Expected an open connection, got one the caller closed",
          ),
        );
        this.#armCloseTimer();
        return;
      case Phase.CloseReceived:
      case Phase.Failing:
        if (from === Phase.Open) {
          // Nothing may follow our close frame on the wire.
          sends.rejectWaiting(
            life.error ??
              new ConnectionClosedError(life.code, life.reason, false),
          );
          const code = to === Phase.Failing || life.code !== 1005
            ? life.code
            : undefined;
          this.#writer.closeFrame(sends.out, closePayload(code));
          this.#n.closesOut++;
          sends.flush();
        }
        this.#armCloseTimer();
        return;
      case Phase.Closed:
        this.#finish();
        return;
    }
  }

  #armCloseTimer(): void {
    if (this.#closeTimer !== undefined) return;
    this.#closeTimer = setTimeout(() => {
      this.#closeTimer = undefined;
      this.#on(Event.CloseTimeout);
    }, this.#cfg.closeTimeout);
  }

  /** Entering `Closed`: timers off, socket closed, waiters told. */
  #finish(): void {
    if (this.#closeTimer !== undefined) {
      clearTimeout(this.#closeTimer);
      this.#closeTimer = undefined;
    }
    this.#heartbeat?.stop();
    this.#app?.stop();
    this.#stale?.stop();
    const life = this.#life;
    this.#sends.rejectWaiting(
      life.error ??
        new ConnectionClosedError(life.code, life.reason, life.clean),
    );
    closeQuietly(this.#t);
    this.#closed?.resolve();
  }

  /** Resolves once the connection is closed (now, when it already is). */
  #whenClosed(): Promise<void> {
    if (this.#life.phase === Phase.Closed) return Promise.resolve();
    return (this.#closed ??= Promise.withResolvers<void>()).promise;
  }

  /** The heartbeat's ping: only while open and not over the write mark. */
  #autoPing(): boolean {
    if (this.#life.phase !== Phase.Open || !this.#sends.underMark()) {
      return false;
    }
    this.#writer.ping(this.#sends.out);
    this.#sentPing();
    this.#sends.flush();
    return true;
  }

  #sentPing(): void {
    const n = this.#n;
    n.pingsOut++;
    if (n.pingSentAt === 0) n.pingSentAt = performance.now();
  }

  /**
   * The application layer's send: a heartbeat message or the answer to a
   * server ping, encoded at once (only while open and under the write
   * mark, like a pong).
   */
  #sendApp(payload: unknown, what: string): boolean {
    if (typeof payload !== "string" && !(payload instanceof Uint8Array)) {
      throw new TypeError(
        `Expected ${what} to be a string or a Uint8Array, got ${typeof payload}`,
      );
    }
    if (this.#life.phase !== Phase.Open || !this.#sends.underMark()) {
      return false;
    }
    this.#encode(payload);
    this.#sends.flush();
    return true;
  }

  /**
   * Encodes a text (string) or binary message into the send buffer,
   * compressed by `deflater` when one is given.
   */
  #encode(
    payload: string | Uint8Array,
    deflater: MessageDeflater | null = null,
  ): void {
    const out = this.#sends.out;
    if (deflater !== null) this.#writer.compressed(out, deflater, payload);
    else if (typeof payload === "string") this.#writer.text(out, payload);
    else this.#writer.binary(out, payload);
    this.#n.messagesOut++;
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

  /**
   * Sends a text message. Resolves once written. With permessage-deflate
   * negotiated, it is compressed when it reaches the `threshold` (in UTF-16
   * code units), or as `options.compress` says.
   */
  sendText(text: string, options?: SendOptions): Promise<void> {
    this.#checkOpen();
    if (typeof text !== "string") {
      throw new TypeError(`Expected a string, got ${typeof text}`);
    }
    const deflater = this.#deflaterFor(text.length, options, "sendText()");
    const sends = this.#sends;
    if (sends.admits()) {
      this.#encode(text, deflater);
      return sends.flush();
    }
    return sends.wait(() => this.#encode(text, deflater));
  }

  /**
   * Sends a binary message. Resolves once written. The bytes are copied
   * before this returns, except when the send has to wait its turn (over
   * `maxBufferedAmount`): then a caller's own array is read when the turn
   * comes (do not change it before the promise settles), while a view
   * borrowed from this connection (`msg.data`, a decompressed payload) is
   * copied at once. With permessage-deflate negotiated, it is compressed
   * when it reaches the `threshold`, or as `options.compress` says (a
   * compressed message costs one copy of the payload, into the
   * compressor's window).
   */
  sendBinary(data: Uint8Array, options?: SendOptions): Promise<void> {
    this.#checkOpen();
    if (!(data instanceof Uint8Array)) {
      throw new TypeError(`Expected a Uint8Array, got ${typeof data}`);
    }
    const deflater = this.#deflaterFor(data.length, options, "sendBinary()");
    const sends = this.#sends;
    if (sends.admits()) {
      this.#encode(data, deflater);
      return sends.flush();
    }
    // A send that waits its turn reads its payload later; a view borrowed
    // from this connection's buffers (an echoed msg.data) would be gone by
    // then, so that one is copied now.
    const rbuf = data.buffer;
    const payload = rbuf === this.#rb.bytes.buffer || lendsFrom(this.#msg, rbuf)
      ? data.slice()
      : data;
    return sends.wait(() => this.#encode(payload, deflater));
  }

  /** The compressor for a send of `size` bytes, or null to send it as it is. */
  #deflaterFor(
    size: number,
    options: SendOptions | undefined,
    where: string,
  ): MessageDeflater | null {
    if (options !== undefined) check(options, SEND_RULES, where);
    const c = this.#compression;
    return c === null ? null : c.deflaterFor(size, options?.compress);
  }

  /** Sends a ping (payload ≤ 125 bytes, else `RangeError`). Pongs are reported to `onPong`. */
  ping(data?: Uint8Array): Promise<void> {
    this.#checkOpen();
    this.#writer.ping(this.#sends.out, data);
    this.#sentPing();
    return this.#sends.flush();
  }

  /**
   * Starts or completes the closing handshake: sends a close frame (default
   * code 1000) unless one was already sent, then reads until the server's
   * close frame and the end of the TCP stream, all bounded by
   * `closeTimeout`, and closes the socket. Messages that arrive meanwhile
   * are discarded unless a `recv()` is pending (it gets them, then `null`);
   * a `recv()` called while `close()` reads settles once closed (`null`, or
   * the error that ended the connection). Resolves when closed (check
   * `closeCode`); never rejects for a peer that misbehaves while closing.
   * Invalidates a borrowed {@link Message}. Bad code or reason:
   * `RangeError` / `TypeError`, before anything changes.
   */
  async close(code?: number, reason?: string): Promise<void> {
    const payload = closePayload(code ?? CloseCode.Normal, reason);
    revoke(this.#msg);
    if (this.#life.phase === Phase.Open) {
      this.#writer.closeFrame(this.#sends.out, payload);
      this.#n.closesOut++;
      this.#sends.flush();
      this.#on(Event.CallerClose);
    }
    if (this.#readOwner !== NOBODY) {
      await this.#whenClosed();
      return;
    }
    try {
      await this.#read(CLOSE);
    } catch {
      /* the outcome is in closeCode */
    }
  }

  /**
   * Closes the socket at once, without a closing handshake (`closeCode`
   * 1006 unless the server's close frame already arrived). Invalidates a
   * borrowed {@link Message}.
   */
  terminate(): void {
    revoke(this.#msg);
    this.#on(Event.Terminate);
  }

  #checkOpen(): void {
    const life = this.#life;
    if (life.phase === Phase.Open) return;
    if (life.byCaller) {
      throw new TypeError(
        "Expected an open connection, got one the caller already closed",
      );
    }
    throw life.error ??
      new ConnectionClosedError(life.code, life.reason, life.clean);
  }
}
