/**
 * `Deflater`: a synchronous raw DEFLATE encoder (RFC 1951) for messages,
 * greedy LZ77 over a hash table, with context takeover across messages.
 *
 * @module
 */

import {
  BLOCK_SYMBOLS,
  BlockWriter,
  type ByteSink,
  DIST_CODE,
  LENGTH_CODE,
  MATCH,
} from "./block_writer.ts";
import { MAX_MATCH } from "./constants.ts";

/**
 * Options for {@link Deflater}.
 *
 * @example
 * ```ts
 * import { Deflater } from "@x/nexus-ws/codec";
 * const deflater = new Deflater({ windowBits: 10 });
 * console.assert(deflater.windowBits === 10);
 * ```
 */
export interface DeflaterOptions {
  /**
   * Base-2 logarithm of the window (8-15, default 15): no match reaches
   * further back than `2 ** windowBits` bytes. For permessage-deflate this
   * is the negotiated `client_max_window_bits`.
   */
  windowBits?: number;
  /**
   * Base-2 logarithm of the match-finder's hash table size (8-16, default
   * 13: 8192 entries, 32 KiB). Larger finds more matches in large messages.
   */
  hashBits?: number;
}

/** Output ends with a sync flush minus its 00 00 ff ff (RFC 7692 §7.2.1). */
const SYNC = 0;
/** Output ends with a final block: a complete raw DEFLATE stream. */
const FINISH = 1;

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);
/** Matches this long or shorter have all their positions hashed. */
const INSERT_MAX = 32;

/** Hash of the 4 bytes at `p`, `32 - shift` bits wide. */
function hash(win: Uint8Array, p: number, shift: number): number {
  return Math.imul(
    win[p] | (win[p + 1] << 8) | (win[p + 2] << 16) | (win[p + 3] << 24),
    0x9e3779b1,
  ) >>> shift;
}

/**
 * Compresses messages into raw DEFLATE, synchronously, appending to a
 * caller's growable buffer ({@link ByteSink}, e.g. a `WriteBuf`), so a frame
 * writer can put the header in front and mask in place.
 *
 * {@link Deflater.compress} ends each message the permessage-deflate way: a
 * sync flush without its trailing 00 00 ff ff (RFC 7692 §7.2.1). The
 * history is kept from message to message (context takeover) until
 * {@link Deflater.reset}, which a `client_no_context_takeover` connection
 * calls before every message. Matching is greedy (first candidate of a
 * 4-byte hash), blocks are stored, fixed or dynamic Huffman, whichever is
 * smallest: built for latency on small messages, with a fair ratio on large
 * ones.
 *
 * Memory, allocated on the first message: the window buffer (1.5 × the
 * window, at least 8 KiB: 48 KiB for 15 bits), the hash table (32 KiB by
 * default) and a 16 KiB symbol buffer with about 2.4 KiB of Huffman
 * tables: about 100 KiB for 15 bits, 60 KiB for 12.
 *
 * @example
 * ```ts
 * import { Deflater, Inflater, WriteBuf } from "@x/nexus-ws/codec";
 * const out = new WriteBuf();
 * const deflater = new Deflater();
 * deflater.compress(new TextEncoder().encode("Hello"), out);
 * console.assert(out.length === 7); // f2 48 cd c9 c9 07 00 (RFC 7692 §7.2.3.1)
 * const inflater = new Inflater();
 * inflater.push(out.view());
 * inflater.push(new Uint8Array([0x00, 0x00, 0xff, 0xff]));
 * console.assert(new TextDecoder().decode(inflater.output()) === "Hello");
 * ```
 */
export class Deflater {
  /** Base-2 logarithm of the window. */
  readonly windowBits: number;

  #window: number;
  #hashBits: number;
  #win: Uint8Array = new Uint8Array(0); // history, then the input being compressed
  #head: Int32Array = new Int32Array(0); // hash → absolute position, -1 none
  #blocks: BlockWriter | null = null;
  #base = 0; // absolute position of #win[0]
  #floor = 0; // absolute position before which history is forgotten
  #pos = 0; // next position of #win to compress
  #fill = 0; // end of the input in #win
  #blockStart = 0; // first position of the block being collected

  /** Creates a deflater; throws `RangeError` on a bad option value. */
  constructor(options: DeflaterOptions = {}) {
    const bits = options.windowBits ?? 15;
    if (!Number.isInteger(bits) || bits < 8 || bits > 15) {
      throw new RangeError(
        `Expected windowBits to be an integer from 8 to 15, got ${bits}`,
      );
    }
    const hashBits = options.hashBits ?? 13;
    if (!Number.isInteger(hashBits) || hashBits < 8 || hashBits > 16) {
      throw new RangeError(
        `Expected hashBits to be an integer from 8 to 16, got ${hashBits}`,
      );
    }
    this.windowBits = bits;
    this.#window = 1 << bits;
    this.#hashBits = hashBits;
  }

  /** Bytes of memory this deflater holds (0 before the first message). */
  get memory(): number {
    return this.#win.byteLength + this.#head.byteLength +
      (this.#blocks?.memory ?? 0);
  }

  /** Forgets the history: the next message is compressed on its own. */
  reset(): void {
    this.#base += this.#fill;
    this.#floor = this.#base;
    this.#pos = 0;
    this.#fill = 0;
    this.#blockStart = 0;
    this.#blocks?.reset();
  }

  /**
   * Compresses `data[from, to)` as one message and appends it to `sink`,
   * ending with a sync flush without its 00 00 ff ff (RFC 7692 §7.2.1).
   * Returns the number of bytes appended (1 for an empty message).
   */
  compress(
    data: Uint8Array,
    sink: ByteSink,
    from = 0,
    to: number = data.length,
  ): number {
    this.#data = data;
    this.#from = from;
    this.#to = to;
    return this.#message(sink, SYNC);
  }

  /**
   * Compresses the UTF-8 encoding of `text` as one message, encoding it
   * straight into the window (no intermediate array). Same output as
   * {@link Deflater.compress} of `new TextEncoder().encode(text)`.
   */
  compressText(text: string, sink: ByteSink): number {
    this.#text = text;
    return this.#message(sink, SYNC);
  }

  /**
   * Compresses `data` as a complete raw DEFLATE stream (ending with a final
   * block) and appends it to `sink`; then starts a new stream. For formats
   * that wrap raw DEFLATE (gzip, zlib) and for tests.
   */
  compressFinal(data: Uint8Array, sink: ByteSink): number {
    this.reset();
    this.#data = data;
    this.#from = 0;
    this.#to = data.length;
    const n = this.#message(sink, FINISH);
    this.reset();
    return n;
  }

  // the message being compressed: bytes, or text when #text is not null
  #data: Uint8Array = EMPTY;
  #from = 0;
  #to = 0;
  #text: string | null = null;

  /**
   * Moves input into the window at `#fill`; returns whether all of it is
   * in. Text needs 4 bytes of room to be sure a character fits.
   */
  #feed(): boolean {
    const win = this.#win, at = this.#fill;
    const room = win.length - at;
    const text = this.#text;
    if (text === null) {
      const n = Math.min(room, this.#to - this.#from);
      win.set(this.#data.subarray(this.#from, this.#from + n), at);
      this.#from += n;
      this.#fill += n;
      return this.#from === this.#to;
    }
    if (room >= 4) {
      const r = encoder.encodeInto(text, win.subarray(at));
      this.#fill += r.written;
      this.#text = r.read === text.length ? "" : text.substring(r.read);
    }
    return this.#text === "";
  }

  #message(sink: ByteSink, end: number): number {
    const start = sink.length;
    const blocks = this.#blocks ??= this.#allocate();
    this.#blockStart = this.#pos;
    for (let done = false; !done;) {
      if (this.#win.length - this.#fill < 4) this.#slide(sink);
      done = this.#feed();
      // keep a longest match of lookahead while more input may come
      this.#compress(sink, done ? this.#fill : this.#fill - MAX_MATCH);
    }
    this.#text = null;
    this.#data = EMPTY;
    if (blocks.count > 0 || this.#pos > this.#blockStart || end === FINISH) {
      this.#writeBlock(sink, end === FINISH);
    }
    if (end === SYNC) blocks.syncFlush(sink);
    else blocks.align(sink);
    return sink.length - start;
  }

  #allocate(): BlockWriter {
    this.#win = new Uint8Array(
      Math.max(this.#window + (this.#window >> 1), 8192),
    );
    this.#head = new Int32Array(1 << this.#hashBits).fill(-1);
    return new BlockWriter();
  }

  /** Writes the collected block, covering input [#blockStart, #pos). */
  #writeBlock(sink: ByteSink, final: boolean): void {
    this.#blocks!.writeBlock(
      sink,
      this.#win,
      this.#blockStart,
      this.#pos,
      final,
    );
    this.#blockStart = this.#pos;
  }

  /**
   * Ends the current block and moves the last window's worth of history
   * (and the input not compressed yet) to the front of the buffer.
   */
  #slide(sink: ByteSink): void {
    if (this.#pos > this.#blockStart) this.#writeBlock(sink, false);
    const keep = Math.max(0, this.#pos - this.#window);
    this.#win.copyWithin(0, keep, this.#fill);
    this.#base += keep;
    this.#pos -= keep;
    this.#fill -= keep;
    this.#blockStart = this.#pos;
    if (this.#base > 0x3fffffff) this.#rebase();
  }

  /** Keeps absolute positions small: shifts them all down. */
  #rebase(): void {
    const shift = this.#base;
    const head = this.#head;
    for (let i = 0; i < head.length; i++) {
      head[i] = head[i] >= shift ? head[i] - shift : -1;
    }
    this.#floor = Math.max(0, this.#floor - shift);
    this.#base = 0;
  }

  /**
   * The hot loop: greedy LZ77 from `#pos` to `stop`, into the block
   * writer's symbol buffer, writing a block whenever the buffer is full.
   */
  #compress(sink: ByteSink, stop: number): void {
    const win = this.#win, head = this.#head;
    const shift = 32 - this.#hashBits;
    const window = this.#window;
    const fill = this.#fill;
    const blocks = this.#blocks!;
    const syms = blocks.symbols, litFreq = blocks.litFreq;
    const distFreq = blocks.distFreq;
    let n = blocks.count;
    let p = this.#pos;
    const base = this.#base;
    const lo = Math.max(this.#floor, base); // oldest valid absolute position
    while (p < stop) {
      if (n === BLOCK_SYMBOLS) {
        blocks.count = n;
        this.#pos = p;
        this.#writeBlock(sink, false);
        n = 0;
      }
      if (p + 4 <= fill) {
        const h = hash(win, p, shift);
        const cand = head[h];
        head[h] = base + p;
        const dist = base + p - cand;
        const c = cand - base;
        if (
          cand >= lo && dist <= window && win[c] === win[p] &&
          win[c + 1] === win[p + 1] && win[c + 2] === win[p + 2] &&
          win[c + 3] === win[p + 3]
        ) {
          const max = Math.min(MAX_MATCH, fill - p);
          let len = 4;
          while (len < max && win[c + len] === win[p + len]) len++;
          syms[n++] = MATCH | ((len - 3) << 16) | (dist - 1);
          litFreq[LENGTH_CODE[len - 3]]++;
          const d = dist - 1;
          distFreq[d < 256 ? DIST_CODE[d] : DIST_CODE[256 + (d >> 7)]]++;
          if (len <= INSERT_MAX) {
            const last = Math.min(p + len, fill - 3);
            for (let q = p + 1; q < last; q++) {
              head[hash(win, q, shift)] = base + q;
            }
          }
          p += len;
          continue;
        }
      }
      const b = win[p++];
      syms[n++] = b;
      litFreq[b]++;
    }
    blocks.count = n;
    this.#pos = Math.max(p, this.#pos);
  }
}
