/**
 * The lifecycle of one WebSocket connection: one phase, changed only by
 * {@link Lifecycle.on}, which looks the move up in one table and refuses
 * the impossible ones (in the manner of h11's state table). It holds the
 * outcome too (close code, reason, clean or not, the error), so that every
 * part of the client reads the same truth. No I/O here: the client performs
 * what a move asks for (send a close frame, close the socket).
 *
 * @module
 */

import { ConnectionClosedError } from "../errors.ts";

/**
 * The phases of a connection.
 *
 * - `Open`: both directions carry messages.
 * - `CloseSent`: the caller's close frame is sent (or queued); the
 *   server's close frame is awaited. Messages still arriving are returned.
 * - `CloseReceived`: the server's close frame has arrived and ours is sent
 *   (before it, or queued as the echo): the closing handshake is complete,
 *   only the TCP teardown remains.
 * - `Failing`: the client failed the connection (the server broke the
 *   protocol) and waits for the TCP end, reading nothing more.
 * - `Closed`: the socket is closed; the outcome is final.
 */
export const Phase = {
  Open: 0,
  CloseSent: 1,
  CloseReceived: 2,
  Failing: 3,
  Closed: 4,
} as const;

/** One of {@link Phase}'s values. */
export type Phase = typeof Phase[keyof typeof Phase];

const PHASE_NAMES = ["Open", "CloseSent", "CloseReceived", "Failing", "Closed"];

/** What can happen to a connection. */
export const Event = {
  /** The caller's `close()`. */
  CallerClose: 0,
  /** The server's close frame was parsed. */
  ServerClose: 1,
  /** The server broke the protocol. */
  ProtocolError: 2,
  /** The socket ended (end of stream, read error). */
  SocketEnd: 3,
  /** The close timer fired (the server did not finish closing in time). */
  CloseTimeout: 4,
  /** The heartbeat found the server dead. */
  HeartbeatTimeout: 5,
  /** The caller's `terminate()`. */
  Terminate: 6,
  /**
   * The application heartbeat failed: no answer in time, or the caller's
   * message function threw.
   */
  AppHeartbeatFailed: 7,
  /** The staleness watchdog found no data message in time. */
  Stale: 8,
} as const;

/** One of {@link Event}'s values. */
export type Event = typeof Event[keyof typeof Event];

const EVENT_NAMES = [
  "CallerClose",
  "ServerClose",
  "ProtocolError",
  "SocketEnd",
  "CloseTimeout",
  "HeartbeatTimeout",
  "Terminate",
  "AppHeartbeatFailed",
  "Stale",
];

/** Nothing to do: the event does not change the phase. */
const STAY = -1;
/** The event cannot happen in this phase: a bug in the client. */
const NO = -2;

const { Open, CloseSent, CloseReceived, Failing, Closed } = Phase;

/**
 * The transition table: `TABLE[phase][event]` is the next phase, `STAY` or
 * `NO`. Columns in {@link Event} order: CallerClose, ServerClose,
 * ProtocolError, SocketEnd, CloseTimeout, HeartbeatTimeout, Terminate,
 * AppHeartbeatFailed, Stale. The three liveness failures (heartbeat,
 * application heartbeat, staleness) move alike: an open connection is
 * dropped at once (no closing handshake with a peer that is dead or
 * useless); once closing has begun, the close timer bounds the rest.
 */
const TABLE: readonly (readonly number[])[] = [
  /* Open          */ [
    CloseSent,
    CloseReceived,
    Failing,
    Closed,
    NO,
    Closed,
    Closed,
    Closed,
    Closed,
  ],
  /* CloseSent     */ [
    STAY,
    CloseReceived,
    Failing,
    Closed,
    Closed,
    STAY,
    Closed,
    STAY,
    STAY,
  ],
  /* CloseReceived */ [STAY, NO, NO, Closed, Closed, STAY, Closed, STAY, STAY],
  /* Failing       */ [
    STAY,
    STAY,
    STAY,
    Closed,
    Closed,
    STAY,
    Closed,
    STAY,
    STAY,
  ],
  /* Closed        */ [STAY, STAY, STAY, STAY, STAY, STAY, STAY, STAY, STAY],
];

/**
 * A connection's phase and outcome. {@link Lifecycle.on} is the only way to
 * change them.
 */
export class Lifecycle {
  #phase: Phase = Open;
  #code = 0; // 0: no close code known yet
  #reason = "";
  #clean = false;
  #byCaller = false;
  #error: Error | null = null;

  /** The current phase. */
  get phase(): Phase {
    return this.#phase;
  }
  /**
   * The close code: the server's (1005 when its close frame had none), the
   * one the client failed the connection with (1002, 1007, 1009), else
   * 1006 (no closing handshake).
   */
  get code(): number {
    return this.#code === 0 ? 1006 : this.#code;
  }
  /** The server's close reason, or `""`. */
  get reason(): string {
    return this.#reason;
  }
  /** Whether the closing handshake and the TCP teardown both completed. */
  get clean(): boolean {
    return this.#clean;
  }
  /** Whether the caller started the close (`close()` or `terminate()`). */
  get byCaller(): boolean {
    return this.#byCaller;
  }
  /**
   * What ended the connection when it did not close as asked: a
   * {@link ProtocolError}, a `TimeoutError`, a
   * {@link ConnectionClosedError} for a lost or terminated connection.
   * `null` for a clean close and for a caller's close the server did not
   * complete.
   */
  get error(): Error | null {
    return this.#error;
  }

  /**
   * Applies `event`, returning the phase it left (so the caller knows which
   * move happened). `code` / `reason` are the server's close frame's
   * (`ServerClose`); `error` is what failed (`ProtocolError`, `SocketEnd`,
   * `HeartbeatTimeout`, `AppHeartbeatFailed`, `Stale`). Throws on a move the table forbids.
   */
  on(
    event: Event,
    detail: { code?: number; reason?: string; error?: Error } = {},
  ): Phase {
    const from = this.#phase;
    const to = TABLE[from][event];
    if (to === NO) {
      throw new Error(
        `Expected a possible lifecycle move, got ${
          EVENT_NAMES[event]
        } in phase ${PHASE_NAMES[from]}`,
      );
    }
    if (to === STAY) return from;
    this.#record(event, from, detail);
    this.#phase = to as Phase;
    return from;
  }

  /** Updates the outcome for a move out of `from`. */
  #record(
    event: Event,
    from: Phase,
    d: { code?: number; reason?: string; error?: Error },
  ): void {
    switch (event) {
      case Event.CallerClose:
        this.#byCaller = true;
        return;
      case Event.ServerClose:
        this.#code = d.code ?? 1005;
        this.#reason = d.reason ?? "";
        return;
      case Event.ProtocolError:
        this.#error = d.error ?? null;
        // Our close frame carries its code, unless the caller's went first.
        if (from === Open) this.#code = (d.error as { code?: number }).code!;
        return;
      case Event.SocketEnd:
        if (from === CloseReceived) this.#clean = true;
        else if (from === Open) this.#error = abnormal(d.error);
        return;
      case Event.HeartbeatTimeout:
      case Event.AppHeartbeatFailed:
      case Event.Stale:
        this.#error = d.error ?? null;
        return;
      case Event.Terminate:
        this.#byCaller = true;
        if (from === Open || from === CloseSent) {
          this.#error = new ConnectionClosedError(
            1006,
            "",
            false,
            "Connection terminated by the caller",
          );
        }
        return;
    }
  }
}

/** The error of a connection that ended without a closing handshake. */
export function abnormal(cause?: Error): ConnectionClosedError {
  return new ConnectionClosedError(
    1006,
    "",
    false,
    "Connection closed without a closing handshake (code 1006)",
    cause === undefined ? undefined : { cause },
  );
}
