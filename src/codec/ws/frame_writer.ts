/**
 * `FrameWriter`: encodes masked client frames into a reusable output buffer.
 *
 * @module
 */

import { isValidCloseCode, Opcode } from "./frame_reader.ts";
import type { MessageDeflater } from "./permessage_deflate.ts";

const encoder = new TextEncoder();
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const KEY_BATCH = 1024; // 256 keys per crypto.getRandomValues call
// One pool of masking keys for every writer of the isolate: fresh random
// bytes either way, without 1 KiB of keys per connection.
const KEYS = new Uint8Array(KEY_BATCH);
let keyPos = KEY_BATCH;

/**
 * Discards the rest of the shared batch of masking keys, so that the next
 * frame draws a new batch (for tests that stub `crypto.getRandomValues`).
 */
export function discardKeys(): void {
  keyPos = KEY_BATCH;
}
const RSV1 = 0x40; // "per-message compressed" (RFC 7692 §6)

/**
 * A growable byte buffer that frames are appended to and written from. It
 * doubles when a frame does not fit, and can be shrunk back when empty
 * ({@link WriteBuf.shrink}); both are counted.
 *
 * @example
 * ```ts
 * import { WriteBuf } from "@x/nexus-ws/codec";
 * const out = new WriteBuf(64);
 * out.ensure(3);
 * out.bytes.set([1, 2, 3], out.length);
 * out.length += 3;
 * console.assert(out.view().length === 3);
 * out.ensure(100); // doubles until 103 bytes fit
 * console.assert(out.bytes.length === 128 && out.grows === 1);
 * out.clear();
 * out.shrink(64);
 * console.assert(out.bytes.length === 64 && out.shrinks === 1);
 * ```
 */
export class WriteBuf {
  /** The underlying array; bytes `[0, length)` are pending. */
  bytes: Uint8Array;
  /** Pending byte count. */
  length = 0;
  #words: Uint32Array | null = null; // made on first use
  #grows = 0;
  #shrinks = 0;

  /**
   * Allocates `capacity` bytes (default 4096, at least 16; up to 64 bytes
   * live inside the JS heap until first written to a socket).
   */
  constructor(capacity?: number) {
    this.bytes = new Uint8Array((Math.max(capacity ?? 4096, 16) + 3) & ~3);
  }

  /** Times the buffer grew to fit a frame. */
  get grows(): number {
    return this.#grows;
  }
  /** Times {@link WriteBuf.shrink} made it smaller. */
  get shrinks(): number {
    return this.#shrinks;
  }

  /** Makes room for `n` more bytes (doubling). */
  ensure(n: number): void {
    const need = this.length + n;
    if (need <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < need) size *= 2;
    this.#replace(size);
    this.#grows++;
  }

  /**
   * Replaces the array by one of `capacity` bytes (at least 16) when it is
   * larger and holds nothing pending; otherwise does nothing.
   */
  shrink(capacity: number): void {
    const size = (Math.max(capacity, 16) + 3) & ~3;
    if (this.length !== 0 || size >= this.bytes.length) return;
    this.#replace(size);
    this.#shrinks++;
  }

  #replace(size: number): void {
    size = (size + 3) & ~3;
    const next = new Uint8Array(size);
    if (this.length > 0) next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
    this.#words = null;
  }

  /** A 32-bit view over the same memory (for word-wise masking). */
  get words(): Uint32Array {
    return this.#words ??= new Uint32Array(this.bytes.buffer);
  }

  /** A view of the pending bytes. */
  view(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }

  /** Forgets the pending bytes. */
  clear(): void {
    this.length = 0;
  }
}

const NO_PAYLOAD = new Uint8Array(0);

/** Bytes of a client frame header (with the masking key) for an `n`-byte payload. */
function headerLength(n: number): number {
  return n <= 125 ? 6 : n <= 65535 ? 8 : 14;
}

/**
 * The payload of a close frame with `code` and `reason`, checked: `code`
 * undefined gives an empty payload (a reason alone is a `TypeError`);
 * otherwise the code must be sendable (1000-1003, 1007-1014, 3000-4999) and
 * the reason at most 123 UTF-8 bytes, else `RangeError`.
 *
 * @example
 * ```ts
 * import { closePayload } from "@x/nexus-ws/codec";
 * const p = closePayload(1000, "bye");
 * console.assert(p.length === 5 && p[0] === 0x03 && p[1] === 0xe8);
 * ```
 */
export function closePayload(code?: number, reason?: string): Uint8Array {
  if (code === undefined) {
    if (reason !== undefined && reason !== "") {
      throw new TypeError(
        "Expected a close code with a close reason, got a reason alone",
      );
    }
    return NO_PAYLOAD;
  }
  if (!Number.isInteger(code) || !isValidCloseCode(code)) {
    throw new RangeError(
      `Expected a close code 1000-1003, 1007-1014 or 3000-4999, got ${code}`,
    );
  }
  reason ??= "";
  if (typeof reason !== "string") {
    throw new TypeError(`Expected a string close reason, got ${typeof reason}`);
  }
  const r = encoder.encode(reason);
  if (r.length > 123) {
    throw new RangeError(
      `Expected a close reason of at most 123 UTF-8 bytes, got ${r.length}`,
    );
  }
  const p = new Uint8Array(2 + r.length);
  p[0] = code >> 8;
  p[1] = code & 0xff;
  p.set(r, 2);
  return p;
}

/**
 * Encodes client frames (RFC 6455 §5.2), masked with keys drawn from
 * `crypto.getRandomValues` in batches of 256 (one pool shared by every
 * writer), XOR-ed over 32-bit words where
 * the payload is aligned. Each method appends one whole frame to a
 * {@link WriteBuf}, copying the payload, so the caller's bytes may be reused
 * as soon as the call returns.
 *
 * @example
 * ```ts
 * import { FrameWriter, WriteBuf } from "@x/nexus-ws/codec";
 * const out = new WriteBuf();
 * new FrameWriter().text(out, "hi");
 * console.assert(out.length === 2 + 4 + 2 && out.bytes[0] === 0x81 && out.bytes[1] === 0x82);
 * ```
 */
export class FrameWriter {
  /** Appends a text frame carrying `s` encoded as UTF-8. */
  text(
    out: WriteBuf,
    s: string,
    fin?: boolean,
    continuation?: boolean,
  ): void {
    const op = continuation === true ? Opcode.Continuation : Opcode.Text;
    fin = fin !== false;
    // Exact UTF-8 length is unknown before encoding; <= 3 bytes per UTF-16 unit.
    const max = s.length * 3;
    if (max <= 125 || s.length > 65535) {
      // header form is known from the bound (short) or from the minimum (64-bit)
      const hl = max <= 125 ? 6 : 14;
      out.ensure(hl + max);
      const p0 = out.length + hl;
      const n = encoder.encodeInto(s, out.bytes.subarray(p0)).written;
      this.#header(out, op, fin, n, hl === 6 ? 2 : 10);
      this.#mask(out, p0, n);
      return;
    }
    out.ensure(14 + max);
    const at = out.length;
    const n = encoder.encodeInto(s, out.bytes.subarray(at + 14)).written;
    const hl = n <= 125 ? 6 : n <= 65535 ? 8 : 14;
    if (hl !== 14) out.bytes.copyWithin(at + hl, at + 14, at + 14 + n);
    this.#header(out, op, fin, n, hl - 4);
    this.#mask(out, at + hl, n);
  }

  /** Appends a binary frame carrying a copy of `data`. */
  binary(
    out: WriteBuf,
    data: Uint8Array,
    fin?: boolean,
    continuation?: boolean,
  ): void {
    this.#data(
      out,
      continuation === true ? Opcode.Continuation : Opcode.Binary,
      fin !== false,
      data,
    );
  }

  /**
   * Appends a compressed data frame (permessage-deflate, RFC 7692): RSV1
   * set, text for a string (compressed as UTF-8) and binary for bytes, the
   * payload `deflater`'s output. The deflater writes straight into `out`
   * after room for the header the input's size suggests; the header then
   * goes in front and the payload is masked in place. The compressed bytes
   * move only when their size needs another header length than guessed
   * (a message over 125 bytes that compresses to 125 or fewer moves them
   * down 2 bytes).
   */
  compressed(
    out: WriteBuf,
    deflater: MessageDeflater,
    data: string | Uint8Array,
    fin?: boolean,
  ): void {
    const at = out.length;
    const guess = headerLength(data.length);
    out.ensure(guess);
    out.length = at + guess;
    const n = typeof data === "string"
      ? deflater.compressText(data, out)
      : deflater.compress(data, out);
    const hl = headerLength(n);
    if (hl !== guess) {
      if (hl > guess) out.ensure(hl - guess);
      out.bytes.copyWithin(at + hl, at + guess, at + guess + n);
    }
    out.length = at;
    const op = typeof data === "string" ? Opcode.Text : Opcode.Binary;
    this.#header(out, RSV1 | op, fin !== false, n, hl - 4);
    this.#mask(out, at + hl, n);
  }

  /** Appends a ping (payload ≤ 125 bytes, else `RangeError`). */
  ping(out: WriteBuf, data?: Uint8Array): void {
    this.#control(out, Opcode.Ping, data ?? NO_PAYLOAD);
  }

  /** Appends a pong (payload ≤ 125 bytes, else `RangeError`). */
  pong(out: WriteBuf, data?: Uint8Array): void {
    this.#control(out, Opcode.Pong, data ?? NO_PAYLOAD);
  }

  /**
   * Appends a close frame. `code` undefined sends an empty payload; otherwise
   * it must be sendable (1000-1003, 1007-1014, 3000-4999) and the reason at
   * most 123 UTF-8 bytes, else `RangeError` (see {@link closePayload}).
   */
  close(out: WriteBuf, code?: number, reason?: string): void {
    this.#control(out, Opcode.Close, closePayload(code, reason));
  }

  /** Appends a close frame with a payload made by {@link closePayload}. */
  closeFrame(out: WriteBuf, payload: Uint8Array): void {
    this.#control(out, Opcode.Close, payload);
  }

  #control(out: WriteBuf, op: number, data: Uint8Array): void {
    if (data.length > 125) {
      throw new RangeError(
        `Expected a control payload of at most 125 bytes, got ${data.length}`,
      );
    }
    this.#data(out, op, true, data);
  }

  #data(out: WriteBuf, op: number, fin: boolean, data: Uint8Array): void {
    const n = data.length;
    const ext = n <= 125 ? 0 : n <= 65535 ? 2 : 8;
    out.ensure(6 + ext + n);
    const p0 = out.length + 6 + ext;
    out.bytes.set(data, p0);
    this.#header(out, op, fin, n, 2 + ext);
    this.#mask(out, p0, n);
  }

  /** Writes the header (without the key) of `hl` bytes at `out.length`, then the key. */
  #header(
    out: WriteBuf,
    op: number,
    fin: boolean,
    n: number,
    hl: number,
  ): void {
    const b = out.bytes;
    let i = out.length;
    b[i++] = (fin ? 0x80 : 0) | op;
    if (hl === 2) {
      b[i++] = 0x80 | n;
    } else if (hl === 4) {
      b[i++] = 0x80 | 126;
      b[i++] = n >>> 8;
      b[i++] = n & 0xff;
    } else {
      b[i++] = 0x80 | 127;
      const hi = Math.floor(n / 0x100000000);
      b[i++] = hi >>> 24;
      b[i++] = (hi >>> 16) & 0xff;
      b[i++] = (hi >>> 8) & 0xff;
      b[i++] = hi & 0xff;
      b[i++] = n >>> 24;
      b[i++] = (n >>> 16) & 0xff;
      b[i++] = (n >>> 8) & 0xff;
      b[i++] = n & 0xff;
    }
    if (keyPos === KEY_BATCH) {
      crypto.getRandomValues(KEYS);
      keyPos = 0;
    }
    const kp = keyPos;
    b[i++] = KEYS[kp];
    b[i++] = KEYS[kp + 1];
    b[i++] = KEYS[kp + 2];
    b[i++] = KEYS[kp + 3];
    keyPos = kp + 4;
  }

  /** XORs `n` bytes at `p0` with the 4-byte key right before them; advances `out.length`. */
  #mask(out: WriteBuf, p0: number, n: number): void {
    const b = out.bytes;
    const k0 = b[p0 - 4], k1 = b[p0 - 3], k2 = b[p0 - 2], k3 = b[p0 - 1];
    const end = p0 + n;
    out.length = end;
    if (k0 === 0 && k1 === 0 && k2 === 0 && k3 === 0) return;
    let i = p0;
    if (n >= 32 && LITTLE_ENDIAN) {
      // bytes until a 4-byte boundary, then whole words with the rotated key
      while ((i & 3) !== 0) {
        b[i] ^= (i - p0) % 4 === 0
          ? k0
          : (i - p0) % 4 === 1
          ? k1
          : (i - p0) % 4 === 2
          ? k2
          : k3;
        i++;
      }
      const r = (i - p0) & 3;
      const kb = [k0, k1, k2, k3];
      const key = (kb[r] | (kb[(r + 1) & 3] << 8) | (kb[(r + 2) & 3] << 16) |
        (kb[(r + 3) & 3] << 24)) | 0;
      const w = out.words;
      const wEnd = (end & ~3) >>> 2;
      for (let j = i >>> 2; j < wEnd; j++) w[j] ^= key;
      i = wEnd << 2;
    }
    for (; i < end; i++) {
      const m = (i - p0) & 3;
      b[i] ^= m === 0 ? k0 : m === 1 ? k1 : m === 2 ? k2 : k3;
    }
  }
}
