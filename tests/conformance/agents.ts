/**
 * Clients to put under test ("agents"). Each is driven the way Autobahn
 * drives clients: connect to a case URL, echo every text and binary message
 * back, stop when the connection ends, and let the server judge.
 *
 * - `nexus`: this module's client (`connect()` from `mod.ts`).
 * - `native`: Deno's built-in `WebSocket`, for comparison.
 * - `ws`: the npm `ws` package as it ships (it offers
 *   `permessage-deflate; client_max_window_bits`, and compresses every
 *   message but those under 1 KiB when its context takeover is off), for
 *   comparison and to cross-check the harness.
 * - `ws-offers`: npm `ws` making, in each compression case, the offer
 *   Autobahn's own client makes there (the case's `clientOffers`, the first
 *   one: `ws` makes a single offer), and compressing every message.
 *
 * Every agent gets the case it runs ({@link AgentCase}): an agent with
 * permessage-deflate options can configure its offer from it.
 *
 * @module
 */

import { connect } from "../../mod.ts";
import type { DeflateOffer } from "./deflate_params.ts";

/** What the client itself reported at the end of a case. */
export interface AgentOutcome {
  /** The error the echo loop ended with (`Name: message`), or null after a clean close. */
  error: string | null;
  /** The close code the client reports, if it reports one. */
  closeCode?: number;
  /** Something the driver noticed about the client (e.g. a socket left open). */
  note?: string;
}

/** A running client for one case. */
export interface AgentRun {
  /** Settles when the client is done with the case. */
  done: Promise<AgentOutcome>;
  /** Force the client down (used only when it does not finish by itself). */
  kill(): void;
}

/** What an agent knows about the case it runs. */
export interface AgentCase {
  /** Autobahn case number. */
  id: string;
  /**
   * For compression cases, the offers Autobahn's own client makes in this
   * case (in order of preference); null for the other cases. Autobahn's
   * fuzzing server accepts whatever the client offers that the case's
   * accept rule allows, so an agent may also make its usual offer.
   */
  deflateOffers: DeflateOffer[] | null;
}

/** Starts a client on a case URL. */
export type Agent = (url: string, kase: AgentCase) => AgentRun;

const MiB = 1024 * 1024;

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return `${err.name}${
      typeof code === "number" ? `(${code})` : ""
    }: ${err.message}`;
  }
  return String(err);
}

/**
 * This module's client. `connect()` has no permessage-deflate option yet:
 * once it has, configure it here from `kase.deflateOffers` (or the client's
 * default offer), and add categories 12 and 13 to the golden file.
 */
export const nexus: Agent = (url, _kase) => {
  let client: Awaited<ReturnType<typeof connect>> | null = null;
  let killed = false;
  const done = (async (): Promise<AgentOutcome> => {
    let ws;
    try {
      ws = await connect(url, {
        maxMessageSize: 64 * MiB,
        handshakeTimeout: 5000,
      });
    } catch (err) {
      return { error: `connect: ${describe(err)}` };
    }
    client = ws;
    if (killed) ws.terminate();
    let error: string | null = null;
    try {
      for (;;) {
        const msg = await ws.recv();
        if (msg === null) break;
        try {
          if (msg.type === "text") await ws.sendText(msg.text());
          else await ws.sendBinary(msg.data);
        } catch {
          // The connection is going down; recv() reports how.
        }
      }
    } catch (err) {
      error = describe(err);
    }
    const outcome: AgentOutcome = { error, closeCode: ws.closeCode };
    if (!ws.closed) {
      outcome.note =
        "recv() settled but the client still reports the connection open";
      ws.terminate();
    }
    return outcome;
  })();
  return {
    done,
    kill() {
      killed = true;
      client?.terminate();
    },
  };
};

/** Deno's built-in WebSocket client. */
export const native: Agent = (url) => {
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  let error: string | null = null;
  const done = new Promise<AgentOutcome>((resolve) => {
    ws.onmessage = (e) => {
      try {
        ws.send(e.data);
      } catch {
        // closing
      }
    };
    ws.onerror = (e) => {
      error = (e as ErrorEvent).message || "error event";
    };
    ws.onclose = (e) =>
      resolve({
        error: e.wasClean ? null : error ?? "closed uncleanly",
        closeCode: e.code,
      });
  });
  return {
    done,
    kill() {
      try {
        ws.close();
      } catch {
        // closed
      }
    },
  };
};

/** npm `ws` options equivalent to one of Autobahn's offers (compressing every message). */
export function wsDeflateOptions(offer: DeflateOffer): Record<string, unknown> {
  return {
    threshold: 0,
    clientNoContextTakeover: offer.acceptNoContextTakeover,
    clientMaxWindowBits: offer.acceptMaxWindowBits,
    serverNoContextTakeover: offer.requestNoContextTakeover,
    ...(offer.requestMaxWindowBits
      ? { serverMaxWindowBits: offer.requestMaxWindowBits }
      : {}),
  };
}

/** An npm `ws` client with `perMessageDeflate` options chosen per case (loaded on first use). */
function wsAgent(
  deflate: (kase: AgentCase) => boolean | Record<string, unknown>,
): Agent {
  return (url, kase) => {
    let sock: { terminate(): void } | null = null;
    let killed = false;
    const done = (async (): Promise<AgentOutcome> => {
      const { default: WebSocket } = await import("ws");
      const s = new WebSocket(url, {
        maxPayload: 64 * MiB,
        perMessageDeflate: deflate(kase),
      });
      sock = s;
      if (killed) s.terminate();
      let error: string | null = null;
      return await new Promise<AgentOutcome>((resolve) => {
        s.on("message", (data: Uint8Array, isBinary: boolean) => {
          s.send(data, { binary: isBinary }, () => {});
        });
        s.on("error", (err: Error) => {
          error = describe(err);
        });
        s.on("close", (code: number) => resolve({ error, closeCode: code }));
      });
    })();
    return {
      done,
      kill() {
        killed = true;
        sock?.terminate();
      },
    };
  };
}

/** The npm `ws` client as it ships (its default permessage-deflate offer). */
export const ws: Agent = wsAgent(() => true);

/** The npm `ws` client making Autobahn's client offer of each compression case. */
export const wsOffers: Agent = wsAgent((kase) =>
  kase.deflateOffers ? wsDeflateOptions(kase.deflateOffers[0]) : true
);

/** Agents by name. */
export const AGENTS: Record<string, Agent> = {
  nexus,
  native,
  ws,
  "ws-offers": wsOffers,
};
