import assert from "node:assert/strict";
import { SendQueue } from "../../src/ws/send_queue.ts";
import { memoryPipe } from "../support/memory_transport.ts";

const wrap = (cause: unknown) => new Error("write failed", { cause });

/** Appends `bytes` to the queue's output buffer, as a frame writer would. */
function put(q: SendQueue, ...bytes: number[]): void {
  const out = q.out;
  out.ensure(bytes.length);
  out.bytes.set(bytes, out.length);
  out.length += bytes.length;
}

Deno.test("frames flushed while a write is in flight go out together in the next write, in order", async () => {
  const { transport, server } = memoryPipe();
  const writes: number[] = [];
  const counting = {
    ...transport,
    write: (p: Uint8Array) => {
      writes.push(p.length);
      return transport.write(p);
    },
  };
  const q = new SendQueue(counting, 1 << 20, wrap);
  server.hold = true;
  put(q, 1);
  const a = q.flush();
  put(q, 2, 2);
  const b = q.flush();
  put(q, 3, 3, 3);
  const c = q.flush();
  assert.equal(q.bufferedAmount, 6);
  server.hold = false;
  server.release();
  await Promise.all([a, b, c]);
  assert.deepEqual([...server.take()], [1, 2, 2, 3, 3, 3]);
  assert.deepEqual(writes, [1, 5]);
  assert.equal(q.bufferedAmount, 0);
});

Deno.test("over the mark, sends wait their turn in call order and encode only when admitted", async () => {
  const { transport, server } = memoryPipe();
  const q = new SendQueue(transport, 2, wrap);
  server.hold = true;
  assert.ok(q.admits());
  put(q, 1, 1, 1);
  const first = q.flush();
  assert.equal(q.admits(), false, "3 bytes in flight > mark 2");
  const order: number[] = [];
  const second = q.wait(() => {
    order.push(2);
    put(q, 2);
  });
  const third = q.wait(() => {
    order.push(3);
    put(q, 3);
  });
  assert.equal(q.admits(), false, "someone is waiting");
  await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(order, [], "nothing encoded while over the mark");
  server.hold = false;
  server.release();
  await Promise.all([first, second, third]);
  assert.deepEqual(order, [2, 3]);
  assert.deepEqual([...server.take()], [1, 1, 1, 2, 3]);
});

Deno.test("a failed write rejects its batch and every waiting send with the mapped error", async () => {
  const { transport, server } = memoryPipe();
  const q = new SendQueue(transport, 0, wrap);
  server.reset();
  put(q, 1);
  const a = q.flush();
  const b = q.wait(() => put(q, 2));
  await assert.rejects(
    a,
    (e) =>
      e instanceof Error && e.message === "write failed" &&
      e.cause instanceof Deno.errors.BrokenPipe,
  );
  await assert.rejects(b, /write failed/);
  assert.equal(q.bufferedAmount, 0);
});

Deno.test("rejectWaiting rejects queued sends without running their encoders", async () => {
  const { transport, server } = memoryPipe();
  const q = new SendQueue(transport, 0, wrap);
  server.hold = true;
  put(q, 1);
  const a = q.flush();
  let ran = false;
  const b = q.wait(() => {
    ran = true;
  });
  q.rejectWaiting(new TypeError("closed"));
  await assert.rejects(b, TypeError);
  server.hold = false;
  server.release();
  await a;
  assert.equal(ran, false);
});

Deno.test("an encoder that throws rejects only its own send", async () => {
  const { transport, server } = memoryPipe();
  const q = new SendQueue(transport, 0, wrap);
  server.hold = true;
  put(q, 1);
  const a = q.flush();
  const bad = q.wait(() => {
    throw new RangeError("too long");
  });
  const good = q.wait(() => put(q, 9));
  server.hold = false;
  server.release();
  await a;
  await assert.rejects(bad, RangeError);
  await good;
  assert.deepEqual([...server.take()], [1, 9]);
});
