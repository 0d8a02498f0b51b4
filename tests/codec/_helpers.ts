/**
 * Shared helpers for the codec tests: a frame builder, a reference decoder
 * for what the client writes, and the "feed at every split" harness.
 *
 * @module
 */

import { deepStrictEqual } from "node:assert/strict";
import {
  type DeflateParams,
  FrameReader,
  type FrameReaderOptions,
  type HeadLimits,
  HeadReader,
  HttpProtocolError,
  NEED_MORE,
  Opcode,
  ProtocolError,
  ReadBuf,
  type ReadBufOptions,
} from "../../src/codec/mod.ts";

export const enc = new TextEncoder();

/** Bytes from numbers, strings (UTF-8) and byte arrays, concatenated. */
export function bytes(
  ...parts: (number | string | Uint8Array | number[])[]
): Uint8Array {
  const chunks: Uint8Array[] = parts.map((p) =>
    typeof p === "number"
      ? new Uint8Array([p])
      : typeof p === "string"
      ? enc.encode(p)
      : p instanceof Uint8Array
      ? p
      : new Uint8Array(p)
  );
  return concat(chunks);
}

/** Concatenates byte arrays. */
export function concat(chunks: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const c of chunks) n += c.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/** What {@link frame} builds. */
export interface FrameSpec {
  op: number;
  payload?: Uint8Array | string;
  fin?: boolean;
  /** RSV1..3 as the 0x70 bits of the first byte. */
  rsv?: number;
  /** A masking key: the frame is masked with it (servers must not do this). */
  mask?: Uint8Array;
  /** Force the length form: 7-bit, 16-bit or 64-bit. Default: minimal. */
  lengthForm?: 7 | 16 | 64;
  /** Claim this payload length in the header instead of the real one. */
  claimedLength?: number;
}

/** Encodes one frame as a server (unmasked unless `mask` is given) would. */
export function frame(spec: FrameSpec): Uint8Array {
  const payload = typeof spec.payload === "string"
    ? enc.encode(spec.payload)
    : spec.payload ?? new Uint8Array(0);
  const len = spec.claimedLength ?? payload.length;
  const form = spec.lengthForm ??
    (len <= 125 ? 7 : len <= 65535 ? 16 : 64);
  const head: number[] = [
    ((spec.fin ?? true) ? 0x80 : 0) | (spec.rsv ?? 0) | spec.op,
  ];
  const m = spec.mask ? 0x80 : 0;
  if (form === 7) {
    head.push(m | len);
  } else if (form === 16) {
    head.push(m | 126, (len >>> 8) & 0xff, len & 0xff);
  } else {
    const hi = Math.floor(len / 0x100000000);
    head.push(
      m | 127,
      (hi >>> 24) & 0xff,
      (hi >>> 16) & 0xff,
      (hi >>> 8) & 0xff,
      hi & 0xff,
      (len >>> 24) & 0xff,
      (len >>> 16) & 0xff,
      (len >>> 8) & 0xff,
      len & 0xff,
    );
  }
  let body = payload;
  if (spec.mask) {
    head.push(...spec.mask);
    body = payload.map((b, i) => b ^ spec.mask![i & 3]);
  }
  return concat([new Uint8Array(head), body]);
}

/** A close payload: 2-byte code then the reason (string as UTF-8, or raw bytes). */
export function closePayload(
  code: number,
  reason: string | Uint8Array = "",
): Uint8Array {
  const r = typeof reason === "string" ? enc.encode(reason) : reason;
  return bytes((code >> 8) & 0xff, code & 0xff, r);
}

/** A deterministic payload of `n` bytes. */
export function pattern(n: number, seed = 7): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/**
 * `n` bytes that do not compress: a deterministic xorshift stream
 * ({@link pattern} repeats itself and compresses well).
 */
export function noise(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = (seed * 0x9e3779b1) | 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x >>> 24;
  }
  return out;
}

/** `n` ASCII letters. */
export function asciiText(n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += String.fromCharCode(97 + (i % 26));
  return s;
}

function fnv(b: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) {
    h ^= b[i];
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, "0");
}

/** A short, comparable form of a payload: hex when small, else length + hash. */
export function digest(b: Uint8Array): string {
  if (b.length <= 48) {
    return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");
  }
  return `${b.length} bytes, fnv ${fnv(b)}`;
}

/** One event of a {@link FrameReader}, in comparable form. */
export interface Ev {
  op: number;
  payload: string;
  ascii?: boolean;
  code?: number;
  reason?: string;
}

/** The event the reader should give for a text message `s` (string or raw bytes). */
export function textEv(s: string | Uint8Array): Ev {
  const b = typeof s === "string" ? enc.encode(s) : s;
  return {
    op: Opcode.Text,
    payload: digest(b),
    ascii: b.every((x) => x < 128),
  };
}
/** The event the reader should give for a binary message. */
export function binaryEv(b: Uint8Array): Ev {
  return { op: Opcode.Binary, payload: digest(b) };
}
/** The event the reader should give for a ping. */
export function pingEv(b: Uint8Array | string = new Uint8Array(0)): Ev {
  return {
    op: Opcode.Ping,
    payload: digest(typeof b === "string" ? enc.encode(b) : b),
  };
}
/** The event the reader should give for a pong. */
export function pongEv(b: Uint8Array | string = new Uint8Array(0)): Ev {
  return {
    op: Opcode.Pong,
    payload: digest(typeof b === "string" ? enc.encode(b) : b),
  };
}
/** The event the reader should give for a close frame. */
export function closeEv(code?: number, reason = ""): Ev {
  const payload = code === undefined
    ? new Uint8Array(0)
    : closePayload(code, reason);
  return {
    op: Opcode.Close,
    payload: digest(payload),
    code: code ?? 1005,
    reason,
  };
}

/** What feeding a byte stream to a fresh reader produced. */
export interface ReadResult {
  events: Ev[];
  /** The `ProtocolError` code, or null when the stream ended without error. */
  error: number | null;
  /** Unconsumed bytes left in the buffer (only meaningful without error). */
  buffered: number;
}

/** Options for {@link readFrames}. */
export interface ReadOptions {
  buf?: ReadBufOptions;
  reader?: FrameReaderOptions;
  /** Called after every `next()` call (for invariants such as capacity). */
  check?: (rb: ReadBuf, reader: FrameReader) => void;
}

/** Describes the reader's current event. */
export function describe(reader: FrameReader, op: number): Ev {
  const p = reader.payload();
  const ev: Ev = { op, payload: digest(p) };
  if (op === Opcode.Text) ev.ascii = reader.ascii;
  if (op === Opcode.Close) {
    ev.code = reader.closeCode;
    ev.reason = reader.closeReason;
  }
  return ev;
}

/**
 * Copies `chunk` into the buffer the way the client does (through `spare()`
 * and `commit()`, at most `maxReadSize` at a time), draining the reader after
 * every read until `drain` returns false. Returns how many bytes of `chunk`
 * went in, or -1 when the buffer offered no room (a stall).
 */
export function deliver(
  rb: ReadBuf,
  chunk: Uint8Array,
  drain: () => boolean,
  maxRead = Infinity,
): number {
  let off = 0;
  while (off < chunk.length) {
    const tail = rb.spare();
    if (tail.length === 0) return -1;
    if (tail.length > maxRead) {
      throw new Error(`spare() offered ${tail.length} > ${maxRead} bytes`);
    }
    const n = Math.min(tail.length, chunk.length - off);
    tail.set(chunk.subarray(off, off + n));
    rb.commit(n);
    off += n;
    if (!drain()) break;
  }
  return off;
}

/**
 * Feeds `chunks` in order to a fresh ReadBuf + FrameReader and collects the
 * events. A `ProtocolError` ends the stream and is recorded by its code; any
 * other exception propagates (and fails the test).
 */
export function readFrames(
  chunks: Uint8Array[],
  opts: ReadOptions = {},
): ReadResult {
  const rb = new ReadBuf(opts.buf);
  const reader = new FrameReader(opts.reader);
  const events: Ev[] = [];
  let error: number | null = null;
  let fed = 0;
  const maxRead = opts.buf?.maxReadSize ?? opts.buf?.bufferCapacity ?? 65536;
  // returns false once the stream failed
  const drain = (): boolean => {
    if (error !== null) return false;
    // every event consumes at least 2 bytes, so this bounds the loop
    for (let guard = 0;; guard++) {
      if (guard > fed + 2) {
        throw new Error(`Reader produced more events than bytes (${guard})`);
      }
      let op: number;
      try {
        op = reader.next(rb);
      } catch (err) {
        if (err instanceof ProtocolError) {
          error = err.code;
          return false;
        }
        throw err;
      }
      opts.check?.(rb, reader);
      if (op === NEED_MORE) return true;
      events.push(describe(reader, op));
    }
  };
  for (const c of chunks) {
    fed += c.length;
    if (deliver(rb, c, drain, maxRead) < 0) {
      throw new Error("The read buffer offered no room for more bytes");
    }
    if (error !== null) break;
  }
  return { events, error, buffered: error === null ? rb.length : 0 };
}

/** One-byte-at-a-time chunks. */
export function byteChunks(b: Uint8Array): Uint8Array[] {
  return Array.from({ length: b.length }, (_, i) => b.subarray(i, i + 1));
}

/** Vectors up to this length are split at every byte boundary. */
export const SPLIT_ALL_UP_TO = 8192;

/**
 * The split points {@link feedSplits} uses: every boundary 0..n for vectors
 * up to {@link SPLIT_ALL_UP_TO} bytes. Longer vectors (the few 64 KiB ones:
 * 65536 splits of 65536 bytes would take minutes) get every boundary in
 * their first and last 1024 bytes, where the headers are, and every 61st
 * in between.
 */
export function splitPoints(n: number): number[] {
  const out: number[] = [];
  for (let k = 0; k <= n; k++) {
    if (n <= SPLIT_ALL_UP_TO || k <= 1024 || k >= n - 1024 || k % 61 === 0) {
      out.push(k);
    }
  }
  return out;
}

/**
 * Runs `fn` on `bytes` delivered whole, split in two at every byte boundary
 * k (bytes[0..k) then bytes[k..), see {@link splitPoints}), and one byte at
 * a time; asserts every delivery gives the same result and returns it.
 */
export function feedSplits<R>(
  bytes: Uint8Array,
  fn: (chunks: Uint8Array[]) => R,
): R {
  const whole = fn([bytes]);
  for (const k of splitPoints(bytes.length)) {
    const split = fn([bytes.subarray(0, k), bytes.subarray(k)]);
    deepStrictEqual(split, whole, `split at byte ${k} of ${bytes.length}`);
  }
  deepStrictEqual(fn(byteChunks(bytes)), whole, "one byte at a time");
  return whole;
}

/** {@link feedSplits} with {@link readFrames}. */
export function readSplits(bytes: Uint8Array, opts: ReadOptions = {}) {
  return feedSplits(bytes, (chunks) => readFrames(chunks, opts));
}

/** What feeding bytes to a fresh HeadReader produced. */
export interface HeadResult {
  head: {
    minorVersion: number;
    status: number;
    reason: string;
    headers: [string, string][];
  } | null;
  /** The HttpProtocolError message, or null. */
  error: string | null;
  /** The bytes left in the buffer after the head (hex digest). */
  rest: string;
}

/** Feeds `chunks` to a fresh ReadBuf + HeadReader until a head or an error. */
export function readHead(
  chunks: Uint8Array[],
  limits: HeadLimits = {},
  buf: ReadBufOptions = {},
): HeadResult {
  const rb = new ReadBuf(buf);
  const reader = new HeadReader(limits);
  let head: HeadResult["head"] = null;
  let error: string | null = null;
  const drain = (): boolean => {
    if (head !== null || error !== null) return false;
    try {
      const h = reader.read(rb);
      if (h === null) return true;
      head = {
        minorVersion: h.minorVersion,
        status: h.status,
        reason: h.reason,
        headers: [...h.headers],
      };
    } catch (err) {
      if (!(err instanceof HttpProtocolError)) throw err;
      error = err.message;
    }
    return false;
  };
  // bytes not yet delivered when the head completed (a socket would hold them)
  const later: Uint8Array[] = [];
  for (const c of chunks) {
    if (head !== null || error !== null) {
      later.push(c);
      continue;
    }
    const n = deliver(rb, c, drain);
    if (n < 0) {
      throw new Error("The read buffer offered no room for more bytes");
    }
    if (n < c.length) later.push(c.subarray(n));
  }
  return {
    head,
    error,
    rest: error === null ? digest(concat([rb.data(), ...later])) : "",
  };
}

/** Asserts `fn` throws an instance of `cls` and returns the error. */
export function throwsA<E extends Error>(
  fn: () => unknown,
  // deno-lint-ignore no-explicit-any
  cls: new (...args: any[]) => E,
  message?: RegExp,
): E {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof cls)) {
      throw new Error(
        `Expected ${cls.name}, got ${(err as Error)?.name}: ${
          (err as Error)?.message
        }`,
      );
    }
    if (message && !message.test(err.message)) {
      throw new Error(
        `Expected a ${cls.name} message matching ${message}, got "${err.message}"`,
      );
    }
    return err;
  }
  throw new Error(`Expected ${cls.name} to be thrown, nothing was`);
}

/** A frame as decoded from client output. */
export interface ClientFrame {
  fin: boolean;
  rsv: number;
  op: number;
  masked: boolean;
  key: Uint8Array;
  /** Which length form the header used. */
  lengthForm: 7 | 16 | 64;
  /** Unmasked payload. */
  payload: Uint8Array;
  /** Offset of the payload in the decoded buffer. */
  payloadOffset: number;
}

/**
 * Decodes client frames (masked) written back to back; throws when the
 * bytes are not whole, well-formed frames with minimal lengths.
 */
export function decodeClientFrames(b: Uint8Array): ClientFrame[] {
  const out: ClientFrame[] = [];
  let i = 0;
  while (i < b.length) {
    if (b.length - i < 2) throw new Error(`Truncated header at ${i}`);
    const b0 = b[i], b1 = b[i + 1];
    let len = b1 & 0x7f;
    let p = i + 2;
    let lengthForm: 7 | 16 | 64 = 7;
    if (len === 126) {
      len = (b[p] << 8) | b[p + 1];
      p += 2;
      lengthForm = 16;
      if (len < 126) throw new Error(`Non-minimal 16-bit length ${len}`);
    } else if (len === 127) {
      const dv = new DataView(b.buffer, b.byteOffset + p, 8);
      len = dv.getUint32(0) * 0x100000000 + dv.getUint32(4);
      p += 8;
      lengthForm = 64;
      if (len < 65536) throw new Error(`Non-minimal 64-bit length ${len}`);
    }
    const masked = (b1 & 0x80) !== 0;
    const key = masked ? b.slice(p, p + 4) : new Uint8Array(4);
    if (masked) p += 4;
    if (p + len > b.length) throw new Error(`Truncated payload at ${i}`);
    const payload = b.slice(p, p + len);
    for (let j = 0; j < len; j++) payload[j] ^= key[j & 3];
    out.push({
      fin: (b0 & 0x80) !== 0,
      rsv: b0 & 0x70,
      op: b0 & 0x0f,
      masked,
      key,
      lengthForm,
      payload,
      payloadOffset: p,
    });
    i = p + len;
  }
  return out;
}

/** Client frames re-encoded as unmasked server frames (for the reader). */
export function unmaskedStream(frames: ClientFrame[]): Uint8Array {
  return concat(frames.map((f) =>
    frame({
      op: f.op,
      fin: f.fin,
      payload: f.payload,
      rsv: f.rsv,
    })
  ));
}

/** permessage-deflate parameters: 15-bit windows with context takeover, unless overridden. */
export function deflateParams(p: Partial<DeflateParams> = {}): DeflateParams {
  return {
    serverMaxWindowBits: 15,
    serverNoContextTakeover: false,
    clientMaxWindowBits: 15,
    clientNoContextTakeover: false,
    ...p,
  };
}
