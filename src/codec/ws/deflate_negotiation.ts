/**
 * permessage-deflate negotiation (RFC 7692 §5, §7.1): the client's offers
 * as a `Sec-WebSocket-Extensions` value, and the strict check of the
 * server's answer, which yields the parameters both ends then use.
 *
 * @module
 */

import {
  boolean,
  check,
  integer,
  type Rule,
  type Rules,
} from "../../options.ts";
import { isToken } from "../http/token.ts";

/** The extension's name (RFC 7692 §7). */
const NAME = "permessage-deflate";

/**
 * One permessage-deflate offer (RFC 7692 §7.1): what the client asks of
 * the server and what it will do itself. Window sizes are base-2
 * logarithms, 8 to 15.
 *
 * @example
 * ```ts
 * import { type DeflateOffer, encodeDeflateOffers } from "@x/nexus-ws/codec";
 * const offer: DeflateOffer = { serverMaxWindowBits: 10 };
 * console.assert(encodeDeflateOffers([offer]) === "permessage-deflate; client_max_window_bits; server_max_window_bits=10");
 * ```
 */
export interface DeflateOffer {
  /**
   * The largest window the client compresses with. Offered as
   * `client_max_window_bits=N` below 15, as a bare `client_max_window_bits`
   * at 15 (the default): either way the server may answer with a smaller
   * one, which the client then uses.
   */
  clientMaxWindowBits?: number;
  /**
   * The largest window the server may compress with, offered as
   * `server_max_window_bits=N` below 15. 15 (the default) asks nothing: the
   * server then uses up to 15, or tells its own window in the answer.
   */
  serverMaxWindowBits?: number;
  /**
   * Whether the client compresses each message on its own; offered as
   * `client_no_context_takeover`. Default `false` (unless the server asks
   * for it in its answer).
   */
  clientNoContextTakeover?: boolean;
  /**
   * Whether the server must compress each message on its own; offered as
   * `server_no_context_takeover`, and the answer must then carry it.
   * Default `false`.
   */
  serverNoContextTakeover?: boolean;
}

/**
 * The permessage-deflate parameters a handshake settled on: what each end
 * compresses with. The receive side inflates with the server's window and
 * takeover, the send side deflates with the client's.
 *
 * @example
 * ```ts
 * import type { DeflateParams } from "@x/nexus-ws/codec";
 * const params: DeflateParams = {
 *   serverMaxWindowBits: 15, serverNoContextTakeover: false,
 *   clientMaxWindowBits: 15, clientNoContextTakeover: false,
 * };
 * console.assert(params.serverMaxWindowBits === 15);
 * ```
 */
export interface DeflateParams {
  /** The window the server compresses with (8-15): the inflater's window. */
  readonly serverMaxWindowBits: number;
  /** Whether the server starts every message with an empty window. */
  readonly serverNoContextTakeover: boolean;
  /** The window the client compresses with (8-15). */
  readonly clientMaxWindowBits: number;
  /** Whether the client compresses every message on its own. */
  readonly clientNoContextTakeover: boolean;
}

/** The fields of a {@link DeflateOffer} or {@link DeflateParams}. */
const DEFLATE_FIELDS: Rules = {
  serverMaxWindowBits: integer(8, 15),
  serverNoContextTakeover: boolean,
  clientMaxWindowBits: integer(8, 15),
  clientNoContextTakeover: boolean,
};

/** The option rule of a {@link DeflateParams} object (the four fields checked). */
export const DEFLATE_PARAMS_RULE: Rule = (v, name) =>
  check(v, DEFLATE_FIELDS, name);

/**
 * The `Sec-WebSocket-Extensions` value that makes `offers`, in preference
 * order (RFC 7692 §5: the server accepts at most one). Throws `RangeError`
 * for a window size outside 8-15 and `TypeError` for no offer.
 *
 * @example
 * ```ts
 * import { encodeDeflateOffers } from "@x/nexus-ws/codec";
 * const value = encodeDeflateOffers([{ serverMaxWindowBits: 10 }, {}]);
 * console.assert(value === "permessage-deflate; client_max_window_bits; server_max_window_bits=10, permessage-deflate; client_max_window_bits");
 * ```
 */
export function encodeDeflateOffers(offers: readonly DeflateOffer[]): string {
  if (offers.length === 0) {
    throw new TypeError("Expected at least one permessage-deflate offer");
  }
  return offers.map(encodeOffer).join(", ");
}

function encodeOffer(offer: DeflateOffer): string {
  check(offer, DEFLATE_FIELDS, "permessage-deflate offer");
  const client = offer.clientMaxWindowBits ?? 15;
  const server = offer.serverMaxWindowBits ?? 15;
  let s = NAME;
  s += client < 15
    ? `; client_max_window_bits=${client}`
    : "; client_max_window_bits";
  if (offer.clientNoContextTakeover === true) {
    s += "; client_no_context_takeover";
  }
  if (offer.serverNoContextTakeover === true) {
    s += "; server_no_context_takeover";
  }
  if (server < 15) s += `; server_max_window_bits=${server}`;
  return s;
}

/** One extension of a `Sec-WebSocket-Extensions` value, parameters in order. */
interface Extension {
  name: string;
  params: [name: string, value: string | null][];
}

/**
 * Parses an extension list (RFC 6455 §9.1: `name *(";" param ["=" (token |
 * quoted-string)])`, comma-separated, optional whitespace around the
 * separators, empty elements skipped). Names are lower-cased. Returns a
 * message saying what is wrong instead of the list when it is malformed.
 */
function parseExtensions(value: string): Extension[] | string {
  const out: Extension[] = [];
  let i = 0;
  const n = value.length;
  const ows = () => {
    while (i < n && (value[i] === " " || value[i] === "\t")) i++;
  };
  const token = () => {
    const from = i;
    while (i < n && isToken(value[i])) i++;
    return value.slice(from, i);
  };
  while (i < n) {
    ows();
    if (i === n) break;
    if (value[i] === ",") {
      i++;
      continue;
    }
    const name = token().toLowerCase();
    if (name === "") {
      return `a malformed extension list ${JSON.stringify(value)}`;
    }
    const ext: Extension = { name, params: [] };
    out.push(ext);
    for (;;) {
      ows();
      if (i === n || value[i] === ",") break;
      if (value[i] !== ";") {
        return `a malformed extension list ${JSON.stringify(value)}`;
      }
      i++;
      ows();
      const param = token().toLowerCase();
      if (param === "") {
        return `a malformed parameter in ${JSON.stringify(value)}`;
      }
      ows();
      let v: string | null = null;
      if (value[i] === "=") {
        i++;
        ows();
        v = value[i] === '"' ? quoted() : token();
        if (v === null || !isToken(v)) {
          return `a malformed value of ${param} in ${JSON.stringify(value)}`;
        }
      }
      ext.params.push([param, v]);
    }
  }
  return out;

  /** A quoted-string at `i`, unescaped; null when it does not end. */
  function quoted(): string | null {
    let s = "";
    for (i++; i < n; i++) {
      const c = value[i];
      if (c === '"') {
        i++;
        return s;
      }
      if (c === "\\") i++;
      s += value[i] ?? "";
    }
    return null;
  }
}

/** A window size value as RFC 7692 §7.1.2 spells it: 8-15, no leading zero. */
function windowValue(v: string | null): number {
  return v !== null && /^(?:[89]|1[0-5])$/.test(v) ? Number(v) : 0;
}

/** The parameters of an answer, each at most once, values checked. */
interface Answer {
  serverBits: number; // 0: absent
  clientBits: number; // 0: absent
  serverReset: boolean;
  clientReset: boolean;
}

/** Reads the answer's parameters; a message on an unknown, repeated or bad one. */
function readAnswer(ext: Extension): Answer | string {
  const a: Answer = {
    serverBits: 0,
    clientBits: 0,
    serverReset: false,
    clientReset: false,
  };
  const seen = new Set<string>();
  for (const [name, v] of ext.params) {
    if (seen.has(name)) return `parameter ${name} twice`;
    seen.add(name);
    switch (name) {
      case "server_no_context_takeover":
      case "client_no_context_takeover":
        if (v !== null) return `${name} with a value (${v})`;
        if (name === "server_no_context_takeover") a.serverReset = true;
        else a.clientReset = true;
        break;
      case "server_max_window_bits":
      case "client_max_window_bits": {
        const bits = windowValue(v);
        if (bits === 0) {
          return `${name}=${v ?? ""} (a window size 8-15 is required)`;
        }
        if (name === "server_max_window_bits") a.serverBits = bits;
        else a.clientBits = bits;
        break;
      }
      default:
        return `an unknown parameter ${name}${v === null ? "" : `=${v}`}`;
    }
  }
  return a;
}

/**
 * What `a` settles when it accepts `offer` (RFC 7692 §7.1.1-7.1.2), or a
 * message saying why it cannot be an acceptance of that offer.
 */
function settle(a: Answer, offer: DeflateOffer): DeflateParams | string {
  const wantServer = offer.serverMaxWindowBits ?? 15;
  const client = offer.clientMaxWindowBits ?? 15;
  if (offer.serverNoContextTakeover === true && !a.serverReset) {
    return "no server_no_context_takeover (it was offered, so an acceptance carries it)";
  }
  if (wantServer < 15) {
    if (a.serverBits === 0) {
      return `no server_max_window_bits (${wantServer} was offered, so an acceptance carries it)`;
    }
    if (a.serverBits > wantServer) {
      return `server_max_window_bits=${a.serverBits} (at most ${wantServer} was offered)`;
    }
  }
  if (a.clientBits > client) {
    return `client_max_window_bits=${a.clientBits} (at most ${client} was offered)`;
  }
  return {
    serverMaxWindowBits: a.serverBits === 0 ? 15 : a.serverBits,
    serverNoContextTakeover: a.serverReset,
    clientMaxWindowBits: a.clientBits === 0 ? client : a.clientBits,
    clientNoContextTakeover: a.clientReset ||
      offer.clientNoContextTakeover === true,
  };
}

/**
 * Checks the server's `Sec-WebSocket-Extensions` answer (`null`: the field
 * was absent) against the permessage-deflate `offers` the client made (none
 * when it offered no extension), strictly: only permessage-deflate, at most
 * once, each parameter known, at most once and with a valid value, and
 * acceptable for one of the offers (a window no larger than offered, a
 * parameter the offer asked for present, `client_max_window_bits` only as
 * offered). Returns the settled {@link DeflateParams}, or `null` when the
 * server declined the offers (no such field). Throws `Error` with a message naming what is
 * wrong ("Expected …, got …"); the handshake wraps it in a
 * `HandshakeError`.
 *
 * @example
 * ```ts
 * import { acceptDeflateAnswer } from "@x/nexus-ws/codec";
 * const params = acceptDeflateAnswer("permessage-deflate; server_max_window_bits=10", [{ serverMaxWindowBits: 10 }]);
 * console.assert(params?.serverMaxWindowBits === 10 && params.clientMaxWindowBits === 15);
 * console.assert(acceptDeflateAnswer(null, [{}]) === null);
 * ```
 */
export function acceptDeflateAnswer(
  answer: string | null,
  offers: readonly DeflateOffer[],
): DeflateParams | null {
  for (const offer of offers) {
    check(offer, DEFLATE_FIELDS, "permessage-deflate offer");
  }
  if (answer === null) return null;
  const list = parseExtensions(answer);
  if (typeof list === "string") {
    throw new Error(`Expected a valid Sec-WebSocket-Extensions, got ${list}`);
  }
  if (list.length === 0) {
    throw new Error(
      "Expected a valid Sec-WebSocket-Extensions, got an empty one (an extension list has at least one element)",
    );
  }
  if (offers.length === 0) {
    throw new Error(
      `Expected no extension (none was offered), got ${JSON.stringify(answer)}`,
    );
  }
  for (const ext of list) {
    if (ext.name !== NAME) {
      throw new Error(
        `Expected only the offered permessage-deflate extension, got "${ext.name}"`,
      );
    }
  }
  if (list.length > 1) {
    throw new Error(
      `Expected permessage-deflate accepted once, got it ${list.length} times`,
    );
  }
  const a = readAnswer(list[0]);
  if (typeof a === "string") {
    throw new Error(`Expected a valid permessage-deflate answer, got ${a}`);
  }
  let why = "";
  for (const offer of offers) {
    const settled = settle(a, offer);
    if (typeof settled !== "string") return settled;
    why = settled;
  }
  throw new Error(
    `Expected a permessage-deflate answer that accepts the offer, got ${why}`,
  );
}
