import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";
import {
  acceptDeflateAnswer,
  type DeflateOffer,
  encodeDeflateOffers,
  encodeHandshake,
  HandshakeError,
  HeadReader,
  ReadBuf,
  validateHandshake,
} from "../../src/codec/mod.ts";
import { deflateParams, enc, throwsA } from "./_helpers.ts";

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/** A 101 answer carrying these Sec-WebSocket-Extensions lines. */
function answer(...extensions: string[]) {
  const rb = new ReadBuf();
  rb.push(enc.encode(
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      `Sec-WebSocket-Accept: ${ACCEPT}\r\n` +
      extensions.map((e) => `Sec-WebSocket-Extensions: ${e}\r\n`).join("") +
      "\r\n",
  ));
  const head = new HeadReader().read(rb);
  ok(head !== null);
  return head;
}

/** The settled parameters of answering `offers` with `value`. */
function settle(value: string, ...offers: DeflateOffer[]) {
  return validateHandshake(answer(value), KEY, [], offers).perMessageDeflate;
}

/** Asserts answering `offers` with `value` fails the handshake, with a message matching `why`. */
function refused(value: string, why: RegExp, ...offers: DeflateOffer[]) {
  const err = throwsA(
    () => validateHandshake(answer(value), KEY, [], offers),
    HandshakeError,
  );
  match(err.message, why, value);
  strictEqual(err.status, 101);
  strictEqual(err.headers.get("sec-websocket-extensions"), value);
}

// --- the offer -----------------------------------------------------------------

Deno.test("the default offer is permessage-deflate with a bare client_max_window_bits", () => {
  strictEqual(
    encodeDeflateOffers([{}]),
    "permessage-deflate; client_max_window_bits",
  );
});

Deno.test("each parameter is offered as RFC 7692 spells it; windows of 15 are not sent", () => {
  strictEqual(
    encodeDeflateOffers([{
      clientMaxWindowBits: 9,
      serverMaxWindowBits: 8,
      clientNoContextTakeover: true,
      serverNoContextTakeover: true,
    }]),
    "permessage-deflate; client_max_window_bits=9; client_no_context_takeover; server_no_context_takeover; server_max_window_bits=8",
  );
  strictEqual(
    encodeDeflateOffers([{ clientMaxWindowBits: 15, serverMaxWindowBits: 15 }]),
    "permessage-deflate; client_max_window_bits",
  );
});

Deno.test("several offers are joined in preference order", () => {
  strictEqual(
    encodeDeflateOffers([{ serverMaxWindowBits: 10 }, {}]),
    "permessage-deflate; client_max_window_bits; server_max_window_bits=10, permessage-deflate; client_max_window_bits",
  );
});

Deno.test("window sizes outside 8-15 and an empty offer list are refused", () => {
  for (const bits of [7, 16, 12.5, NaN]) {
    throwsA(
      () => encodeDeflateOffers([{ serverMaxWindowBits: bits }]),
      RangeError,
      /"permessage-deflate offer\.serverMaxWindowBits" to be an integer in \[8, 15\]/,
    );
    throwsA(
      () => encodeDeflateOffers([{ clientMaxWindowBits: bits }]),
      RangeError,
      /"permessage-deflate offer\.clientMaxWindowBits" to be an integer in \[8, 15\]/,
    );
  }
  throwsA(() => encodeDeflateOffers([]), TypeError);
  // an unknown field or a takeover flag that is not a boolean is not ignored
  throwsA(
    () => encodeDeflateOffers([{ serverMaxWindowBit: 10 } as never]),
    TypeError,
    /serverMaxWindowBit/,
  );
  throwsA(
    () => encodeDeflateOffers([{ serverNoContextTakeover: "yes" } as never]),
    TypeError,
    /serverNoContextTakeover/,
  );
  throwsA(
    () =>
      acceptDeflateAnswer("permessage-deflate", [{ clientMaxWindowBits: 16 }]),
    RangeError,
    /clientMaxWindowBits/,
  );
});

Deno.test("the handshake request carries the offer, and none without offers", () => {
  const req = (perMessageDeflate?: DeflateOffer[]) =>
    new TextDecoder().decode(
      encodeHandshake({
        url: new URL("ws://h/"),
        key: KEY,
        perMessageDeflate,
      }),
    );
  ok(
    req([{ serverMaxWindowBits: 12 }]).includes(
      "\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits; server_max_window_bits=12\r\n",
    ),
  );
  ok(!req([]).includes("Sec-WebSocket-Extensions"));
  ok(!req().includes("Sec-WebSocket-Extensions"));
});

// --- the answer: accepted ---------------------------------------------------------

Deno.test("no extension in the answer means the server declined: no compression", () => {
  strictEqual(
    validateHandshake(answer(), KEY, [], [{}]).perMessageDeflate,
    null,
  );
  strictEqual(acceptDeflateAnswer(null, [{}]), null);
});

Deno.test("a bare permessage-deflate answer settles 15-bit windows with context takeover", () => {
  deepStrictEqual(settle("permessage-deflate", {}), deflateParams());
});

Deno.test("every parameter of the answer is applied", () => {
  deepStrictEqual(
    settle(
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=8",
      {},
    ),
    deflateParams({
      serverMaxWindowBits: 9,
      serverNoContextTakeover: true,
      clientMaxWindowBits: 8,
      clientNoContextTakeover: true,
    }),
  );
});

Deno.test("the server may declare its window and ask for client_no_context_takeover unasked", () => {
  // RFC 7692 §7.1.1.2 and §7.1.2.1: both are allowed in any acceptance
  deepStrictEqual(
    settle(
      "permessage-deflate; client_no_context_takeover; server_max_window_bits=12",
      {},
    ),
    deflateParams({ serverMaxWindowBits: 12, clientNoContextTakeover: true }),
  );
});

Deno.test("the client's own window and takeover choices stand when the answer is silent", () => {
  deepStrictEqual(
    settle("permessage-deflate", {
      clientMaxWindowBits: 10,
      clientNoContextTakeover: true,
    }),
    deflateParams({ clientMaxWindowBits: 10, clientNoContextTakeover: true }),
  );
  deepStrictEqual(
    settle("permessage-deflate; client_max_window_bits=9", {
      clientMaxWindowBits: 10,
    }),
    deflateParams({ clientMaxWindowBits: 9 }),
  );
});

Deno.test("a requested server window and server_no_context_takeover accepted as asked", () => {
  deepStrictEqual(
    settle(
      "permessage-deflate; server_max_window_bits=10; server_no_context_takeover",
      { serverMaxWindowBits: 12, serverNoContextTakeover: true },
    ),
    deflateParams({ serverMaxWindowBits: 10, serverNoContextTakeover: true }),
  );
});

Deno.test("names are case-insensitive, whitespace is optional, values may be quoted", () => {
  deepStrictEqual(
    settle(
      'Permessage-Deflate ;Server_Max_Window_Bits = "10";\tclient_max_window_bits="9"',
      { serverMaxWindowBits: 10 },
    ),
    deflateParams({ serverMaxWindowBits: 10, clientMaxWindowBits: 9 }),
  );
});

Deno.test("with a fallback offer, an answer without the window limit accepts the second offer", () => {
  const offers = [{ serverMaxWindowBits: 10 }, {}];
  deepStrictEqual(
    settle("permessage-deflate; server_max_window_bits=10", ...offers),
    deflateParams({ serverMaxWindowBits: 10 }),
  );
  // gorilla/websocket's answer: no window, no takeover either way
  deepStrictEqual(
    settle(
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
      ...offers,
    ),
    deflateParams({
      serverNoContextTakeover: true,
      clientNoContextTakeover: true,
    }),
  );
  deepStrictEqual(
    settle("permessage-deflate; server_max_window_bits=13", ...offers),
    deflateParams({ serverMaxWindowBits: 13 }),
  );
});

Deno.test("an answer split over two header lines is read as one list", () => {
  const head = answer("permessage-deflate; server_max_window_bits=10", "");
  deepStrictEqual(
    validateHandshake(head, KEY, [], [{}]).perMessageDeflate,
    deflateParams({ serverMaxWindowBits: 10 }),
  );
});

// --- the answer: refused -------------------------------------------------------------

Deno.test("an extension in the answer when none was offered fails the handshake", () => {
  refused("permessage-deflate", /none was offered/);
});

Deno.test("an extension that was not offered fails the handshake, alone or with ours", () => {
  refused(
    "x-webkit-deflate-frame",
    /only the offered permessage-deflate.*x-webkit-deflate-frame/,
    {},
  );
  refused("permessage-deflate, x-custom; a=1", /x-custom/, {});
});

Deno.test("permessage-deflate accepted twice fails the handshake", () => {
  refused(
    "permessage-deflate, permessage-deflate",
    /once, got it 2 times/,
    {},
    {},
  );
});

Deno.test("an unknown parameter fails the handshake, naming it", () => {
  refused(
    "permessage-deflate; mem_level=8",
    /unknown parameter mem_level=8/,
    {},
  );
  refused("permessage-deflate; x", /unknown parameter x\b/, {});
});

Deno.test("a repeated parameter fails the handshake, naming it", () => {
  for (
    const p of [
      "server_no_context_takeover",
      "client_no_context_takeover",
      "server_max_window_bits=10",
      "client_max_window_bits=10",
    ]
  ) {
    refused(
      `permessage-deflate; ${p}; ${p}`,
      new RegExp(`${p.split("=")[0]} twice`),
      {},
    );
  }
});

Deno.test("window sizes out of range or malformed fail the handshake", () => {
  for (const v of ["7", "16", "0", "08", "1e1", "10.0", "-9", "abc"]) {
    refused(
      `permessage-deflate; server_max_window_bits=${v}`,
      /server_max_window_bits=.*8-15/,
      {},
    );
    refused(
      `permessage-deflate; client_max_window_bits=${v}`,
      /client_max_window_bits=.*8-15/,
      {},
    );
  }
});

Deno.test("window parameters without a value, and takeover parameters with one, fail", () => {
  refused(
    "permessage-deflate; server_max_window_bits",
    /server_max_window_bits= \(a window size/,
    {},
  );
  refused(
    "permessage-deflate; client_max_window_bits",
    /client_max_window_bits= \(a window size/,
    {},
  );
  refused(
    "permessage-deflate; server_no_context_takeover=1",
    /server_no_context_takeover with a value/,
    {},
  );
  refused(
    "permessage-deflate; client_no_context_takeover=true",
    /client_no_context_takeover with a value/,
    {},
  );
});

Deno.test("a server window larger than offered, or missing when one was offered, fails", () => {
  refused(
    "permessage-deflate; server_max_window_bits=11",
    /server_max_window_bits=11 \(at most 10 was offered\)/,
    { serverMaxWindowBits: 10 },
  );
  refused(
    "permessage-deflate",
    /no server_max_window_bits \(10 was offered/,
    { serverMaxWindowBits: 10 },
  );
});

Deno.test("a client window larger than offered fails the handshake", () => {
  refused(
    "permessage-deflate; client_max_window_bits=12",
    /client_max_window_bits=12 \(at most 11 was offered\)/,
    { clientMaxWindowBits: 11 },
  );
});

Deno.test("server_no_context_takeover missing when it was offered fails the handshake", () => {
  refused(
    "permessage-deflate",
    /no server_no_context_takeover/,
    { serverNoContextTakeover: true },
  );
});

Deno.test("a malformed extension list fails the handshake", () => {
  for (
    const v of [
      "",
      ", ,",
      "permessage-deflate;",
      "permessage-deflate; =1",
      "permessage-deflate server_max_window_bits=10",
      'permessage-deflate; server_max_window_bits="10',
      'permessage-deflate; server_max_window_bits="1 0"',
      "permessage-deflate; server_max_window_bits=",
      "permessage-deflate; a b",
      "permessage/deflate",
    ]
  ) {
    refused(v, /Expected a valid/, {});
  }
});
