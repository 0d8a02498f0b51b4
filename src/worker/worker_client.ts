/**
 * `connectInWorker()`: a WebSocket connection that lives in a Worker and
 * hands its messages to the main isolate through a `SharedArrayBuffer`
 * ring, and `WorkerClient`, its main-side handle.
 *
 * @module
 */

import { ConnectionClosedError, WorkerError } from "../errors.ts";
import { check, integer, type Rule, type Rules } from "../options.ts";
import { closePayload } from "../codec/ws/frame_writer.ts";
import {
  CONNECT_RULES,
  type ConnectOptions,
  DEFAULT_CLOSE_TIMEOUT,
  plan,
  wsUrl,
} from "../ws/connect.ts";
import { lend, Message, type PayloadSource, revoke } from "../ws/message.ts";
import {
  decodeEvent,
  encodeEvent,
  errorFrom,
  type RingEvent,
  type Setup,
  type SetupAnswer,
} from "./protocol.ts";
import {
  isRingSize,
  Kind,
  MIN_RING,
  Ring,
  RING_CONSUMER_WAITING,
  RING_PRODUCER_WAITING,
  RING_READ,
  RING_WRITE,
  ringBytes,
} from "./ring.ts";
import { waitWord } from "./wait.ts";

/**
 * Options for {@link connectInWorker}: those of `connect()` that are plain
 * data (the Worker receives a copy), plus the sizes of the two rings.
 * Functions and objects that cannot cross to another isolate are refused
 * with a `TypeError`: `transport`, `onPing`, `onPong`, `appPingReply`, and
 * a function as `appHeartbeat.message` or `appHeartbeat.isPong`. `signal`
 * stays on the main side (an abort stops the Worker). Sizes are bytes.
 *
 * @example
 * ```ts
 * import type { WorkerConnectOptions } from "@x/nexus-ws";
 * const options: WorkerConnectOptions = { ringSize: 4 << 20, heartbeat: { interval: 5000 } };
 * console.assert(options.ringSize === 4194304);
 * ```
 */
export interface WorkerConnectOptions extends
  Omit<
    ConnectOptions,
    "transport" | "onPing" | "onPong" | "appPingReply"
  > {
  /**
   * Bytes of the receive ring the Worker fills and the main side reads: a
   * power of two, at least 1024. Default 1 MiB. It bounds the memory of
   * messages waiting for the main thread: when it is full, the Worker stops
   * reading the socket until the main side catches up (size it for the
   * longest stall you expect times the feed's rate). The largest message
   * is half of it less 8 bytes ({@link WorkerConnectOptions.maxMessageSize}
   * defaults to that and may not exceed it).
   */
  ringSize?: number;
  /**
   * Bytes of the send ring the main side fills and the Worker sends from:
   * a power of two, at least 1024. Default 64 KiB. The largest message
   * `sendText` / `sendBinary` take is half of it less 8 bytes; a full ring
   * makes sends wait.
   */
  sendRingSize?: number;
}

const ringSizeRule: Rule = (v, name) => {
  integer(MIN_RING, 2 ** 30)(v, name);
  if (!isRingSize(v as number)) {
    throw new RangeError(
      `Expected option "${name}" to be a power of two, got ${v}`,
    );
  }
};

/** `appHeartbeat` without the functions, which cannot cross to the Worker. */
const appHeartbeatRule: Rule = (v, name) => {
  CONNECT_RULES.appHeartbeat(v, name);
  for (const key of ["message", "isPong"]) {
    if (typeof (v as Record<string, unknown>)[key] === "function") {
      throw new TypeError(
        `Expected option "${name}.${key}" to be data a Worker can receive (a function cannot cross to another isolate), got a function`,
      );
    }
  }
};

/** The rules of {@link WorkerConnectOptions}. */
export const WORKER_CONNECT_RULES: Rules = (() => {
  const {
    transport: _t,
    onPing: _p,
    onPong: _q,
    appPingReply: _r,
    ...rules
  } = CONNECT_RULES;
  return {
    ...rules,
    appHeartbeat: appHeartbeatRule,
    ringSize: ringSizeRule,
    sendRingSize: ringSizeRule,
  };
})();

const DEFAULT_RING = 1 << 20;
const DEFAULT_SEND_RING = 1 << 16;

/**
 * The module the Worker runs (`host.ts`). Not public: tests point it at a
 * module that fails, to see a {@link WorkerError}.
 */
export const workerModule = {
  href: new URL("./host.ts", import.meta.url).href,
};

/** Options as plain data for the Worker (headers as pairs, URLs as strings). */
function plainOptions(
  options: WorkerConnectOptions,
  maxMessageSize: number,
): Record<string, unknown> {
  const {
    ringSize: _r,
    sendRingSize: _s,
    signal: _signal,
    headers,
    proxy,
    ...rest
  } = options;
  const out: Record<string, unknown> = { ...rest, maxMessageSize };
  if (headers !== undefined) {
    out.headers = Symbol.iterator in headers
      ? [...headers as Iterable<readonly [string, string]>]
      : { ...headers };
  }
  if (proxy !== undefined) out.proxy = proxy === false ? false : String(proxy);
  return out;
}

/**
 * Opens a WebSocket connection in a Worker of its own and returns its
 * main-side handle, a {@link WorkerClient}. The connection (the socket, the
 * TLS session, the parser, pings, pongs and the heartbeat) runs in the
 * Worker's isolate, so it stays alive while the main thread is busy: a
 * `Deno.Conn` cannot move between isolates (denoland/deno#16159), and a
 * connection on a busy main thread misses pings and is dropped by the
 * server (denoland/deno#31693). Messages come to the main side through a
 * `SharedArrayBuffer` ring, one copy each, without `postMessage`: the main
 * side reads them in place, as borrowed {@link Message}s (the same class
 * and rules as {@link WsClient.recv}'s).
 *
 * Costs: a Worker (an isolate and a thread: a few MiB of memory and tens
 * of milliseconds to start, see `docs/performance.md`), the two rings, and
 * one copy of each message into the ring. Worth it when the main thread
 * does long synchronous work (a model, a big JSON, a backtest) while feeds
 * must stay up; not needed when it only handles the messages.
 *
 * Options as {@link WorkerConnectOptions} (checked here, before the Worker
 * starts: `TypeError` / `RangeError`). Rejects as `connect()` does
 * ({@link NetworkError}, {@link HandshakeError}, `TimeoutError`, the
 * signal's reason), with errors of the same classes rebuilt from the
 * Worker's, or with {@link WorkerError} when the Worker itself failed. Needs
 * the permissions `connect()` needs (the Worker inherits them).
 *
 * @example
 * ```ts ignore
 * import { connectInWorker } from "@x/nexus-ws";
 * const feed = await connectInWorker("wss://stream.example.com/ws", { heartbeat: { interval: 10000 } });
 * await feed.sendText(JSON.stringify({ op: "subscribe", channel: "trades" }));
 * for (let m = feed.tryRecv() ?? await feed.recv(); m !== null; m = feed.tryRecv() ?? await feed.recv()) {
 *   handle(m.text()); // may block for seconds: the Worker keeps the connection alive
 * }
 * ```
 */
export async function connectInWorker(
  url: string | URL,
  options?: WorkerConnectOptions,
): Promise<WorkerClient> {
  check(options, WORKER_CONNECT_RULES, "connectInWorker()");
  options ??= {};
  const u = wsUrl(url);
  const ringSize = options.ringSize ?? DEFAULT_RING;
  const sendRingSize = options.sendRingSize ?? DEFAULT_SEND_RING;
  const largest = (ringSize >>> 1) - 8;
  const maxMessageSize = options.maxMessageSize ?? largest;
  if (maxMessageSize > largest) {
    throw new RangeError(
      `Expected maxMessageSize <= ${largest} (half of ringSize ${ringSize}, less 8), got ${maxMessageSize}`,
    );
  }
  const signal = options.signal;
  signal?.throwIfAborted();
  const plain = plainOptions(options, maxMessageSize);
  plan(u, plain); // what connect() in the Worker would refuse, refused here
  const setup: Setup = {
    url: u.href,
    options: plain,
    rx: new SharedArrayBuffer(ringBytes(ringSize)),
    tx: new SharedArrayBuffer(ringBytes(sendRingSize)),
  };
  const worker = new Worker(workerModule.href, { type: "module" });
  try {
    const answer = await opened(worker, setup, signal);
    if (answer.type === "failed") throw errorFrom(answer.error);
    return new WorkerClient(worker, setup, answer.protocol, maxMessageSize);
  } catch (err) {
    worker.terminate();
    throw err;
  }
}

/** Sends the setup and resolves with the Worker's answer (or its failure, or the abort). */
function opened(
  worker: Worker,
  setup: Setup,
  signal: AbortSignal | undefined,
): Promise<SetupAnswer> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal!.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    const done = () => signal?.removeEventListener("abort", onAbort);
    worker.onmessage = (e: MessageEvent<SetupAnswer>) => {
      done();
      resolve(e.data);
    };
    worker.onerror = (e) => {
      e.preventDefault();
      done();
      reject(workerFailed(e));
    };
    worker.postMessage(setup);
  });
}

function workerFailed(e: ErrorEvent): WorkerError {
  return new WorkerError(
    `Expected the connection's Worker to keep running, got: ${e.message}`,
    { cause: e.error ?? new Error(e.message) },
  );
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

// What the connection is doing, from the main side.
const OPEN = 0, CLOSING = 1, ENDED = 2;
/** The kind `close()` queues its request as (an event, let through while closing). */
const CLOSE_REQUEST = -1;

/**
 * The main-side handle of a connection running in a Worker: get one from
 * {@link connectInWorker}. Receiving works as on {@link WsClient}:
 * {@link WorkerClient.recv} / {@link WorkerClient.tryRecv} return a
 * borrowed {@link Message} whose bytes are a view of the receive ring,
 * valid until the next `recv()`, `tryRecv()`, `close()` or `terminate()`
 * (then it throws; `copy()` / `toOwned()` keep it longer); the fastest loop
 * is `for (let m = c.tryRecv() ?? await c.recv(); m !== null; m = c.tryRecv() ?? await c.recv())`.
 * Sends put the message in the send ring and resolve once it is there (the
 * Worker sends in order); they wait while the ring is full.
 *
 * @example
 * ```ts ignore
 * import { connectInWorker } from "@x/nexus-ws";
 * const c = await connectInWorker("ws://127.0.0.1:8080/feed");
 * const m = await c.recv();
 * console.log(m?.text());
 * await c.close();
 * ```
 */
export class WorkerClient {
  #worker: Worker;
  #rx: Ring;
  #tx: Ring;
  #source: Mutable<PayloadSource>;
  #msg: Message;
  #ready: Promise<Message>;
  #protocol: string;
  #state = OPEN;
  #code = 0;
  #reason = "";
  #error: Error | null = null;
  #byCaller = false;
  #recvPending = false;
  #draining = false; // close() reads until the end
  #sending: Promise<void> = Promise.resolve();
  #waitingSends = 0;
  #ended = Promise.withResolvers<void>();
  #closeTimeout: number;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;

  /**
   * Made by {@link connectInWorker}.
   *
   * @ignore
   */
  constructor(
    worker: Worker,
    setup: Setup,
    protocol: string,
    maxMessageSize: number,
  ) {
    this.#worker = worker;
    this.#rx = new Ring(setup.rx);
    this.#tx = new Ring(setup.tx);
    this.#protocol = protocol;
    this.#closeTimeout = (setup.options.closeTimeout as number | undefined) ??
      DEFAULT_CLOSE_TIMEOUT;
    this.#source = {
      payloadBytes: this.#rx.bytes,
      payloadStart: 0,
      payloadEnd: 0,
      maxMessageSize,
    };
    this.#msg = new Message(this.#source);
    this.#ready = Promise.resolve(this.#msg);
    worker.onmessage = null;
    worker.onerror = (e) => {
      e.preventDefault();
      this.#end(1006, "", workerFailed(e));
    };
  }

  /** The subprotocol the server selected, or `""`. */
  get protocol(): string {
    return this.#protocol;
  }
  /** Whether the connection has ended (its outcome is final). */
  get closed(): boolean {
    return this.#state === ENDED;
  }
  /** The close code, as {@link WsClient.closeCode} (1006 while none is known). */
  get closeCode(): number {
    return this.#code === 0 ? 1006 : this.#code;
  }
  /** The close reason the server sent, or `""`. */
  get closeReason(): string {
    return this.#reason;
  }
  /**
   * Bytes of the send ring held by messages the Worker has not taken yet:
   * their payloads plus each record's 8-byte header and padding to 8 bytes
   * (and a filler record where one wrapped), so a little more than the
   * payload bytes `WsClient.bufferedAmount` would count.
   */
  get bufferedAmount(): number {
    const w = this.#tx.words;
    return (Atomics.load(w, RING_WRITE) - Atomics.load(w, RING_READ)) >>> 0;
  }

  /**
   * The next message if the Worker has already put one in the ring, else
   * `undefined` (then call `recv()`). Never waits. Releases the ring room
   * of the previous message and invalidates it.
   */
  tryRecv(): Message | undefined {
    const msg = this.#msg, rx = this.#rx;
    revoke(msg);
    rx.release();
    while (this.#state !== ENDED && rx.peek()) {
      if (rx.kind !== Kind.Event) {
        const src = this.#source;
        src.payloadStart = rx.start;
        src.payloadEnd = rx.end;
        msg.type = rx.kind === Kind.Text ? "text" : "binary";
        lend(msg);
        return msg;
      }
      const event = decodeEvent(rx.bytes, rx.start, rx.end);
      rx.release();
      if (event.type === "end") {
        this.#end(
          event.code,
          event.reason,
          event.error === null ? null : errorFrom(event.error),
        );
      }
    }
    return undefined;
  }

  /**
   * The next message: a borrowed {@link Message} (valid until the next
   * `recv()`, `tryRecv()`, `close()` or `terminate()`), or `null` once the
   * connection closed cleanly or by the caller. Rejects with the error
   * that ended the connection (the class `recv()` of {@link WsClient}
   * would give: {@link ProtocolError}, {@link ConnectionClosedError},
   * `TimeoutError`), or {@link WorkerError}. One `recv()` at a time
   * (`TypeError` otherwise).
   */
  recv(): Promise<Message | null> {
    if (this.#draining) return this.#ended.promise.then(() => this.#outcome());
    if (this.#recvPending) {
      return Promise.reject(
        new TypeError(
          "Expected one recv() at a time, got a second call while one is pending",
        ),
      );
    }
    if (this.tryRecv() !== undefined) return this.#ready;
    if (this.#state === ENDED) return this.#outcome();
    return this.#wait();
  }

  async #wait(): Promise<Message | null> {
    const rx = this.#rx;
    this.#recvPending = true;
    try {
      for (;;) {
        await waitWord(
          rx.words,
          RING_WRITE,
          RING_CONSUMER_WAITING,
          () => this.#state === ENDED || rx.available(),
        );
        const m = this.tryRecv();
        if (m !== undefined) return m;
        if (this.#state === ENDED) return this.#outcome();
      }
    } finally {
      this.#recvPending = false;
    }
  }

  #outcome(): Promise<null> {
    return this.#error === null
      ? Promise.resolve(null)
      : Promise.reject(this.#error);
  }

  /** The connection ended: records the outcome, stops the Worker, wakes a waiting `recv()`. */
  #end(code: number, reason: string, error: Error | null): void {
    if (this.#state === ENDED) return;
    this.#state = ENDED;
    this.#code = code;
    this.#reason = reason;
    this.#error = error;
    clearTimeout(this.#closeTimer);
    this.#worker.terminate();
    Atomics.notify(this.#rx.words, RING_WRITE);
    Atomics.notify(this.#tx.words, RING_READ);
    this.#ended.resolve();
  }

  /**
   * Sends a text message: it is encoded into the send ring, and the
   * returned promise resolves once it is there (waiting while the ring is
   * full). `RangeError` for a message larger than half the send ring;
   * `TypeError` once the connection is closing.
   */
  sendText(text: string): Promise<void> {
    if (typeof text !== "string") {
      throw new TypeError(`Expected a string, got ${typeof text}`);
    }
    return this.#send(Kind.Text, text);
  }

  /**
   * Sends a binary message (copied into the send ring before this returns,
   * unless the ring is full: then a view of a message borrowed from this
   * connection is copied at once, and the caller's own array is read when
   * there is room). As {@link WorkerClient.sendText} otherwise.
   */
  sendBinary(data: Uint8Array): Promise<void> {
    if (!(data instanceof Uint8Array)) {
      throw new TypeError(`Expected a Uint8Array, got ${typeof data}`);
    }
    return this.#send(Kind.Binary, data);
  }

  /** Sends a ping (payload ≤ 125 bytes, else `RangeError`); the Worker answers pongs itself. */
  ping(data?: Uint8Array): Promise<void> {
    if (data !== undefined && data.length > 125) {
      throw new RangeError(
        `Expected a ping payload of at most 125 bytes, got ${data.length}`,
      );
    }
    const event: RingEvent = { type: "ping", data: [...(data ?? [])] };
    return this.#send(Kind.Event, encodeEvent(event));
  }

  #send(kind: number, data: string | Uint8Array): Promise<void> {
    this.#checkOpen();
    const tx = this.#tx;
    if (typeof data === "string" && data.length * 3 > tx.maxPayload) {
      data = encoder.encode(data); // its exact length decides
    }
    if (typeof data !== "string" && data.length > tx.maxPayload) {
      throw new RangeError(
        `Expected a message of at most ${tx.maxPayload} bytes (half the send ring), got ${data.length}`,
      );
    }
    if (this.#waitingSends === 0 && this.#put(kind, data)) {
      return Promise.resolve();
    }
    if (typeof data !== "string" && data.buffer === this.#rx.bytes.buffer) {
      data = data.slice(); // a borrowed view: gone once recv() moves on
    }
    return this.#queue(kind, data);
  }

  /** Sends after the sends already waiting, once the ring has room. */
  #queue(kind: number, data: string | Uint8Array): Promise<void> {
    this.#waitingSends++;
    const p = this.#sending.then(() => this.#putWaiting(kind, data));
    this.#sending = p.catch(() => {});
    return p;
  }

  /**
   * Writes a record (a string at most a third of the largest payload, or
   * bytes at most the largest) if the send ring has room now.
   */
  #put(kind: number, data: string | Uint8Array): boolean {
    const tx = this.#tx;
    const text = typeof data === "string";
    const at = tx.reserve(text ? data.length * 3 : data.length);
    if (at < 0) return false;
    let len = data.length;
    if (text) {
      len = encoder.encodeInto(data, tx.bytes.subarray(at, at + len * 3))
        .written;
    } else tx.bytes.set(data, at);
    tx.commit(kind === CLOSE_REQUEST ? Kind.Event : kind, len);
    tx.publish();
    return true;
  }

  /** A send that waited its turn: writes once the ring has room, if still open. */
  async #putWaiting(kind: number, data: string | Uint8Array): Promise<void> {
    const tx = this.#tx;
    const len = typeof data === "string" ? data.length * 3 : data.length;
    try {
      for (;;) {
        this.#checkOpen(kind);
        if (this.#put(kind, data)) return;
        await waitWord(
          tx.words,
          RING_READ,
          RING_PRODUCER_WAITING,
          () => this.#state === ENDED || tx.reserve(len) >= 0,
        );
      }
    } finally {
      this.#waitingSends--;
    }
  }

  /** Throws unless a send may go: open (or, for `close()`'s own request, closing). */
  #checkOpen(kind?: number): void {
    if (this.#state === OPEN) return;
    if (this.#state === CLOSING && kind === CLOSE_REQUEST) return;
    if (this.#byCaller) {
      throw new TypeError(
        "Expected an open connection, got one the caller already closed",
      );
    }
    throw this.#error ??
      new ConnectionClosedError(this.closeCode, this.#reason, true);
  }

  /**
   * Closes the connection: asks the Worker to send a close frame (default
   * code 1000) and to finish the closing handshake, then resolves once it
   * has ended, within `closeTimeout` of this call whatever the Worker does
   * (a send the server does not take may hold the request back: then the
   * Worker is stopped, `closeCode` 1006). Messages that arrive meanwhile
   * are discarded unless a `recv()` is pending, which gets them, then
   * `null`. Invalidates a borrowed {@link Message}. Bad code or
   * reason: `RangeError` / `TypeError`.
   */
  async close(code?: number, reason?: string): Promise<void> {
    closePayload(code ?? 1000, reason); // checks them
    revoke(this.#msg);
    this.#rx.release();
    if (this.#state === OPEN) {
      this.#state = CLOSING;
      this.#byCaller = true;
      this.#closeTimer = setTimeout(
        () => this.#end(1006, "", null),
        this.#closeTimeout,
      );
      const event: RingEvent = { type: "close", code: code ?? 1000, reason };
      const bytes = encodeEvent(event);
      if (this.#waitingSends !== 0 || !this.#put(Kind.Event, bytes)) {
        await this.#queue(CLOSE_REQUEST, bytes).catch(() => {});
      }
    }
    if (this.#recvPending || this.#draining) return this.#ended.promise;
    this.#draining = true;
    const rx = this.#rx;
    try {
      for (;;) {
        while (this.tryRecv() !== undefined) { /* discarded */ }
        if (this.#state === ENDED) break;
        await waitWord(
          rx.words,
          RING_WRITE,
          RING_CONSUMER_WAITING,
          () => this.#state === ENDED || rx.available(),
        );
      }
    } finally {
      this.#draining = false;
    }
  }

  /**
   * Stops the Worker at once: the socket closes without a closing
   * handshake (`closeCode` 1006); a pending `recv()` rejects with
   * {@link ConnectionClosedError}. Invalidates a borrowed {@link Message}.
   */
  terminate(): void {
    revoke(this.#msg);
    this.#byCaller = true;
    this.#end(
      1006,
      "",
      new ConnectionClosedError(
        1006,
        "",
        false,
        "Connection terminated by the caller",
      ),
    );
  }
}

const encoder = new TextEncoder();
