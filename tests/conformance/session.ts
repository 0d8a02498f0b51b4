/**
 * The server side of one fuzzing connection, after the opening handshake.
 *
 * It behaves as Autobahn's fuzzing server protocol does (Autobahn 0.10.9
 * `WebSocketProtocol` in server mode, `failByDrop = false`): it sends frames
 * exactly as the case says (valid or not, in one write, in frame-wise writes
 * or in chops), validates every client frame as a strict server would, fails
 * the connection with a close frame when the client breaks the protocol,
 * answers the client's closing handshake and drops the TCP connection, and
 * keeps the flags the grading reads: `closedByMe`, `wasClean`,
 * `remoteCloseCode`.
 *
 * @module
 */

import { setImmediate } from "node:timers";
import {
  Case,
  type CaseDef,
  type CaseSession,
  type SendFrameSpec,
} from "./case.ts";
import { DeflateCodec } from "./deflate_codec.ts";
import type { DeflateParams } from "./deflate_params.ts";
import {
  Close,
  concat,
  encodeFrame,
  FrameParser,
  headerLength,
  isInvalidCloseCode,
  isValidUtf8,
  preview,
  utf8,
  Utf8Check,
  writeHeader,
} from "./wire.ts";

const decoder = new TextDecoder();

/** Bounded wire log: the first and last entries of a connection. */
class WireLog {
  #head: string[] = [];
  #tail: string[] = [];
  #dropped = 0;
  readonly #max: number;
  readonly #t0 = performance.now();
  constructor(max = 48) {
    this.#max = max;
  }
  add(entry: string): void {
    const line = `${
      (performance.now() - this.#t0).toFixed(1).padStart(8)
    }ms ${entry}`;
    if (this.#head.length < this.#max) {
      this.#head.push(line);
      return;
    }
    this.#tail.push(line);
    if (this.#tail.length > this.#max) {
      this.#tail.shift();
      this.#dropped++;
    }
  }
  lines(): string[] {
    return this.#dropped > 0
      ? [
        ...this.#head,
        `... ${this.#dropped} entries left out ...`,
        ...this.#tail,
      ]
      : [...this.#head, ...this.#tail];
  }
}

const OPNAMES: Record<number, string> = {
  0: "CONT",
  1: "TEXT",
  2: "BINARY",
  8: "CLOSE",
  9: "PING",
  10: "PONG",
};

function describeFrame(
  opcode: number,
  fin: boolean,
  rsv: number,
  payload: Uint8Array,
  extra = "",
): string {
  const name = OPNAMES[opcode] ?? `OP${opcode}`;
  return `${name} fin=${fin ? 1 : 0}${
    rsv ? ` rsv=${rsv}` : ""
  } len=${payload.length}${extra} ${preview(payload, 40)}`;
}

/**
 * The payload ranges of a message of `n` octets sent in fragments of `size`
 * (`n > size`), exactly as Autobahn's `sendMessage` cuts them: a frame ends
 * the message only when its end would pass `n`, so when `size` divides `n`
 * the last frame is an empty continuation frame with FIN set (4 MiB in
 * fragments of 64 octets is 65,537 frames, not 65,536).
 */
export function fragmentFrames(
  n: number,
  size: number,
): Array<[number, number]> {
  if (!(size >= 1)) {
    throw new RangeError(`Expected a fragment size of at least 1, got ${size}`);
  }
  const out: Array<[number, number]> = [];
  for (let i = 0;; i += size) {
    const j = i + size;
    if (j > n) {
      out.push([i, n]);
      return out;
    }
    out.push([i, j]);
  }
}

/**
 * A queued write: `sync` writes (and chops) go out on their own, others
 * coalesce. A compressed message is queued as the promise of its frames, so
 * that it keeps its place before what is sent after it (null: nothing to
 * write after all).
 */
interface QueuedWrite {
  data: Uint8Array | Promise<Uint8Array | null>;
  sync: boolean;
}

/** Octet counts for compression ratios (Autobahn's `trafficStats`, in part). */
export interface TrafficStats {
  /** Message payload octets the server sent, before compression. */
  outgoingOctetsAppLevel: number;
  /** The same messages' payload octets on the wire. */
  outgoingOctetsWebSocketLevel: number;
  /** Message payload octets the server received, after inflating. */
  incomingOctetsAppLevel: number;
  /** The same messages' payload octets on the wire. */
  incomingOctetsWebSocketLevel: number;
}

/** Options of a {@link Session}. */
export interface SessionOptions {
  /** Seconds to wait for the client's close reply after the server sent close (Autobahn: 1). */
  closeHandshakeTimeout?: number;
}

/** The server side of one case connection. */
export class Session implements CaseSession {
  state: "connecting" | "open" | "closing" | "closed" = "connecting";
  connectionWasOpen = false;
  closedByMe = false;
  failedByMe = false;
  droppedByMe = false;
  wasClean = false;
  wasNotCleanReason: string | null = null;
  wasCloseHandshakeTimeout = false;
  remoteCloseCode: number | null = null;
  remoteCloseReason: string | null = null;
  localCloseCode: number | null = null;
  localCloseReason: string | null = null;
  autoFragmentSize = 0;
  txFrameStats: Record<number, number> = {};
  rxFrameStats: Record<number, number> = {};
  trafficStats: TrafficStats = {
    outgoingOctetsAppLevel: 0,
    outgoingOctetsWebSocketLevel: 0,
    incomingOctetsAppLevel: 0,
    incomingOctetsWebSocketLevel: 0,
  };
  readonly perMessageCompress: DeflateParams | null;
  /** When the case was opened / the connection was lost (ms, performance.now()). */
  startedAt = 0;
  endedAt = 0;

  readonly case: Case;
  readonly #conn: Deno.Conn;
  readonly #parser = new FrameParser();
  readonly #log = new WireLog();
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  readonly #closeHandshakeTimeout: number;
  #closeHandshakeTimer: ReturnType<typeof setTimeout> | null = null;

  // Receive state (data messages).
  #insideMessage = false;
  #messageBinary = false;
  #messageParts: Uint8Array[] = [];
  #utf8: Utf8Check | null = null;
  /** The message being received has RSV1 set: it is inflated when complete. */
  #messageCompressed = false;
  readonly #codec: DeflateCodec | null;
  /** Set while a received message is being inflated: frames after it wait. */
  #paused: Promise<void> | null = null;

  // Send state for the streaming message API.
  #sendState: "ground" | "begin" | "inside" | "frame" = "ground";
  #sendOpcode = 1;
  #sendFrameRemaining = 0;

  // Write pump.
  #queue: QueuedWrite[] = [];
  #pumping = false;
  #closeWhenFlushed = false;
  #transportClosed = false;
  #writeFailed = false;

  #pumpDone: Promise<void> = Promise.resolve();
  #done: Promise<void> = Promise.resolve();
  #lost = false;

  /** `perMessageCompress`: the permessage-deflate parameters the handshake negotiated. */
  constructor(
    conn: Deno.Conn,
    def: CaseDef,
    options: SessionOptions = {},
    perMessageCompress: DeflateParams | null = null,
  ) {
    this.#conn = conn;
    this.#closeHandshakeTimeout = options.closeHandshakeTimeout ?? 1;
    this.perMessageCompress = perMessageCompress;
    this.#codec = perMessageCompress
      ? new DeflateCodec(perMessageCompress)
      : null;
    this.case = new Case(def, this);
  }

  /** Resolves once the connection is gone, the case is graded and no write is pending. */
  get done(): Promise<void> {
    return this.#done;
  }

  /** The wire log (first and last entries). */
  get wirelog(): string[] {
    return this.#log.lines();
  }

  log(entry: string): void {
    this.#log.add(entry);
  }

  /**
   * Starts the case: the 101 response has been queued already. `initial`
   * holds bytes the client sent right after its request.
   */
  open(initial: Uint8Array): void {
    this.state = "open";
    this.connectionWasOpen = true;
    this.startedAt = performance.now();
    if (initial.length > 0) this.#parser.push(initial);
    this.#done = this.#readLoop().then(() => this.#pumpDone).then(() =>
      this.#codec?.close()
    );
    this.case.onOpen();
    this.#consume();
  }

  /** Queues the handshake response (before `open`). */
  writeRaw(data: Uint8Array): void {
    this.#sendData(data, false);
  }

  /** Hard stop (the runner's per-case timeout): drop the TCP connection. */
  abort(reason: string): void {
    if (this.state !== "closed") {
      this.log(`ABORT ${reason}`);
      this.wasNotCleanReason ??= reason;
    }
    this.#drop(true);
  }

  // ---------------------------------------------------------------- timers

  #after(seconds: number, fn: () => void): void {
    const id = setTimeout(() => {
      this.#timers.delete(id);
      fn();
    }, seconds * 1000);
    this.#timers.add(id);
  }

  killAfter(seconds: number): void {
    this.log(`KILL AFTER ${seconds}s`);
    this.#after(seconds, () => {
      if (this.state !== "closed") {
        this.log("KILL (timer fired)");
        this.failConnection();
      }
    });
  }

  closeAfter(seconds: number): void {
    this.log(`CLOSE AFTER ${seconds}s`);
    this.#after(seconds, () => {
      if (this.state !== "closed") {
        this.log("CLOSE (timer fired)");
        this.sendClose();
      }
    });
  }

  continueLater(seconds: number, fn: () => void, tag?: string): void {
    this.log(`CONTINUE AFTER ${seconds}s${tag ? ` [${tag}]` : ""}`);
    this.#after(seconds, () => {
      if (this.state !== "closed") {
        this.log(`CONTINUE${tag ? ` [${tag}]` : ""}`);
        fn();
      }
    });
  }

  // ---------------------------------------------------------------- sending

  #sendData(
    data: Uint8Array | Promise<Uint8Array | null>,
    sync: boolean,
    chopsize?: number,
  ): void {
    if (this.#transportClosed || this.#writeFailed) return;
    if (chopsize && chopsize > 0 && data instanceof Uint8Array) {
      for (let i = 0; i < data.length; i += chopsize) {
        this.#queue.push({ data: data.subarray(i, i + chopsize), sync: true });
      }
    } else {
      this.#queue.push({ data, sync });
    }
    if (!this.#pumping) {
      this.#pumping = true;
      this.#pumpDone = this.#pump();
    }
  }

  /** Takes the next write off the queue, with the plain writes after it when it coalesces. */
  async #nextWrite(): Promise<QueuedWrite | null> {
    const item = this.#queue.shift()!;
    const data = await item.data;
    if (data === null) return null;
    if (item.sync) return { data, sync: true };
    const parts = [data];
    while (
      this.#queue.length > 0 && !this.#queue[0].sync &&
      this.#queue[0].data instanceof Uint8Array
    ) {
      parts.push(this.#queue.shift()!.data as Uint8Array);
    }
    return { data: parts.length > 1 ? concat(parts) : data, sync: false };
  }

  async #pump(): Promise<void> {
    try {
      while (this.#queue.length > 0 && !this.#transportClosed) {
        const item = await this.#nextWrite();
        if (item === null || this.#transportClosed) continue;
        const data = item.data as Uint8Array;
        let off = 0;
        while (off < data.length) {
          off += await this.#conn.write(data.subarray(off));
        }
        if (item.sync && this.#queue.length > 0) {
          // Let the event loop run (the peer's reads included) before the
          // next chop, as the reference server re-enters its reactor between
          // chops. setImmediate costs microseconds, unlike setTimeout(0).
          await new Promise((r) => setImmediate(r));
        }
      }
    } catch {
      this.#writeFailed = true;
      this.#queue.length = 0;
    } finally {
      this.#pumping = false;
      if (this.#closeWhenFlushed) this.#closeTransport();
    }
  }

  #closeTransport(): void {
    if (this.#transportClosed) return;
    this.#transportClosed = true;
    this.#queue.length = 0;
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }

  sendFrame(spec: SendFrameSpec): void {
    const raw = encodeFrame(spec);
    this.txFrameStats[spec.opcode] = (this.txFrameStats[spec.opcode] ?? 0) + 1;
    const name = OPNAMES[spec.opcode] ?? `OP${spec.opcode}`;
    const flags = `fin=${(spec.fin ?? true) ? 1 : 0}${
      spec.rsv ? ` rsv=${spec.rsv}` : ""
    }`;
    const how = `${spec.chopsize ? ` chopsize=${spec.chopsize}` : ""}${
      spec.sync ? " sync" : ""
    }`;
    const payload = spec.payload ?? new Uint8Array(0);
    this.log(
      spec.payloadLen === undefined
        ? `TX ${
          describeFrame(spec.opcode, spec.fin ?? true, spec.rsv ?? 0, payload)
        }${how}`
        : `TX ${name} ${flags} len=${spec.payloadLen} (repeating "${
          preview(payload, 16)
        }")${how}`,
    );
    this.#sendData(raw, spec.sync ?? false, spec.chopsize);
  }

  sendMessage(
    payload: Uint8Array,
    binary: boolean,
    fragmentSize?: number,
  ): void {
    if (this.state !== "open") return;
    const opcode = binary ? 2 : 1;
    const pfs = fragmentSize ??
      (this.autoFragmentSize > 0 ? this.autoFragmentSize : undefined);
    const stats = this.trafficStats;
    stats.outgoingOctetsAppLevel += payload.length;
    if (this.#codec === null) {
      stats.outgoingOctetsWebSocketLevel += payload.length;
      this.#sendData(this.#messageFrames(payload, opcode, 0, pfs), false);
      return;
    }
    // Compressed as a whole, then cut into frames (Autobahn's sendMessage).
    const frames = this.#codec.compress(payload).then((wire) => {
      stats.outgoingOctetsWebSocketLevel += wire.length;
      this.log(
        `TX message ${
          binary ? "BINARY" : "TEXT"
        } len=${payload.length} compressed to ${wire.length}`,
      );
      return this.#messageFrames(wire, opcode, 4, pfs);
    }, (err) => {
      this.log(`DEFLATE failed: ${err}`);
      queueMicrotask(() => this.failConnection(Close.INTERNAL_ERROR));
      return null;
    });
    this.#sendData(frames, false);
  }

  /**
   * The frames of one message (its payload as it goes on the wire): one
   * frame, or fragments of `pfs` octets as Autobahn cuts them
   * ({@link fragmentFrames}); `rsv` on the first frame only.
   */
  #messageFrames(
    payload: Uint8Array,
    opcode: number,
    rsv: number,
    pfs: number | undefined,
  ): Uint8Array {
    const frames: Array<[number, number]> =
      pfs === undefined || payload.length <= pfs
        ? [[0, payload.length]]
        : fragmentFrames(payload.length, pfs);
    let total = 0;
    for (const [i, j] of frames) total += headerLength(j - i) + j - i;
    const out = new Uint8Array(total);
    let o = 0;
    frames.forEach(([i, j], k) => {
      const op = k === 0 ? opcode : 0;
      o += writeHeader(
        out,
        o,
        op,
        k === frames.length - 1,
        k === 0 ? rsv : 0,
        j - i,
      );
      out.set(payload.subarray(i, j), o);
      o += j - i;
      this.txFrameStats[op] = (this.txFrameStats[op] ?? 0) + 1;
    });
    this.log(
      frames.length === 1
        ? `TX ${describeFrame(opcode, true, rsv, payload)}`
        : `TX ${OPNAMES[opcode]}${
          rsv ? ` rsv=${rsv}` : ""
        } len=${payload.length} in ${frames.length} frames of ${pfs}${
          payload.length % pfs! === 0 ? " (the last one empty)" : ""
        } ${preview(payload, 24)}`,
    );
    return out;
  }

  beginMessage(binary = false): void {
    if (this.state !== "open") return;
    if (this.#sendState !== "ground") {
      throw new Error("beginMessage: invalid send state");
    }
    this.#sendOpcode = binary ? 2 : 1;
    this.#sendState = "begin";
  }

  beginMessageFrame(length: number): void {
    if (this.state !== "open") return;
    if (this.#sendState !== "begin" && this.#sendState !== "inside") {
      throw new Error("beginMessageFrame: invalid send state");
    }
    const opcode = this.#sendState === "begin" ? this.#sendOpcode : 0;
    const header = new Uint8Array(headerLength(length));
    // Frames of the streaming API never carry FIN; endMessage() sends an empty final frame.
    writeHeader(header, 0, opcode, false, 0, length);
    this.log(
      `TX frame header ${
        OPNAMES[opcode]
      } fin=0 len=${length} (payload follows in parts)`,
    );
    this.#sendFrameRemaining = length;
    this.#sendState = "frame";
    this.#sendData(header, false);
  }

  sendMessageFrameData(payload: Uint8Array): void {
    if (this.state !== "open") return;
    if (this.#sendState !== "frame") {
      throw new Error("sendMessageFrameData: invalid send state");
    }
    const part = payload.subarray(0, this.#sendFrameRemaining);
    this.#sendFrameRemaining -= part.length;
    this.log(`TX frame data len=${part.length} ${preview(part, 40)}`);
    this.#sendData(part, false);
    if (this.#sendFrameRemaining === 0) this.#sendState = "inside";
  }

  endMessage(): void {
    if (this.state !== "open") return;
    this.sendFrame({ opcode: 0, payload: new Uint8Array(0), fin: true });
    this.#sendState = "ground";
  }

  sendClose(code?: number, reason?: string): void {
    if (
      code !== undefined && code !== 1000 && !(code >= 3000 && code <= 4999)
    ) {
      throw new RangeError(`Invalid close code ${code}`);
    }
    let reasonBytes: Uint8Array | null = null;
    if (reason !== undefined) {
      if (code === undefined) {
        throw new TypeError("Close reason without close code");
      }
      reasonBytes = utf8(reason);
      if (reasonBytes.length + 2 > 125) {
        reasonBytes = concat([reasonBytes.subarray(0, 120), utf8("...")]);
      }
    }
    this.sendCloseFrame(code ?? null, reasonBytes, false);
  }

  sendCloseFrame(
    code: number | null = null,
    reason: Uint8Array | null = null,
    isReply = false,
  ): void {
    if (this.state !== "open") return;
    const parts: Uint8Array[] = [];
    if (code !== null) {
      parts.push(new Uint8Array([(code >> 8) & 0xff, code & 0xff]));
    }
    if (reason !== null) parts.push(reason);
    this.sendFrame({ opcode: 8, payload: concat(parts) });
    this.state = "closing";
    this.closedByMe = !isReply;
    this.localCloseCode = code;
    this.localCloseReason = reason ? preview(reason, 125) : null;
    if (this.closedByMe && this.#closeHandshakeTimeout > 0) {
      const id = setTimeout(() => {
        this.#timers.delete(id);
        this.#closeHandshakeTimer = null;
        if (this.state !== "closed") {
          this.log("CLOSE HANDSHAKE TIMEOUT");
          this.wasClean = false;
          this.wasNotCleanReason =
            "peer did not respond (in time) in closing handshake";
          this.wasCloseHandshakeTimeout = true;
          this.#drop(true);
        }
      }, this.#closeHandshakeTimeout * 1000);
      this.#timers.add(id);
      this.#closeHandshakeTimer = id;
    }
  }

  /** Fails the connection: send a close frame (or drop when already closing). */
  failConnection(code: number = Close.GOING_AWAY, reason = "Going Away"): void {
    if (this.state === "closed") return;
    this.log(`FAIL ${code} ${reason}`);
    this.failedByMe = true;
    if (this.state !== "closing") {
      this.sendCloseFrame(code, utf8(reason).subarray(0, 123), false);
    } else {
      this.#drop(false);
    }
  }

  #protocolViolation(reason: string): void {
    this.failConnection(Close.PROTOCOL_ERROR, reason);
  }

  #invalidPayload(reason: string): void {
    this.failConnection(Close.INVALID_PAYLOAD, reason);
  }

  #drop(abort: boolean): void {
    if (this.state !== "closed") {
      this.log(`DROP TCP${abort ? " (abort)" : ""}`);
      this.droppedByMe = true;
      this.state = "closed";
    }
    if (abort || !this.#pumping) {
      this.#closeTransport();
    } else {
      this.#closeWhenFlushed = true;
    }
  }

  // ---------------------------------------------------------------- receiving

  async #readLoop(): Promise<void> {
    try {
      while (true) {
        const buf = new Uint8Array(256 * 1024);
        let n: number | null;
        try {
          n = await this.#conn.read(buf);
        } catch {
          n = null;
        }
        if (n === null) break;
        if (this.state === "open" || this.state === "closing") {
          this.#parser.push(buf.subarray(0, n));
          this.#consume();
        }
      }
      // What arrived before the end is processed before the case is graded.
      while (this.#paused) await this.#paused;
    } finally {
      this.#connectionLost();
    }
  }

  #consume(): void {
    while (
      (this.state === "open" || this.state === "closing") &&
      this.#paused === null
    ) {
      const ev = this.#parser.next();
      if (ev === null) return;
      if ("header" in ev) this.#onHeader(ev.header);
      else this.#onFrame(ev.frame);
    }
  }

  #onHeader(
    h: {
      fin: boolean;
      rsv: number;
      opcode: number;
      masked: boolean;
      len1: number;
      length: number;
    },
  ): void {
    const v = (reason: string) => this.#protocolViolation(reason);
    const compressed = this.#codec !== null && h.rsv === 4;
    if (h.rsv !== 0 && !compressed) {
      v(`RSV = ${h.rsv} and no extension negotiated`);
    }
    if (!h.masked) v("unmasked client-to-server frame");
    if (h.opcode > 7) {
      if (!h.fin) v("fragmented control frame");
      if (h.len1 > 125) v("control frame with payload length > 125 octets");
      if (h.opcode !== 8 && h.opcode !== 9 && h.opcode !== 10) {
        v(`control frame using reserved opcode ${h.opcode}`);
      }
      if (h.opcode === 8 && h.len1 === 1) {
        v("received close control frame with payload len 1");
      }
      if (compressed) {
        v("received compressed control frame [permessage-deflate]");
      }
    } else {
      if (h.opcode !== 0 && h.opcode !== 1 && h.opcode !== 2) {
        v(`data frame using reserved opcode ${h.opcode}`);
      }
      if (!this.#insideMessage && h.opcode === 0) {
        v("received continuation data frame outside fragmented message");
      }
      if (this.#insideMessage && h.opcode !== 0) {
        v("received non-continuation data frame while inside fragmented message");
      }
      if (compressed && this.#insideMessage) {
        v("received continuation data frame with compress bit set [permessage-deflate]");
      }
    }
    if (h.len1 === 126 && h.length < 126) {
      v("invalid data frame length (not using minimal length encoding)");
    }
    if (h.len1 === 127 && h.length < 65536) {
      v("invalid data frame length (not using minimal length encoding)");
    }
    if (h.length > 256 * 1024 * 1024) {
      // Nothing a case sends back is this big: don't let a broken client make us allocate it.
      this.log(`RX frame announcing ${h.length} octets: dropping`);
      this.failedByMe = true;
      this.#drop(true);
      return;
    }
    if (h.opcode <= 7 && !this.#insideMessage) {
      this.#insideMessage = true;
      this.#messageBinary = h.opcode === 2;
      this.#messageParts = [];
      this.#messageCompressed = compressed;
      // A compressed text message is validated once inflated.
      this.#utf8 = h.opcode === 1 && !compressed ? new Utf8Check() : null;
    }
  }

  #onFrame(
    f: { fin: boolean; rsv: number; opcode: number; payload: Uint8Array },
  ): void {
    this.rxFrameStats[f.opcode] = (this.rxFrameStats[f.opcode] ?? 0) + 1;
    this.log(`RX ${describeFrame(f.opcode, f.fin, f.rsv, f.payload)}`);
    if (f.opcode > 7) {
      this.#onControl(f.opcode, f.payload);
      return;
    }
    this.trafficStats.incomingOctetsWebSocketLevel += f.payload.length;
    if (this.#messageCompressed) {
      if (!this.failedByMe) this.#messageParts.push(f.payload);
      if (f.fin) {
        const parts = this.#messageParts;
        this.#messageParts = [];
        this.#insideMessage = false;
        this.#messageCompressed = false;
        if (!this.failedByMe) this.#inflate(parts, this.#messageBinary);
      }
      return;
    }
    this.trafficStats.incomingOctetsAppLevel += f.payload.length;
    if (this.#utf8 && !this.#utf8.feed(f.payload)) {
      this.#invalidPayload(
        "encountered invalid UTF-8 while processing text message",
      );
    }
    if (!this.failedByMe) this.#messageParts.push(f.payload);
    if (f.fin) {
      if (this.#utf8 && !this.#utf8.complete) {
        this.#invalidPayload(
          "UTF-8 text message payload ended within Unicode code point",
        );
      }
      const parts = this.#messageParts;
      this.#messageParts = [];
      this.#insideMessage = false;
      this.#utf8 = null;
      if (!this.failedByMe && this.state !== "closed") {
        const payload = parts.length === 1 ? parts[0] : concat(parts);
        this.case.onMessage(payload, this.#messageBinary);
      }
    }
  }

  /**
   * Inflates a complete compressed message, then hands it to the case; the
   * frames behind it wait, so events keep the order they had on the wire.
   */
  #inflate(parts: Uint8Array[], binary: boolean): void {
    this.#paused = this.#codec!.decompress(parts).then(
      (payload) => {
        this.trafficStats.incomingOctetsAppLevel += payload.length;
        if (
          (this.state !== "open" && this.state !== "closing") ||
          this.failedByMe
        ) {
          return;
        }
        if (!binary && !isValidUtf8(payload)) {
          this.#invalidPayload(
            "encountered invalid UTF-8 while processing text message",
          );
        } else {
          this.case.onMessage(payload, binary);
        }
      },
      (err) => {
        this.log(`RX inflate failed: ${err}`);
        if (err instanceof RangeError) {
          this.failConnection(Close.MESSAGE_TOO_BIG, "message too big");
        } else {
          this.#invalidPayload("invalid permessage-deflate data");
        }
      },
    ).then(() => {
      this.#paused = null;
      this.#consume();
    });
  }

  #onControl(opcode: number, payload: Uint8Array): void {
    if (opcode === 8) {
      let code: number | null = null;
      let reason: Uint8Array | null = null;
      if (payload.length > 1) {
        code = (payload[0] << 8) | payload[1];
        if (payload.length > 2) reason = payload.subarray(2);
      }
      this.#onCloseFrame(code, reason);
    } else if (opcode === 9) {
      if (this.state === "open") this.sendFrame({ opcode: 10, payload });
    } else if (opcode === 10) {
      this.case.onPong(payload);
    }
  }

  #onCloseFrame(code: number | null, reason: Uint8Array | null): void {
    this.remoteCloseCode = code;
    if (code !== null && isInvalidCloseCode(code)) {
      this.#protocolViolation(`invalid close code ${code}`);
    }
    if (reason === null) {
      this.remoteCloseReason = null;
    } else {
      const check = new Utf8Check();
      if (!(check.feed(reason) && check.complete)) {
        this.#invalidPayload("invalid close reason (non-UTF-8 payload)");
      }
      this.remoteCloseReason = decoder.decode(reason);
    }
    if (this.state === "closing") {
      // The reply to our close (or the client's close racing ours).
      if (this.#closeHandshakeTimer !== null) {
        clearTimeout(this.#closeHandshakeTimer);
        this.#timers.delete(this.#closeHandshakeTimer);
        this.#closeHandshakeTimer = null;
      }
      this.wasClean = true;
      this.#drop(true);
    } else if (this.state === "open") {
      // The client starts the closing handshake: reply, then drop the TCP connection.
      this.wasClean = true;
      this.sendCloseFrame(Close.NORMAL, null, true);
      this.#drop(false);
    } else {
      this.wasClean = false;
    }
  }

  #connectionLost(): void {
    if (this.#lost) return;
    this.#lost = true;
    for (const id of this.#timers) clearTimeout(id);
    this.#timers.clear();
    this.#closeHandshakeTimer = null;
    if (this.state !== "closed") {
      this.log("RX EOF (connection lost)");
      this.state = "closed";
    }
    this.#closeTransport();
    if (
      !this.wasClean && !this.droppedByMe && this.wasNotCleanReason === null
    ) {
      this.wasNotCleanReason =
        "peer dropped the TCP connection without previous WebSocket closing handshake";
    }
    this.endedAt = performance.now();
    if (this.connectionWasOpen) this.case.onConnectionLost();
  }
}
