/**
 * Property-based fuzzing of the sans-IO codec with fast-check.
 *
 * CI runs every property with a fixed seed and a small number of runs. A
 * larger run is opt-in:
 *
 * ```sh
 * FUZZ_RUNS=200000 deno test --allow-env tests/codec/fuzz_test.ts
 * FUZZ_SEED=123 FUZZ_RUNS=5000 deno test --allow-env tests/codec/fuzz_test.ts
 * ```
 *
 * `FUZZ_RUNS` is the number of inputs per property; without `FUZZ_SEED` a
 * large run draws a fresh seed and prints it. See docs/fuzzing.md.
 *
 * @module
 */

import { deepStrictEqual, ok } from "node:assert/strict";
import fc from "fast-check";
import { check, cutInto } from "./_fuzz.ts";
import * as codec from "../../src/codec/mod.ts";
import {
  FrameWriter,
  HandshakeError,
  HttpProtocolError,
  Opcode,
  ReadBuf,
  type ReadBufOptions,
  type ResponseLimits,
  ResponseReader,
  validateHandshake,
  WriteBuf,
} from "../../src/codec/mod.ts";
import {
  byteChunks,
  bytes,
  closeEv,
  closePayload,
  concat,
  decodeClientFrames,
  digest,
  type Ev,
  frame,
  type FrameSpec,
  pattern,
  readFrames,
  readHead,
  type ReadOptions,
  type ReadResult,
  textEv,
  unmaskedStream,
} from "./_helpers.ts";
import { runProxy } from "./_proxy.ts";

// --- configuration: see _fuzz.ts -------------------------------------------------

const { Text, Binary, Close, Ping, Pong, Continuation } = Opcode;

// --- a reference decoder ---------------------------------------------------------

const VALID_CLOSE = (c: number) =>
  (c >= 1000 && c <= 1014 && c !== 1004 && c !== 1005 && c !== 1006) ||
  (c >= 3000 && c <= 4999);

interface Limits {
  maxMessageSize: number;
  maxFragments: number;
}

/**
 * An independent, whole-buffer reading of RFC 6455 §5 for a client: what
 * events a stream holds and how it fails. UTF-8 is judged by the platform's
 * fatal streaming TextDecoder, which reports an error at the first byte that
 * makes the input invalid.
 */
function refDecode(b: Uint8Array, lim: Limits): ReadResult {
  const events: Ev[] = [];
  const n = b.length;
  let pos = 0;
  let msg:
    | { op: number; parts: Uint8Array[]; size: number; frames: number }
    | null = null;
  let utf8: TextDecoder | null = null;
  const result = (error: number | null): ReadResult => ({
    events,
    error,
    buffered: error === null ? n - pos : 0,
  });
  const textOk = (chunk: Uint8Array, last: boolean): boolean => {
    try {
      utf8!.decode(chunk, { stream: !last });
      return true;
    } catch {
      return false;
    }
  };
  for (;;) {
    if (n - pos < 2) return result(null);
    const b0 = b[pos], b1 = b[pos + 1];
    const fin = (b0 & 0x80) !== 0, op = b0 & 0x0f;
    let len = b1 & 0x7f;
    if (b0 & 0x70) return result(1002);
    if (b1 & 0x80) return result(1002);
    const control = op >= 8;
    if ((op >= 3 && op <= 7) || op >= 0xb) return result(1002);
    if (control && (!fin || len > 125)) return result(1002);
    if (op === 0 && msg === null) return result(1002);
    if ((op === 1 || op === 2) && msg !== null) return result(1002);
    let hl = 2;
    if (len === 126) {
      if (n - pos < 4) return result(null);
      len = b[pos + 2] * 256 + b[pos + 3];
      hl = 4;
    } else if (len === 127) {
      if (n - pos < 10) return result(null);
      if (b[pos + 2] & 0x80) return result(1002);
      len = 0;
      for (let i = 2; i < 10; i++) len = len * 256 + b[pos + i];
      hl = 10;
    }
    if (!control) {
      const total = (op === 0 ? msg!.size : 0) + len;
      if (total > lim.maxMessageSize) return result(1009);
    }
    const p0 = pos + hl;
    const have = Math.min(len, n - p0);
    const text = op === 1 || (op === 0 && msg!.op === 1);
    if (text && op === 1) {
      utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
    }
    if (have < len) {
      if (text && !textOk(b.subarray(p0, p0 + have), false)) {
        return result(1007);
      }
      return result(null);
    }
    const payload = b.subarray(p0, p0 + len);
    if (control) {
      if (op === Close) {
        let code = 1005, reason = "";
        if (len === 1) return result(1002);
        if (len >= 2) {
          code = payload[0] * 256 + payload[1];
          if (!VALID_CLOSE(code)) return result(1002);
          try {
            reason = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })
              .decode(payload.subarray(2));
          } catch {
            return result(1007);
          }
        }
        events.push({ op, payload: digest(payload), code, reason });
      } else {
        events.push({ op, payload: digest(payload) });
      }
      pos = p0 + len;
      continue;
    }
    if (text && !textOk(payload, fin)) return result(1007);
    if (fin && op !== 0) {
      events.push(
        op === Text
          ? {
            op,
            payload: digest(payload),
            ascii: payload.every((x) => x < 128),
          }
          : { op, payload: digest(payload) },
      );
      pos = p0 + len;
      continue;
    }
    if (op !== 0) msg = { op, parts: [], size: 0, frames: 0 };
    if (++msg!.frames > lim.maxFragments) return result(1009);
    msg!.parts.push(payload);
    msg!.size += len;
    pos = p0 + len;
    if (fin) {
      const all = concat(msg!.parts);
      events.push(
        msg!.op === Text
          ? { op: Text, payload: digest(all), ascii: all.every((x) => x < 128) }
          : { op: Binary, payload: digest(all) },
      );
      msg = null;
    }
  }
}

// --- generators --------------------------------------------------------------------

const smallText = fc.string({ unit: "binary", maxLength: 40 }).map((s) =>
  new TextEncoder().encode(s)
);
const bigText = fc.tuple(
  fc.integer({ min: 100, max: 70000 }),
  fc.constantFrom("a", "é", "€", "𐍈", "ab€"),
).map(([n, s]) => new TextEncoder().encode(s.repeat(Math.ceil(n / s.length))));
const textPayload = fc.oneof(
  { weight: 12, arbitrary: smallText },
  { weight: 1, arbitrary: bigText },
);
const binPayload = fc.oneof(
  { weight: 12, arbitrary: fc.uint8Array({ maxLength: 64 }) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 100, max: 70000 }).map((n) => pattern(n, n)),
  },
);
const controlPayload = fc.uint8Array({ maxLength: 125 });
const closeCode = fc.oneof(
  fc.integer({ min: 1000, max: 1003 }),
  fc.integer({ min: 1007, max: 1014 }),
  fc.integer({ min: 3000, max: 4999 }),
);
const closeReason = fc.string({ unit: "binary", maxLength: 30 }).filter((s) =>
  new TextEncoder().encode(s).length <= 123
);

/** A control frame and the event it gives. */
const controlItem: fc.Arbitrary<{ specs: FrameSpec[]; events: Ev[] }> = fc
  .oneof(
    controlPayload.map((p) => ({
      specs: [{ op: Ping, payload: p }],
      events: [{ op: Ping, payload: digest(p) }],
    })),
    controlPayload.map((p) => ({
      specs: [{ op: Pong, payload: p }],
      events: [{ op: Pong, payload: digest(p) }],
    })),
    fc.option(fc.tuple(closeCode, closeReason), { freq: 4 }).map((c) =>
      c === null ? { specs: [{ op: Close }], events: [closeEv()] } : {
        specs: [{ op: Close, payload: closePayload(c[0], c[1]) }],
        events: [closeEv(c[0], c[1])],
      }
    ),
  );

/** A data message, maybe fragmented with control frames between fragments. */
const messageItem: fc.Arbitrary<
  { specs: FrameSpec[]; events: Ev[]; fragments: number; size: number }
> = fc
  .tuple(
    fc.oneof(
      textPayload.map((p) => [true, p] as const),
      binPayload.map((p) => [false, p] as const),
    ),
    fc.array(fc.nat(), { maxLength: 5 }),
    fc.array(fc.option(controlItem, { freq: 3 }), { maxLength: 6 }),
  ).map(([[isText, payload], cuts, controls]) => {
    // a text generator output is valid UTF-8; a binary one is arbitrary
    const op = isText ? Text : Binary;
    const parts = cutInto(payload, cuts);
    const specs: FrameSpec[] = [];
    const events: Ev[] = [];
    parts.forEach((part, i) => {
      specs.push({
        op: i === 0 ? op : Continuation,
        fin: i === parts.length - 1,
        payload: part,
      });
      const c = controls[i];
      if (c && i < parts.length - 1) {
        specs.push(...c.specs);
        events.push(...c.events);
      }
    });
    events.push(
      isText ? textEv(payload) : { op: Binary, payload: digest(payload) },
    );
    return { specs, events, fragments: parts.length, size: payload.length };
  });

/** A length form for a data frame: mostly minimal (undefined), else forced. */
const lengthForm = fc.constantFrom<7 | 16 | 64 | undefined>(
  undefined,
  undefined,
  undefined,
  16,
  64,
);

/** A valid server stream: its frames, the events it must give, and limits that fit. */
const validStream = fc.tuple(
  fc.array(
    fc.oneof({ weight: 3, arbitrary: messageItem }, {
      weight: 1,
      arbitrary: controlItem.map((c) => ({ ...c, fragments: 1, size: 0 })),
    }),
    { maxLength: 8 },
  ),
  fc.array(lengthForm, { maxLength: 64 }),
).map(([items, forms]) => {
  const specs: FrameSpec[] = [];
  const events: Ev[] = [];
  let maxSize = 0, maxFragments = 1;
  for (const it of items) {
    specs.push(...it.specs);
    events.push(...it.events);
    maxSize = Math.max(maxSize, it.size);
    maxFragments = Math.max(maxFragments, it.fragments);
  }
  // non-minimal length forms are legal to read; use them at random
  specs.forEach((s, i) => {
    const f = forms[i % Math.max(1, forms.length)];
    const len = typeof s.payload === "string"
      ? s.payload.length
      : s.payload?.length ?? 0;
    if (f !== undefined && s.op < 8 && (f === 64 || len <= 65535)) {
      s.lengthForm = f;
    }
  });
  return { specs, events, maxSize, maxFragments };
});

/** Read-buffer tunables, small ones included so that every path is taken. */
const bufOptions = fc.integer({ min: 256, max: 70000 }).chain((cap) =>
  fc.record({
    bufferCapacity: fc.constantFrom(256, 300, 1024, 4096, 65536, cap),
    compactAt: fc.option(fc.nat(), { freq: 2 }),
    maxReadSize: fc.option(fc.integer({ min: 1, max: 70000 }), { freq: 2 }),
  }).map((o) => {
    const out: ReadBufOptions = { bufferCapacity: o.bufferCapacity };
    if (o.compactAt !== null) {
      out.compactAt = o.compactAt % (o.bufferCapacity + 1);
    }
    if (o.maxReadSize !== null) out.maxReadSize = o.maxReadSize;
    return out;
  })
);

/** How a stream is cut into socket reads. */
type ChunkPlan = { cuts: number[] } | { every: number };
const chunkPlan: fc.Arbitrary<ChunkPlan> = fc.oneof(
  fc.record({ cuts: fc.array(fc.nat(), { maxLength: 12 }) }),
  fc.record({ every: fc.integer({ min: 1, max: 17 }) }),
);

function chunk(b: Uint8Array, plan: ChunkPlan): Uint8Array[] {
  if ("every" in plan) {
    const out: Uint8Array[] = [];
    for (let i = 0; i < b.length; i += plan.every) {
      out.push(b.subarray(i, i + plan.every));
    }
    return out;
  }
  return cutInto(b, plan.cuts);
}

/** readFrames with invariants checked after every next() call. */
function readChecked(
  chunks: Uint8Array[],
  buf: ReadBufOptions,
  lim: Limits,
): ReadResult {
  const bound = Math.max(buf.bufferCapacity ?? 65536, lim.maxMessageSize + 14);
  const opts: ReadOptions = {
    buf: { ...buf, maxMessageSize: lim.maxMessageSize },
    reader: lim,
    check: (rb, reader) => {
      if (rb.capacity > bound) {
        throw new Error(`Read buffer grew to ${rb.capacity} > ${bound}`);
      }
      if (reader.payloadBytes !== rb.bytes) {
        ok(
          reader.payloadBytes.length <= Math.max(lim.maxMessageSize, 0),
          `assembly buffer ${reader.payloadBytes.length} > ${lim.maxMessageSize}`,
        );
      }
    },
  };
  return readFrames(chunks, opts);
}

// --- frame reader properties ----------------------------------------------------

Deno.test("fuzz: valid frame streams give their events whatever the chunking", () => {
  check(
    "valid frame streams",
    fc.property(validStream, bufOptions, chunkPlan, (s, buf, plan) => {
      const bytes = concat(s.specs.map(frame));
      const lim = {
        maxMessageSize: s.maxSize + 100,
        maxFragments: s.maxFragments,
      };
      const want = { events: s.events, error: null, buffered: 0 };
      deepStrictEqual(readChecked(chunk(bytes, plan), buf, lim), want);
      deepStrictEqual(refDecode(bytes, lim), want, "the reference agrees");
    }),
  );
});

/** A mutation of a frame's header fields. */
const specMutation = fc.oneof(
  fc.record({
    kind: fc.constant("rsv" as const),
    v: fc.constantFrom(0x10, 0x20, 0x40),
  }),
  fc.record({
    kind: fc.constant("op" as const),
    v: fc.integer({ min: 0, max: 15 }),
  }),
  fc.record({ kind: fc.constant("fin" as const), v: fc.constant(0) }),
  fc.record({ kind: fc.constant("mask" as const), v: fc.nat() }),
  fc.record({
    kind: fc.constant("lie" as const),
    v: fc.oneof(
      fc.integer({ min: 0, max: 300 }),
      fc.constantFrom(
        125,
        126,
        127,
        65535,
        65536,
        2 ** 31,
        2 ** 32 + 5,
        2 ** 53 - 1,
        2 ** 62,
        2 ** 63,
      ),
    ),
  }),
  fc.record({
    kind: fc.constant("form" as const),
    v: fc.constantFrom(7, 16, 64),
  }),
);

/** A mutation of the encoded bytes. */
const byteMutation = fc.oneof(
  fc.record({
    kind: fc.constant("flip" as const),
    at: fc.nat(),
    v: fc.integer({ min: 0, max: 7 }),
  }),
  fc.record({
    kind: fc.constant("set" as const),
    at: fc.nat(),
    v: fc.integer({ min: 0, max: 255 }),
  }),
  fc.record({
    kind: fc.constant("insert" as const),
    at: fc.nat(),
    v: fc.uint8Array({ minLength: 1, maxLength: 12 }),
  }),
  fc.record({
    kind: fc.constant("delete" as const),
    at: fc.nat(),
    v: fc.integer({ min: 1, max: 12 }),
  }),
  fc.record({
    kind: fc.constant("truncate" as const),
    at: fc.nat(),
    v: fc.constant(0),
  }),
);

function mutateSpec(
  s: FrameSpec,
  m: { kind: string; v: number },
): FrameSpec {
  const out = { ...s };
  switch (m.kind) {
    case "rsv":
      out.rsv = m.v;
      break;
    case "op":
      out.op = m.v;
      break;
    case "fin":
      out.fin = !(s.fin ?? true);
      break;
    case "mask":
      out.mask = new Uint8Array([m.v & 255, (m.v >> 8) & 255, 1, 2]);
      break;
    case "lie":
      out.claimedLength = m.v;
      out.lengthForm = m.v <= 125 ? undefined : m.v <= 65535 ? 16 : 64;
      break;
    case "form": {
      const len = typeof s.payload === "string"
        ? s.payload.length
        : s.payload?.length ?? 0;
      if (m.v === 64 || (m.v === 16 && len <= 65535) || len <= 125) {
        out.lengthForm = m.v as 7 | 16 | 64;
      }
      break;
    }
  }
  return out;
}

function encodeLie(s: FrameSpec): Uint8Array {
  // lengths beyond 2^53 cannot be built with numbers: write the bytes
  if (s.claimedLength !== undefined && s.claimedLength >= 2 ** 53) {
    const f = frame({ ...s, claimedLength: 0, lengthForm: 64 });
    const hi = s.claimedLength >= 2 ** 63 ? 0x80 : 0x40;
    f[2] = hi;
    return f;
  }
  return frame(s);
}

function mutateBytes(
  b: Uint8Array,
  m: { kind: string; at: number; v: number | Uint8Array },
): Uint8Array {
  if (b.length === 0) return m.kind === "insert" ? (m.v as Uint8Array) : b;
  const at = m.at % b.length;
  switch (m.kind) {
    case "flip": {
      const c = b.slice();
      c[at] ^= 1 << (m.v as number);
      return c;
    }
    case "set": {
      const c = b.slice();
      c[at] = m.v as number;
      return c;
    }
    case "insert":
      return concat([b.subarray(0, at), m.v as Uint8Array, b.subarray(at)]);
    case "delete":
      return concat([b.subarray(0, at), b.subarray(at + (m.v as number))]);
    default:
      return b.subarray(0, at);
  }
}

const mutatedStream = fc.tuple(
  validStream,
  fc.array(fc.tuple(fc.nat(), specMutation), { maxLength: 3 }),
  fc.array(byteMutation, { maxLength: 4 }),
).map(([s, specMuts, byteMuts]) => {
  const specs = s.specs.slice();
  for (const [i, m] of specMuts) {
    if (specs.length > 0) {
      const k = i % specs.length;
      specs[k] = mutateSpec(specs[k], m as { kind: string; v: number });
    }
  }
  let b = concat(specs.map(encodeLie));
  for (const m of byteMuts) b = mutateBytes(b, m);
  return { bytes: b, maxSize: s.maxSize, maxFragments: s.maxFragments };
});

const limits = (maxSize: number, maxFragments: number) =>
  fc.record({
    maxMessageSize: fc.oneof(
      fc.constant(maxSize + 100),
      fc.integer({ min: 0, max: maxSize + 10 }),
      fc.constant(16 * 1024 * 1024),
    ),
    maxFragments: fc.oneof(
      fc.constant(131072),
      fc.integer({ min: 1, max: maxFragments + 1 }),
    ),
  });

Deno.test("fuzz: mutated frame streams fail the same way whatever the chunking, within limits", () => {
  check(
    "mutated frame streams",
    fc.property(
      mutatedStream.chain((m) =>
        fc.tuple(fc.constant(m), limits(m.maxSize, m.maxFragments))
      ),
      bufOptions,
      chunkPlan,
      ([m, lim], buf, plan) => {
        const want = refDecode(m.bytes, lim);
        deepStrictEqual(readChecked([m.bytes], buf, lim), want, "whole");
        deepStrictEqual(
          readChecked(chunk(m.bytes, plan), buf, lim),
          want,
          "chunked",
        );
        if (m.bytes.length <= 4096) {
          deepStrictEqual(
            readChecked(byteChunks(m.bytes), buf, lim),
            want,
            "bytewise",
          );
        }
        if (want.error !== null && m.bytes.length <= 20000) {
          deepStrictEqual(
            failingByte(m.bytes, buf, lim),
            firstHopelessByte(m.bytes, lim),
            "fails at the first byte that makes the stream hopeless",
          );
        }
      },
    ),
  );
});

/** Fed one byte at a time: the index of the byte whose arrival threw. */
function failingByte(b: Uint8Array, buf: ReadBufOptions, lim: Limits): number {
  const rb = new ReadBuf({ ...buf, maxMessageSize: lim.maxMessageSize });
  const reader = new codec.FrameReader(lim);
  for (let i = 0; i < b.length; i++) {
    rb.spare()[0] = b[i];
    rb.commit(1);
    try {
      while (reader.next(rb) !== codec.NEED_MORE) { /* drain */ }
    } catch (err) {
      if (err instanceof codec.ProtocolError) return i;
      throw err;
    }
  }
  return -1;
}

/**
 * The smallest k such that the reference fails on the first k+1 bytes
 * (failure is monotonic in the prefix length, so bisect).
 */
function firstHopelessByte(b: Uint8Array, lim: Limits): number {
  let lo = 0, hi = b.length; // refDecode(b[0..hi)) fails
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (refDecode(b.subarray(0, mid), lim).error !== null) hi = mid;
    else lo = mid + 1;
  }
  return hi - 1;
}

Deno.test("fuzz: random bytes only ever give events or a ProtocolError", () => {
  check(
    "random bytes",
    fc.property(
      fc.uint8Array({ maxLength: 300 }),
      fc.record({
        maxMessageSize: fc.integer({ min: 0, max: 400 }),
        maxFragments: fc.integer({ min: 1, max: 5 }),
      }),
      chunkPlan,
      (b, lim, plan) => {
        const want = refDecode(b, lim);
        const buf = { bufferCapacity: 256 };
        deepStrictEqual(readChecked(chunk(b, plan), buf, lim), want);
      },
    ),
  );
});

// --- frame writer -------------------------------------------------------------------

type WriteOp =
  | { kind: "text"; s: string; fin: boolean }
  | { kind: "binary"; b: Uint8Array; fin: boolean }
  | { kind: "ping" | "pong"; b: Uint8Array }
  | { kind: "close"; code: number | null; reason: string };

const writeOp: fc.Arbitrary<WriteOp> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("text" as const),
      s: fc.oneof(
        fc.string({ unit: "binary", maxLength: 60 }),
        fc.string({
          unit: fc.constantFrom("a", "é", "€", "😀", "\ud800", "\udc00"),
          maxLength: 300,
        }),
        fc.integer({ min: 0, max: 70000 }).map((n) => "x".repeat(n)),
      ),
      fin: fc.boolean(),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("binary" as const),
      b: binPayload,
      fin: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constantFrom("ping" as const, "pong" as const),
      b: controlPayload,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("close" as const),
      code: fc.option(closeCode),
      reason: closeReason,
    }),
  },
);

Deno.test("fuzz: whatever the writer writes, unmasked, the reader reads back", () => {
  check(
    "writer round trip",
    fc.property(
      fc.array(writeOp, { maxLength: 10 }),
      fc.nat(64),
      chunkPlan,
      (ops, initial, plan) => {
        const w = new FrameWriter();
        const out = new WriteBuf(initial);
        const events: Ev[] = [];
        const sent: Uint8Array[] = [];
        let open: { op: number; parts: Uint8Array[] } | null = null;
        let maxSize = 0, frames = 0, maxFrames = 1;
        for (const op of ops) {
          if (op.kind === "text" || op.kind === "binary") {
            const data = op.kind === "text"
              ? new TextEncoder().encode(op.s)
              : op.b;
            const kind = op.kind === "text" ? Text : Binary;
            // a fragmented message continues with the same kind of data
            if (open !== null && open.op !== kind) continue;
            if (op.kind === "text") w.text(out, op.s, op.fin, open !== null);
            else w.binary(out, op.b, op.fin, open !== null);
            sent.push(data);
            open ??= { op: kind, parts: [] };
            open.parts.push(data);
            frames++;
            maxFrames = Math.max(maxFrames, frames);
            if (op.fin) {
              const all = concat(open.parts);
              maxSize = Math.max(maxSize, all.length);
              // fragments of text may split characters; the whole is valid
              events.push(
                open.op === Text
                  ? textEv(all)
                  : { op: Binary, payload: digest(all) },
              );
              open = null;
              frames = 0;
            }
          } else if (op.kind === "close") {
            if (op.code === null) w.close(out);
            else w.close(out, op.code, op.reason);
            const p = op.code === null
              ? new Uint8Array(0)
              : closePayload(op.code, op.reason);
            sent.push(p);
            events.push(
              op.code === null ? closeEv() : closeEv(op.code, op.reason),
            );
          } else {
            w[op.kind](out, op.b);
            sent.push(op.b);
            events.push({
              op: op.kind === "ping" ? Ping : Pong,
              payload: digest(op.b),
            });
          }
        }
        const decoded = decodeClientFrames(out.view());
        deepStrictEqual(decoded.map((f) => f.payload), sent);
        ok(decoded.every((f) => f.masked && f.rsv === 0));
        // a message left open at the end counts too
        if (open !== null) {
          maxSize = Math.max(maxSize, concat(open.parts).length);
        }
        const lim = { maxMessageSize: maxSize + 10, maxFragments: maxFrames };
        const r = readChecked(chunk(unmaskedStream(decoded), plan), {}, lim);
        // a message left open at the end is still buffered or assembling
        deepStrictEqual(r.events, events);
        deepStrictEqual(r.error, null);
      },
    ),
  );
});

// --- head reader and handshake validation ----------------------------------------

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

const token = fc.string({
  unit: fc.constantFrom(..."abcXYZ019-_.!#$%&'*+^`|~"),
  minLength: 1,
  maxLength: 12,
});
const fieldValue = fc.string({
  unit: fc.oneof(
    { weight: 20, arbitrary: fc.constantFrom(...'abc XYZ 019 ,;=/\t"') },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 0, max: 255 }).map((c) =>
        String.fromCharCode(c)
      ),
    },
  ),
  maxLength: 30,
});

function caseMix(s: string, seed: number): string {
  return Array.from(
    s,
    (c, i) => ((seed >> (i % 30)) & 1) ? c.toUpperCase() : c.toLowerCase(),
  ).join("");
}

/** A handshake response: valid with `broken: false`, and its lines. */
const handshakeResponse = fc.record({
  status: fc.oneof({ weight: 5, arbitrary: fc.constant(101) }, {
    weight: 1,
    arbitrary: fc.integer({ min: 100, max: 599 }),
  }),
  minor: fc.oneof({ weight: 5, arbitrary: fc.constant(1) }, {
    weight: 1,
    arbitrary: fc.constant(0),
  }),
  reason: fc.constantFrom("Switching Protocols", "", "OK", "x\ty"),
  caseSeed: fc.nat(),
  extra: fc.array(fc.tuple(token, fieldValue), { maxLength: 6 }),
  protocol: fc.option(fc.constantFrom("chat", "v1.feed", "other")),
  drop: fc.option(fc.constantFrom("upgrade", "connection", "accept")),
  order: fc.nat(),
});

interface HandshakeSpec {
  status: number;
  minor: number;
  reason: string;
  caseSeed: number;
  extra: [string, string][];
  protocol: string | null;
  drop: string | null;
  order: number;
}

function handshakeLines(r: HandshakeSpec): string[] {
  const fields: string[] = [];
  if (r.drop !== "upgrade") {
    fields.push(`${caseMix("Upgrade", r.caseSeed)}: websocket`);
  }
  if (r.drop !== "connection") {
    fields.push(`${caseMix("Connection", r.caseSeed)}: Upgrade`);
  }
  if (r.drop !== "accept") {
    fields.push(`${caseMix("Sec-WebSocket-Accept", r.caseSeed)}: ${ACCEPT}`);
  }
  if (r.protocol !== null) fields.push(`Sec-WebSocket-Protocol: ${r.protocol}`);
  for (const [k, v] of r.extra) fields.push(`${k}: ${v}`);
  // rotate the order
  const k = fields.length ? r.order % fields.length : 0;
  const rotated = [...fields.slice(k), ...fields.slice(0, k)];
  const status = `HTTP/1.${r.minor} ${r.status}${
    r.reason ? " " + r.reason : ""
  }`;
  return [status, ...rotated];
}

/** Whether a field value holds a byte a head may not carry (CTL but HTAB). */
function hasControl(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if ((c < 32 && c !== 9) || c === 127) return true;
  }
  return false;
}

function latin1(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
}

Deno.test("fuzz: handshake responses validate or fail with HandshakeError, whatever the chunking", () => {
  check(
    "handshake responses",
    fc.property(
      handshakeResponse,
      fc.array(byteMutation, { maxLength: 3 }),
      chunkPlan,
      fc.uint8Array({ maxLength: 20 }),
      (r, muts, plan, after) => {
        let b = latin1(handshakeLines(r).join("\r\n") + "\r\n\r\n");
        for (const m of muts) b = mutateBytes(b, m);
        const stream = bytes(b, after);
        const whole = readHead([stream]);
        deepStrictEqual(readHead(chunk(stream, plan)), whole);
        if (whole.head === null) return;
        // rebuild the head object the validator takes
        const rb = new ReadBuf();
        rb.push(stream);
        const head = new codec.HeadReader().read(rb)!;
        let protocol: string | null = null;
        try {
          protocol = validateHandshake(head, KEY, ["chat", "v1.feed"]).protocol;
        } catch (err) {
          if (!(err instanceof HandshakeError)) throw err;
          deepStrictEqual(err.status, head.status);
        }
        if (muts.length === 0) {
          const valid = r.status === 101 && r.minor === 1 && r.drop === null &&
            r.protocol !== "other" &&
            !r.extra.some(([k]) =>
              /^(upgrade|connection|sec-websocket-)/i.test(k)
            );
          if (
            valid &&
            !r.extra.some(([, v]) => hasControl(v))
          ) {
            deepStrictEqual(protocol, r.protocol ?? "");
          }
        }
      },
    ),
  );
});

Deno.test("fuzz: arbitrary head bytes give a head or an HttpProtocolError, whatever the chunking", () => {
  check(
    "head bytes",
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 200 }),
        fc.array(
          fc.oneof(
            fc.constantFrom(
              "HTTP/1.1 ",
              "HTTP/1.0 ",
              "200",
              "101 ",
              "\r\n",
              "\r",
              "\n",
              ": ",
              " ",
              "\t",
              "X-A",
              "\x00",
              "\x7f",
              "é",
            ),
            fc.string({ maxLength: 8 }),
          ),
          { maxLength: 30 },
        ).map((parts) => latin1(parts.join("") + "\r\n\r\n")),
        fc.tuple(
          handshakeResponse,
          fc.array(byteMutation, { maxLength: 3 }),
          fc.nat(1200),
        ).map(([r, muts, pad]) => {
          const lines = handshakeLines(r);
          lines.push(`X-Pad: ${"p".repeat(pad)}`);
          let b = latin1(lines.join("\r\n") + "\r\n\r\n");
          for (const m of muts) b = mutateBytes(b, m);
          return b;
        }),
      ),
      fc.record({
        maxHeadSize: fc.oneof(
          fc.integer({ min: 16, max: 400 }),
          fc.constant(16384),
        ),
        maxHeaders: fc.integer({ min: 0, max: 10 }),
      }),
      fc.record({
        bufferCapacity: fc.constantFrom(256, 300, 1024),
        maxReadSize: fc.integer({ min: 1, max: 1024 }),
        maxMessageSize: fc.constantFrom(0, 100, 2000, 16 << 20),
      }),
      chunkPlan,
      (b, lim, buf, plan) => {
        // the result does not depend on the chunking nor on the buffer size
        const whole = readHead([b], lim);
        deepStrictEqual(readHead(chunk(b, plan), lim), whole);
        deepStrictEqual(readHead(byteChunks(b), lim), whole);
        // through a small buffer: the same, unless the head does not fit the
        // buffer's growth bound, which must then be a clean refusal
        const small = readHead(chunk(b, plan), lim, buf);
        const bound = Math.max(buf.bufferCapacity, buf.maxMessageSize + 14);
        if (b.length < bound || small.error === null) {
          deepStrictEqual(small, whole, "small buffer");
        } else if (JSON.stringify(small) !== JSON.stringify(whole)) {
          ok(/buffer limit/.test(small.error), small.error);
        }
        if (whole.head !== null) {
          ok(whole.head.headers.length <= lim.maxHeaders);
        }
      },
    ),
  );
});

// --- HTTP response reader -----------------------------------------------------------

interface RespResult {
  responses: {
    status: number;
    headers: [string, string][];
    body: string;
    trailers: [string, string][] | null;
    keepAlive: boolean;
  }[];
  error: string | null;
  stalled: boolean;
}

/**
 * Feeds `chunks` to a ResponseReader reading `methods.length` pipelined
 * responses, like the HTTP client does: reads through spare()/commit(),
 * read() after each, end() at the end of the stream.
 */
function readResponses(
  chunks: Uint8Array[],
  methods: string[],
  lim: ResponseLimits,
  buf: ReadBufOptions,
  bound: number,
): RespResult {
  const rb = new ReadBuf(buf);
  const reader = new ResponseReader(lim);
  const out: RespResult = { responses: [], error: null, stalled: false };
  let i = 0;
  const take = (msg: codec.ResponseMessage) => {
    out.responses.push({
      status: msg.status,
      headers: [...msg.headers],
      body: digest(msg.body),
      trailers: msg.trailers ? [...msg.trailers] : null,
      keepAlive: msg.keepAlive,
    });
    i++;
    if (i < methods.length && msg.keepAlive) reader.begin(methods[i]);
  };
  const fail = (err: unknown) => {
    if (!(err instanceof HttpProtocolError)) throw err;
    // what was expected, not what came (that depends on the bytes at hand)
    out.error = `${err.name}: ${err.message.split(", got")[0]}`;
  };
  const done = () =>
    out.error !== null || i >= methods.length ||
    (out.responses.length > 0 && !out.responses.at(-1)!.keepAlive);
  reader.begin(methods[0]);
  const drain = () => {
    while (!done()) {
      let msg;
      try {
        msg = reader.read(rb);
      } catch (err) {
        fail(err);
        return;
      }
      if (rb.capacity > bound) {
        throw new Error(`Buffer grew to ${rb.capacity} > ${bound}`);
      }
      if (msg === null) return;
      take(msg);
    }
  };
  let guard = 0;
  for (const c of chunks) {
    let off = 0;
    while (off < c.length && !done()) {
      const tail = rb.spare();
      if (tail.length === 0) {
        out.stalled = true;
        return out;
      }
      const n = Math.min(tail.length, c.length - off);
      tail.set(c.subarray(off, off + n));
      rb.commit(n);
      off += n;
      drain();
      if (++guard > 1e6) throw new Error("Too many reads");
    }
  }
  if (!done()) {
    try {
      take(reader.end(rb));
    } catch (err) {
      fail(err);
    }
  }
  return out;
}

const bodyBytes = fc.oneof(
  { weight: 8, arbitrary: fc.uint8Array({ maxLength: 80 }) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 0, max: 40000 }).map((n) => pattern(n, 3)),
  },
);

type RespSpec = {
  framing: "length" | "chunked" | "eof";
  status: number;
  body: Uint8Array;
  cuts: number[];
  ext: string;
  trailers: [string, string][];
  close: boolean;
  interim: boolean;
  extra: [string, string][];
  upperHex: boolean;
  /** The request was a HEAD: the response carries its framing fields, no body. */
  head: boolean;
};

const respSpec: fc.Arbitrary<RespSpec> = fc.record({
  framing: fc.constantFrom("length", "chunked", "eof"),
  status: fc.constantFrom(200, 201, 204, 304, 404, 500),
  body: bodyBytes,
  cuts: fc.array(fc.nat(), { maxLength: 6 }),
  ext: fc.constantFrom("", ";a=1", ' ; name="v"', ";x"),
  trailers: fc.array(
    fc.tuple(
      token,
      fieldValue.filter((v) => !hasControl(v)),
    ),
    { maxLength: 2 },
  ),
  close: fc.boolean(),
  interim: fc.boolean(),
  extra: fc.array(
    fc.tuple(
      token.filter((t) =>
        !/^(content-length|transfer-encoding|connection)$/i.test(t)
      ),
      fieldValue.filter((v) => !hasControl(v)),
    ),
    { maxLength: 3 },
  ),
  upperHex: fc.boolean(),
  head: fc.boolean(),
});

function encodeResponse(s: RespSpec): Uint8Array {
  const noBody = s.status === 204 || s.status === 304;
  const lines = [`HTTP/1.1 ${s.status} X`];
  for (const [k, v] of s.extra) lines.push(`${k}: ${v}`);
  if (s.close || s.framing === "eof") lines.push("Connection: close");
  let body: Uint8Array = new Uint8Array(0);
  if (!noBody) {
    if (s.framing === "length") {
      lines.push(`Content-Length: ${s.body.length}`);
      body = s.body;
    } else if (s.framing === "chunked") {
      lines.push("Transfer-Encoding: chunked");
      const parts = cutInto(s.body, s.cuts).filter((p) => p.length > 0);
      const enc: Uint8Array[] = [];
      for (const p of parts) {
        let hex = p.length.toString(16);
        if (s.upperHex) hex = hex.toUpperCase();
        enc.push(latin1(`${hex}${s.ext}\r\n`), p, latin1("\r\n"));
      }
      enc.push(latin1(`0${s.ext}\r\n`));
      for (const [k, v] of s.trailers) enc.push(latin1(`${k}: ${v}\r\n`));
      enc.push(latin1("\r\n"));
      body = concat(enc);
    } else {
      body = s.body;
    }
  }
  const interim = s.interim
    ? latin1("HTTP/1.1 100 Continue\r\n\r\n")
    : new Uint8Array(0);
  if (s.head) body = new Uint8Array(0);
  return concat([interim, latin1(lines.join("\r\n") + "\r\n\r\n"), body]);
}

Deno.test("fuzz: HTTP responses read the same whatever the chunking, within the buffer bound", () => {
  check(
    "http responses",
    fc.property(
      fc.array(respSpec, { minLength: 1, maxLength: 3 }),
      fc.array(byteMutation, { maxLength: 3 }),
      fc.boolean(),
      bufOptions,
      chunkPlan,
      fc.record({
        maxBodySize: fc.oneof(
          fc.constant(16 << 20),
          fc.integer({ min: 0, max: 50000 }),
        ),
        maxChunkLineSize: fc.oneof(
          fc.constant(4096),
          fc.integer({ min: 3, max: 20 }),
        ),
        maxHeaders: fc.oneof(fc.constant(100), fc.integer({ min: 0, max: 6 })),
        maxHeadSize: fc.oneof(
          fc.constant(16384),
          fc.integer({ min: 16, max: 300 }),
        ),
      }),
      (specs0, muts, mutate, buf, plan, lim) => {
        // a body delimited by the end of the stream can only come last
        const specs = specs0.map((s, i) =>
          s.framing === "eof" && i < specs0.length - 1
            ? { ...s, framing: "length" as const }
            : s
        );
        let stream = concat(specs.map(encodeResponse));
        if (mutate) { for (const m of muts) stream = mutateBytes(stream, m); }
        const methods = specs.map((s) => s.head ? "HEAD" : "GET");
        const maxMessageSize = lim.maxBodySize + 1024;
        const b = { ...buf, maxMessageSize };
        const bound = Math.max(b.bufferCapacity ?? 65536, maxMessageSize + 14);
        const whole = readResponses([stream], methods, lim, b, bound);
        const chunked = readResponses(
          chunk(stream, plan),
          methods,
          lim,
          b,
          bound,
        );
        deepStrictEqual(chunked, whole);
        if (stream.length <= 3000) {
          deepStrictEqual(
            readResponses(byteChunks(stream), methods, lim, b, bound),
            whole,
            "bytewise",
          );
        }
        ok(!whole.stalled, "the reader left room to read into");
        const roomy = lim.maxBodySize === 16 << 20 &&
          lim.maxChunkLineSize === 4096 && lim.maxHeaders === 100 &&
          lim.maxHeadSize === 16384;
        if (!mutate && roomy) deepStrictEqual(whole.error, null);
        if (!mutate && whole.error === null) {
          // every response up to the first non-reusable one is read
          const want: string[] = [];
          for (const s of specs) {
            const noBody = s.status === 204 || s.status === 304 || s.head;
            want.push(digest(noBody ? new Uint8Array(0) : s.body));
            if (s.close || s.framing === "eof") break;
          }
          deepStrictEqual(whole.responses.map((r) => r.body), want);
        }
      },
    ),
  );
});

// --- proxy exchanges ----------------------------------------------------------------

/** Answers a proxy may give (whole exchanges), to mutate. */
const proxyAnswer = fc.oneof(
  fc.constantFrom(
    "HTTP/1.1 200 Connection established\r\n\r\n",
    "HTTP/1.0 200 OK\r\nProxy-agent: x\r\n\r\nTUNNEL",
    "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 9\r\n\r\n",
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
  ).map((t) => ({ http: true, b: latin1(t) })),
  fc.constantFrom(
    [5, 0, 5, 0, 0, 1, 127, 0, 0, 1, 0, 80],
    [5, 2, 1, 0, 5, 0, 0, 4, ...new Array(16).fill(0), 0, 80, 33],
    [5, 0, 5, 0, 0, 3, 4, 104, 111, 115, 116, 1, 187],
    [5, 0, 5, 4, 0, 1, 0, 0, 0, 0, 0, 0],
    [5, 2, 1, 1],
  ).map((a) => ({ http: false, b: new Uint8Array(a) })),
);

Deno.test("fuzz: proxy answers open, wait or fail with a ProxyError, whatever the chunking, within bounds", () => {
  check(
    "proxy answers",
    fc.property(
      fc.oneof(
        fc.tuple(proxyAnswer, fc.array(byteMutation, { maxLength: 4 })).map((
          [a, muts],
        ) => {
          let b = a.b;
          for (const m of muts) b = mutateBytes(b, m);
          return { http: a.http, b };
        }),
        fc.record({ http: fc.boolean(), b: fc.uint8Array({ maxLength: 300 }) }),
      ),
      fc.boolean(),
      chunkPlan,
      ({ http, b }, creds, plan) => {
        const credentials = creds
          ? { username: "bot", password: "hunter2-secret" }
          : undefined;
        const make = () =>
          http
            ? new codec.HttpConnect({
              proxy: "127.0.0.1:3128",
              hostname: "example.com",
              port: 443,
              credentials,
            })
            : new codec.Socks5Connect({
              proxy: "127.0.0.1:1080",
              hostname: "example.com",
              port: 443,
              credentials,
            });
        // runProxy lets only ProxyError through as a result, and checks
        // that no error shows the password
        const options = {
          end: true,
          secrets: creds ? ["hunter2-secret"] : [],
          buf: { bufferCapacity: 256 },
          check: (rb: ReadBuf) => ok(rb.capacity <= 16384, `${rb.capacity}`),
        };
        const whole = runProxy(make, [b], options);
        deepStrictEqual(runProxy(make, chunk(b, plan), options), whole);
        deepStrictEqual(runProxy(make, byteChunks(b), options), whole);
        ok(whole.step === "open" || whole.error !== null, "ended, not waiting");
      },
    ),
  );
});
