import assert from "node:assert/strict";
import {
  AppHeartbeatTimeoutError,
  ConnectionClosedError,
  ProtocolError,
  StaleFeedError,
  TimeoutError,
} from "../../mod.ts";
import { Event, Lifecycle, Phase } from "../../src/ws/lifecycle.ts";

type E = typeof Event[keyof typeof Event];
type P = typeof Phase[keyof typeof Phase];

const protocolError = new ProtocolError(1002, "Expected RSV bits 0, got 0x40");

/** A lifecycle brought to `phase` by the usual moves. */
function at(phase: P): Lifecycle {
  const l = new Lifecycle();
  if (phase === Phase.CloseSent) l.on(Event.CallerClose);
  if (phase === Phase.CloseReceived) {
    l.on(Event.ServerClose, { code: 1001, reason: "away" });
  }
  if (phase === Phase.Failing) {
    l.on(Event.ProtocolError, { error: protocolError });
  }
  if (phase === Phase.Closed) l.on(Event.Terminate);
  assert.equal(l.phase, phase);
  return l;
}

const detail = (e: E) =>
  e === Event.ServerClose
    ? { code: 1000, reason: "bye" }
    : e === Event.ProtocolError
    ? { error: protocolError }
    : e === Event.HeartbeatTimeout
    ? { error: new TimeoutError("silent") }
    : e === Event.AppHeartbeatFailed
    ? { error: new AppHeartbeatTimeoutError(100) }
    : e === Event.Stale
    ? { error: new StaleFeedError(100) }
    : {};

// The whole table, written out again as the expected behaviour: the phase
// each event leads to from each phase ("no": the move is refused).
const EXPECTED: Record<number, (P | "no")[]> = {
  // CallerClose, ServerClose, ProtocolError, SocketEnd, CloseTimeout,
  // HeartbeatTimeout, Terminate, AppHeartbeatFailed, Stale
  [Phase.Open]: [
    Phase.CloseSent,
    Phase.CloseReceived,
    Phase.Failing,
    Phase.Closed,
    "no",
    Phase.Closed,
    Phase.Closed,
    Phase.Closed,
    Phase.Closed,
  ],
  [Phase.CloseSent]: [
    Phase.CloseSent,
    Phase.CloseReceived,
    Phase.Failing,
    Phase.Closed,
    Phase.Closed,
    Phase.CloseSent,
    Phase.Closed,
    Phase.CloseSent,
    Phase.CloseSent,
  ],
  [Phase.CloseReceived]: [
    Phase.CloseReceived,
    "no",
    "no",
    Phase.Closed,
    Phase.Closed,
    Phase.CloseReceived,
    Phase.Closed,
    Phase.CloseReceived,
    Phase.CloseReceived,
  ],
  [Phase.Failing]: [
    Phase.Failing,
    Phase.Failing,
    Phase.Failing,
    Phase.Closed,
    Phase.Closed,
    Phase.Failing,
    Phase.Closed,
    Phase.Failing,
    Phase.Failing,
  ],
  [Phase.Closed]: Array(9).fill(Phase.Closed),
};

Deno.test("every event in every phase leads where the table says, and impossible moves are refused", () => {
  for (const phase of Object.values(Phase)) {
    for (const event of Object.values(Event)) {
      const l = at(phase);
      const want = EXPECTED[phase][event];
      if (want === "no") {
        assert.throws(
          () => l.on(event, detail(event)),
          /Expected a possible lifecycle move/,
        );
        assert.equal(l.phase, phase, "a refused move changes nothing");
      } else {
        assert.equal(
          l.on(event, detail(event)),
          phase,
          "on() returns the phase it left",
        );
        assert.equal(l.phase, want, `phase ${phase}, event ${event}`);
      }
    }
  }
});

Deno.test("a clean close: the server's close frame, then the end of the socket", () => {
  const l = new Lifecycle();
  l.on(Event.ServerClose, { code: 4001, reason: "bad token" });
  assert.equal(l.code, 4001);
  l.on(Event.SocketEnd);
  assert.equal(l.phase, Phase.Closed);
  assert.ok(l.clean);
  assert.equal(l.error, null);
  assert.equal(l.reason, "bad token");
});

Deno.test("the caller's close answered by the server is clean with the server's code", () => {
  const l = new Lifecycle();
  l.on(Event.CallerClose);
  l.on(Event.ServerClose, { code: 1000, reason: "" });
  l.on(Event.SocketEnd);
  assert.deepEqual([l.code, l.clean, l.byCaller, l.error], [
    1000,
    true,
    true,
    null,
  ]);
});

Deno.test("the caller's close the server never answers ends with 1006, not clean, without an error", () => {
  const l = new Lifecycle();
  l.on(Event.CallerClose);
  l.on(Event.CloseTimeout);
  assert.deepEqual([l.code, l.clean, l.error], [1006, false, null]);
});

Deno.test("a server close frame without a code gives 1005", () => {
  const l = new Lifecycle();
  l.on(Event.ServerClose, {});
  assert.equal(l.code, 1005);
});

Deno.test("failing the connection keeps the violation's code and error, even if the server closes after", () => {
  const l = new Lifecycle();
  l.on(Event.ProtocolError, { error: new ProtocolError(1007, "bad UTF-8") });
  l.on(Event.ServerClose, { code: 1000 });
  l.on(Event.SocketEnd);
  assert.equal(l.code, 1007);
  assert.ok(l.error instanceof ProtocolError);
  assert.equal(l.clean, false);
});

Deno.test("a protocol violation after the caller's close does not claim a close code the client never sent", () => {
  const l = new Lifecycle();
  l.on(Event.CallerClose);
  l.on(Event.ProtocolError, { error: protocolError });
  l.on(Event.SocketEnd);
  assert.equal(l.code, 1006);
  assert.equal(l.error, protocolError);
});

Deno.test("the socket ending while open is an abnormal close keeping the cause", () => {
  const l = new Lifecycle();
  const cause = new Deno.errors.ConnectionReset("reset");
  l.on(Event.SocketEnd, { error: cause });
  assert.ok(l.error instanceof ConnectionClosedError);
  assert.equal((l.error as ConnectionClosedError).code, 1006);
  assert.equal(l.error.cause, cause);
});

Deno.test("terminate while open or closing is an error; after the server's close frame the code stands", () => {
  for (const phase of [Phase.Open, Phase.CloseSent]) {
    const l = at(phase);
    l.on(Event.Terminate);
    assert.ok(l.error instanceof ConnectionClosedError, `phase ${phase}`);
    assert.equal(l.code, 1006);
  }
  const l = at(Phase.CloseReceived);
  l.on(Event.Terminate);
  assert.deepEqual([l.code, l.reason, l.error, l.clean], [
    1001,
    "away",
    null,
    false,
  ]);
});

Deno.test("a heartbeat timeout fails an open connection with its TimeoutError", () => {
  const l = new Lifecycle();
  const error = new TimeoutError("silent");
  l.on(Event.HeartbeatTimeout, { error });
  assert.deepEqual([l.phase, l.code, l.error], [Phase.Closed, 1006, error]);
});

Deno.test("an application heartbeat failure and a stale feed close an open connection with their own errors", () => {
  for (
    const [event, error] of [
      [Event.AppHeartbeatFailed, new AppHeartbeatTimeoutError(100)],
      [Event.Stale, new StaleFeedError(100)],
    ] as const
  ) {
    const l = new Lifecycle();
    l.on(event, { error });
    assert.deepEqual([l.phase, l.code, l.clean, l.error], [
      Phase.Closed,
      1006,
      false,
      error,
    ]);
  }
});
