/**
 * Autobahn|Testsuite's permessage-deflate cases for clients: category 12
 * (90 cases: five payload sources, default negotiation) and category 13
 * (126 cases: one payload source, seven ways for the server to answer).
 * Each case sends 1000 messages cut from its source, one after the echo of
 * the previous one, compressed as negotiated and auto-fragmented as the case
 * says (Autobahn's `case12_x_x.py`); sizes, counts, timeouts, fragment sizes
 * and accept rules are Autobahn's.
 *
 * A client that negotiates no permessage-deflate gets the case graded
 * `UNIMPLEMENTED`: the server closes at once with 1000, as Autobahn does.
 *
 * @module
 */

import { createHash } from "node:crypto";
import type { Case, CaseDef, CaseDeflate, CaseHooks } from "./case.ts";
import {
  acceptAsOffered,
  acceptRequesting,
  type DeflateAcceptor,
  type DeflateOffer,
  deflateOffer,
  firstAccepting,
} from "./deflate_params.ts";
import {
  DATA_KEYS,
  DATA_SETS,
  type DataKey,
  type DataSetInfo,
  nextSlice,
  type TestData,
  testData,
} from "./deflate_data.ts";
import { Close, equalBytes } from "./wire.ts";

/** Payload length, message count, case timeout (s), auto-fragment size (0: none): Autobahn's `MSG_SIZES`. */
export const MSG_SIZES: ReadonlyArray<
  readonly [number, number, number, number]
> = [
  [16, 1000, 60, 0],
  [64, 1000, 60, 0],
  [256, 1000, 120, 0],
  [1024, 1000, 240, 0],
  [4096, 1000, 480, 0],
  [8192, 1000, 480, 0],
  [16384, 1000, 480, 0],
  [32768, 1000, 480, 0],
  [65536, 1000, 480, 0],
  [131072, 1000, 480, 0],
  [8192, 1000, 480, 256],
  [16384, 1000, 480, 256],
  [32768, 1000, 480, 256],
  [65536, 1000, 480, 256],
  [131072, 1000, 480, 256],
  [131072, 1000, 480, 1024],
  [131072, 1000, 480, 4096],
  [131072, 1000, 480, 32768],
];

/**
 * The series tests run for each subcategory (16-octet messages, 4 KiB ones,
 * and 8 KiB ones fragmented to 256 octets): the whole of 12 and 13 takes
 * minutes, so `deno test` runs these and `deno task conformance --deflate`
 * runs all.
 */
export const SAMPLE_SERIES: readonly number[] = [1, 5, 11];

/** Whether compression case `id` is in the sample that tests run. */
export function inSample(id: string): boolean {
  return SAMPLE_SERIES.includes(Number(id.split(".")[2]));
}

/** Autobahn's accept functions of 13.1 to 13.7, with their client offers. */
const DEFLATE_PARAMS: Array<[DeflateAcceptor, string, DeflateOffer[]]> = [
  [acceptAsOffered, "[(False, 0)]", [deflateOffer()]],
  [
    acceptRequesting(true, 0),
    "[(True, 0)]",
    [deflateOffer({ requestNoContextTakeover: true })],
  ],
  [
    acceptRequesting(false, 9),
    "[(False, 9)]",
    [deflateOffer({ requestMaxWindowBits: 9 })],
  ],
  [
    acceptRequesting(false, 15),
    "[(False, 15)]",
    [deflateOffer({ requestMaxWindowBits: 15 })],
  ],
  [
    acceptRequesting(true, 9),
    "[(True, 9)]",
    [deflateOffer({ requestNoContextTakeover: true, requestMaxWindowBits: 9 })],
  ],
  [
    acceptRequesting(true, 15),
    "[(True, 15)]",
    [
      deflateOffer({
        requestNoContextTakeover: true,
        requestMaxWindowBits: 15,
      }),
    ],
  ],
  [
    firstAccepting(
      acceptRequesting(true, 9),
      acceptRequesting(true, 0),
      acceptAsOffered,
    ),
    "[(True, 9), (True, 0), (False, 0)]",
    [
      deflateOffer({ requestNoContextTakeover: true, requestMaxWindowBits: 9 }),
      deflateOffer({ requestNoContextTakeover: true }),
      deflateOffer(),
    ],
  ],
];

const py = (b: boolean) => (b ? "True" : "False");

/** Autobahn's way of describing offers: `[(requestNoContextTakeover, requestMaxWindowBits), ...]`. */
function describeOffers(offers: DeflateOffer[]): string {
  return `[${
    offers.map((o) =>
      `(${py(o.requestNoContextTakeover)}, ${o.requestMaxWindowBits})`
    ).join(", ")
  }]`;
}

const decoder = new TextDecoder();

/** Length as Autobahn counts it: characters of text (decoded), octets of binary. */
function unitLength(payload: Uint8Array, binary: boolean): number {
  if (binary) return payload.length;
  let n = 0;
  for (const _ of decoder.decode(payload)) n++;
  return n;
}

const sha1 = (b: Uint8Array) => createHash("sha1").update(b).digest("hex");

function sendOne(c: Case, data: TestData, length: number): void {
  const { payload, next } = nextSlice(data, c.vars.from, length);
  c.vars.from = next;
  c.vars.expected = payload;
  c.p.sendMessage(payload, data.binary);
  c.vars.count++;
}

/** The hooks of one compression case (Autobahn's `init`, `onOpen`, `sendOne`, `onMessage`). */
function compressionHooks(
  key: DataKey,
  [length, count, waitSecs, fragment]: readonly [
    number,
    number,
    number,
    number,
  ],
): CaseHooks {
  return {
    init(c) {
      c.reportTime = true;
      c.expectedClose = {
        closedByMe: true,
        closeCode: [Close.NORMAL],
        requireClean: true,
      };
      c.vars.from = 0;
      c.vars.count = 0;
    },
    onOpen(c) {
      c.p.autoFragmentSize = fragment;
      if (c.p.perMessageCompress === null) {
        c.behavior = "UNIMPLEMENTED";
        c.result =
          "No permessage-deflate was negotiated (the client offered nothing this case accepts).";
        c.p.sendClose(Close.NORMAL);
        return;
      }
      c.behavior = "FAILED";
      c.result = `Case did not finish within ${waitSecs} seconds.`;
      c.p.closeAfter(waitSecs);
      sendOne(c, testData(key), length);
    },
    onMessage(c, payload, binary) {
      const data = testData(key);
      const expected = c.vars.expected as Uint8Array;
      if (binary !== data.binary || !equalBytes(payload, expected)) {
        c.behavior = "FAILED";
        c.p.sendClose(Close.NORMAL);
        const got = binary === data.binary ? unitLength(payload, binary) : -1;
        if (binary !== data.binary) {
          c.result =
            `Echo'ed message type differs from what I sent (got binary ${binary}, expected binary ${data.binary}).`;
        } else if (got !== length) {
          c.result =
            `Echo'ed message length differs from what I sent (got length ${got}, expected length ${length}).`;
        } else {
          c.result =
            `Echo'ed message contents differs from what I sent (got SHA1 ${
              sha1(payload)
            }, expected SHA1 ${sha1(expected)}).`;
        }
      } else if (c.vars.count < count) {
        sendOne(c, data, length);
      } else {
        c.behavior = "OK";
        c.result = "Ok, received all echo'ed messages in time.";
        c.p.sendClose(Close.NORMAL);
      }
    },
  };
}

function sizeNote(data: DataSetInfo): string {
  return `(${data.binary ? "binary" : "utf8"}, ${data.octets} bytes)`;
}

/** Builds the 216 case definitions and names their subcategories in `subcategories`. */
export function deflateCases(subcategories: Record<string, string>): CaseDef[] {
  const defs: CaseDef[] = [];
  const add = (
    id: string,
    key: DataKey,
    size: readonly [number, number, number, number],
    deflate: CaseDeflate,
    offerNote: string,
  ) => {
    const [length, count, waitSecs, fragment] = size;
    defs.push({
      id,
      description:
        `Send ${count} compressed messages each of payload size ${length}, auto-fragment to ${fragment} octets. ${offerNote}`,
      expectation:
        `Receive echo'ed messages (with payload as sent). Timeout case after ${waitSecs} secs.`,
      hooks: compressionHooks(key, size),
      deflate,
    });
  };
  DATA_KEYS.forEach((key, j) => {
    const data = DATA_SETS[key];
    subcategories[`12.${j + 1}`] = `${data.description} ${sizeNote(data)}`;
    MSG_SIZES.forEach((size, i) =>
      add(`12.${j + 1}.${i + 1}`, key, size, {
        accept: acceptAsOffered,
        acceptDescription: "accept the first offer as it is",
        clientOffers: [deflateOffer()],
      }, "Use default permessage-deflate offer.")
    );
  });
  const json = DATA_SETS.json_data1;
  DEFLATE_PARAMS.forEach(([accept, acceptDesc, offers], j) => {
    const co =
      `client offers (requestNoContextTakeover, requestMaxWindowBits): ${
        describeOffers(offers)
      }`;
    const sa =
      `server accept (requestNoContextTakeover, requestMaxWindowBits): ${acceptDesc}`;
    subcategories[`13.${j + 1}`] = `${json.description} ${
      sizeNote(json)
    } - ${co} / ${sa}`;
    MSG_SIZES.forEach((size, i) =>
      add(`13.${j + 1}.${i + 1}`, "json_data1", size, {
        accept,
        acceptDescription: sa,
        clientOffers: offers,
      }, `Use permessage-deflate ${co}`)
    );
  });
  return defs;
}
