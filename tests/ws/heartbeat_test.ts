/**
 * Heartbeat semantics: a ping after `interval` ms of silence; the
 * connection fails only when nothing answers within `timeout` ms of that
 * ping. No setting can fail a quiet but alive connection.
 */
import assert from "node:assert/strict";
import { connect, TimeoutError } from "../../mod.ts";
import { drain, rawServer } from "../support/raw_server.ts";
import { noTimersLeft } from "../support/timers.ts";

const test = (name: string, fn: () => Promise<void>) =>
  Deno.test(name, noTimersLeft(fn));

/** A Deno.serve WebSocket peer (it answers pings by itself) that sends `late` after `ms`. */
function quietServer(ms: number) {
  const ac = new AbortController();
  const s = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    (req) => {
      const { socket, response } = Deno.upgradeWebSocket(req);
      socket.onopen = () => setTimeout(() => socket.send("late"), ms);
      return response;
    },
  );
  return {
    url: `ws://127.0.0.1:${s.addr.port}/`,
    async close() {
      ac.abort();
      await s.finished;
    },
  };
}

test("a timeout shorter than the interval does not fail a quiet but alive connection", async () => {
  const srv = quietServer(1000);
  let pongs = 0;
  const ws = await connect(srv.url, {
    heartbeat: { interval: 200, timeout: 100 },
    onPong: () => pongs++,
  });
  const m = await ws.recv(); // 1 s of silence but for pongs
  assert.equal(m?.text(), "late");
  assert.ok(pongs >= 2, `pings were sent and answered (${pongs} pongs)`);
  await ws.close();
  await srv.close();
});

test("a heartbeat without timeout waits interval ms for the answer to its ping", async () => {
  const srv = rawServer(drain); // reads everything, answers nothing
  const ws = await connect(srv.url, { heartbeat: { interval: 150 } });
  const t0 = performance.now();
  await assert.rejects(ws.recv(), (e) => {
    assert.ok(e instanceof TimeoutError);
    assert.match(e.message, /within 150 ms of a ping/);
    return true;
  });
  const took = performance.now() - t0;
  // a ping after >= 150 ms of silence, then >= 150 ms without an answer
  assert.ok(took >= 290 && took < 2000, `failed after ${took} ms`);
  assert.equal(ws.closeCode, 1006);
  await srv.close();
});

test("a dead peer fails after interval + timeout, not before", async () => {
  const srv = rawServer(drain);
  const ws = await connect(srv.url, {
    heartbeat: { interval: 100, timeout: 300 },
  });
  const t0 = performance.now();
  await assert.rejects(ws.recv(), TimeoutError);
  const took = performance.now() - t0;
  assert.ok(took >= 390 && took < 2000, `failed after ${took} ms`);
  await srv.close();
});

test("heartbeat settings are checked: interval is required, both are positive integers", async () => {
  const url = "ws://127.0.0.1:1/";
  await assert.rejects(
    connect(url, { heartbeat: { timeout: 100 } as never }),
    TypeError,
  );
  await assert.rejects(
    connect(url, { heartbeat: { interval: 0 } }),
    RangeError,
  );
  await assert.rejects(
    connect(url, { heartbeat: { interval: 100, timeout: 0 } }),
    RangeError,
  );
  await assert.rejects(
    connect(url, { heartbeat: { interval: 2 ** 31 } }),
    RangeError,
  );
});
