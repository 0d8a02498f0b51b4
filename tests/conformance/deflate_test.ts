/**
 * Tests of the harness's permessage-deflate categories (12 and 13): offer
 * parsing and accept rules against Autobahn's, the server's deflate codec,
 * the stand-in data sets, the case list, how clients that do not negotiate
 * are graded, and a sample of the cases against npm `ws`, an independent
 * permessage-deflate implementation.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import zlib from "node:zlib";
import { type Agent, ws, wsOffers } from "./agents.ts";
import { CASES, SUBCATEGORIES } from "./cases.ts";
import { inSample, MSG_SIZES } from "./cases_deflate.ts";
import { DeflateCodec } from "./deflate_codec.ts";
import { DATA_KEYS, DATA_SETS, nextSlice, testData } from "./deflate_data.ts";
import {
  acceptString,
  deflateOffer,
  type DeflateParams,
  negotiated,
  offerString,
  parseExtensions,
  parseOffer,
  parseOffers,
} from "./deflate_params.ts";
import { laxAgent } from "./lax_client.ts";
import { type CaseReport, runCases } from "./runner.ts";

const byId = new Map(CASES.map((c) => [c.id, c]));

async function run(
  agent: Agent,
  ids: string[],
  agentName = "test",
): Promise<CaseReport[]> {
  return await runCases({
    agent,
    agentName,
    cases: ids.map((id) => byId.get(id)!),
    caseTimeoutMs: 60_000,
  });
}

const grade = (r: CaseReport) => `${r.behavior} / ${r.behaviorClose}`;

/** The response of case `id` to the offers in `header` (null: nothing accepted). */
function response(id: string, header: string): string | null {
  const a = byId.get(id)!.deflate!.accept(parseOffers(header));
  return a ? acceptString(a) : null;
}

Deno.test("Offers are parsed with Autobahn's rules: its defaults, value hints, and a refusal for anything else", () => {
  assert.equal(
    offerString(deflateOffer()),
    "permessage-deflate; client_no_context_takeover; client_max_window_bits",
  );
  // client_no_context_takeover counts as accepted even when absent.
  assert.deepEqual(parseOffers("permessage-deflate"), [{
    acceptNoContextTakeover: true,
    acceptMaxWindowBits: false,
    requestNoContextTakeover: false,
    requestMaxWindowBits: 0,
  }]);
  assert.deepEqual(
    parseOffers(
      'x-webkit-deflate-frame, Permessage-Deflate; Client_Max_Window_Bits="10"; server_max_window_bits=9; server_no_context_takeover',
    ),
    [{
      acceptNoContextTakeover: true,
      acceptMaxWindowBits: true,
      requestNoContextTakeover: true,
      requestMaxWindowBits: 9,
    }],
  );
  assert.equal(parseOffers("permessage-deflate, permessage-deflate").length, 2);
  assert.deepEqual(parseOffers(undefined), []);
  for (
    const bad of [
      "permessage-deflate; foo",
      "permessage-deflate; client_max_window_bits=7",
      "permessage-deflate; client_max_window_bits=",
      "permessage-deflate; server_max_window_bits",
      "permessage-deflate; server_max_window_bits=16",
      "permessage-deflate; server_no_context_takeover=1",
      "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
    ]
  ) {
    assert.throws(() => parseOffers(bad), Error, bad);
  }
  const [[name, params]] = parseExtensions(' a ; b = "c=d" ; e');
  assert.equal(name, "a");
  assert.deepEqual([...params], [["b", ["c=d"]], ["e", [true]]]);
  assert.throws(() => parseOffer(new Map([["x", [true]]])), Error);
});

Deno.test("The accept rules of 13.1 to 13.7 answer Autobahn's client offers as Autobahn does", () => {
  const own = (j: number) => {
    const d = byId.get(`13.${j}.1`)!.deflate!;
    const a = d.accept(d.clientOffers);
    return a ? acceptString(a) : null;
  };
  assert.equal(own(1), "permessage-deflate");
  assert.equal(
    own(2),
    "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
  );
  assert.equal(
    own(3),
    "permessage-deflate; server_max_window_bits=9; client_max_window_bits=9",
  );
  assert.equal(
    own(4),
    "permessage-deflate; server_max_window_bits=15; client_max_window_bits=15",
  );
  const both = (n: number) =>
    `permessage-deflate; server_no_context_takeover; server_max_window_bits=${n}; client_no_context_takeover; client_max_window_bits=${n}`;
  assert.equal(own(5), both(9));
  assert.equal(own(6), both(15));
  assert.equal(own(7), both(9));
});

Deno.test("A client's usual offer is answered as Autobahn answers it, or not at all when the accept rule needs what it does not offer", () => {
  const wsDefault = "permessage-deflate; client_max_window_bits";
  assert.equal(response("12.3.1", wsDefault), "permessage-deflate");
  assert.equal(
    response("13.2.1", wsDefault),
    "permessage-deflate; client_no_context_takeover",
  );
  assert.equal(
    response("13.3.1", wsDefault),
    "permessage-deflate; client_max_window_bits=9",
  );
  assert.equal(
    response("13.5.1", wsDefault),
    "permessage-deflate; client_no_context_takeover; client_max_window_bits=9",
  );
  const bare = "permessage-deflate";
  for (const j of [3, 4, 5, 6]) assert.equal(response(`13.${j}.1`, bare), null);
  assert.equal(
    response("13.7.1", bare),
    "permessage-deflate; client_no_context_takeover",
  );
  assert.equal(response("13.1.1", ""), null);
});

function params(over: Partial<DeflateParams> = {}): DeflateParams {
  return {
    ...negotiated({
      offer: deflateOffer(),
      requestNoContextTakeover: false,
      requestMaxWindowBits: 0,
    }),
    ...over,
  };
}

Deno.test("The server's deflate codec round-trips with and without context takeover and refuses what it cannot inflate", async () => {
  const msg = new TextEncoder().encode("tick 12345.67 bid ask ".repeat(40));
  const server = new DeflateCodec(params());
  const fresh = new DeflateCodec(params({ serverNoContextTakeover: true }));
  const first = await server.compress(msg);
  const second = await server.compress(msg);
  assert.ok(second.length < first.length, "context takeover shrinks a repeat");
  assert.deepEqual(await fresh.compress(msg), first);
  assert.deepEqual(await fresh.compress(msg), first, "no context takeover");
  // The sync flush tail is stripped, as on the wire.
  assert.deepEqual(
    zlib.inflateRawSync(new Uint8Array([...first, 0, 0, 0xff, 0xff]), {
      finishFlush: zlib.constants.Z_SYNC_FLUSH,
    }),
    Buffer.from(msg),
  );
  const peer = new DeflateCodec(params());
  assert.deepEqual(await peer.decompress([first]), msg);
  assert.deepEqual(
    await peer.decompress([second.subarray(0, 5), second.subarray(5)]),
    msg,
  );
  const noContext = new DeflateCodec(params({ clientNoContextTakeover: true }));
  assert.deepEqual(await noContext.decompress([first]), msg);
  await assert.rejects(() => noContext.decompress([second]), Error);
  const garbage = new DeflateCodec(params());
  await assert.rejects(
    () => garbage.decompress([new Uint8Array([0xff, 0xff, 0xff])]),
    Error,
  );
  await Promise.all(
    [server, fresh, peer, noContext, garbage].map((c) => c.close()),
  );
});

Deno.test("A request for an 8-bit server window compresses with a window a 256-octet inflater can follow", async () => {
  // 300-octet blocks repeated: a 512-octet window could refer back 300
  // octets; output an 8-bit inflater must accept may not.
  const block = crypto.getRandomValues(new Uint8Array(300));
  const data = new Uint8Array(6000).map((_, i) => block[i % 300]);
  const c8 = new DeflateCodec(params({ serverMaxWindowBits: 8 }));
  const c15 = new DeflateCodec(params({ serverMaxWindowBits: 15 }));
  const small = await c8.compress(data);
  const large = await c15.compress(data);
  assert.ok(small.length > 5000, "no match 300 octets back");
  assert.ok(large.length < 1000, "a 32 KiB window does use them");
  const back = new DeflateCodec(params({ clientMaxWindowBits: 8 }));
  assert.deepEqual(await back.decompress([small]), data);
  await Promise.all([c8, c15, back].map((c) => c.close()));
});

Deno.test("The stand-in data sets have Autobahn's lengths, kinds and about its compression ratios, and never change", () => {
  const autobahnRatio: Record<string, number> = {
    json_data1: 0.044,
    lena512: 0.851,
    gutenberg_faust: 0.389,
    html_data1: 0.055,
    ooms: 0.758,
  };
  const sha256: Record<string, string> = {
    json_data1:
      "4529ffdb16811a902a82a37b28b4a1b5ea42bc5a399f5f00139210f07ce082a9",
    lena512: "ff926e6ab48fada88e18214c52dd77f24d8455c35d81cc35aeedd31a1dbb892f",
    gutenberg_faust:
      "27cba0d1c73f96efe3309e9b5b72ca2ad06dbd7eef6eb40600aba5789ce8d380",
    html_data1:
      "dda4e61d9d371e720073e5e85b5d27d66feb897482760dd6fc09b94500d5e680",
    ooms: "e856cd4b1820afbeeabdc8ab2f41dcf5826f21496f4a6f4fc927fdf67604a513",
  };
  for (const key of DATA_KEYS) {
    const d = testData(key);
    assert.equal(d.bytes.length, DATA_SETS[key].octets, key);
    const ratio = zlib.deflateSync(d.bytes).length / d.bytes.length;
    assert.ok(
      Math.abs(ratio - autobahnRatio[key]) < 0.02,
      `${key}: ratio ${ratio.toFixed(3)}`,
    );
    assert.equal(
      createHash("sha256").update(d.bytes).digest("hex"),
      sha256[key],
      key,
    );
  }
  const json = testData("json_data1");
  assert.equal(json.text!.length, 194056);
  assert.ok(JSON.parse(json.text!));
  const html = testData("html_data1");
  assert.equal(html.text!.length, 263620, "characters");
  assert.ok(!/[\ud800-\udfff]/.test(html.text!), "BMP characters only");
  assert.ok(html.text!.startsWith("<!DOCTYPE html>"));
  const bmp = testData("lena512").bytes;
  assert.deepEqual([...bmp.subarray(0, 2)], [0x42, 0x4d]);
  const faust = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })
    .decode(
      testData("gutenberg_faust").bytes,
    );
  assert.ok(faust.startsWith("\ufeff"));
});

Deno.test("Messages are cut from a ring over the data, by characters for text, as Autobahn's sendOne cuts them", () => {
  const text = {
    ...testData("json_data1"),
    text: "aé€bc",
  };
  let cut = nextSlice(text, 0, 3);
  assert.deepEqual(new TextDecoder().decode(cut.payload), "aé€");
  assert.equal(cut.payload.length, 6);
  cut = nextSlice(text, cut.next, 3);
  assert.equal(new TextDecoder().decode(cut.payload), "bca");
  assert.equal(cut.next, 1);
  const bin = {
    ...testData("lena512"),
    bytes: new Uint8Array([1, 2, 3, 4, 5]),
  };
  const b = nextSlice(bin, 3, 4);
  assert.deepEqual([...b.payload], [4, 5, 1, 2]);
  assert.equal(b.next, 2);
});

Deno.test("Categories 12 and 13 have Autobahn's 216 cases with its sizes, counts, timeouts and fragment sizes", () => {
  const ids = CASES.filter((c) => /^1[23]\./.test(c.id)).map((c) => c.id);
  assert.equal(ids.length, 216);
  assert.equal(MSG_SIZES.length, 18);
  assert.deepEqual(MSG_SIZES[14], [131072, 1000, 480, 256]);
  const c = byId.get("12.4.15")!;
  assert.match(
    c.description,
    /^Send 1000 compressed messages each of payload size 131072, auto-fragment to 256 octets\./,
  );
  assert.match(c.expectation, /Timeout case after 480 secs\./);
  assert.match(SUBCATEGORIES["12.2"], /binary, 263222 bytes/);
  assert.match(
    SUBCATEGORIES["13.7"],
    /\[\(True, 9\), \(True, 0\), \(False, 0\)\] \/ server accept/,
  );
  assert.equal(byId.get("13.7.1")!.deflate!.clientOffers.length, 3);
});

Deno.test("A client that offers no permessage-deflate gets UNIMPLEMENTED with a proper close, as Autobahn grades it", async () => {
  const reports = await run(laxAgent(), ["12.1.1", "12.5.18", "13.6.1"]);
  assert.deepEqual(reports.map(grade), Array(3).fill("UNIMPLEMENTED / OK"));
  assert.ok(reports.every((r) => r.deflate === null && r.closedByMe));
});

/** Runs case `id` with the lax client offering `extensions`; returns its report and the response head. */
async function offering(
  extensions: string,
  id: string,
): Promise<{ report: CaseReport; head: string }> {
  let head = "";
  const agent = laxAgent({ extensions, onResponse: (h) => head = h });
  const [report] = await run(agent, [id]);
  return { report, head };
}

Deno.test("A client whose offer the case's accept rule passes over gets UNIMPLEMENTED", async () => {
  const { report, head } = await offering("permessage-deflate", "13.3.1");
  assert.equal(grade(report), "UNIMPLEMENTED / OK");
  assert.doesNotMatch(head, /sec-websocket-extensions/i);
});

Deno.test("A client that offers permessage-deflate but cannot inflate fails 12.1.1", async () => {
  const { report, head } = await offering(
    "permessage-deflate; client_max_window_bits",
    "12.1.1",
  );
  assert.match(head, /\r\nSec-WebSocket-Extensions: permessage-deflate$/);
  assert.equal(grade(report), "FAILED / FAILED");
  assert.equal(report.remoteCloseCode, 1002);
});

Deno.test("A bad permessage-deflate offer refuses the handshake in any case, as Autobahn does", async () => {
  const { report, head } = await offering(
    "permessage-deflate; client_max_window_bits=7",
    "1.1.1",
  );
  assert.equal(grade(report), "FAILED / FAILED");
  assert.match(head, /^HTTP\/1\.1 400 /);
});

// The whole of 12 and 13 moves about 22 GB through zlib (about 10 minutes
// against npm ws): `deno task conformance --deflate --agent ws`. Here: the
// sample series of each subcategory, with ws's own offer and with
// Autobahn's offers.

/** Runs the sample of the categories matching `pattern` against `agent`; returns the reports and the cases not graded OK / OK. */
async function sample(
  agent: Agent,
  name: string,
  pattern: RegExp,
): Promise<{ reports: CaseReport[]; bad: string[] }> {
  const ids = CASES.filter((c) => pattern.test(c.id) && inSample(c.id))
    .map((c) => c.id);
  const reports = await run(agent, ids, name);
  const bad = reports.filter((r) => grade(r) !== "OK / OK")
    .map((r) => `${r.id}: ${grade(r)} ${r.result}`);
  return { reports, bad };
}

Deno.test("npm ws passes a sample of every subcategory of 12 and 13 with its default offer", async () => {
  const { reports, bad } = await sample(ws, "ws", /^1[23]\./);
  assert.deepEqual(bad, []);
  assert.equal(reports.length, 36);
  assert.ok(reports.every((r) => r.deflate?.startsWith("permessage-deflate")));
});

Deno.test("npm ws making Autobahn's offers passes a sample of 13, with every server parameter in play", async () => {
  const { reports, bad } = await sample(wsOffers, "ws-offers", /^13\./);
  assert.deepEqual(bad, []);
  assert.equal(
    reports.find((r) => r.id === "13.5.5")!.deflate,
    "permessage-deflate; server_no_context_takeover; server_max_window_bits=9; client_no_context_takeover; client_max_window_bits=9",
  );
});
