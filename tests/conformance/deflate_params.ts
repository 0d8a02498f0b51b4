/**
 * permessage-deflate negotiation (RFC 7692) as Autobahn|Testsuite's fuzzing
 * server does it (Autobahn 0.10.9, `compress_deflate.py`): how a client's
 * offers are parsed, the accept functions of cases 12.x and 13.x, the
 * response header they produce, and the parameters both ends then use.
 *
 * Names follow Autobahn's: an offer *accepts* what the server may ask of the
 * client (`client_no_context_takeover`, `client_max_window_bits`) and
 * *requests* what it asks of the server (`server_no_context_takeover`,
 * `server_max_window_bits=N`).
 *
 * @module
 */

/** The extension's name. */
export const PERMESSAGE_DEFLATE = "permessage-deflate";

/** Window sizes RFC 7692 allows (8 to 15 bits). */
const WINDOW_BITS = [8, 9, 10, 11, 12, 13, 14, 15];

/** A client's permessage-deflate offer (Autobahn's `PerMessageDeflateOffer`). */
export interface DeflateOffer {
  /** The offer carries `client_no_context_takeover`. */
  acceptNoContextTakeover: boolean;
  /** The offer carries `client_max_window_bits`. */
  acceptMaxWindowBits: boolean;
  /** The offer carries `server_no_context_takeover`. */
  requestNoContextTakeover: boolean;
  /** The offer carries `server_max_window_bits=N` (0: it does not). */
  requestMaxWindowBits: number;
}

/** Autobahn's `PerMessageDeflateOffer(...)` with its constructor defaults. */
export function deflateOffer(
  request: Partial<DeflateOffer> = {},
): DeflateOffer {
  return {
    acceptNoContextTakeover: true,
    acceptMaxWindowBits: true,
    requestNoContextTakeover: false,
    requestMaxWindowBits: 0,
    ...request,
  };
}

/** The offer as a client writes it in `Sec-WebSocket-Extensions` (Autobahn's order). */
export function offerString(offer: DeflateOffer): string {
  let s = PERMESSAGE_DEFLATE;
  if (offer.acceptNoContextTakeover) s += "; client_no_context_takeover";
  if (offer.acceptMaxWindowBits) s += "; client_max_window_bits";
  if (offer.requestNoContextTakeover) s += "; server_no_context_takeover";
  if (offer.requestMaxWindowBits !== 0) {
    s += `; server_max_window_bits=${offer.requestMaxWindowBits}`;
  }
  return s;
}

/** An extension with its parameters, each parameter with every value it was given. */
export type ParsedExtension = [
  name: string,
  params: Map<string, Array<string | true>>,
];

/**
 * Splits a `Sec-WebSocket-Extensions` value as Autobahn does: on commas,
 * then semicolons, then the first `=`; names lower-cased, values unquoted, a
 * parameter without `=` has the value `true`.
 */
export function parseExtensions(header: string): ParsedExtension[] {
  const out: ParsedExtension[] = [];
  for (const e of header.split(",").map((x) => x.trim())) {
    if (e === "") continue;
    const [name, ...rest] = e.split(";").map((x) => x.trim());
    const params = new Map<string, Array<string | true>>();
    for (const p of rest) {
      const [k, ...v] = p.split("=").map((x) => x.trim());
      const key = k.toLowerCase();
      let value: string | true = true;
      if (v.length > 0) {
        value = v.join("=");
        if (value.startsWith('"')) value = value.slice(1);
        if (value.endsWith('"')) value = value.slice(0, -1);
      }
      params.set(key, [...(params.get(key) ?? []), value]);
    }
    out.push([name.toLowerCase(), params]);
  }
  return out;
}

function windowBits(name: string, value: string | true): number {
  const n = /^\s*[+-]?\d+\s*$/.test(String(value)) ? Number(value) : NaN;
  if (!WINDOW_BITS.includes(n)) {
    throw new Error(
      `illegal extension parameter value '${value}' for parameter '${name}' of extension '${PERMESSAGE_DEFLATE}'`,
    );
  }
  return n;
}

function flag(name: string, value: string | true): true {
  if (value !== true) {
    throw new Error(
      `illegal extension parameter value '${value}' for parameter '${name}' of extension '${PERMESSAGE_DEFLATE}'`,
    );
  }
  return true;
}

/**
 * Parses one permessage-deflate offer with Autobahn's rules; throws (the
 * server then refuses the handshake) on a repeated or unknown parameter or
 * an invalid value. As in Autobahn, `client_no_context_takeover` is taken as
 * accepted even when absent (RFC 7692 lets the server ask for it anyway),
 * and the value of a `client_max_window_bits` hint is checked, not kept.
 */
export function parseOffer(
  params: Map<string, Array<string | true>>,
): DeflateOffer {
  const offer: DeflateOffer = {
    acceptNoContextTakeover: true,
    acceptMaxWindowBits: false,
    requestNoContextTakeover: false,
    requestMaxWindowBits: 0,
  };
  for (const [p, values] of params) {
    if (values.length > 1) {
      throw new Error(
        `multiple occurrence of extension parameter '${p}' for extension '${PERMESSAGE_DEFLATE}'`,
      );
    }
    const val = values[0];
    if (p === "client_max_window_bits") {
      if (val !== true) windowBits(p, val);
      offer.acceptMaxWindowBits = true;
    } else if (p === "client_no_context_takeover") {
      offer.acceptNoContextTakeover = flag(p, val);
    } else if (p === "server_max_window_bits") {
      offer.requestMaxWindowBits = windowBits(p, val);
    } else if (p === "server_no_context_takeover") {
      offer.requestNoContextTakeover = flag(p, val);
    } else {
      throw new Error(
        `illegal extension parameter '${p}' for extension '${PERMESSAGE_DEFLATE}'`,
      );
    }
  }
  return offer;
}

/** The permessage-deflate offers in a request's `Sec-WebSocket-Extensions` (other extensions are ignored). */
export function parseOffers(header: string | undefined): DeflateOffer[] {
  if (header === undefined) return [];
  return parseExtensions(header)
    .filter(([name]) => name === PERMESSAGE_DEFLATE)
    .map(([, params]) => parseOffer(params));
}

/** How the server accepts an offer (Autobahn's `PerMessageDeflateOfferAccept`). */
export interface DeflateAccept {
  offer: DeflateOffer;
  /** Ask the client for `client_no_context_takeover`. */
  requestNoContextTakeover: boolean;
  /** Ask the client for `client_max_window_bits=N` (0: do not). */
  requestMaxWindowBits: number;
}

/** Accepts `offer`, refusing what the offer does not allow, as Autobahn does. */
export function acceptOffer(
  offer: DeflateOffer,
  requestNoContextTakeover = false,
  requestMaxWindowBits = 0,
): DeflateAccept {
  if (requestNoContextTakeover && !offer.acceptNoContextTakeover) {
    throw new Error("Expected an offer that accepts no context takeover");
  }
  if (requestMaxWindowBits !== 0 && !offer.acceptMaxWindowBits) {
    throw new Error("Expected an offer that accepts a max window size");
  }
  return { offer, requestNoContextTakeover, requestMaxWindowBits };
}

/** The server's `Sec-WebSocket-Extensions` response for an accepted offer (Autobahn's order). */
export function acceptString(a: DeflateAccept): string {
  let s = PERMESSAGE_DEFLATE;
  if (a.offer.requestNoContextTakeover) s += "; server_no_context_takeover";
  if (a.offer.requestMaxWindowBits !== 0) {
    s += `; server_max_window_bits=${a.offer.requestMaxWindowBits}`;
  }
  if (a.requestNoContextTakeover) s += "; client_no_context_takeover";
  if (a.requestMaxWindowBits !== 0) {
    s += `; client_max_window_bits=${a.requestMaxWindowBits}`;
  }
  return s;
}

/** What both ends use once an offer is accepted (Autobahn's `PerMessageDeflate`). */
export interface DeflateParams {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  /** The server compresses with this window (15 unless the client asked for less). */
  serverMaxWindowBits: number;
  /** The client compresses with at most this window (15 unless the server asked for less). */
  clientMaxWindowBits: number;
  /** zlib memory level of the server's compressor (Autobahn: 8). */
  memLevel: number;
  /** The response header value that was sent. */
  response: string;
}

/** The parameters in force after `a` (Autobahn's `createFromOfferAccept`). */
export function negotiated(a: DeflateAccept): DeflateParams {
  return {
    serverNoContextTakeover: a.offer.requestNoContextTakeover,
    clientNoContextTakeover: a.requestNoContextTakeover,
    serverMaxWindowBits: a.offer.requestMaxWindowBits || 15,
    clientMaxWindowBits: a.requestMaxWindowBits || 15,
    memLevel: 8,
    response: acceptString(a),
  };
}

/** A case's accept function: picks an offer, or null to negotiate nothing. */
export type DeflateAcceptor = (offers: DeflateOffer[]) => DeflateAccept | null;

/** Accepts the first offer as it is (cases 12.x, and 13.1.x: "(False, 0)"). */
export const acceptAsOffered: DeflateAcceptor = (offers) =>
  offers.length > 0 ? acceptOffer(offers[0]) : null;

/**
 * The server side of Autobahn's 13.x: accept the first offer, asking the
 * client for no context takeover and/or a max window size; an offer that does
 * not allow what is asked is passed over, as Autobahn's loop does (it returns
 * from the first offer that allows it).
 */
export function acceptRequesting(
  noContextTakeover: boolean,
  maxWindowBits: number,
): DeflateAcceptor {
  return (offers) => {
    for (const offer of offers) {
      if (noContextTakeover && !offer.acceptNoContextTakeover) continue;
      if (maxWindowBits !== 0 && !offer.acceptMaxWindowBits) continue;
      return acceptOffer(offer, noContextTakeover, maxWindowBits);
    }
    return null;
  };
}

/** Tries accept functions in order; the first that accepts wins (Autobahn's `accept7`). */
export function firstAccepting(...fns: DeflateAcceptor[]): DeflateAcceptor {
  return (offers) => {
    for (const fn of fns) {
      const a = fn(offers);
      if (a) return a;
    }
    return null;
  };
}
