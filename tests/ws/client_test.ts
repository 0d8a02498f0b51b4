import assert from "node:assert/strict";
import {
  connect,
  ConnectionClosedError,
  OwnedMessage,
  ProtocolError,
  TimeoutError,
  type Transport,
} from "../../mod.ts";
import { drain, rawServer, serverFrame } from "../support/raw_server.ts";
import { acceptFor } from "../support/memory_transport.ts";
import { noTimersLeft } from "../support/timers.ts";
import { moreThanSocketsHold } from "../support/socket_buffers.ts";

/** Each test must also leave no timer behind (heartbeat, close timers). */
const test = (name: string, fn: () => Promise<void>) =>
  Deno.test(name, noTimersLeft(fn));

const enc = new TextEncoder();

/** A Deno.serve WebSocket server; `onSocket` sets up each upgraded socket. */
function denoServer(onSocket: (s: WebSocket, req: Request) => void) {
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    (req) => {
      const { socket, response } = Deno.upgradeWebSocket(req);
      onSocket(socket, req);
      return response;
    },
  );
  return {
    url: `ws://127.0.0.1:${server.addr.port}/`,
    async close() {
      ac.abort();
      await server.finished;
    },
  };
}

const echo = (s: WebSocket) => {
  s.binaryType = "arraybuffer";
  s.onmessage = (e) => s.send(e.data);
};

test("for await yields owned copies that stay valid after later messages", async () => {
  const srv = denoServer((s) => {
    s.onopen = () => {
      for (let i = 0; i < 5; i++) s.send(`message ${i}`);
      s.close(1000, "done");
    };
  });
  const ws = await connect(srv.url);
  const got: OwnedMessage[] = [];
  for await (const m of ws) got.push(m);
  assert.deepEqual(
    got.map((m) => m.text()),
    [0, 1, 2, 3, 4].map((i) => `message ${i}`),
  );
  assert.ok(got.every((m) => m instanceof OwnedMessage && m.type === "text"));
  assert.equal(ws.closeCode, 1000);
  assert.equal(ws.closeReason, "done");
  await srv.close();
});

/** A transport wrapper counting the bytes read from the socket. */
function counting(conn: Deno.Conn): Transport & { bytesRead: number } {
  return {
    bytesRead: 0,
    async read(p) {
      const n = await conn.read(p);
      if (n !== null) this.bytesRead += n;
      return n;
    },
    write: (p) => conn.write(p),
    close: () => conn.close(),
  };
}

test("readable stops reading the socket while its queue is full", async () => {
  const count = 2000, size = 1024;
  const srv = rawServer(async (conn) => {
    const frames: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      const p = new Uint8Array(size).fill(i & 0xff);
      new DataView(p.buffer).setUint32(0, i);
      frames.push(serverFrame(2, p));
    }
    for (const f of frames) await conn.write(f);
    await conn.write(serverFrame(8, new Uint8Array([0x03, 0xe8])));
    await conn.read(new Uint8Array(64)); // the client's close echo, then TCP close
    conn.close();
  });
  const t = counting(
    await Deno.connect({ hostname: "127.0.0.1", port: srv.port }),
  );
  const ws = await connect(srv.url, {
    transport: t,
    bufferCapacity: 4096,
    readableHighWaterMark: 4,
  });
  const reader = ws.readable.getReader();
  const first = await reader.read();
  assert.equal(new DataView(first.value!.data.buffer).getUint32(0), 0);
  await new Promise((r) => setTimeout(r, 300));
  // the server has written 2 MiB; the client took only what fits its bounds
  assert.ok(
    t.bytesRead < 64 * 1024,
    `read ${t.bytesRead} bytes while the consumer slept`,
  );
  let expected = 1;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    assert.equal(new DataView(value.data.buffer).getUint32(0), expected++);
    assert.equal(value.data.length, size);
  }
  assert.equal(expected, count);
  assert.equal(ws.closeCode, 1000);
  await srv.close();
});

test("owned iteration reads the socket only as fast as the loop consumes", async () => {
  const count = 2000, size = 1024;
  const srv = rawServer(async (conn) => {
    const burst = new Uint8Array((size + 4) * count);
    for (let i = 0; i < count; i++) {
      const p = new Uint8Array(size);
      new DataView(p.buffer).setUint32(0, i);
      burst.set(serverFrame(2, p), i * (size + 4));
    }
    await conn.write(burst);
    await conn.write(serverFrame(8, new Uint8Array([0x03, 0xe8])));
    await conn.read(new Uint8Array(64));
    conn.close();
  });
  const t = counting(
    await Deno.connect({ hostname: "127.0.0.1", port: srv.port }),
  );
  const ws = await connect(srv.url, { transport: t, bufferCapacity: 4096 });
  let expected = 0;
  for await (const m of ws) {
    assert.equal(new DataView(m.data.buffer).getUint32(0), expected++);
    if (expected === 1) {
      await new Promise((r) => setTimeout(r, 300));
      // 2 MiB are waiting in the socket; the client holds one buffer's worth
      assert.ok(t.bytesRead <= 4096 + 1024, `read ${t.bytesRead} bytes`);
    }
  }
  assert.equal(expected, count);
  await srv.close();
});

test("concurrent sends from several tasks arrive intact and in per-task order", async () => {
  const srv = denoServer(echo);
  const ws = await connect(srv.url);
  const tasks = 4, per = 250;
  let sawBuffered = 0;
  const senders = Array.from({ length: tasks }, (_, t) =>
    (async () => {
      for (let i = 0; i < per; i++) {
        const body = `${t}:${i}:` + "x".repeat((i * 37) % 3000);
        const p = i % 2 === 0
          ? ws.sendText(body)
          : ws.sendBinary(enc.encode(body));
        sawBuffered = Math.max(sawBuffered, ws.bufferedAmount);
        if (i % 10 === 9) await p;
      }
    })());
  const next = new Array(tasks).fill(0);
  for (let k = 0; k < tasks * per; k++) {
    const m = await ws.recv();
    assert.ok(m !== null);
    const [t, i, pad] = m.text().split(":");
    assert.equal(Number(i), next[Number(t)]++, `task ${t} out of order`);
    assert.equal(pad.length, (Number(i) * 37) % 3000);
    assert.equal(m.type, Number(i) % 2 === 0 ? "text" : "binary");
  }
  await Promise.all(senders);
  assert.deepEqual(next, new Array(tasks).fill(per));
  assert.ok(sawBuffered > 0, "bufferedAmount never showed queued bytes");
  assert.equal(ws.bufferedAmount, 0);
  await ws.close();
  await srv.close();
});

test("sends wait their turn once bufferedAmount passes maxBufferedAmount", async () => {
  // the server completes the handshake, then never reads: writes back up
  const hold = Promise.withResolvers<void>();
  const srv = rawServer(() => hold.promise);
  const ws = await connect(srv.url, {
    maxBufferedAmount: 256 * 1024,
    closeTimeout: 200,
  });
  const chunk = new Uint8Array(64 * 1024);
  const sends: Promise<void>[] = [];
  let settled = 0;
  for (let i = 0; i < 400; i++) {
    const p = ws.sendBinary(chunk);
    p.then(() => settled++, () => {});
    sends.push(p);
  }
  await new Promise((r) => setTimeout(r, 300));
  // 25 MiB were offered; what is held is bounded by the mark plus one frame
  assert.ok(
    ws.bufferedAmount <= 256 * 1024 + 64 * 1024 + 14,
    `buffered ${ws.bufferedAmount}`,
  );
  assert.ok(
    settled < 400,
    "every send resolved although the peer reads nothing",
  );
  ws.terminate();
  const results = await Promise.allSettled(sends);
  const rejected = results.filter((r) => r.status === "rejected");
  assert.ok(rejected.length > 0);
  for (const r of rejected) {
    assert.ok(
      (r as PromiseRejectedResult).reason instanceof ConnectionClosedError,
    );
  }
  hold.resolve();
  await srv.close();
});

test("heartbeat fails a connection whose server stops answering, within its deadline", async () => {
  const srv = rawServer(drain); // reads everything, answers nothing, keeps TCP open
  const ws = await connect(srv.url, {
    heartbeat: { interval: 100, timeout: 400 },
  });
  const t0 = performance.now();
  await assert.rejects(ws.recv(), TimeoutError);
  const took = performance.now() - t0;
  assert.ok(took >= 350 && took < 1500, `detected after ${took} ms`);
  assert.ok(ws.closed);
  await srv.close();
});

test("heartbeat keeps a connection whose server answers pings", async () => {
  const srv = denoServer((s) => {
    s.onopen = () => setTimeout(() => s.send("late"), 700);
  });
  const ws = await connect(srv.url, {
    heartbeat: { interval: 50, timeout: 250 },
  });
  const m = await ws.recv(); // 700 ms of silence apart from pongs
  assert.equal(m?.text(), "late");
  await ws.close();
  await srv.close();
});

test("pings are answered and observable through onPing", async () => {
  const pings: string[] = [];
  let pong = "";
  const srv = rawServer(async (conn) => {
    await conn.write(serverFrame(9, enc.encode("are you there")));
    const buf = new Uint8Array(256);
    const n = (await conn.read(buf))!;
    // a masked pong from the client: unmask it
    const len = buf[1] & 0x7f, key = buf.subarray(2, 6);
    assert.equal(buf[0], 0x8a);
    pong = new TextDecoder().decode(
      buf.subarray(6, 6 + len).map((b, i) => b ^ key[i & 3]),
    );
    assert.ok(n >= 6 + len);
    await conn.write(serverFrame(1, enc.encode("after")));
    await drain(conn);
  });
  const ws = await connect(srv.url, {
    onPing: (d) => pings.push(new TextDecoder().decode(d)),
  });
  assert.equal((await ws.recv())?.text(), "after");
  assert.deepEqual(pings, ["are you there"]);
  assert.equal(pong, "are you there");
  ws.terminate();
  await srv.close();
});

test("connect runs over a caller-supplied transport (a Unix socket)", async () => {
  const path = await Deno.makeTempFile({ suffix: ".sock" });
  await Deno.remove(path);
  const ac = new AbortController();
  const server = Deno.serve(
    { path, signal: ac.signal, onListen() {} },
    (req) => {
      const { socket, response } = Deno.upgradeWebSocket(req);
      echo(socket);
      return response;
    },
  );
  const conn = await Deno.connect({ transport: "unix", path });
  const ws = await connect("ws://localhost/", { transport: conn });
  await ws.sendText("over unix");
  assert.equal((await ws.recv())?.text(), "over unix");
  await ws.close();
  ac.abort();
  await server.finished;
  await Deno.remove(path).catch(() => {});
});

test("split halves let one task send while another waits in recv", async () => {
  const srv = denoServer(echo);
  const { reader, writer } = (await connect(srv.url)).split();
  const got: string[] = [];
  const pump = (async () => {
    for await (const m of reader) got.push(m.text());
  })();
  await new Promise((r) => setTimeout(r, 20)); // recv() is now pending
  await Promise.all([
    writer.sendText("a"),
    writer.sendText("b"),
    writer.sendText("c"),
  ]);
  while (got.length < 3) await new Promise((r) => setTimeout(r, 5));
  await writer.close();
  await pump;
  assert.deepEqual(got, ["a", "b", "c"]);
  await srv.close();
});

test("writable sends strings as text and bytes as binary", async () => {
  const seen: string[] = [];
  const srv = denoServer((s) => {
    s.binaryType = "arraybuffer";
    s.onmessage = (e) =>
      seen.push(
        typeof e.data === "string"
          ? `text:${e.data}`
          : `binary:${e.data.byteLength}`,
      );
  });
  const ws = await connect(srv.url);
  const w = ws.writable.getWriter();
  await w.write("hello");
  await w.write(new Uint8Array(3));
  await w.close();
  assert.ok(ws.closed);
  assert.deepEqual(seen, ["text:hello", "binary:3"]);
  await srv.close();
});

test("sending after the caller closed is a TypeError; after the server closed, a ConnectionClosedError", async () => {
  const srv = denoServer((s) => {
    s.onmessage = (e) => {
      if (e.data === "bye") s.close(4000, "server says bye");
    };
  });
  const a = await connect(srv.url);
  await a.close();
  assert.throws(() => a.sendText("x"), TypeError);
  const b = await connect(srv.url);
  await b.sendText("bye");
  assert.equal(await b.recv(), null);
  assert.equal(b.closeCode, 4000);
  assert.equal(b.closeReason, "server says bye");
  assert.throws(() => b.sendText("x"), ConnectionClosedError);
  await srv.close();
});

test("bad options are refused at the call, before anything is dialed", async () => {
  await assert.rejects(
    connect("ws://127.0.0.1:1/", { bufferCapacity: 10 }),
    RangeError,
  );
  await assert.rejects(
    connect("ws://127.0.0.1:1/", { compactAt: -1 }),
    RangeError,
  );
  await assert.rejects(
    connect("ws://127.0.0.1:1/", { handshakeTimeout: -5 }),
    RangeError,
  );
  await assert.rejects(
    connect("ws://127.0.0.1:1/", { heartbeat: { interval: 0, timeout: 10 } }),
    RangeError,
  );
  await assert.rejects(
    connect("ws://127.0.0.1:1/", { headers: { "X-A": "1\r\nX-Injected: 1" } }),
    TypeError,
  );
  await assert.rejects(
    connect("ws://127.0.0.1:1/", { headers: { Host: "evil" } }),
    TypeError,
  );
  await assert.rejects(connect("ftp://127.0.0.1/"), TypeError);
  await assert.rejects(connect("ws://127.0.0.1:1/#frag"), TypeError);
});

test("tryRecv hands out buffered messages synchronously and leaves reads, close and errors to recv", async () => {
  const srv = rawServer(async (conn) => {
    const burst = [0, 1, 2, 3, 4].map((i) =>
      serverFrame(1, enc.encode(`m${i}`))
    );
    await conn.write(new Uint8Array(burst.flatMap((f) => [...f])));
    const buf = new Uint8Array(256);
    await conn.read(buf); // the client's "more"
    const tail = [
      serverFrame(1, enc.encode("m5")),
      serverFrame(9, enc.encode("hb")),
      serverFrame(8, new Uint8Array([0x03, 0xe8, ...enc.encode("done")])),
    ];
    await conn.write(new Uint8Array(tail.flatMap((f) => [...f])));
    await conn.read(buf); // pong and close echo
    conn.close();
  });
  const pings: string[] = [];
  const ws = await connect(srv.url, {
    onPing: (d) => pings.push(new TextDecoder().decode(d)),
  });
  assert.equal((await ws.recv())?.text(), "m0");
  const sync: string[] = [];
  for (let m = ws.tryRecv(); m !== undefined; m = ws.tryRecv()) {
    sync.push(m.text());
    // zero-allocation access to the same bytes
    const again = new TextDecoder().decode(
      m.bytes.subarray(m.offset, m.offset + m.byteLength),
    );
    assert.equal(again, m.text());
  }
  assert.deepEqual(sync, ["m1", "m2", "m3", "m4"]);
  await ws.sendText("more");
  assert.equal((await ws.recv())?.text(), "m5");
  assert.equal(ws.tryRecv(), undefined); // answers the ping, keeps the close for recv()
  assert.deepEqual(pings, ["hb"]);
  assert.equal(ws.closed, false);
  assert.equal(await ws.recv(), null);
  assert.equal(ws.closeCode, 1000);
  assert.equal(ws.closeReason, "done");
  await srv.close();
});

test("a protocol error met by tryRecv rejects the next recv with its close code", async () => {
  const srv = rawServer(async (conn) => {
    const ok = serverFrame(1, enc.encode("ok"));
    const bad = serverFrame(1, enc.encode("x"));
    bad[0] |= 0x40; // RSV1 without an extension
    await conn.write(new Uint8Array([...ok, ...bad]));
    await conn.read(new Uint8Array(64)); // the close frame, then hang up
    conn.close();
  });
  const ws = await connect(srv.url);
  assert.equal((await ws.recv())?.text(), "ok");
  assert.equal(ws.tryRecv(), undefined);
  await assert.rejects(
    ws.recv(),
    (e) => e instanceof ProtocolError && e.code === 1002,
  );
  assert.ok(ws.closed);
  await srv.close();
});

/** Resolves `"settled"` when `p` settles, `"pending"` after `ms`. */
function settlesWithin(p: Promise<unknown>, ms: number): Promise<string> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([
    p.then(() => "settled", () => "settled"),
    new Promise<string>((r) => timer = setTimeout(() => r("pending"), ms)),
  ]).finally(() => clearTimeout(timer));
}

test("a send waiting its turn that nobody awaits does not crash the process when the connection ends", async () => {
  const hold = Promise.withResolvers<void>();
  const srv = rawServer(() => hold.promise); // never reads: writes back up
  const ws = await connect(srv.url, { maxBufferedAmount: 1024 });
  ws.sendBinary(new Uint8Array(moreThanSocketsHold())).catch(() => {});
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(ws.bufferedAmount > 1024, "the big write was not stuck");
  void ws.sendText("fire and forget"); // waits its turn; its rejection is nobody's
  const kept = ws.sendText("kept");
  ws.terminate();
  await assert.rejects(kept, ConnectionClosedError);
  await new Promise((r) => setTimeout(r, 20)); // an unhandled rejection would fail the test here
  hold.resolve();
  await srv.close();
});

test("maxBufferedAmount 0 sends one write at a time instead of never", async () => {
  const srv = denoServer(echo);
  const ws = await connect(srv.url, { maxBufferedAmount: 0 });
  const sends = Promise.all(["a", "b", "c"].map((s) => ws.sendText(s)));
  assert.equal(await settlesWithin(sends, 2000), "settled");
  await sends;
  const got = [];
  for (let i = 0; i < 3; i++) got.push((await ws.recv())?.text());
  assert.deepEqual(got, ["a", "b", "c"]);
  await ws.close();
  await srv.close();
});

test("a close frame met by tryRecv() starts the closing handshake at once; terminate() then keeps the server's code", async () => {
  let echoed: Uint8Array | null = null;
  const srv = rawServer(async (conn) => {
    await conn.write(
      new Uint8Array([
        ...serverFrame(1, enc.encode("a")),
        ...serverFrame(8, new Uint8Array([0x03, 0xe8, 0x62, 0x79, 0x65])),
      ]),
    );
    const buf = new Uint8Array(64);
    const n = await conn.read(buf);
    if (n !== null) echoed = buf.slice(0, n);
    await drain(conn);
  });
  const ws = await connect(srv.url);
  assert.equal((await ws.recv())?.text(), "a");
  assert.equal(ws.tryRecv(), undefined); // the close frame: closing starts
  assert.throws(
    () => ws.sendText("late"),
    (e) => e instanceof ConnectionClosedError && e.code === 1000,
  );
  assert.equal(ws.closeCode, 1000);
  assert.equal(ws.closeReason, "bye");
  while (echoed === null) await new Promise((r) => setTimeout(r, 5));
  assert.equal((echoed as Uint8Array)[0], 0x88, "our close frame was sent");
  ws.terminate();
  assert.equal(await ws.recv(), null);
  assert.equal(ws.closeCode, 1000);
  assert.ok(ws.closed);
  await srv.close();
});

test("recv() after terminate() rejects with ConnectionClosedError 1006 when no close frame came", async () => {
  const srv = rawServer(async (conn) => {
    await conn.write(serverFrame(1, enc.encode("a")));
    await drain(conn);
  });
  const ws = await connect(srv.url);
  assert.equal((await ws.recv())?.text(), "a");
  ws.terminate();
  await assert.rejects(
    ws.recv(),
    (e) => e instanceof ConnectionClosedError && e.code === 1006,
  );
  assert.equal(ws.closeCode, 1006);
  await srv.close();
});

test("a reader task calling recv() while close() waits for the server's answer gets null, not a TypeError", async () => {
  const srv = rawServer(async (conn) => {
    for (let i = 0; i < 3; i++) {
      await conn.write(serverFrame(1, enc.encode(`m${i}`)));
    }
    await conn.read(new Uint8Array(256)); // the client's close frame
    await new Promise((r) => setTimeout(r, 200));
    await conn.write(serverFrame(8, new Uint8Array([0x03, 0xe8])));
    conn.close();
  });
  const { reader, writer } = (await connect(srv.url)).split();
  assert.equal((await reader.recv())?.text(), "m0");
  // the reader task is busy with m0 when the writer task closes
  const closing = writer.close();
  await new Promise((r) => setTimeout(r, 50)); // close() is now reading itself
  assert.equal(await reader.recv(), null);
  await closing;
  await srv.close();
});

test("an onPing callback that throws rejects recv() instead of throwing from the call", async () => {
  const srv = rawServer(async (conn) => {
    const frames = [
      serverFrame(1, enc.encode("x")),
      serverFrame(9, enc.encode("p")),
      serverFrame(1, enc.encode("y")),
    ];
    await conn.write(new Uint8Array(frames.flatMap((f) => [...f])));
    await drain(conn);
  });
  const ws = await connect(srv.url, {
    onPing: () => {
      throw new Error("boom");
    },
  });
  assert.equal((await ws.recv())?.text(), "x");
  let p: Promise<unknown> | undefined;
  assert.doesNotThrow(() => p = ws.recv()); // the ping is already buffered
  await assert.rejects(p!, /boom/);
  assert.equal((await ws.recv())?.text(), "y"); // the connection goes on
  ws.terminate();
  await srv.close();
});

Deno.test("a recv() that waits through many control frames settles in a few microtask turns once its message comes: nothing piles up per socket read", async () => {
  const reads = 20_000; // one pong per socket read, then a text message
  const enc = new TextEncoder();
  let request: Uint8Array | null = null;
  let gotRequest!: () => void;
  const requested = new Promise<void>((r) => gotRequest = r);
  let n = -1; // -1: the handshake answer comes next
  let turns = -1; // microtask turns from the last read to the settled recv()
  let settled = false;
  const transport = {
    async read(p: Uint8Array): Promise<number> {
      if (n === -1) {
        await requested;
        const answer = acceptFor(request!);
        p.set(answer);
        n = 0;
        return answer.length;
      }
      await null; // an asynchronous read, as a socket's
      if (++n <= reads) {
        p.set(serverFrame(0xa, new Uint8Array(0)));
        return 2;
      }
      (async () => {
        for (turns = 0; !settled; turns++) await null;
      })();
      const frame = serverFrame(1, enc.encode("tick"));
      p.set(frame);
      return frame.length;
    },
    write(p: Uint8Array): Promise<number> {
      if (request === null) {
        request = p.slice();
        gotRequest();
      }
      return Promise.resolve(p.length);
    },
    close() {},
  };
  const ws = await connect("ws://memory.test/", { transport });
  try {
    const m = await ws.recv().finally(() => settled = true);
    assert.equal(m?.text(), "tick");
    assert.equal(n, reads + 1);
    assert.ok(turns >= 0 && turns < 100, `${turns} microtask turns`);
  } finally {
    ws.terminate();
  }
});
