/**
 * The SPSC ring of the Worker feeds, without a Worker: records come out in
 * order with their kind and bytes, across wrap-around (of the ring and of
 * the 32-bit positions), a full ring refuses a record until the consumer
 * releases room, and a record of up to half the ring always fits once it
 * has drained. Property-based over random record sizes and interleavings.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  Kind,
  Ring,
  RING_READ,
  RING_WRITE,
  ringBytes,
} from "../../src/worker/ring.ts";

const SEED = Number(Deno.env.get("FUZZ_SEED") ?? 20261130);
const RUNS = Number(Deno.env.get("FUZZ_RUNS") ?? 200);

/** A producer and a consumer over one shared buffer of `capacity` bytes of records. */
function ringPair(capacity: number, start = 0) {
  const sab = new SharedArrayBuffer(ringBytes(capacity));
  const words = new Int32Array(sab);
  words[RING_WRITE] = start | 0;
  words[RING_READ] = start | 0;
  return { producer: new Ring(sab), consumer: new Ring(sab) };
}

function payload(len: number, seed: number): Uint8Array {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = (i * 13 + seed) & 0xff;
  return b;
}

function take(r: Ring): { kind: number; bytes: Uint8Array } | null {
  if (!r.peek()) return null;
  const out = { kind: r.kind, bytes: r.bytes.slice(r.start, r.end) };
  r.release();
  return out;
}

Deno.test("records come out in order, with their kind and bytes, and only once published", () => {
  const { producer, consumer } = ringPair(1024);
  assert.ok(producer.write(Kind.Text, payload(10, 1)));
  assert.ok(producer.write(Kind.Binary, payload(0, 2)));
  assert.equal(take(consumer), null, "nothing before publish()");
  producer.publish();
  assert.deepEqual(take(consumer), { kind: Kind.Text, bytes: payload(10, 1) });
  assert.deepEqual(take(consumer), { kind: Kind.Binary, bytes: payload(0, 2) });
  assert.equal(take(consumer), null);
});

Deno.test("a peeked record stays in place until released: the producer cannot reuse its bytes", () => {
  const { producer, consumer } = ringPair(1024);
  assert.ok(producer.write(Kind.Binary, payload(500, 3)));
  producer.publish();
  assert.ok(consumer.peek());
  const view = consumer.bytes.subarray(consumer.start, consumer.end);
  // 500 + 8 of 1024 are taken: another 500 fits, a third does not
  assert.ok(producer.write(Kind.Binary, payload(500, 4)));
  assert.equal(producer.reserve(500), -1, "full while the first is held");
  assert.deepEqual(view, payload(500, 3), "the held record is intact");
  consumer.release();
  assert.ok(producer.reserve(500) >= 0, "room once released");
});

Deno.test("the largest record (half the ring less 8 bytes) fits wherever the ring stands once drained", () => {
  const { producer, consumer } = ringPair(1024);
  assert.equal(producer.maxPayload, 504);
  for (let shift = 0; shift < 1024; shift += 8) {
    // move both positions on by 8 bytes (a record of 0 bytes), drained
    if (shift > 0) {
      assert.ok(producer.write(Kind.Binary, payload(0, 0)));
      producer.publish();
      take(consumer);
    }
    assert.ok(
      producer.write(Kind.Text, payload(504, shift)),
      `at offset ${shift}`,
    );
    producer.publish();
    assert.deepEqual(take(consumer), {
      kind: Kind.Text,
      bytes: payload(504, shift),
    });
  }
});

Deno.test("positions wrap past 2^32 without losing or repeating a record", () => {
  const { producer, consumer } = ringPair(1024, -600); // 600 bytes before 2^32
  for (let i = 0; i < 50; i++) {
    assert.ok(producer.write(Kind.Binary, payload(90 + i, i)));
    producer.publish();
    assert.deepEqual(take(consumer)?.bytes, payload(90 + i, i));
  }
  assert.ok(
    (Atomics.load(producer.words, RING_WRITE) >>> 0) < 10000,
    "the write position wrapped",
  );
});

Deno.test("the ring's size must be a power of two of at least 1 KiB", () => {
  assert.throws(
    () => new Ring(new SharedArrayBuffer(ringBytes(1000))),
    RangeError,
  );
  assert.throws(
    () => new Ring(new SharedArrayBuffer(ringBytes(512))),
    RangeError,
  );
});

Deno.test("fuzz: any interleaving of writes and reads delivers every record once, in order, intact, and a full ring refuses only when it must", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(1024, 2048, 4096),
      fc.integer({ min: -600, max: 600 }).map((k) => k * 8), // positions are 8-aligned
      fc.array(
        fc.oneof(
          fc.record({
            op: fc.constant("write" as const),
            len: fc.oneof(
              fc.integer({ min: 0, max: 64 }),
              fc.integer({ min: 0, max: 2040 }),
            ),
            publish: fc.boolean(),
          }),
          fc.record({
            op: fc.constant("read" as const),
            count: fc.integer({ min: 1, max: 5 }),
          }),
        ),
        { maxLength: 300 },
      ),
      (capacity, start, actions) => {
        const { producer, consumer } = ringPair(capacity, start);
        const sent: Uint8Array[] = []; // written, in order
        let published = 0, got = 0, seq = 0;
        for (const a of actions) {
          if (a.op === "write") {
            const len = Math.min(a.len, producer.maxPayload);
            const p = payload(len, seq++);
            const inFlight = sent.slice(got).reduce(
              (n, b) => n + 8 + ((b.length + 7) & ~7),
              0,
            );
            const ok = producer.write(Kind.Binary, p);
            if (ok) sent.push(p);
            else {
              // refused: the records still in the ring leave no room
              assert.ok(
                inFlight + 8 + ((len + 7) & ~7) > capacity / 2,
                `refused ${len} with ${inFlight} in flight`,
              );
            }
            if (a.publish) {
              producer.publish();
              published = sent.length;
            }
          } else {
            for (let k = 0; k < a.count; k++) {
              const r = take(consumer);
              if (r === null) {
                assert.equal(
                  got,
                  published,
                  "empty only when all published were read",
                );
                break;
              }
              assert.deepEqual(r.bytes, sent[got], `record ${got}`);
              got++;
            }
          }
        }
        producer.publish();
        for (let r = take(consumer); r !== null; r = take(consumer)) {
          assert.deepEqual(r.bytes, sent[got++]);
        }
        assert.equal(got, sent.length);
      },
    ),
    { seed: SEED, numRuns: RUNS },
  );
});
