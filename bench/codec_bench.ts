/**
 * Codec benches: the sans-IO frame parser alone, no sockets.
 *
 * `deno bench bench/codec_bench.ts`
 *
 * One iteration parses one frame with a 128-byte text payload (a 132-byte
 * frame: 2-byte header + 16-bit extended length + payload), UTF-8 checked,
 * out of a {@link ReadBuf} that holds many such frames back to back, the way
 * they sit in the buffer after one large socket read. When the buffer runs
 * out, the same bytes are marked received again (no copy), so every
 * iteration is pure parsing.
 *
 * @module
 */

import { FrameReader, NEED_MORE, Opcode, ReadBuf } from "../src/codec/mod.ts";

const PAYLOAD = 128;
const FRAME = PAYLOAD + 4;

/** `count` copies of one 128-byte ASCII JSON text frame. */
function frames(count: number): Uint8Array {
  const json = `{"s":"BTC-USD","b":64123.50,"a":64124.00,"bq":1.2,"aq":0.8,` +
    `"t":1732500000123,"id":123456789,"x":"coinbase"}`;
  const payload = new TextEncoder().encode(json.padEnd(PAYLOAD, " "));
  if (payload.length !== PAYLOAD) throw new Error("bad payload size");
  const out = new Uint8Array(count * FRAME);
  for (let i = 0; i < count; i++) {
    const o = i * FRAME;
    out.set([0x81, 126, PAYLOAD >> 8, PAYLOAD & 0xff], o);
    out.set(payload, o + 4);
  }
  return out;
}

function setup(): { rb: ReadBuf; reader: FrameReader; total: number } {
  const count = 480; // 63,360 bytes: one 64 KiB buffer's worth
  const rb = new ReadBuf({ bufferCapacity: 65536 });
  rb.push(frames(count));
  return { rb, reader: new FrameReader(), total: count * FRAME };
}

{
  const { rb, reader, total } = setup();
  let sink = 0;
  Deno.bench({
    name: "parse one 128-byte text frame (borrowed payload)",
    group: "codec",
    baseline: true,
    fn() {
      let op = reader.next(rb);
      if (op === NEED_MORE) {
        rb.commit(total); // the bytes are still there: mark them received again
        op = reader.next(rb);
      }
      if (op !== Opcode.Text) {
        throw new Error(`Expected a text frame, got ${op}`);
      }
      sink += reader.payloadEnd - reader.payloadStart;
    },
  });
  globalThis.addEventListener("unload", () => {
    if (sink === 0) console.log(sink);
  });
}

{
  const { rb, reader, total } = setup();
  let sink = 0;
  Deno.bench({
    name: "parse one 128-byte text frame and decode it to a string",
    group: "codec",
    fn() {
      let op = reader.next(rb);
      if (op === NEED_MORE) {
        rb.commit(total);
        op = reader.next(rb);
      }
      if (op !== Opcode.Text) {
        throw new Error(`Expected a text frame, got ${op}`);
      }
      sink += reader.text().length;
    },
  });
  globalThis.addEventListener("unload", () => {
    if (sink === 0) console.log(sink);
  });
}
