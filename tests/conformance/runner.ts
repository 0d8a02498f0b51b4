/**
 * Runs cases against an agent, one at a time, each on a fresh connection to
 * a fuzzing server, and collects one {@link CaseReport} per case.
 *
 * @module
 */

import type { Agent, AgentOutcome } from "./agents.ts";
import type { Behavior, CaseDef, CaseEvent, CloseBehavior } from "./case.ts";
import { CASES } from "./cases.ts";
import { FuzzingServer, type ServerCaseRun } from "./server.ts";
import type { TrafficStats } from "./session.ts";
import { preview } from "./wire.ts";

/** The recorded outcome of one case. */
export interface CaseReport {
  id: string;
  behavior: Behavior;
  behaviorClose: CloseBehavior;
  result: string;
  resultClose: string;
  /** Milliseconds from the case's start to the end of the connection. */
  duration: number;
  /** Whether the duration is a result (9.x). */
  reportTime: boolean;
  closedByMe: boolean;
  failedByMe: boolean;
  wasClean: boolean;
  wasNotCleanReason: string | null;
  localCloseCode: number | null;
  remoteCloseCode: number | null;
  remoteCloseReason: string | null;
  client: AgentOutcome;
  /** Compression cases: the permessage-deflate response the server sent (null: none). */
  deflate?: string | null;
  /** Compression cases: message octets before and after compression, each way. */
  traffic?: TrafficStats;
  notes?: string[];
  /** Only for cases not graded OK (or INFORMATIONAL) in both. */
  expected?: Record<string, string[]>;
  received?: string[];
  expectedClose?: unknown;
  wirelog?: string[];
}

/** Whether a case passed strictly: OK, or INFORMATIONAL where Autobahn defines it so. */
export function isStrictPass(
  r: { behavior: string; behaviorClose: string },
): boolean {
  return (r.behavior === "OK" || r.behavior === "INFORMATIONAL") &&
    (r.behaviorClose === "OK" || r.behaviorClose === "INFORMATIONAL");
}

function summarize(e: CaseEvent): string {
  if (e.type === "timeout") return `timeout ${e.tag}`;
  if (e.type === "pong") return `pong "${preview(e.data)}"`;
  return `${e.binary ? "binary" : "text"} message "${preview(e.data)}"`;
}

function delay(ms: number): { promise: Promise<void>; cancel(): void } {
  let id: ReturnType<typeof setTimeout> | undefined;
  const promise = new Promise<void>((r) => id = setTimeout(r, ms));
  return { promise, cancel: () => clearTimeout(id) };
}

/** Options of {@link runCases}. */
export interface RunCasesOptions {
  agent: Agent;
  agentName: string;
  /** The cases to run (default: all 301), each keeps its Autobahn number. */
  cases?: readonly CaseDef[];
  /** Hard bound on one case (default: 30 s more than the case's own timers could take). */
  caseTimeoutMs?: number;
  /** Called after each case. */
  onCase?(report: CaseReport): void;
}

/** Runs the cases on a fresh server and returns their reports, in order. */
export async function runCases(
  options: RunCasesOptions,
): Promise<CaseReport[]> {
  const server = new FuzzingServer({ cases: CASES as CaseDef[] });
  const index = new Map(CASES.map((c, i) => [c.id, i + 1]));
  const reports: CaseReport[] = [];
  try {
    for (const def of options.cases ?? CASES) {
      const n = index.get(def.id)!;
      const graded = server.expect(n);
      const run = options.agent(server.caseUrl(n, options.agentName), {
        id: def.id,
        deflateOffers: def.deflate?.clientOffers ?? null,
      });
      // The case ends when its connection is gone and graded. Backstops: the
      // client giving up without a graded connection (its handshake failed),
      // and a hard bound on the whole case (the case's own timers normally
      // end a stuck case within seconds, or 100 s for some 9.x ones).
      const clientDone = run.done.catch((err): AgentOutcome => ({
        error: `agent crashed: ${err}`,
      }));
      const limit = options.caseTimeoutMs ?? 120_000;
      const hard = delay(limit);
      let first: ServerCaseRun | AgentOutcome | "timeout" | "none" =
        await Promise.race([
          graded,
          hard.promise.then(() => "timeout" as const),
          clientDone,
        ]);
      hard.cancel();
      if (first === "timeout") {
        server.abortAll(`case did not end within ${limit} ms`);
      }
      if (!(first && typeof first === "object" && "session" in first)) {
        const grace = delay(2_000);
        first = await Promise.race([
          graded,
          grace.promise.then(() => "none" as const),
        ]);
        grace.cancel();
      }
      const outcome: ServerCaseRun | null =
        typeof first === "object" && "session" in first ? first : null;
      // The client must notice the end of the connection by itself; give it
      // a bound so one stuck client cannot hang the run.
      const clientBound = delay(10_000);
      let client = await Promise.race([
        clientDone,
        clientBound.promise.then(() => null),
      ]);
      clientBound.cancel();
      if (client === null) {
        run.kill();
        client = await clientDone;
        client.note =
          "client did not finish within 10 s after the connection ended";
      }
      if (outcome === null) {
        server.forget(n);
        const report: CaseReport = {
          id: def.id,
          behavior: "FAILED",
          behaviorClose: "FAILED",
          result:
            "No graded connection: the client did not complete the opening handshake.",
          resultClose: "The WebSocket opening handshake was never completed!",
          duration: 0,
          reportTime: false,
          closedByMe: false,
          failedByMe: false,
          wasClean: false,
          wasNotCleanReason: null,
          localCloseCode: null,
          remoteCloseCode: null,
          remoteCloseReason: null,
          client,
        };
        reports.push(report);
        options.onCase?.(report);
        continue;
      }
      const s = outcome.session;
      const c = s.case;
      const report: CaseReport = {
        id: def.id,
        behavior: c.behavior,
        behaviorClose: c.behaviorClose,
        result: c.result,
        resultClose: c.resultClose,
        duration: Math.round(s.endedAt - s.startedAt),
        reportTime: c.reportTime,
        closedByMe: s.closedByMe,
        failedByMe: s.failedByMe,
        wasClean: s.wasClean,
        wasNotCleanReason: s.wasNotCleanReason,
        localCloseCode: s.localCloseCode,
        remoteCloseCode: s.remoteCloseCode,
        remoteCloseReason: s.remoteCloseReason,
        client,
      };
      if (def.deflate) {
        report.deflate = s.perMessageCompress?.response ?? null;
        report.traffic = { ...s.trafficStats };
      }
      if (c.notes.length > 0) report.notes = c.notes;
      if (
        !isStrictPass(report) || c.behavior === "INFORMATIONAL" ||
        c.notes.length > 0
      ) {
        report.expected = Object.fromEntries(
          [...c.expected].map(([k, v]) => [k, v.map(summarize)]),
        );
        report.received = c.received.map(summarize);
        report.expectedClose = c.expectedClose;
        report.wirelog = s.wirelog;
      }
      reports.push(report);
      options.onCase?.(report);
    }
  } finally {
    await server.close();
  }
  return reports;
}
