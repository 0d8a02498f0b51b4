/**
 * Property-based test of the client's lifecycle: random interleavings of
 * the caller's calls (recv, tryRecv, sends, close, terminate) with the
 * server's actions (data, ping, close, a bad frame, end of stream, reset)
 * over an in-memory transport never hang, never leave a timer, never leave
 * a rejection unhandled, and end closed with a close code consistent with
 * what happened on the wire.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  ConnectionClosedError,
  type Message,
  ProtocolError,
  TimeoutError,
} from "../../mod.ts";
import { type MemoryServer, openMemory } from "../support/memory_transport.ts";
import { serverFrame } from "../support/raw_server.ts";
import { noTimersLeft } from "../support/timers.ts";

const SEED = Number(Deno.env.get("FUZZ_SEED") ?? 20261130);
const RUNS = Number(Deno.env.get("FUZZ_RUNS") ?? 150);
const enc = new TextEncoder();

type Action =
  | { by: "client"; op: "recv" | "tryRecv" | "send" | "terminate" }
  | { by: "client"; op: "close"; code: number }
  | { by: "server"; op: "data" | "ping" | "bad" | "end" | "reset" }
  | { by: "server"; op: "close"; code: number | null };

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ by: "client", op: "recv" } as const) },
  fc.constant({ by: "client", op: "tryRecv" } as const),
  fc.constant({ by: "client", op: "send" } as const),
  fc.constant({ by: "client", op: "terminate" } as const),
  fc.constantFrom(1000, 4000).map((code) =>
    ({ by: "client", op: "close", code }) as const
  ),
  { weight: 3, arbitrary: fc.constant({ by: "server", op: "data" } as const) },
  fc.constant({ by: "server", op: "ping" } as const),
  fc.constant({ by: "server", op: "bad" } as const),
  fc.constant({ by: "server", op: "end" } as const),
  fc.constant({ by: "server", op: "reset" } as const),
  fc.constantFrom(1000, 1001, 4321, null).map((code) =>
    ({ by: "server", op: "close", code }) as const
  ),
);

/** A client frame as the server sees it (unmasked). */
interface ClientFrame {
  op: number;
  payload: Uint8Array;
}

/** Parses the masked frames the client wrote. */
function clientFrames(bytes: Uint8Array): ClientFrame[] {
  const out: ClientFrame[] = [];
  let i = 0;
  while (i < bytes.length) {
    const op = bytes[i] & 0x0f;
    let len = bytes[i + 1] & 0x7f, p = i + 2;
    if (len === 126) {
      len = (bytes[p] << 8) | bytes[p + 1];
      p += 2;
    } else if (len === 127) {
      len = Number(
        new DataView(bytes.buffer, bytes.byteOffset + p).getBigUint64(0),
      );
      p += 8;
    }
    const key = bytes.subarray(p, p + 4);
    p += 4;
    const payload = bytes.slice(p, p + len);
    for (let k = 0; k < len; k++) payload[k] ^= key[k & 3];
    out.push({ op, payload });
    i = p + len;
  }
  return out;
}

const closeCodeOf = (f: ClientFrame) =>
  f.payload.length >= 2 ? (f.payload[0] << 8) | f.payload[1] : null;

/** Settles within `ms` or fails the run: nothing may hang. */
function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} hung`)), ms);
  });
  return Promise.race([p, hang]).finally(() => clearTimeout(timer));
}

/** Every outcome a recv() may have; anything else fails the run. */
type Outcome = { kind: "message" } | { kind: "null" } | {
  kind: "error";
  error: unknown;
};

function checkOutcomeType(o: Outcome): void {
  if (o.kind !== "error") return;
  const e = o.error;
  assert.ok(
    e instanceof ProtocolError || e instanceof ConnectionClosedError ||
      e instanceof TimeoutError || e instanceof TypeError,
    `recv() rejected with an untyped error: ${e}`,
  );
}

interface Setup {
  heartbeat: boolean;
  maxBufferedAmount: number;
}

const setup: fc.Arbitrary<Setup> = fc.record({
  heartbeat: fc.boolean(),
  maxBufferedAmount: fc.constantFrom(0, 8, 1 << 20),
});

async function run(actions: Action[], opts: Setup): Promise<void> {
  const { ws, server } = await openMemory({
    closeTimeout: 30,
    maxBufferedAmount: opts.maxBufferedAmount,
    heartbeat: opts.heartbeat ? { interval: 4, timeout: 4 } : undefined,
  });
  const serverCodes = new Set<number>();
  let badSent = false, callerEnded = false, ended = false;
  const outcomes: Promise<Outcome>[] = [];
  const closes: Promise<void>[] = [];
  let pending: Promise<Outcome> | null = null;
  const settle = (p: Promise<Message | null>): Promise<Outcome> =>
    p.then(
      (m) => (m === null ? { kind: "null" } : { kind: "message" }) as Outcome,
      (error) => ({ kind: "error", error }) as Outcome,
    );

  for (const a of actions) {
    if (a.by === "server") serverAction(server, a);
    else clientAction(a);
    await new Promise((r) => setTimeout(r, 0));
  }

  function serverAction(s: MemoryServer, a: Action & { by: "server" }): void {
    if (ended) return; // nothing follows the end of the stream
    switch (a.op) {
      case "data":
        s.send(serverFrame(1, enc.encode("tick")));
        return;
      case "ping":
        s.send(serverFrame(9, enc.encode("hb")));
        return;
      case "bad":
        badSent = true;
        s.send(new Uint8Array([0xc1, 0x00])); // RSV1 without an extension
        return;
      case "close": {
        if (a.code !== null) serverCodes.add(a.code);
        else serverCodes.add(1005);
        const payload = a.code === null
          ? new Uint8Array(0)
          : new Uint8Array([a.code >> 8, a.code & 0xff]);
        s.send(serverFrame(8, payload));
        return;
      }
      case "end":
        ended = true;
        s.end();
        return;
      case "reset":
        ended = true;
        s.reset();
        return;
    }
  }

  function clientAction(a: Action & { by: "client" }): void {
    switch (a.op) {
      case "recv": {
        const p = settle(ws.recv());
        outcomes.push(p);
        if (pending === null) {
          pending = p;
          p.then(() => pending = null);
        }
        return;
      }
      case "tryRecv": {
        try {
          ws.tryRecv();
        } catch (e) {
          assert.fail(`tryRecv() threw ${e}`);
        }
        return;
      }
      case "send":
        try {
          ws.sendText("order").catch((e) => {
            assert.ok(
              e instanceof ConnectionClosedError || e instanceof TypeError ||
                e instanceof ProtocolError || e instanceof TimeoutError,
              `a send rejected with ${e}`,
            );
          });
        } catch (e) {
          assert.ok(
            e instanceof ConnectionClosedError || e instanceof TypeError ||
              e instanceof ProtocolError || e instanceof TimeoutError,
            `a send threw ${e}`,
          );
        }
        return;
      case "close":
        callerEnded = true;
        closes.push(ws.close(a.code)); // never rejects
        return;
      case "terminate":
        callerEnded = true;
        ws.terminate();
        return;
    }
  }

  // Wind down: the server ends its side; the caller closes. All settles.
  if (!ended) server.end();
  callerEnded = true;
  await bounded(ws.close(), 1000, "close()");
  const settled = await bounded(Promise.all(outcomes), 1000, "recv()");
  await bounded(Promise.all(closes), 1000, "close()");
  settled.forEach(checkOutcomeType);
  assert.ok(ws.closed, "closed at the end");

  // What the client wrote: at most one close frame, nothing after it.
  const frames = clientFrames(server.take().subarray(0));
  const closeAt = frames.findIndex((f) => f.op === 8);
  if (closeAt >= 0) {
    assert.equal(closeAt, frames.length - 1, "nothing follows our close frame");
  }
  const sent = closeAt >= 0 ? closeCodeOf(frames[closeAt]) : null;

  // Once closed, recv() gives the same outcome every time.
  const a1 = await settle(ws.recv()), a2 = await settle(ws.recv());
  assert.equal(a1.kind, a2.kind);
  assert.notEqual(a1.kind, "message");
  if (a1.kind === "error" && a2.kind === "error") {
    assert.equal(a1.error, a2.error);
  }

  // The close code agrees with the wire.
  const code = ws.closeCode;
  const outcomeErrors = [...settled, a1].flatMap((o) =>
    o.kind === "error" ? [o.error] : []
  );
  const protocolErr = outcomeErrors.find((e) => e instanceof ProtocolError);
  if (protocolErr instanceof ProtocolError && code !== 1006) {
    assert.ok(badSent, "a protocol error needs a bad frame");
    assert.equal(code, protocolErr.code);
    if (sent !== null) {
      assert.equal(sent, code, "our close frame carried the violation's code");
    }
  }
  if (code !== 1006 && !(protocolErr instanceof ProtocolError)) {
    assert.ok(
      serverCodes.has(code),
      `closeCode ${code} was sent by the server`,
    );
    // our frame: the echo of the server's code (none for 1005), or the caller's
    assert.ok(
      sent === null || sent === code || sent === 1000 || sent === 4000,
      `sent ${sent} with closeCode ${code}`,
    );
  }
  for (const o of settled) {
    if (o.kind === "null") {
      assert.ok(
        serverCodes.has(code) || (code === 1006 && callerEnded),
        `recv() gave null with closeCode ${code}`,
      );
    } else if (
      o.kind === "error" && (o.error instanceof ConnectionClosedError ||
        o.error instanceof TimeoutError)
    ) {
      if (o.error instanceof TimeoutError) assert.ok(opts.heartbeat);
      if (o.error instanceof ConnectionClosedError) {
        assert.equal(o.error.code, 1006);
      }
      assert.equal(code, 1006);
    }
  }
  assert.ok(
    [1000, 1001, 1002, 1005, 1006, 4321].includes(code),
    `closeCode ${code}`,
  );
}

Deno.test("random interleavings of caller calls and server actions never hang, leak a timer or reject unhandled, and end with a consistent closeCode", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(action, { minLength: 1, maxLength: 14 }),
      setup,
      (actions, opts) => noTimersLeft(() => run(actions, opts))(),
    ),
    { seed: SEED, numRuns: RUNS },
  );
});
