/**
 * Application-level liveness against servers that behave like venues: the
 * caller's heartbeat message and its answer (OKX's text ping), the
 * server's own application pings answered (`{"ping": n}`), and the
 * staleness watchdog.
 */
import assert from "node:assert/strict";
import { bounded } from "../support/timers.ts";
import {
  AppHeartbeatTimeoutError,
  connect,
  type DisconnectInfo,
  matchPrefix,
  matchText,
  reconnecting,
  StaleFeedError,
  TimeoutError,
} from "../../mod.ts";
import { openMemory } from "../support/memory_transport.ts";
import { serverFrame } from "../support/raw_server.ts";
import { jsonPingVenue, quietVenue, textPingVenue } from "../support/venues.ts";

const encoder = new TextEncoder();
const text = (s: string) => serverFrame(0x1, encoder.encode(s));

/**
 * Keeps the event loop alive while `p` settles: an in-memory transport
 * holds no socket, and the liveness timers do not keep the process alive.
 */
async function alive<T>(p: Promise<T>): Promise<T> {
  const keep = setInterval(() => {}, 1000);
  try {
    return await p;
  } finally {
    clearInterval(keep);
  }
}

Deno.test(
  "an OKX-like server that closes with 4004 without a text ping every 2 s keeps a feed with the app heartbeat for 10 s, and drops one without it",
  bounded(20_000, async () => {
    const venue = textPingVenue({ within: 2000, tickEvery: 250 });
    const infos: DisconnectInfo[] = [];
    const feed = reconnecting(venue.url, {
      connect: {
        appHeartbeat: {
          message: "ping",
          interval: 700, // sent within 875 ms: far inside the server\'s 2 s
          isPong: matchText("pong"),
          timeout: 1500,
        },
      },
      onDisconnect: (i) => infos.push(i),
    });
    const bare = await connect(venue.url); // no heartbeat
    const stop = setTimeout(() => feed.close(), 10_000);
    const bareDone = (async () => {
      let n = 0;
      while ((await bare.recv()) !== null) n++;
      return n;
    })();
    let ticks = 0, pongs = 0;
    try {
      for (let m = await feed.recv(); m !== null; m = await feed.recv()) {
        if (m.text() === "pong") pongs++;
        else ticks++;
      }
    } finally {
      clearTimeout(stop);
    }
    // Without the heartbeat: closed by the server with 4004 after 2 s.
    assert.ok((await bareDone) >= 1);
    assert.equal(bare.closeCode, 4004);
    assert.match(bare.closeReason, /No ping received in 2000 ms/);
    // With it: one connection for the whole 10 s, answers kept out of recv().
    assert.deepEqual(infos, []);
    assert.equal(feed.generation, 1);
    assert.equal(pongs, 0);
    assert.ok(ticks >= 30, `${ticks} ticks`);
    assert.deepEqual(venue.seen.closes, [4004]);
    assert.ok(venue.seen.pings >= 9, `${venue.seen.pings} pings`);
    await venue.close();
  }),
);

Deno.test('a server\'s {"ping": n} is answered with {"pong": n} inside recv() and never returned; without the reply the server closes', async () => {
  const venue = jsonPingVenue({ every: 100, within: 300 });
  const isPing = matchPrefix('{"ping":');
  const ws = await connect(venue.url, {
    appPingReply: (m) =>
      isPing(m) ? `{"pong":${m.text().slice(8, -1)}}` : undefined,
  });
  const bare = await connect(venue.url);
  const bareDone = (async () => {
    while ((await bare.recv()) !== null) { /* ticks and unanswered pings */ }
  })();
  let ticks = 0;
  while (ticks < 12) {
    const m = await ws.recv();
    assert.ok(m !== null);
    assert.match(m.text(), /^\{"tick":\d+\}$/); // pings never come out
    ticks++;
  }
  await bareDone;
  assert.equal(bare.closeCode, 4003);
  const s = ws.stats();
  assert.ok(s.appPingsIn >= 10, `${s.appPingsIn} pings answered`);
  assert.equal(s.messagesIn, ticks + s.appPingsIn);
  assert.deepEqual(venue.seen.closes, [4003]); // only the bare one
  await ws.close();
  assert.ok(venue.seen.pongs >= 10);
  await venue.close();
});

Deno.test(
  "the staleness watchdog fails a feed whose server stops sending data but keeps answering pings, and the feed re-subscribes",
  bounded(20_000, async () => {
    const venue = quietVenue({ ticks: 3 });
    const infos: DisconnectInfo[] = [];
    const feed = reconnecting(venue.url, {
      connect: {
        heartbeat: { interval: 50 }, // RFC pings answered by the server
        appHeartbeat: {
          message: "ping",
          interval: 50,
          isPong: matchText("pong"),
        },
        staleTimeout: 600,
      },
      onConnect: async (ws) => {
        await ws.sendText("subscribe");
      },
      onDisconnect: (i) => infos.push(i),
      backoff: { initial: 10, jitter: 0 },
    });
    const seenAt: number[] = [];
    for (let i = 0; i < 6; i++) {
      const m = await feed.recv();
      assert.ok(m !== null);
      assert.match(m.text(), /^\{"tick":\d\}$/);
      seenAt.push(performance.now());
    }
    await feed.close();
    assert.equal(feed.generation, 2);
    assert.equal(venue.seen.subscriptions, 2);
    assert.equal(infos.length, 1);
    const [info] = infos;
    assert.ok(info.error instanceof StaleFeedError);
    assert.ok(info.error instanceof TimeoutError);
    assert.equal(info.code, 1006);
    assert.equal(info.generation, 1);
    // The fourth message (generation 2) came at least staleTimeout after the third.
    const quiet = seenAt[3] - seenAt[2];
    assert.ok(quiet >= 600, `stale after ${quiet} ms`);
    assert.ok(quiet < 5000, `stale after ${quiet} ms`);
    assert.ok(venue.seen.pings >= 5, "app pings were answered meanwhile");
    await venue.close();
  }),
);

Deno.test(
  "pongs and app pongs flowing do not count as data: the watchdog still fires, with the exact StaleFeedError",
  bounded(20_000, async () => {
    const venue = quietVenue({ ticks: 1 });
    const ws = await connect(venue.url, {
      appHeartbeat: {
        message: "ping",
        interval: 40,
        isPong: matchText("pong"),
      },
      staleTimeout: 400,
    });
    await ws.sendText("subscribe");
    assert.equal((await ws.recv())?.text(), '{"tick":1}');
    const t0 = performance.now();
    const pinger = setInterval(() => ws.ping().catch(() => {}), 40); // RFC pongs flow too
    await assert.rejects(ws.recv(), (e) => {
      assert.ok(e instanceof StaleFeedError);
      assert.equal(e.timeout, 400);
      assert.equal(
        e.message,
        "Expected a data message within 400 ms, got none (the feed went stale)",
      );
      return true;
    });
    clearInterval(pinger);
    assert.ok(performance.now() - t0 >= 400 - 40); // the tick came before t0
    const s = ws.stats();
    assert.ok(s.pongsIn >= 3, `${s.pongsIn} pongs`);
    assert.ok(s.appPongsIn >= 3, `${s.appPongsIn} app pongs`);
    assert.ok(s.rtt !== null && s.appRtt !== null);
    assert.equal(ws.closeCode, 1006);
    await venue.close();
  }),
);

Deno.test(
  "an app heartbeat whose answer never comes fails with AppHeartbeatTimeoutError after interval + timeout",
  bounded(20_000, async () => {
    const { ws, server } = await openMemory({
      appHeartbeat: {
        message: "ping",
        interval: 60,
        isPong: matchText("pong"),
        timeout: 120,
      },
    });
    const t0 = performance.now();
    await assert.rejects(alive(ws.recv()), (e) => {
      assert.ok(e instanceof AppHeartbeatTimeoutError);
      assert.ok(e instanceof TimeoutError);
      assert.equal(e.timeout, 120);
      return true;
    });
    const took = performance.now() - t0;
    assert.ok(took >= 175, `failed after ${took} ms`); // >= 60 + 120 after the open
    assert.equal(ws.closeCode, 1006);
    const sent = new TextDecoder().decode(server.take());
    assert.ok(sent.length >= 10, "the masked ping frame was written");
    // Sent every interval, answered never; the timeout counts from the first.
    const s = ws.stats();
    assert.ok(s.appPingsOut >= 2 && s.appPingsOut <= 3, `${s.appPingsOut}`);
    assert.equal(s.appPongsIn, 0);
    assert.equal(s.appRtt, null);
  }),
);

Deno.test(
  "answers are returned when hidePongs is false, and every message still passes the matcher once",
  bounded(20_000, async () => {
    const seen: string[] = [];
    const { ws, server } = await openMemory({
      appHeartbeat: {
        message: () => "ping",
        interval: 1_000_000,
        isPong: (m) => {
          seen.push(m.text());
          return m.text() === "pong";
        },
        hidePongs: false,
      },
    });
    server.send(text("a"));
    server.send(text("pong"));
    server.send(text("b"));
    assert.equal((await ws.recv())?.text(), "a");
    assert.equal((await ws.recv())?.text(), "pong");
    assert.equal(ws.tryRecv()?.text(), "b");
    assert.deepEqual(seen, ["a", "pong", "b"]);
    assert.equal(ws.stats().appPongsIn, 1);
    ws.terminate();
  }),
);

Deno.test(
  "a matcher or reply that throws rejects recv() with its error and the message is dropped; the connection goes on",
  bounded(20_000, async () => {
    const boom = new Error("matcher bug");
    const { ws, server } = await openMemory({
      appPingReply: (m) => {
        if (m.text() === "bad") throw boom;
        return undefined;
      },
    });
    server.send(text("first"));
    const first = await ws.recv();
    assert.equal(first?.text(), "first");
    server.send(text("bad"));
    server.send(text("good"));
    await assert.rejects(ws.recv(), (e) => e === boom);
    assert.equal(first.valid, false, "the dropped message cannot be read");
    assert.throws(() => first.text(), TypeError);
    assert.equal((await ws.recv())?.text(), "good");
    ws.terminate();
  }),
);

Deno.test(
  "a reply of the wrong type is a TypeError naming it, and a message function that throws fails the connection with its error",
  bounded(20_000, async () => {
    const a = await openMemory({ appPingReply: () => 42 as unknown as string });
    a.server.send(text("x"));
    await assert.rejects(
      a.ws.recv(),
      /Expected appPingReply's answer to be a string or a Uint8Array, got number/,
    );
    a.ws.terminate();

    const boom = new Error("no clock");
    const b = await openMemory({
      appHeartbeat: {
        message: () => {
          throw boom;
        },
        interval: 20,
      },
    });
    await assert.rejects(alive(b.ws.recv()), (e) => e === boom);
    assert.equal(b.ws.closeCode, 1006);
  }),
);

Deno.test(
  "binary heartbeat messages and binary answers work like text ones",
  bounded(20_000, async () => {
    const { ws, server } = await openMemory({
      appHeartbeat: {
        message: new Uint8Array([1, 2, 3]),
        interval: 30,
        isPong: (m) => m.type === "binary" && m.byteLength === 1,
      },
    });
    await alive(server.written(2 + 4 + 3)); // one masked 3-byte binary frame
    const frame = server.take();
    assert.equal(frame[0], 0x82);
    assert.equal(frame[1], 0x80 | 3);
    server.send(serverFrame(0x2, new Uint8Array([9])));
    server.send(text("data"));
    assert.equal((await ws.recv())?.text(), "data");
    assert.equal(ws.stats().appPongsIn, 1);
    assert.ok(ws.stats().appRtt !== null);
    ws.terminate();
  }),
);

Deno.test(
  "application liveness options are checked: required fields, types, timeout without isPong",
  bounded(20_000, async () => {
    const url = "ws://127.0.0.1:1/";
    const bad: [unknown, RegExp][] = [
      [
        { appHeartbeat: { interval: 100 } },
        /"appHeartbeat.message" to be given/,
      ],
      [
        { appHeartbeat: { message: "ping" } },
        /"appHeartbeat.interval" to be given/,
      ],
      [
        { appHeartbeat: { message: 1, interval: 100 } },
        /"appHeartbeat.message" to be a string, a Uint8Array or a function/,
      ],
      [
        { appHeartbeat: { message: "p", interval: 100, timeout: 50 } },
        /"appHeartbeat.isPong" with "appHeartbeat.timeout"/,
      ],
      [
        { appHeartbeat: { message: "p", interval: 100, isPong: "pong" } },
        /"appHeartbeat.isPong" to be a function/,
      ],
      [
        { appHeartbeat: { message: "p", interval: 100, hidePong: true } },
        /unknown option "hidePong" \(did you mean "hidePongs"\?\)/,
      ],
      [{ appPingReply: "pong" }, /"appPingReply" to be a function/],
      [{ staleTimeout: "1s" }, /"staleTimeout" to be a number/],
    ];
    for (const [options, message] of bad) {
      await assert.rejects(connect(url, options as never), TypeError);
      await assert.rejects(connect(url, options as never), message);
    }
    await assert.rejects(connect(url, { staleTimeout: 0 }), RangeError);
    await assert.rejects(
      connect(url, { appHeartbeat: { message: "p", interval: 0 } }),
      RangeError,
    );
    assert.throws(() => matchText(1 as never), TypeError);
    assert.throws(
      () => reconnecting(url, { connect: { staleTimeout: -1 } }),
      RangeError,
    );
  }),
);

Deno.test(
  "matchText and matchPrefix compare bytes in place, for text and binary messages",
  bounded(20_000, async () => {
    const { ws, server } = await openMemory();
    const pong = matchText("pong"), ping = matchPrefix('{"ping":');
    const cases: [Uint8Array, boolean, boolean][] = [
      [text("pong"), true, false],
      [text("pongs"), false, false],
      [text("pon"), false, false],
      [text('{"ping":123}'), false, true],
      [text('{"pin'), false, false],
      [serverFrame(0x2, encoder.encode("pong")), true, false],
      [text("é"), false, false],
    ];
    for (const [frame, isPong, isPing] of cases) {
      server.send(frame);
      const m = await ws.recv();
      assert.ok(m !== null);
      assert.equal(pong(m), isPong, m.text());
      assert.equal(ping(m), isPing, m.text());
    }
    assert.equal(
      matchText("é")((server.send(text("é")), await ws.recv())!),
      true,
    );
    ws.terminate();
  }),
);
