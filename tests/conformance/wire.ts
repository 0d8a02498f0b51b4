/**
 * The fuzzing server's own wire codec: frame encoding (with the deliberate
 * breakage a fuzzer needs), an incremental frame parser for masked client
 * frames, masking and a UTF-8 validator.
 *
 * This is test harness code. It shares nothing with `src/`: the client under
 * test must not be judged by its own codec.
 *
 * @module
 */

/** Close codes the cases use (RFC 6455 §7.4.1). */
export const Close = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  UNSUPPORTED_DATA: 1003,
  INVALID_PAYLOAD: 1007,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  MANDATORY_EXTENSION: 1010,
  INTERNAL_ERROR: 1011,
} as const;

/** Close codes a peer may put on the wire, as the reference fuzzer accepts them. */
const ALLOWED_1000_2999 = new Set([
  1000,
  1001,
  1002,
  1003,
  1007,
  1008,
  1009,
  1010,
  1011,
]);

/** Whether a received close code is one the fuzzer treats as a protocol violation. */
export function isInvalidCloseCode(code: number): boolean {
  return code < 1000 || (code <= 2999 && !ALLOWED_1000_2999.has(code)) ||
    code >= 5000;
}

const encoder = new TextEncoder();

/** Bytes of a string: UTF-8 for text, or a "binary string" (`\xNN` escapes) as Latin-1. */
export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

/** Bytes of a Python-2-style byte string: every char code is one octet (0..255). */
export function bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) {
      throw new RangeError(`Expected octets, got U+${c.toString(16)}`);
    }
    out[i] = c;
  }
  return out;
}

/** `pattern` repeated (and cut) to exactly `length` octets. */
export function repeatTo(pattern: Uint8Array, length: number): Uint8Array {
  if (pattern.length === 0) {
    throw new RangeError("Expected a non-empty pattern");
  }
  const out = new Uint8Array(length);
  let filled = Math.min(pattern.length, length);
  out.set(pattern.subarray(0, filled));
  while (filled < length) {
    const n = Math.min(filled, length - filled);
    out.copyWithin(filled, 0, n);
    filled += n;
  }
  return out;
}

/** XORs `data` in place with the 4-octet `key`, starting at key phase `phase`. */
export function unmaskInPlace(
  data: Uint8Array,
  key: Uint8Array,
  phase = 0,
): void {
  const n = data.length;
  let i = 0;
  // Byte-wise until the view is 4-aligned, then 32-bit words.
  while (i < n && ((data.byteOffset + i) & 3) !== 0) {
    data[i] ^= key[(phase + i) & 3];
    i++;
  }
  const words = (n - i) >>> 2;
  if (words > 0) {
    const k0 = key[(phase + i) & 3], k1 = key[(phase + i + 1) & 3];
    const k2 = key[(phase + i + 2) & 3], k3 = key[(phase + i + 3) & 3];
    // Little-endian word of the key phase at i (Deno targets are LE; checked below).
    const kw = LITTLE_ENDIAN
      ? (k0 | (k1 << 8) | (k2 << 16) | (k3 << 24))
      : ((k0 << 24) | (k1 << 16) | (k2 << 8) | k3);
    const w = new Int32Array(data.buffer, data.byteOffset + i, words);
    for (let j = 0; j < words; j++) w[j] ^= kw;
    i += words << 2;
  }
  for (; i < n; i++) data[i] ^= key[(phase + i) & 3];
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** What to put in one frame; fields may be deliberately invalid. */
export interface FrameSpec {
  opcode: number;
  payload?: Uint8Array;
  fin?: boolean;
  rsv?: number;
  /** Mask the frame with this key (servers normally don't). */
  mask?: Uint8Array | null;
  /** Send exactly this many payload octets, repeating `payload` to fill them. */
  payloadLen?: number;
}

/** Length of a frame header for a payload of `len` octets. */
export function headerLength(len: number, masked = false): number {
  return (len <= 125 ? 2 : len <= 0xffff ? 4 : 10) + (masked ? 4 : 0);
}

/** Writes a frame header for `len` payload octets into `out` at `at`; returns the header length. */
export function writeHeader(
  out: Uint8Array,
  at: number,
  opcode: number,
  fin: boolean,
  rsv: number,
  len: number,
  mask: Uint8Array | null = null,
): number {
  out[at] = (fin ? 0x80 : 0) | ((rsv % 8) << 4) | (opcode % 128);
  let i = at + 2;
  const m = mask ? 0x80 : 0;
  if (len <= 125) {
    out[at + 1] = m | len;
  } else if (len <= 0xffff) {
    out[at + 1] = m | 126;
    out[i++] = len >>> 8;
    out[i++] = len & 0xff;
  } else {
    out[at + 1] = m | 127;
    const hi = Math.floor(len / 0x1_0000_0000), lo = len >>> 0;
    out[i++] = hi >>> 24;
    out[i++] = (hi >>> 16) & 0xff;
    out[i++] = (hi >>> 8) & 0xff;
    out[i++] = hi & 0xff;
    out[i++] = lo >>> 24;
    out[i++] = (lo >>> 16) & 0xff;
    out[i++] = (lo >>> 8) & 0xff;
    out[i++] = lo & 0xff;
  }
  if (mask) {
    out.set(mask.subarray(0, 4), i);
    i += 4;
  }
  return i - at;
}

/** Encodes one frame exactly as specified (the payload is copied). */
export function encodeFrame(spec: FrameSpec): Uint8Array {
  const base = spec.payload ?? new Uint8Array(0);
  const payload = spec.payloadLen === undefined
    ? base
    : repeatTo(base, spec.payloadLen);
  const mask = spec.mask ?? null;
  const h = headerLength(payload.length, mask !== null);
  const out = new Uint8Array(h + payload.length);
  writeHeader(
    out,
    0,
    spec.opcode,
    spec.fin ?? true,
    spec.rsv ?? 0,
    payload.length,
    mask,
  );
  out.set(payload, h);
  if (mask && payload.length > 0) unmaskInPlace(out.subarray(h), mask);
  return out;
}

/** One frame read off the wire by {@link FrameParser}. */
export interface ParsedFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  /** The 7-bit length field (0..127), to check minimal encoding. */
  len1: number;
  /** The payload length the header announced. */
  length: number;
  /** Unmasked payload (owned by the caller). */
  payload: Uint8Array;
}

/** Header of the frame being read, available before its payload arrives. */
export interface FrameHeader {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  len1: number;
  length: number;
}

/**
 * Incremental parser of client frames. `push()` bytes; `next()` returns the
 * next header (once), then the complete frame, or `null` for "need more".
 * Payloads are copied once into a buffer of the announced size.
 */
export class FrameParser {
  #chunks: Uint8Array[] = [];
  #avail = 0;
  #header: FrameHeader | null = null;
  #headerReported = false;
  #mask: Uint8Array | null = null;
  #payload: Uint8Array | null = null;
  #filled = 0;

  /** Octets buffered and not yet consumed. */
  get buffered(): number {
    return this.#avail;
  }

  /** Adds received bytes (the parser keeps a reference; don't reuse `chunk`). */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#avail += chunk.length;
  }

  #peek(n: number): Uint8Array {
    if (this.#chunks[0].length >= n) return this.#chunks[0];
    const out = new Uint8Array(n);
    let o = 0;
    for (const c of this.#chunks) {
      const take = Math.min(c.length, n - o);
      out.set(c.subarray(0, take), o);
      o += take;
      if (o === n) break;
    }
    return out;
  }

  #consumeInto(dst: Uint8Array | null, n: number): void {
    let o = 0;
    while (o < n) {
      const c = this.#chunks[0];
      const take = Math.min(c.length, n - o);
      if (dst) dst.set(c.subarray(0, take), this.#filled + o);
      o += take;
      if (take === c.length) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(take);
    }
    this.#avail -= n;
  }

  /**
   * The next event: `{ header }` when a frame header is complete (reported
   * once, before the payload), `{ frame }` when the whole frame is in, or
   * `null` when more bytes are needed.
   */
  next(): { header: FrameHeader } | { frame: ParsedFrame } | null {
    if (this.#header === null) {
      if (this.#avail < 2) return null;
      const b = this.#peek(2);
      const b0 = b[0], b1 = b[1];
      const masked = (b1 & 0x80) !== 0;
      const len1 = b1 & 0x7f;
      const hlen = (len1 < 126 ? 2 : len1 === 126 ? 4 : 10) + (masked ? 4 : 0);
      if (this.#avail < hlen) return null;
      const h = this.#peek(hlen);
      let i = 2;
      let length = len1;
      if (len1 === 126) {
        length = (h[2] << 8) | h[3];
        i = 4;
      } else if (len1 === 127) {
        // Lengths past 2^53 cannot be represented; they are absurd anyway.
        length = 0;
        for (let k = 2; k < 10; k++) length = length * 256 + h[k];
        i = 10;
      }
      this.#mask = masked ? h.slice(i, i + 4) : null;
      this.#consumeInto(null, hlen);
      this.#header = {
        fin: (b0 & 0x80) !== 0,
        rsv: (b0 & 0x70) >> 4,
        opcode: b0 & 0x0f,
        masked,
        len1,
        length,
      };
      this.#headerReported = false;
      this.#payload = null;
      this.#filled = 0;
    }
    const header = this.#header;
    if (!this.#headerReported) {
      this.#headerReported = true;
      return { header };
    }
    if (this.#payload === null) this.#payload = new Uint8Array(header.length);
    const want = header.length - this.#filled;
    const take = Math.min(want, this.#avail);
    if (take > 0) {
      this.#consumeInto(this.#payload, take);
      this.#filled += take;
    }
    if (this.#filled < header.length) return null;
    const payload = this.#payload;
    if (this.#mask && payload.length > 0) unmaskInPlace(payload, this.#mask);
    this.#header = null;
    this.#payload = null;
    return { frame: { ...header, payload } };
  }
}

// UTF-8 validation: Bjoern Hoehrmann's DFA ("Flexible and Economical UTF-8
// Decoder"), the validator Autobahn itself uses, written out here so the
// harness does not depend on the runtime's or the client's decoder.
// deno-fmt-ignore
const UTF8D = new Uint8Array([
  // Byte classes 0..255
  0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
  0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
  0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
  0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
  1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,
  7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,
  8,8,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,
  10,3,3,3,3,3,3,3,3,3,3,3,3,4,3,3,11,6,6,6,5,8,8,8,8,8,8,8,8,8,8,8,
  // Transitions: 256 + state + class; states are multiples of 12
  0,12,24,36,60,96,84,12,12,12,48,72, 12,12,12,12,12,12,12,12,12,12,12,12,
  12,0,12,12,12,12,12,0,12,0,12,12, 12,24,12,12,12,12,12,24,12,24,12,12,
  12,12,12,12,12,12,12,24,12,12,12,12, 12,24,12,12,12,12,12,12,12,24,12,12,
  12,12,12,12,12,12,12,36,12,36,12,12, 12,36,12,12,12,12,12,36,12,36,12,12,
  12,36,12,12,12,12,12,12,12,12,12,12,
]);

const UTF8_ACCEPT = 0;
const UTF8_REJECT = 12;

/** Incremental UTF-8 validator (fail-fast). */
export class Utf8Check {
  #state = UTF8_ACCEPT;

  /** Feeds octets; returns false as soon as the sequence can no longer be valid. */
  feed(data: Uint8Array): boolean {
    let s = this.#state;
    const n = data.length;
    for (let i = 0; i < n; i++) {
      const b = data[i];
      if (s === UTF8_ACCEPT && b < 0x80) continue;
      s = UTF8D[256 + s + UTF8D[b]];
      if (s === UTF8_REJECT) {
        this.#state = s;
        return false;
      }
    }
    this.#state = s;
    return true;
  }

  /** Whether everything fed so far is complete, valid UTF-8. */
  get complete(): boolean {
    return this.#state === UTF8_ACCEPT;
  }
}

/** Whether `data` is complete, valid UTF-8. */
export function isValidUtf8(data: Uint8Array): boolean {
  const v = new Utf8Check();
  return v.feed(data) && v.complete;
}

/** Whether `a` and `b` hold the same octets. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Concatenates byte arrays. */
export function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Hex of the first `max` octets (for reports). */
export function hex(data: Uint8Array, max = 64): string {
  let s = "";
  const n = Math.min(data.length, max);
  for (let i = 0; i < n; i++) s += data[i].toString(16).padStart(2, "0");
  return data.length > max ? `${s}...` : s;
}

/** Printable preview of the first `max` octets, like Autobahn's report log. */
export function preview(data: Uint8Array, max = 64): string {
  let s = "";
  const n = Math.min(data.length, max);
  for (let i = 0; i < n; i++) {
    const c = data[i];
    s += c >= 0x20 && c < 0x7f
      ? String.fromCharCode(c)
      : `\\x${c.toString(16).padStart(2, "0")}`;
  }
  return data.length > max ? `${s} ... (${data.length} octets)` : s;
}
