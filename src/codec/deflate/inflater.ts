/**
 * `Inflater`: a streaming, synchronous raw DEFLATE decoder (RFC 1951) that
 * writes into an output buffer it owns and reuses.
 *
 * @module
 */

import { CLEN_ORDER, END_OF_BLOCK } from "./constants.ts";
import { InflateError, InflateLimitError } from "./errors.ts";
import {
  CLEN_ROOT,
  CLEN_SYMBOLS,
  DecodeTable,
  DIST_ROOT,
  DIST_SYMBOLS,
  FIXED_DIST,
  FIXED_LIT,
  K_BAD,
  K_EOB,
  K_LINK,
  K_LIT,
  K_MASK,
  LIT_ROOT,
  LIT_SYMBOLS,
} from "./huffman_decode.ts";

/**
 * Options for {@link Inflater}.
 *
 * @example
 * ```ts
 * import { Inflater } from "@x/nexus-ws/codec";
 * const inflater = new Inflater({ windowBits: 12, maxOutputSize: 1 << 20 });
 * console.assert(inflater.windowBits === 12);
 * ```
 */
export interface InflaterOptions {
  /**
   * Base-2 logarithm of the window (8-15, default 15): a distance beyond
   * `2 ** windowBits` fails as corrupt data. For permessage-deflate this is
   * the negotiated `server_max_window_bits`.
   */
  windowBits?: number;
  /**
   * Most bytes one message may decompress to (default 16 MiB), counted
   * from the last {@link Inflater.beginMessage} or {@link Inflater.reset}
   * and checked before each byte is written: over it,
   * {@link InflateLimitError}.
   */
  maxOutputSize?: number;
  /**
   * Bytes of output buffer to start with and to shrink back to after a
   * large message (default: 1.5 × the window, at least 1 KiB; minimum
   * 1 KiB). With context takeover the buffer also holds the window, which
   * moves to the front whenever the buffer fills: a 1.5-window buffer
   * copies about two bytes per byte of output there, a 2-window one one
   * byte (measured on a tick feed, the difference is within noise). It
   * settles at no less than about 1.25 × the window. Without context
   * takeover ({@link Inflater.reset} per message) it only needs to hold one
   * message.
   */
  bufferSize?: number;
}

const HEADER = 0; // at a block boundary
const STORED = 1; // inside a stored block
const CODES = 2; // inside a Huffman-coded block
const DONE = 3; // after the final block

/**
 * Longest span of input the decoder may have to re-read after running out
 * of input: a dynamic block header (at most 3 + 14 + 19 × 3 + 316 × 7 bits,
 * 290 bytes) is decoded as a unit. The carry buffer is sized from it.
 */
const MAX_UNIT = 320;
/** Bytes of a new chunk joined to a carried tail before decoding on. */
const JOIN = 512;

const EMPTY = new Uint8Array(0);

/** Copies a few bytes without making a view (the common case is 1-5). */
function copy(
  src: Uint8Array,
  from: number,
  n: number,
  dst: Uint8Array,
  at: number,
): void {
  if (n > 32) {
    dst.set(src.subarray(from, from + n), at);
    return;
  }
  for (let i = 0; i < n; i++) dst[at + i] = src[from + i];
}

/** The tables of dynamic blocks, reused from block to block. */
class DynamicTables {
  lit = new DecodeTable(LIT_ROOT);
  dist = new DecodeTable(DIST_ROOT);
  clen = new DecodeTable(CLEN_ROOT);
  lens = new Uint8Array(320);

  get memory(): number {
    return this.lit.table.byteLength + this.dist.table.byteLength +
      this.clen.table.byteLength + this.lens.byteLength;
  }
}

/** Builds a dynamic block's table, failing on an invalid code. */
function build(
  t: DecodeTable,
  lens: Uint8Array,
  from: number,
  n: number,
  symbols: Int32Array,
  root: number,
  what: string,
): void {
  const why = t.build(lens, from, n, symbols, root, root !== CLEN_ROOT);
  if (why !== null) badData(`an ${why} ${what} code`);
}

/** Copies `len` bytes from `d` back to `op` (overlapping when d < len). */
function copyMatch(
  out: Uint8Array,
  op: number,
  d: number,
  len: number,
): number {
  let from = op - d;
  if (d >= len && len > 32) {
    out.copyWithin(op, from, from + len);
    return op + len;
  }
  const stop = op + len;
  while (op < stop) out[op++] = out[from++];
  return op;
}

function badData(message: string): never {
  throw new InflateError(`Expected valid DEFLATE data, got ${message}`);
}

/** Bits of one input span, LSB first, for the block headers (not hot). */
class BitReader {
  src: Uint8Array = new Uint8Array(0);
  ip = 0;
  end = 0;
  bb = 0;
  bc = 0;

  /** Loads bytes until `n` bits are held; false when the input ends first. */
  need(n: number): boolean {
    while (this.bc < n) {
      if (this.ip >= this.end) return false;
      if (this.bc > 23) {
        // 32 bits at once do not fit in a small integer: take them in two
        return this.bc + 8 * (this.end - this.ip) >= n;
      }
      this.bb |= this.src[this.ip++] << this.bc;
      this.bc += 8;
    }
    return true;
  }

  /** Takes `n` bits (`n` <= 16), loading what is missing (known to be there). */
  take(n: number): number {
    if (this.bc < n) this.need(n);
    const v = this.bb & ((1 << n) - 1);
    this.bb >>= n;
    this.bc -= n;
    return v;
  }
}

/**
 * A raw DEFLATE (RFC 1951) decoder, synchronous and streaming: compressed
 * bytes can be pushed in pieces split anywhere (frame by frame), and every
 * piece is decoded as far as it goes before {@link Inflater.push} returns.
 *
 * The output lands in one buffer the inflater owns, which is also the LZ77
 * window: the current message is `buffer[start, end)`, contiguous, valid
 * until the next call that decodes. With context takeover (the default)
 * the history is kept across messages ({@link Inflater.beginMessage}); with
 * {@link Inflater.reset} every message starts from an empty window.
 *
 * Memory: the buffer (`bufferSize`, 1.5 × the window by default: 48 KiB
 * for 15 bits, 1 KiB for 8 or 9), Huffman tables for dynamic blocks (about
 * 7.5 KiB, allocated on the first one), and an 832-byte carry. The buffer grows only for a message larger than it, up to the
 * window plus `maxOutputSize`, and shrinks back at the next small message.
 * Output is bounded while decoding: a bomb fails with
 * {@link InflateLimitError} before the bytes over the bound are allocated.
 * Corrupt data fails with {@link InflateError}.
 *
 * @example
 * ```ts
 * import { Inflater } from "@x/nexus-ws/codec";
 * // "Hello" as a fixed-Huffman block, then the same with context takeover
 * // (RFC 7692 §7.2.3.2), each followed by the 00 00 ff ff sync-flush tail
 * const inflater = new Inflater();
 * const tail = new Uint8Array([0x00, 0x00, 0xff, 0xff]);
 * inflater.push(new Uint8Array([0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]));
 * inflater.push(tail);
 * console.assert(new TextDecoder().decode(inflater.output()) === "Hello");
 * inflater.beginMessage();
 * inflater.push(new Uint8Array([0xf2, 0x00, 0x11, 0x00, 0x00]));
 * inflater.push(tail);
 * console.assert(new TextDecoder().decode(inflater.output()) === "Hello");
 * ```
 */
export class Inflater {
  /** Base-2 logarithm of the window. */
  readonly windowBits: number;
  /** The bound on one message's output, in bytes. */
  readonly maxOutputSize: number;

  #window: number;
  #baseSize: number;
  #out: Uint8Array;
  #pos = 0; // end of output
  #start = 0; // start of the current message's output
  #limitFrom = 0; // where the maxOutputSize count starts
  #floor = 0; // start of the history the current stream may reference
  #moved = 0; // bytes moved off the front of the buffer since the reset

  #mode = HEADER;
  #final = false;
  #bb = 0; // bit buffer, LSB first, never more than 31 bits
  #bc = 0; // bits in #bb
  #stored = 0; // bytes left in the current stored block
  #lit: DecodeTable = FIXED_LIT;
  #dist: DecodeTable = FIXED_DIST;
  #tables: DynamicTables | null = null; // allocated on the first dynamic block
  #lens: Uint8Array | null = null;

  #bits = new BitReader();
  #carry = new Uint8Array(MAX_UNIT + JOIN);
  #carryLen = 0;
  #grew = false; // the careful loop made room and stopped
  #leftover: Uint8Array = EMPTY;

  /** Creates an inflater; throws `RangeError` on a bad option value. */
  constructor(options: InflaterOptions = {}) {
    const bits = options.windowBits ?? 15;
    if (!Number.isInteger(bits) || bits < 8 || bits > 15) {
      throw new RangeError(
        `Expected windowBits to be an integer from 8 to 15, got ${bits}`,
      );
    }
    const max = options.maxOutputSize ?? 16 * 1024 * 1024;
    if (!Number.isSafeInteger(max) || max < 0) {
      throw new RangeError(
        `Expected maxOutputSize to be a non-negative integer, got ${max}`,
      );
    }
    this.windowBits = bits;
    this.maxOutputSize = max;
    this.#window = 1 << bits;
    const size = options.bufferSize ??
      Math.max(this.#window + (this.#window >> 1), 1024);
    if (!Number.isSafeInteger(size) || size < 1024) {
      throw new RangeError(
        `Expected bufferSize to be an integer of at least 1024, got ${size}`,
      );
    }
    this.#baseSize = size;
    this.#out = new Uint8Array(size);
  }

  /** The output buffer: the current message is `buffer[start, end)`. */
  get buffer(): Uint8Array {
    return this.#out;
  }

  /** Start of the current message's output in {@link Inflater.buffer}. */
  get start(): number {
    return this.#start;
  }

  /** End of the output in {@link Inflater.buffer}. */
  get end(): number {
    return this.#pos;
  }

  /** A view of the current message's output (borrowed, valid until the next push). */
  output(): Uint8Array {
    return this.#out.subarray(this.#start, this.#pos);
  }

  /** Whether the final block (BFINAL) has been decoded. */
  get ended(): boolean {
    return this.#mode === DONE;
  }

  /**
   * Whether the decoder stopped between blocks with no input held back: a
   * complete stream so far. A message that ends elsewhere is truncated.
   */
  get atBlockBoundary(): boolean {
    return (this.#mode === HEADER || this.#mode === DONE) &&
      this.#carryLen === 0;
  }

  /**
   * Bytes that followed the final block inside input an earlier
   * {@link Inflater.push} had held back (usually empty); together with the
   * unconsumed rest of the last push they are what came after the stream.
   */
  get leftover(): Uint8Array {
    return this.#leftover;
  }

  /** Bytes of memory this inflater holds (buffers and tables). */
  get memory(): number {
    return this.#out.byteLength + this.#carry.byteLength +
      (this.#tables?.memory ?? 0);
  }

  /**
   * Starts a new message in the same stream: its output begins at
   * {@link Inflater.end} and the history stays (context takeover). After a
   * final block, a new stream begins on the same history. Shrinks the
   * buffer back to `bufferSize` when a large message had grown it.
   */
  beginMessage(): void {
    if (this.#mode === DONE) this.#newStream();
    const settled = Math.max(
      this.#baseSize,
      this.#window + (this.#window >> 1),
    );
    const last = this.#pos - this.#start;
    if (this.#out.length > 4 * settled && last <= settled) {
      this.#shrink(settled);
    }
    this.#start = this.#pos;
    this.#limitFrom = this.#pos;
  }

  /** Starts a new stream with an empty window (no context takeover). */
  reset(): void {
    this.#newStream();
    const last = this.#pos - this.#start;
    if (this.#out.length > 4 * this.#baseSize && last <= this.#baseSize) {
      this.#out = new Uint8Array(this.#baseSize);
    }
    this.#pos = 0;
    this.#start = 0;
    this.#limitFrom = 0;
    this.#floor = 0;
    this.#moved = 0;
  }

  /**
   * After the final block, starts a new DEFLATE stream that continues the
   * output (and its `maxOutputSize` count) but cannot reference what came
   * before it: the next member of a multi-member gzip payload.
   */
  restartStream(): void {
    this.#newStream();
    this.#floor = this.#pos;
  }

  /**
   * Bytes decoded since the last {@link Inflater.reset}: the newest `n` of
   * them are `buffer[end - n, end)` (for a running checksum).
   */
  get total(): number {
    return this.#moved + this.#pos;
  }

  /**
   * Marks the output so far as consumed (for a streaming consumer that
   * copies it out): the next output starts at {@link Inflater.end}, while
   * the `maxOutputSize` count goes on until the next
   * {@link Inflater.beginMessage} or {@link Inflater.reset}.
   */
  discardOutput(): void {
    this.#start = this.#pos;
  }

  /**
   * Decodes `src[from, to)`. Returns how many of those bytes belong to the
   * DEFLATE stream: all of them, unless the final block ended inside them
   * (see {@link Inflater.ended}, {@link Inflater.leftover}); after the final
   * block, 0. Throws {@link InflateError} on corrupt data and
   * {@link InflateLimitError} when the message would exceed
   * `maxOutputSize`; the inflater is then unusable until
   * {@link Inflater.reset}.
   */
  push(src: Uint8Array, from = 0, to: number = src.length): number {
    if (this.#mode === DONE) return 0;
    let ip = from;
    const carried = this.#carryLen;
    if (carried !== 0) {
      // join the held-back tail with the head of this chunk and decode that
      const take = Math.min(to - from, JOIN);
      const scratch = this.#carry;
      copy(src, from, take, scratch, carried);
      const total = carried + take;
      this.#carryLen = 0;
      const stop = this.#run(scratch, 0, total);
      if (this.#mode === DONE && stop < carried) {
        this.#leftover = scratch.slice(stop, carried);
        return 0;
      }
      if (stop < carried) {
        // not one unit completed: the whole chunk fit in the join and waits
        scratch.copyWithin(0, stop, total);
        this.#carryLen = total - stop;
        return to - from;
      }
      ip = from + (stop - carried);
      if (this.#mode === DONE) return ip - from;
    }
    const stop = this.#run(src, ip, to);
    if (this.#mode === DONE) return stop - from;
    if (stop < to) {
      copy(src, stop, to - stop, this.#carry, 0);
      this.#carryLen = to - stop;
    }
    return to - from;
  }

  #newStream(): void {
    this.#mode = HEADER;
    this.#final = false;
    this.#bb = 0;
    this.#bc = 0;
    this.#carryLen = 0;
    this.#leftover = EMPTY;
  }

  /**
   * Decodes from `src[ip, end)` until the input runs out or the stream
   * ends. Returns the index up to which input is consumed; the bytes after
   * it start an incomplete unit and must be presented again.
   */
  #run(src: Uint8Array, ip: number, end: number): number {
    for (;;) {
      const mode = this.#mode;
      if (mode === CODES) {
        ip = this.#codes(src, ip, end);
        if (this.#mode === CODES) return ip;
      } else if (mode === HEADER) {
        const next = this.#header(src, ip, end);
        if (next < 0) return ip;
        ip = next;
      } else if (mode === STORED) {
        ip = this.#copyStored(src, ip, end);
        if (this.#stored !== 0) return ip;
        this.#endBlock();
      } else {
        // DONE: give back the whole bytes the bit buffer read ahead
        ip -= this.#bc >>> 3;
        this.#bb = 0;
        this.#bc = 0;
        return ip;
      }
    }
  }

  #endBlock(): void {
    this.#mode = this.#final ? DONE : HEADER;
  }

  /**
   * Reads a block header (and for a dynamic block, its code lengths and
   * tables) as one unit. Returns the new input index, or -1 with the bit
   * state untouched when the input ends inside the header.
   */
  #header(src: Uint8Array, ip: number, end: number): number {
    const r = this.#bits;
    r.src = src;
    r.ip = ip;
    r.end = end;
    r.bb = this.#bb;
    r.bc = this.#bc;
    if (!r.need(3)) return -1;
    const final = r.take(1) === 1;
    const type = r.take(2);
    if (type === 0) {
      r.take(r.bc & 7); // stored: skip to a byte boundary, then LEN and NLEN
      if (!r.need(32)) return -1;
      const len = r.take(16);
      const nlen = r.take(16);
      if ((len ^ 0xffff) !== nlen) {
        badData(
          `a stored block length ${len} with a mismatched complement ${nlen}`,
        );
      }
      this.#stored = len;
      this.#mode = STORED;
    } else if (type === 1) {
      this.#lit = FIXED_LIT;
      this.#dist = FIXED_DIST;
      this.#mode = CODES;
    } else if (type === 2) {
      if (!this.#dynamic(r)) return -1;
      this.#mode = CODES;
    } else {
      badData("reserved block type 3");
    }
    this.#final = final;
    this.#bb = r.bb;
    this.#bc = r.bc;
    return r.ip;
  }

  /** Reads a dynamic block's code lengths and builds its tables. */
  #dynamic(r: BitReader): boolean {
    if (!r.need(14)) return false;
    const nlit = r.take(5) + 257;
    const ndist = r.take(5) + 1;
    const nclen = r.take(4) + 4;
    if (nlit > 286 || ndist > 30) {
      badData(
        `a dynamic block with ${nlit} length and ${ndist} distance codes`,
      );
    }
    const t = this.#tables ??= new DynamicTables();
    const lens = t.lens;
    lens.fill(0, 0, 19);
    for (let i = 0; i < nclen; i++) {
      if (!r.need(3)) return false;
      lens[CLEN_ORDER[i]] = r.take(3);
    }
    build(t.clen, lens, 0, 19, CLEN_SYMBOLS, CLEN_ROOT, "code length");
    const clen = t.clen.table, mask = (1 << t.clen.bits) - 1;
    // the code lengths of both alphabets, run-length coded
    const total = nlit + ndist;
    let n = 0;
    while (n < total) {
      r.need(14); // a code (<= 7 bits) and its extra bits (<= 7), if there
      const e = clen[r.bb & mask];
      const len = e & 15;
      if (len > r.bc) return false;
      if ((e & K_MASK) === K_BAD) badData("an invalid code length code");
      const sym = e >> 16;
      if (sym < 16) {
        r.take(len);
        lens[n++] = sym;
        continue;
      }
      const extra = sym === 16 ? 2 : sym === 17 ? 3 : 7;
      if (len + extra > r.bc) return false;
      r.take(len);
      const repeat = (sym === 18 ? 11 : 3) + r.take(extra);
      if (sym === 16 && n === 0) {
        badData("a repeated code length with no previous length");
      }
      if (n + repeat > total) {
        badData("code length repeats past the number of codes");
      }
      lens.fill(sym === 16 ? lens[n - 1] : 0, n, n + repeat);
      n += repeat;
    }
    if (lens[END_OF_BLOCK] === 0) {
      badData("a dynamic block without an end-of-block code");
    }
    build(t.lit, lens, 0, nlit, LIT_SYMBOLS, LIT_ROOT, "literal/length");
    build(t.dist, lens, nlit, ndist, DIST_SYMBOLS, DIST_ROOT, "distance");
    this.#lit = t.lit;
    this.#dist = t.dist;
    return true;
  }

  #copyStored(src: Uint8Array, ip: number, end: number): number {
    // whole bytes still in the bit buffer come first
    while (this.#stored !== 0 && this.#bc >= 8) {
      this.#room(1);
      this.#out[this.#pos++] = this.#bb & 0xff;
      this.#bb >>= 8;
      this.#bc -= 8;
      this.#stored--;
    }
    const n = Math.min(this.#stored, end - ip);
    if (n > 0) {
      this.#room(n);
      this.#out.set(src.subarray(ip, ip + n), this.#pos);
      this.#pos += n;
      this.#stored -= n;
    }
    return ip + n;
  }

  /**
   * Decodes symbols of a Huffman-coded block until the input runs out or
   * the block ends: the fast loop while it can, the careful one near the
   * ends. Returns the index up to which input is consumed.
   */
  #codes(src: Uint8Array, ip: number, end: number): number {
    for (;;) {
      if (end - ip >= 16) {
        ip = this.#fast(src, ip, end - 8);
        if (this.#mode !== CODES) return ip;
      }
      ip = this.#careful(src, ip, end);
      if (!this.#grew) return ip;
      this.#grew = false;
    }
  }

  /**
   * Decodes symbols near the end of the input or of the output room. Each
   * symbol (a literal, or a length and distance) is decoded whole or not at
   * all: when the input ends inside one, the bit state goes back to its
   * start and the loop returns the index of its first unread byte. Returns
   * early, with `#grew` set, after making room for output.
   */
  #careful(src: Uint8Array, ip: number, end: number): number {
    const lit = this.#lit.table, dist = this.#dist.table;
    const litBits = this.#lit.bits, distBits = this.#dist.bits;
    const litMask = (1 << litBits) - 1, distMask = (1 << distBits) - 1;
    const window = this.#window, floor = this.#floor;
    let out = this.#out;
    let op = this.#pos;
    let limit = this.#limit(out);
    let bb = this.#bb, bc = this.#bc;
    let sip = ip, sbb = bb, sbc = bc; // state at the start of the symbol
    for (;;) {
      sip = ip;
      sbb = bb;
      sbc = bc;
      while (bc <= 23 && ip < end) {
        bb |= src[ip++] << bc;
        bc += 8;
      }
      let e = lit[bb & litMask];
      if ((e & K_MASK) === K_LINK) {
        e = lit[(e >> 16) + ((bb >> litBits) & ((1 << ((e >> 4) & 15)) - 1))];
      }
      let n = e & 15;
      if (n > bc) break;
      const kind = e & K_MASK;
      if (kind === K_LIT) {
        bb >>= n;
        bc -= n;
        if (op >= limit) {
          this.#pos = op;
          this.#room(1);
          out = this.#out;
          op = this.#pos;
          limit = this.#limit(out);
          this.#grew = true;
        }
        out[op++] = e >> 16;
        if (this.#grew) {
          sip = ip;
          sbb = bb;
          sbc = bc;
          break;
        }
        continue;
      }
      if (kind !== 0x100) {
        if (kind === K_EOB) {
          bb >>= n;
          bc -= n;
          this.#endBlock();
          sip = ip;
          sbb = bb;
          sbc = bc;
          break;
        }
        badData("an invalid literal/length code");
      }
      // a length, then a distance
      let extra = (e >> 4) & 15;
      if (n + extra > bc) break;
      bb >>= n;
      bc -= n;
      const len = (e >> 16) + (bb & ((1 << extra) - 1));
      bb >>= extra;
      bc -= extra;
      while (bc <= 23 && ip < end) {
        bb |= src[ip++] << bc;
        bc += 8;
      }
      e = dist[bb & distMask];
      if ((e & K_MASK) === K_LINK) {
        e = dist[
          (e >> 16) + ((bb >> distBits) & ((1 << ((e >> 4) & 15)) - 1))
        ];
      }
      n = e & 15;
      if (n > bc) break;
      if ((e & K_MASK) === K_BAD) badData("an invalid distance code");
      bb >>= n;
      bc -= n;
      extra = (e >> 4) & 15;
      if (extra > bc) {
        while (bc <= 23 && ip < end) {
          bb |= src[ip++] << bc;
          bc += 8;
        }
        if (extra > bc) break;
      }
      const d = (e >> 16) + (bb & ((1 << extra) - 1));
      bb >>= extra;
      bc -= extra;
      if (d > op - floor || d > window) this.#farDistance(d, op);
      if (op + len > limit) {
        this.#pos = op;
        this.#room(len);
        out = this.#out;
        op = this.#pos;
        limit = this.#limit(out);
        this.#grew = true;
      }
      op = copyMatch(out, op, d, len);
      if (this.#grew) {
        sip = ip;
        sbb = bb;
        sbc = bc;
        break;
      }
    }
    this.#pos = op;
    this.#bb = sbb;
    this.#bc = sbc;
    return sip;
  }

  /**
   * The hot loop while at least 8 input bytes and a longest match of room
   * are left: no symbol can run out of input, so there is no rollback.
   * Stops at `stop` (8 bytes before the end), at the room bound, or at the
   * end of the block.
   */
  #fast(src: Uint8Array, ip: number, stop: number): number {
    const lit = this.#lit.table, dist = this.#dist.table;
    const litBits = this.#lit.bits, distBits = this.#dist.bits;
    const litMask = (1 << litBits) - 1, distMask = (1 << distBits) - 1;
    const window = this.#window, floor = this.#floor;
    const out = this.#out;
    let op = this.#pos;
    const opStop = this.#limit(out) - 258;
    let bb = this.#bb, bc = this.#bc;
    while (ip < stop && op < opStop) {
      if (bc < 16) {
        bb |= (src[ip] << bc) | (src[ip + 1] << (bc + 8));
        ip += 2;
        bc += 16;
      }
      let e = lit[bb & litMask];
      if ((e & K_MASK) === K_LINK) {
        e = lit[(e >> 16) + ((bb >> litBits) & ((1 << ((e >> 4) & 15)) - 1))];
      }
      let n = e & 15;
      bb >>= n;
      bc -= n;
      const kind = e & K_MASK;
      if (kind === K_LIT) {
        out[op++] = e >> 16;
        continue;
      }
      if (kind !== 0x100) {
        if (kind === K_EOB) {
          this.#endBlock();
          break;
        }
        badData("an invalid literal/length code");
      }
      if (bc < 16) {
        bb |= (src[ip] << bc) | (src[ip + 1] << (bc + 8));
        ip += 2;
        bc += 16;
      }
      let extra = (e >> 4) & 15;
      const len = (e >> 16) + (bb & ((1 << extra) - 1));
      bb >>= extra;
      bc -= extra;
      if (bc < 16) {
        bb |= (src[ip] << bc) | (src[ip + 1] << (bc + 8));
        ip += 2;
        bc += 16;
      }
      e = dist[bb & distMask];
      if ((e & K_MASK) === K_LINK) {
        e = dist[
          (e >> 16) + ((bb >> distBits) & ((1 << ((e >> 4) & 15)) - 1))
        ];
      }
      if ((e & K_MASK) === K_BAD) badData("an invalid distance code");
      n = e & 15;
      bb >>= n;
      bc -= n;
      if (bc < 16) {
        bb |= (src[ip] << bc) | (src[ip + 1] << (bc + 8));
        ip += 2;
        bc += 16;
      }
      extra = (e >> 4) & 15;
      const d = (e >> 16) + (bb & ((1 << extra) - 1));
      bb >>= extra;
      bc -= extra;
      if (d > op - floor || d > window) this.#farDistance(d, op);
      let from = op - d;
      if (len > 32 && d >= len) {
        out.copyWithin(op, from, from + len);
        op += len;
      } else {
        const to = op + len;
        while (op < to) out[op++] = out[from++];
      }
    }
    this.#pos = op;
    this.#bb = bb;
    this.#bc = bc;
    return ip;
  }

  #farDistance(d: number, op: number): never {
    if (d > this.#window) {
      badData(`a distance of ${d} beyond the ${this.#window}-byte window`);
    }
    badData(
      `a distance of ${d} with only ${op - this.#floor} bytes of history`,
    );
  }

  /** Index up to which output can be written without a check. */
  #limit(out: Uint8Array): number {
    return Math.min(out.length, this.#limitFrom + this.maxOutputSize);
  }

  /**
   * Makes room for `n` more output bytes: fails when the message would
   * exceed `maxOutputSize`, else moves the window to the front of the
   * buffer or grows it.
   */
  #room(n: number): void {
    const pos = this.#pos;
    if (pos + n - this.#limitFrom > this.maxOutputSize) {
      throw new InflateLimitError(
        this.maxOutputSize,
        `Expected at most ${this.maxOutputSize} decompressed bytes, got more`,
      );
    }
    if (pos + n <= this.#out.length) return;
    // keep the current message and the window before the write position
    const keep = Math.max(0, Math.min(this.#start, pos - this.#window));
    const kept = pos - keep;
    const out = this.#out;
    // move when that frees at least a quarter of what it copies, else grow
    if (keep > 0 && out.length - kept - n >= kept >>> 2) {
      out.copyWithin(0, keep, pos);
    } else {
      const cap = Math.max(out.length * 2, kept + n);
      const grown = new Uint8Array(
        Math.min(cap, this.#limitFrom + this.maxOutputSize - keep),
      );
      grown.set(out.subarray(keep, pos));
      this.#out = grown;
    }
    this.#shifted(keep);
  }

  /** Accounts for `keep` bytes moved off the front of the buffer. */
  #shifted(keep: number): void {
    this.#pos -= keep;
    this.#start -= keep;
    this.#limitFrom -= keep;
    this.#floor = Math.max(0, this.#floor - keep);
    this.#moved += keep;
  }

  /** Back to `size` bytes, keeping the window's worth of history. */
  #shrink(size: number): void {
    const keep = Math.max(0, this.#pos - this.#window);
    const small = new Uint8Array(size);
    small.set(this.#out.subarray(keep, this.#pos));
    this.#out = small;
    this.#shifted(keep);
  }
}
