import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { ReadBuf } from "../../src/codec/mod.ts";
import { bytes, feedSplits, pattern, throwsA } from "./_helpers.ts";

Deno.test("a new buffer is empty, starts at 1 KiB, may grow to 64 KiB, and bounds messages at 16 MiB", () => {
  const rb = new ReadBuf();
  strictEqual(rb.capacity, 1024);
  strictEqual(rb.length, 0);
  strictEqual(rb.start, 0);
  strictEqual(rb.end, 0);
  strictEqual(rb.maxMessageSize, 16 * 1024 * 1024);
  strictEqual(rb.maxCapacity, 16 * 1024 * 1024 + 14);
  strictEqual(rb.spare().length, 1024);
  for (let now = 0; rb.capacity < 65536; now++) {
    rb.commit(rb.forRead(now).length); // every read fills what it was offered
    rb.consume(rb.length);
  }
  strictEqual(rb.grows, 6, "1 KiB doubles six times to 64 KiB");
  rb.commit(rb.forRead(100).length);
  rb.consume(rb.length);
  strictEqual(rb.forRead(101).length, 65536, "and no further");
});

Deno.test("spare never offers more than maxReadSize bytes", () => {
  const rb = new ReadBuf({ bufferCapacity: 1024, maxReadSize: 100 });
  for (let i = 0; i < 30; i++) {
    const tail = rb.spare();
    ok(tail.length <= 100, `spare ${tail.length} > 100`);
    ok(tail.length > 0);
    tail.fill(i);
    rb.commit(Math.min(tail.length, 37));
    if (rb.length > 500) rb.consume(400);
  }
});

Deno.test("spare offers the free tail right after the received bytes", () => {
  const rb = new ReadBuf({ bufferCapacity: 256 });
  rb.spare().set([1, 2, 3]);
  rb.commit(3);
  const tail = rb.spare();
  strictEqual(tail.byteOffset, 3);
  strictEqual(tail.length, 253);
  deepStrictEqual(rb.data(), bytes(1, 2, 3));
  strictEqual(rb.bytes[rb.start], 1);
});

Deno.test("consuming every byte rewinds both cursors to the front", () => {
  const rb = new ReadBuf({ bufferCapacity: 256 });
  rb.push(pattern(100));
  rb.consume(60);
  strictEqual(rb.start, 60);
  strictEqual(rb.length, 40);
  rb.consume(40);
  strictEqual(rb.start, 0);
  strictEqual(rb.end, 0);
});

Deno.test("the unread rest moves to the front once the consumed prefix reaches compactAt", () => {
  const rb = new ReadBuf({ bufferCapacity: 1000, compactAt: 100 });
  const p = pattern(300);
  rb.push(p);
  rb.consume(99);
  rb.spare();
  strictEqual(rb.start, 99, "below compactAt nothing moves");
  rb.consume(1);
  rb.spare();
  strictEqual(rb.start, 0, "at compactAt the rest moves to the front");
  strictEqual(rb.end, 200);
  deepStrictEqual(rb.data(), p.subarray(100));
});

Deno.test("a full tail compacts even below compactAt", () => {
  const rb = new ReadBuf({ bufferCapacity: 256, compactAt: 200 });
  const p = pattern(256);
  rb.push(p);
  rb.consume(10);
  const tail = rb.spare();
  strictEqual(tail.length, 10);
  strictEqual(rb.start, 0);
  deepStrictEqual(rb.data(), p.subarray(10));
});

Deno.test("compactAt 0 compacts before every read", () => {
  const rb = new ReadBuf({ bufferCapacity: 256, compactAt: 0 });
  rb.push(pattern(50));
  rb.consume(1);
  rb.spare();
  strictEqual(rb.start, 0);
  strictEqual(rb.length, 49);
});

Deno.test("the default compactAt is half the capacity", () => {
  const rb = new ReadBuf({ bufferCapacity: 1024 });
  rb.push(pattern(600));
  rb.consume(511);
  rb.spare();
  strictEqual(rb.start, 511);
  rb.consume(1);
  rb.spare();
  strictEqual(rb.start, 0);
});

Deno.test("reserve within the capacity never allocates", () => {
  const rb = new ReadBuf({ bufferCapacity: 256 });
  const before = rb.bytes;
  rb.push(pattern(200));
  rb.consume(150);
  rb.reserve(256);
  strictEqual(rb.bytes, before);
  strictEqual(rb.start, 0, "it compacted to make room");
  deepStrictEqual(rb.data(), pattern(200).subarray(150));
  rb.reserve(10);
  strictEqual(rb.bytes, before);
});

Deno.test("reserve grows the buffer for one large message, keeping its bytes", () => {
  const rb = new ReadBuf({ bufferCapacity: 256, maxMessageSize: 10000 });
  const p = pattern(200);
  rb.push(p);
  rb.consume(50);
  rb.reserve(5000);
  ok(rb.capacity >= 5000 && rb.capacity <= 10014, `capacity ${rb.capacity}`);
  deepStrictEqual(rb.data(), p.subarray(50));
  strictEqual(rb.start, 0);
  const grown = rb.capacity;
  rb.reserve(4000);
  strictEqual(rb.capacity, grown, "growth stays for the connection");
});

Deno.test("reserve never grows past maxMessageSize plus the largest frame header", () => {
  const rb = new ReadBuf({ bufferCapacity: 256, maxMessageSize: 1000 });
  rb.reserve(1014);
  strictEqual(rb.capacity, 1014);
  throwsA(() => rb.reserve(1015), RangeError);
  strictEqual(rb.capacity, 1014);
});

Deno.test("a message bound below the capacity never shrinks the buffer", () => {
  const rb = new ReadBuf({ bufferCapacity: 4096, maxMessageSize: 100 });
  rb.reserve(4096);
  strictEqual(rb.capacity, 4096);
  throwsA(() => rb.reserve(4097), RangeError);
});

Deno.test("push appends, growing only within the message bound", () => {
  const rb = new ReadBuf({ bufferCapacity: 256, maxMessageSize: 2000 });
  const p = pattern(1500);
  rb.push(p);
  deepStrictEqual(rb.data(), p);
  ok(rb.capacity <= 2014);
  const small = new ReadBuf({ bufferCapacity: 256, maxMessageSize: 100 });
  throwsA(() => small.push(pattern(300)), RangeError);
  ok(small.capacity <= 256);
});

Deno.test("bytes pushed in any two pieces read back the same", () => {
  const p = pattern(700);
  const got = feedSplits(p, (chunks) => {
    const rb = new ReadBuf({ bufferCapacity: 256, maxMessageSize: 1000 });
    for (const c of chunks) rb.push(c);
    return Array.from(rb.data());
  });
  deepStrictEqual(got, Array.from(p));
});

Deno.test("clear drops every buffered byte", () => {
  const rb = new ReadBuf({ bufferCapacity: 256 });
  rb.push(pattern(10));
  rb.consume(3);
  rb.clear();
  strictEqual(rb.length, 0);
  strictEqual(rb.start, 0);
  strictEqual(rb.spare().length, 256);
});

Deno.test("bad options throw RangeError", () => {
  const bad = [
    { bufferCapacity: 255 },
    { bufferCapacity: 0 },
    { bufferCapacity: 1024.5 },
    { bufferCapacity: NaN },
    { bufferCapacity: Infinity },
    { bufferCapacity: 1024, compactAt: 1025 },
    { compactAt: -1 },
    { compactAt: 0.5 },
    { maxReadSize: 0 },
    { maxReadSize: -5 },
    { maxReadSize: 1.5 },
    { maxMessageSize: -1 },
    { maxMessageSize: 2 ** 53 },
    { maxMessageSize: NaN },
    { minBufferCapacity: 255 },
    { minBufferCapacity: 2048, bufferCapacity: 1024 },
    { shrinkAfter: -1 },
    { shrinkAfter: NaN },
  ];
  for (const o of bad) {
    throwsA(() => new ReadBuf(o), RangeError, /^Expected /);
  }
});

Deno.test("boundary option values are accepted", () => {
  new ReadBuf({ bufferCapacity: 256 });
  new ReadBuf({ bufferCapacity: 256, compactAt: 256 });
  new ReadBuf({ bufferCapacity: 256, compactAt: 0 });
  new ReadBuf({ maxReadSize: 1 });
  strictEqual(new ReadBuf({ maxMessageSize: 0 }).maxMessageSize, 0);
  strictEqual(
    new ReadBuf({ bufferCapacity: 256, maxReadSize: 1 }).spare().length,
    1,
  );
});

Deno.test("forRead grows only after a read that filled what it offered (7/8 of it, at least a quarter of the buffer)", () => {
  const rb = new ReadBuf({ minBufferCapacity: 1024, bufferCapacity: 8192 });
  rb.commit(895); // one byte short of 7/8: not full
  rb.consume(rb.length);
  rb.forRead(1);
  strictEqual(rb.capacity, 1024);
  rb.commit(896); // 7/8: full enough (a transport may stop at a boundary)
  rb.consume(rb.length);
  strictEqual(rb.forRead(2).length, 2048);
  strictEqual(rb.grows, 1);
  // unread bytes before compactAt leave a small tail: filling it is no
  // sign of load
  rb.commit(1700); // under 7/8 of 2048: not full
  rb.consume(1000);
  const tail = rb.forRead(3);
  strictEqual(tail.length, 348);
  rb.commit(348);
  rb.consume(rb.length);
  rb.forRead(4);
  strictEqual(rb.capacity, 2048, "a 348-byte tail filled is not a full read");
});

Deno.test("forRead never shrinks below the unread bytes: it waits for an empty buffer", () => {
  const rb = new ReadBuf({
    minBufferCapacity: 256,
    bufferCapacity: 4096,
    shrinkAfter: 10,
  });
  for (let t = 0; t < 4; t++) { // a burst: 256 → 4096
    rb.commit(rb.forRead(t).length);
    rb.consume(rb.length);
  }
  rb.forRead(4);
  rb.commit(10);
  rb.consume(10);
  strictEqual(rb.capacity, 4096);
  rb.forRead(100); // closes the burst's window: no shrink
  rb.spare().set([7, 8, 9]);
  rb.commit(3); // a partial frame stays unread
  rb.forRead(300); // a quiet window, but bytes are unread
  strictEqual(rb.capacity, 4096);
  deepStrictEqual(rb.data(), bytes(7, 8, 9));
  rb.consume(3);
  rb.forRead(400); // empty, quiet: back to the minimum
  strictEqual(rb.capacity, 256);
  strictEqual(rb.shrinks, 1);
});

Deno.test("a buffer kept busy at its size does not shrink, however long it runs", () => {
  const rb = new ReadBuf({
    minBufferCapacity: 256,
    bufferCapacity: 4096,
    shrinkAfter: 10,
  });
  for (let t = 0; t < 2000; t += 5) {
    rb.commit(rb.forRead(t).length); // every read fills the buffer
    rb.consume(rb.length);
  }
  strictEqual(rb.capacity, 4096);
  strictEqual(rb.shrinks, 0);
  strictEqual(rb.grows, 4);
});

Deno.test("shrinkAfter Infinity never shrinks", () => {
  const rb = new ReadBuf({ minBufferCapacity: 256, shrinkAfter: Infinity });
  rb.commit(rb.forRead(0).length);
  rb.consume(rb.length);
  rb.forRead(1);
  strictEqual(rb.capacity, 512);
  for (let t = 2; t < 1e9; t *= 10) {
    rb.commit(1);
    rb.consume(1);
    rb.forRead(t);
  }
  strictEqual(rb.capacity, 512);
});
