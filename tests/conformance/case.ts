/**
 * The base of every conformance case and Autobahn's grading rules.
 *
 * A case drives a {@link CaseSession} (the server side of one connection):
 * `onOpen()` sends what the case dictates, the session reports what the
 * client sent back (`onMessage`, `onPong`), and when the TCP connection is
 * gone `onConnectionLost()` grades the behaviour (the events received against
 * the expected ones) and the close (which endpoint closed, cleanly or not,
 * with which code), exactly as Autobahn|Testsuite's `Case` does.
 *
 * @module
 */

import type {
  DeflateAcceptor,
  DeflateOffer,
  DeflateParams,
} from "./deflate_params.ts";
import { equalBytes } from "./wire.ts";

/**
 * Grade of the behaviour. `UNIMPLEMENTED`: the case needs a feature the
 * client did not negotiate (permessage-deflate in 12.x and 13.x).
 */
export type Behavior =
  | "OK"
  | "NON-STRICT"
  | "INFORMATIONAL"
  | "UNIMPLEMENTED"
  | "FAILED";

/** Grade of the close. */
export type CloseBehavior =
  | "OK"
  | "INFORMATIONAL"
  | "FAILED"
  | "UNCLEAN"
  | "WRONG CODE"
  | "FAILED BY CLIENT";

/** Something the server observed from the client (or a case checkpoint). */
export type CaseEvent =
  | { type: "message"; data: Uint8Array; binary: boolean }
  | { type: "pong"; data: Uint8Array }
  | { type: "timeout"; tag: string };

/** How the connection is expected to end. */
export interface ExpectedClose {
  /** The server (fuzzer) is the one that starts the closing handshake. */
  closedByMe: boolean;
  /** Close codes the client may send; the first one is what the server sends. */
  closeCode: number[];
  /** The closing handshake must complete. */
  requireClean: boolean;
  /** For UTF-8 cases: a close started by the wrong endpoint fails the behaviour too. */
  closedByWrongEndpointIsFatal?: boolean;
}

/** What a case can do with its connection: the surface of the Autobahn protocol object it uses. */
export interface CaseSession {
  readonly state: "connecting" | "open" | "closing" | "closed";
  readonly connectionWasOpen: boolean;
  readonly closedByMe: boolean;
  readonly wasClean: boolean;
  readonly remoteCloseCode: number | null;
  readonly txFrameStats: Record<number, number>;
  /** The permessage-deflate parameters negotiated in the handshake, or null. */
  readonly perMessageCompress: DeflateParams | null;
  autoFragmentSize: number;
  sendFrame(spec: SendFrameSpec): void;
  sendMessage(
    payload: Uint8Array,
    binary: boolean,
    fragmentSize?: number,
  ): void;
  beginMessage(binary?: boolean): void;
  beginMessageFrame(length: number): void;
  sendMessageFrameData(payload: Uint8Array): void;
  endMessage(): void;
  sendClose(code?: number, reason?: string): void;
  sendCloseFrame(
    code?: number | null,
    reason?: Uint8Array | null,
    isReply?: boolean,
  ): void;
  killAfter(seconds: number): void;
  closeAfter(seconds: number): void;
  continueLater(seconds: number, fn: () => void, tag?: string): void;
  log(entry: string): void;
}

/** One frame to send, possibly invalid on purpose. */
export interface SendFrameSpec {
  opcode: number;
  payload?: Uint8Array;
  fin?: boolean;
  rsv?: number;
  mask?: Uint8Array | null;
  /** Send this many payload octets, repeating `payload`. */
  payloadLen?: number;
  /** Write the frame's octets in chops of this size, each flushed on its own. */
  chopsize?: number;
  /** Flush this frame's octets as their own write. */
  sync?: boolean;
}

/** The hooks a case definition supplies. */
export interface CaseHooks {
  init?(c: Case): void;
  onOpen(c: Case): void;
  /** Replaces the default (record the message and finish when done). */
  onMessage?(c: Case, payload: Uint8Array, binary: boolean): void;
  /** Runs after the standard grading. */
  afterGrade?(c: Case): void;
}

/** How a compression case (12.x, 13.x) negotiates permessage-deflate. */
export interface CaseDeflate {
  /** How the server answers the client's offers (Autobahn's `SERVER_ACCEPT`). */
  accept: DeflateAcceptor;
  /** A description of `accept`, as Autobahn's docstring gives it. */
  acceptDescription: string;
  /**
   * The offers Autobahn's own client makes in this case (`CLIENT_OFFERS`,
   * used when Autobahn tests servers). Agents may make them to cover the
   * server-side parameters; Autobahn's testee client always offers
   * `permessage-deflate; client_no_context_takeover; client_max_window_bits`.
   */
  clientOffers: DeflateOffer[];
}

/** A case's static description. */
export interface CaseDef {
  /** Autobahn case number, e.g. `"6.4.1"`. */
  id: string;
  description: string;
  expectation: string;
  hooks: CaseHooks;
  /** Only for compression cases. */
  deflate?: CaseDeflate;
}

function eventsEqual(a: CaseEvent[], b: CaseEvent[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i], y = b[i];
    if (x.type !== y.type) return false;
    if (x.type === "timeout") {
      if (x.tag !== (y as typeof x).tag) return false;
    } else {
      if (!equalBytes(x.data, (y as typeof x).data)) return false;
      if (x.type === "message" && x.binary !== (y as typeof x).binary) {
        return false;
      }
    }
  }
  return true;
}

/** A running case: Autobahn's `Case` class. */
export class Case {
  readonly def: CaseDef;
  readonly p: CaseSession;
  received: CaseEvent[] = [];
  /** Expected event lists by grade, in insertion order. */
  expected = new Map<Behavior, CaseEvent[]>();
  expectedClose: ExpectedClose = {
    closedByMe: true,
    closeCode: [1000],
    requireClean: true,
  };
  behavior: Behavior = "FAILED";
  behaviorClose: CloseBehavior = "FAILED";
  result = "Actual events differ from any expected.";
  resultClose = "TCP connection was dropped without close handshake";
  /** Whether the duration is part of the result (limits/performance cases). */
  reportTime = false;
  /** Suppresses the automatic close once the expected events are in. */
  suppressClose = false;
  /** Remarks beyond Autobahn's grading (e.g. a 9.x echo with the right length but other content). */
  notes: string[] = [];
  /** Free-form per-case state. */
  // deno-lint-ignore no-explicit-any
  vars: Record<string, any> = {};

  constructor(def: CaseDef, p: CaseSession) {
    this.def = def;
    this.p = p;
    def.hooks.init?.(this);
  }

  onOpen(): void {
    this.def.hooks.onOpen(this);
  }

  onMessage(payload: Uint8Array, binary: boolean): void {
    if (this.def.hooks.onMessage) {
      this.def.hooks.onMessage(this, payload, binary);
      return;
    }
    this.received.push({ type: "message", data: payload, binary });
    this.finishWhenDone();
  }

  onPong(payload: Uint8Array): void {
    this.received.push({ type: "pong", data: payload });
    this.finishWhenDone();
  }

  /** Grades the case; called once the TCP connection is gone. */
  onConnectionLost(): void {
    for (const [grade, events] of this.expected) {
      if (eventsEqual(this.received, events)) {
        this.behavior = grade;
        this.result = "Actual events match at least one expected.";
        break;
      }
    }
    const p = this.p;
    if (p.connectionWasOpen) {
      const ec = this.expectedClose;
      if (ec.closedByMe !== p.closedByMe) {
        this.behaviorClose = "FAILED";
        this.resultClose = "The connection was failed by the wrong endpoint";
      } else if (ec.requireClean && !p.wasClean) {
        this.behaviorClose = "UNCLEAN";
        this.resultClose =
          "The spec requires the connection to be failed cleanly here";
      } else if (
        p.remoteCloseCode !== null && !ec.closeCode.includes(p.remoteCloseCode)
      ) {
        this.behaviorClose = "WRONG CODE";
        this.resultClose = `The close code should have been ${
          ec.closeCode.join(",")
        } or empty`;
      } else {
        this.behaviorClose = "OK";
        this.resultClose = "Connection was properly closed";
      }
      if (ec.closedByWrongEndpointIsFatal && ec.closedByMe !== p.closedByMe) {
        this.behavior = "FAILED";
      }
    } else {
      this.behaviorClose = "FAILED";
      this.resultClose = "The WebSocket opening handshake was never completed!";
    }
    this.def.hooks.afterGrade?.(this);
  }

  /** Starts the closing handshake once every expected outcome is matched (Autobahn's rule). */
  finishWhenDone(): void {
    for (const events of this.expected.values()) {
      if (!eventsEqual(this.received, events)) return;
    }
    if (this.expectedClose.closedByMe && !this.suppressClose) {
      this.p.sendClose(this.expectedClose.closeCode[0]);
    }
  }
}
