/**
 * The 517 client-side cases of Autobahn|Testsuite: categories 1 to 7, 9 and
 * 10 (301 cases, defined here) and the permessage-deflate categories 12 and
 * 13 (216 cases, `cases_deflate.ts`), re-created by behaviour: what the
 * server sends (octet for octet, with the same write chopping and delays),
 * what it expects back, and how the connection must end. Case numbers and
 * order are Autobahn's.
 *
 * @module
 */

import type { Case, CaseDef, CaseEvent, CaseHooks } from "./case.ts";
import { bytes, Close, equalBytes, repeatTo, utf8 } from "./wire.ts";
import { utf8Groups } from "./utf8_sequences.ts";
import { deflateCases } from "./cases_deflate.ts";

const NORMAL = Close.NORMAL;
const PROTOCOL_ERROR = Close.PROTOCOL_ERROR;
const INVALID_PAYLOAD = Close.INVALID_PAYLOAD;

const EMPTY = new Uint8Array(0);

const msg = (data: Uint8Array, binary = false): CaseEvent => ({
  type: "message",
  data,
  binary,
});
const pong = (data: Uint8Array): CaseEvent => ({ type: "pong", data });
const timeout = (tag: string): CaseEvent => ({ type: "timeout", tag });

/** Autobahn category names. */
export const CATEGORIES: Record<string, string> = {
  "1": "Framing",
  "2": "Pings/Pongs",
  "3": "Reserved Bits",
  "4": "Opcodes",
  "5": "Fragmentation",
  "6": "UTF-8 Handling",
  "7": "Close Handling",
  "9": "Limits/Performance",
  "10": "Auto-Fragmentation",
  "12": "WebSocket Compression (different payloads)",
  "13": "WebSocket Compression (different parameters)",
};

/** The categories without an extension (what every client can be graded on). */
export const CORE_CATEGORIES: readonly string[] = [
  "1",
  "2",
  "3",
  "4",
  "5",
  "6",
  "7",
  "9",
  "10",
];

/** The permessage-deflate categories. */
export const DEFLATE_CATEGORIES: readonly string[] = ["12", "13"];

/** Autobahn subcategory names (those it names). */
export const SUBCATEGORIES: Record<string, string> = {
  "1.1": "Text Messages",
  "1.2": "Binary Messages",
  "4.1": "Non-control Opcodes",
  "4.2": "Control Opcodes",
  "6.1": "Valid UTF-8 with zero payload fragments",
  "6.2":
    "Valid UTF-8 unfragmented, fragmented on code-points and within code-points",
  "6.3": "Invalid UTF-8 differently fragmented",
  "6.4": "Fail-fast on invalid UTF-8",
  "7.1": "Basic close behavior (fuzzer initiated)",
  "7.3": "Close frame structure: payload length (fuzzer initiated)",
  "7.5": "Close frame structure: payload value (fuzzer initiated)",
  "7.7": "Close frame structure: valid close codes (fuzzer initiated)",
  "7.9": "Close frame structure: invalid close codes (fuzzer initiated)",
  "7.13": "Informational close information (fuzzer initiated)",
  "9.1": "Text Message (increasing size)",
  "9.2": "Binary Message (increasing size)",
  "9.3": "Fragmented Text Message (fixed size, increasing fragment size)",
  "9.4": "Fragmented Binary Message (fixed size, increasing fragment size)",
  "9.5": "Text Message (fixed size, increasing chop size)",
  "9.6": "Binary Text Message (fixed size, increasing chop size)",
  "9.7": "Text Message Roundtrip Time (fixed number, increasing size)",
  "9.8": "Binary Message Roundtrip Time (fixed number, increasing size)",
  "10.1": "Auto-Fragmentation",
};

const defs: CaseDef[] = [];
function def(
  id: string,
  description: string,
  expectation: string,
  hooks: CaseHooks,
): void {
  defs.push({ id, description, expectation, hooks });
}

/** Expect a clean close started by the server with 1000 (the usual ending). */
function serverCloses(c: Case): void {
  c.expectedClose = {
    closedByMe: true,
    closeCode: [NORMAL],
    requireClean: true,
  };
}

/** Expect the client to fail the connection with `code`. */
function clientFails(
  c: Case,
  code: number = PROTOCOL_ERROR,
  fatal = false,
): void {
  c.expectedClose = {
    closedByMe: false,
    closeCode: [code],
    requireClean: false,
    ...(fatal ? { closedByWrongEndpointIsFatal: true } : {}),
  };
}

/** Category 7 rule: a wrong close code fails the behaviour too. */
function wrongCodeFails(c: Case): void {
  if (c.behaviorClose === "WRONG CODE") {
    c.behavior = "FAILED";
    c.result = c.resultClose;
  }
}

// ------------------------------------------------------------------ 1 Framing

const sizes1 = [0, 125, 126, 127, 128, 65535, 65536, 65536];
sizes1.forEach((n, i) => {
  for (const [sub, binary] of [[1, false], [2, true]] as const) {
    const chop = i === 7 ? 997 : undefined;
    def(
      `1.${sub}.${i + 1}`,
      `Send ${binary ? "binary" : "text"} message with payload of length ${n}${
        chop ? `, written in chops of ${chop} octets` : ""
      }.`,
      `Receive the ${
        binary ? "binary" : "text"
      } message echoed back with the same payload. Clean close with normal code.`,
      {
        onOpen(c) {
          const payload = repeatTo(binary ? bytes("\xfe") : utf8("*"), n);
          c.expected.set("OK", [msg(payload, binary)]);
          serverCloses(c);
          c.p.sendFrame({ opcode: binary ? 2 : 1, payload, chopsize: chop });
          c.p.killAfter(n >= 65535 ? 10 : 1);
        },
      },
    );
  }
});
// Autobahn orders 1.1.x before 1.2.x.
defs.sort((a, b) => cmpId(a.id, b.id));

// ------------------------------------------------------------------ 2 Pings/Pongs

function pingCase(
  id: string,
  desc: string,
  payload: Uint8Array,
  chopsize?: number,
  closeAfter = 1,
) {
  def(
    id,
    desc,
    "Pong with the same payload comes back. Clean close with normal code.",
    {
      onOpen(c) {
        c.expected.set("OK", [pong(payload)]);
        serverCloses(c);
        c.p.sendFrame({ opcode: 9, payload, chopsize });
        c.p.closeAfter(closeAfter);
      },
    },
  );
}
pingCase("2.1", "Send ping without payload.", EMPTY);
pingCase("2.2", "Send ping with small text payload.", utf8("Hello, world!"));
pingCase(
  "2.3",
  "Send ping with small binary (non UTF-8) payload.",
  bytes("\x00\xff\xfe\xfd\xfc\xfb\x00\xff"),
);
pingCase(
  "2.4",
  "Send ping with binary payload of 125 octets.",
  repeatTo(bytes("\xfe"), 125),
);
def(
  "2.5",
  "Send ping with binary payload of 126 octets.",
  "Connection is failed immediately (1002): control frames carry at most 125 octets.",
  {
    onOpen(c) {
      c.expected.set("OK", []);
      clientFails(c);
      c.p.sendFrame({ opcode: 9, payload: repeatTo(bytes("\xfe"), 126) });
      c.p.killAfter(1);
    },
  },
);
pingCase(
  "2.6",
  "Send ping with binary payload of 125 octets, written in chops of 1 octet.",
  repeatTo(bytes("\xfe"), 125),
  1,
  2,
);
def(
  "2.7",
  "Send unsolicited pong without payload, then close.",
  "Nothing comes back. Clean close with normal code.",
  {
    onOpen(c) {
      serverCloses(c);
      c.expected.set("OK", []);
      c.p.sendFrame({ opcode: 10 });
      c.p.sendClose(NORMAL);
      c.p.closeAfter(1);
    },
  },
);
def(
  "2.8",
  "Send unsolicited pong with payload, then close.",
  "Nothing comes back. Clean close with normal code.",
  {
    onOpen(c) {
      c.expected.set("OK", []);
      serverCloses(c);
      c.p.sendFrame({ opcode: 10, payload: utf8("unsolicited pong payload") });
      c.p.sendClose(NORMAL);
      c.p.closeAfter(1);
    },
  },
);
def(
  "2.9",
  "Send unsolicited pong with payload, then ping with payload.",
  "Pong for the ping comes back. Clean close with normal code.",
  {
    onOpen(c) {
      const payload = utf8("ping payload");
      c.expected.set("OK", [pong(payload)]);
      serverCloses(c);
      c.p.sendFrame({ opcode: 10, payload: utf8("unsolicited pong payload") });
      c.p.sendFrame({ opcode: 9, payload });
      c.p.closeAfter(1);
    },
  },
);
for (const [id, chopsize] of [["2.10", undefined], ["2.11", 1]] as const) {
  def(
    id,
    `Send 10 pings with payload${
      chopsize ? ", each written in chops of 1 octet" : ""
    }.`,
    "Pongs for all pings come back, in order. Clean close with normal code.",
    {
      onOpen(c) {
        const events: CaseEvent[] = [];
        for (let i = 0; i < 10; i++) {
          const payload = utf8(`payload-${i}`);
          events.push(pong(payload));
          c.p.sendFrame({ opcode: 9, payload, chopsize });
        }
        c.expected.set("OK", events);
        serverCloses(c);
        c.p.closeAfter(3);
      },
    },
  );
}

// ------------------------------------------------------------------ 3 Reserved bits

const hello = utf8("Hello, world!");
def(
  "3.1",
  "Send small text message with RSV = 1.",
  "Connection is failed immediately (1002).",
  {
    onOpen(c) {
      c.expected.set("OK", []);
      clientFails(c);
      c.p.sendFrame({ opcode: 1, payload: hello, rsv: 1 });
      c.p.killAfter(1);
    },
  },
);
for (
  const [id, rsv, mode] of [["3.2", 2, "one"], ["3.3", 3, "sync"], [
    "3.4",
    4,
    "chop",
  ]] as const
) {
  def(
    id,
    `Send small text message, then another with RSV = ${rsv}, then ping${
      mode === "sync"
        ? ", each frame written on its own"
        : mode === "chop"
        ? ", written in chops of 1 octet"
        : ""
    }.`,
    "Echo of the first message, then the connection is failed (1002) before the ping; or failed before the echo (NON-STRICT).",
    {
      onOpen(c) {
        c.expected.set("OK", [msg(hello)]);
        c.expected.set("NON-STRICT", []);
        clientFails(c);
        const how = mode === "sync"
          ? { sync: true }
          : mode === "chop"
          ? { chopsize: 1 }
          : {};
        c.p.sendFrame({ opcode: 1, payload: hello, ...how });
        c.p.sendFrame({ opcode: 1, payload: hello, rsv, ...how });
        c.p.sendFrame({ opcode: 9, ...how });
        c.p.killAfter(1);
      },
    },
  );
}
for (
  const [id, rsv, opcode, payload, what] of [
    [
      "3.5",
      5,
      2,
      bytes("\x00\xff\xfe\xfd\xfc\xfb\x00\xff"),
      "small binary message",
    ],
    // Autobahn describes 3.6 as a ping, but its code sends this binary frame.
    ["3.6", 6, 2, hello, "small binary message"],
    ["3.7", 7, 8, EMPTY, "close"],
  ] as const
) {
  def(
    id,
    `Send ${what} with RSV = ${rsv}.`,
    "Connection is failed immediately (1002).",
    {
      onOpen(c) {
        c.expected.set("OK", []);
        clientFails(c);
        c.p.sendFrame({ opcode, payload, rsv });
        c.p.killAfter(1);
      },
    },
  );
}

// ------------------------------------------------------------------ 4 Opcodes

for (const [sub, base] of [[1, 3], [2, 11]] as const) {
  const kind = sub === 1 ? "non-control" : "control";
  def(
    `4.${sub}.1`,
    `Send frame with reserved ${kind} opcode ${base}.`,
    "Connection is failed immediately (1002).",
    {
      onOpen(c) {
        c.expected.set("OK", []);
        clientFails(c);
        c.p.sendFrame({ opcode: base });
        c.p.killAfter(1);
      },
    },
  );
  def(
    `4.${sub}.2`,
    `Send frame with reserved ${kind} opcode ${
      base + 1
    } and non-empty payload.`,
    "Connection is failed immediately (1002).",
    {
      onOpen(c) {
        c.expected.set("OK", []);
        clientFails(c);
        c.p.sendFrame({
          opcode: base + 1,
          payload: utf8("reserved opcode payload"),
        });
        c.p.killAfter(1);
      },
    },
  );
  for (const k of [3, 4, 5]) {
    const op = base + k - 1;
    const chop = k === 5 ? 1 : undefined;
    def(
      `4.${sub}.${k}`,
      `Send small text message, then frame with reserved ${kind} opcode ${op}${
        k === 3 ? "" : " and non-empty payload"
      }, then ping${chop ? ", written in chops of 1 octet" : ""}.`,
      "Echo of the first message, then the connection is failed (1002) before the ping; or failed before the echo (NON-STRICT).",
      {
        onOpen(c) {
          c.expected.set("OK", [msg(hello)]);
          c.expected.set("NON-STRICT", []);
          clientFails(c);
          c.p.sendFrame({ opcode: 1, payload: hello, chopsize: chop });
          c.p.sendFrame({
            opcode: op,
            payload: k === 3 ? EMPTY : hello,
            chopsize: chop,
          });
          c.p.sendFrame({ opcode: 9, chopsize: chop });
          c.p.killAfter(1);
        },
      },
    );
  }
}

// ------------------------------------------------------------------ 5 Fragmentation

for (
  const [id, opcode, name] of [["5.1", 9, "ping"], ["5.2", 10, "pong"]] as const
) {
  def(
    id,
    `Send ${name} fragmented into 2 fragments.`,
    "Connection is failed immediately (1002): control frames must not be fragmented.",
    {
      onOpen(c) {
        c.expected.set("OK", []);
        clientFails(c);
        c.p.sendFrame({ opcode, fin: false, payload: utf8("fragment1") });
        c.p.sendFrame({ opcode: 0, fin: true, payload: utf8("fragment2") });
        c.p.killAfter(1);
      },
    },
  );
}
const modes = [
  ["", {}],
  [", each frame written on its own", { sync: true }],
  [", written in chops of 1 octet", { chopsize: 1 }],
] as const;
modes.forEach(([how, w], i) => {
  def(
    `5.${3 + i}`,
    `Send text message fragmented into 2 fragments${how}.`,
    "Message is echoed back. Clean close with normal code.",
    {
      onOpen(c) {
        c.expected.set("OK", [msg(utf8("fragment1fragment2"))]);
        serverCloses(c);
        c.p.sendFrame({
          opcode: 1,
          fin: false,
          payload: utf8("fragment1"),
          ...w,
        });
        c.p.sendFrame({
          opcode: 0,
          fin: true,
          payload: utf8("fragment2"),
          ...w,
        });
        c.p.closeAfter(1);
      },
    },
  );
});
modes.forEach(([how, w], i) => {
  def(
    `5.${6 + i}`,
    `Send text message fragmented into 2 fragments, with a ping between them${how}.`,
    "The pong comes back, then the echoed message. Clean close with normal code.",
    {
      onOpen(c) {
        const ping = utf8("ping payload");
        c.expected.set("OK", [pong(ping), msg(utf8("fragment1fragment2"))]);
        serverCloses(c);
        c.p.sendFrame({
          opcode: 1,
          fin: false,
          payload: utf8("fragment1"),
          ...w,
        });
        c.p.sendFrame({ opcode: 9, fin: true, payload: ping, ...w });
        c.p.sendFrame({
          opcode: 0,
          fin: true,
          payload: utf8("fragment2"),
          ...w,
        });
        c.p.closeAfter(1);
      },
    },
  );
});
for (const [base, fin] of [[9, true], [12, false]] as const) {
  modes.forEach(([how, w], i) => {
    def(
      `5.${base + i}`,
      `Send continuation frame with FIN = ${fin} where there is nothing to continue, then a text message${how}.`,
      "Connection is failed immediately (1002): there is no message to continue.",
      {
        onOpen(c) {
          c.expected.set("OK", []);
          clientFails(c);
          c.p.sendFrame({
            opcode: 0,
            fin,
            payload: utf8("non-continuation payload"),
            ...w,
          });
          c.p.sendFrame({ opcode: 1, fin: true, payload: hello, ...w });
          c.p.killAfter(1);
        },
      },
    );
  });
}
def(
  "5.15",
  "Send text message in 2 fragments, then a continuation frame with FIN = false where there is nothing to continue, then a text message.",
  "Echo of the first message, then the connection is failed (1002); or failed before the echo (NON-STRICT).",
  {
    onOpen(c) {
      c.expected.set("OK", [msg(utf8("fragment1fragment2"))]);
      c.expected.set("NON-STRICT", []);
      clientFails(c);
      c.p.sendFrame({ opcode: 1, fin: false, payload: utf8("fragment1") });
      c.p.sendFrame({ opcode: 0, fin: true, payload: utf8("fragment2") });
      c.p.sendFrame({ opcode: 0, fin: false, payload: utf8("fragment3") });
      c.p.sendFrame({ opcode: 1, fin: true, payload: utf8("fragment4") });
      c.p.killAfter(1);
    },
  },
);
for (const [id, fin] of [["5.16", false], ["5.17", true]] as const) {
  def(
    id,
    `Twice: continuation frame with FIN = ${fin} (nothing to continue), then a text message in 2 fragments.`,
    "Connection is failed immediately (1002): there is no message to continue.",
    {
      onOpen(c) {
        c.expected.set("OK", []);
        clientFails(c);
        for (let i = 0; i < 2; i++) {
          c.p.sendFrame({ opcode: 0, fin, payload: utf8("fragment1") });
          c.p.sendFrame({ opcode: 1, fin: false, payload: utf8("fragment2") });
          c.p.sendFrame({ opcode: 0, fin: true, payload: utf8("fragment3") });
        }
        c.p.killAfter(1);
      },
    },
  );
}
def(
  "5.18",
  "Send text message in 2 fragments, both with the text opcode.",
  "Connection is failed immediately (1002): frames after the first must be continuations.",
  {
    onOpen(c) {
      c.expected.set("OK", []);
      clientFails(c);
      c.p.sendFrame({ opcode: 1, fin: false, payload: utf8("fragment1") });
      c.p.sendFrame({ opcode: 1, fin: true, payload: utf8("fragment2") });
      c.p.killAfter(1);
    },
  },
);
for (const [id, sync] of [["5.19", false], ["5.20", true]] as const) {
  def(
    id,
    `Send a text message in 5 fragments with 2 pings among them and a 1 s pause in the middle${
      sync ? ", each frame written on its own" : ""
    }.`,
    "The first pong comes back before the rest is sent, then the second pong, then the echoed message. Clean close with normal code.",
    {
      onOpen(c) {
        const f = [1, 2, 3, 4, 5].map((i) => utf8(`fragment${i}`));
        const pings = [utf8("pongme 1!"), utf8("pongme 2!")];
        c.expected.set("OK", [
          pong(pings[0]),
          pong(pings[1]),
          msg(utf8("fragment1fragment2fragment3fragment4fragment5")),
        ]);
        serverCloses(c);
        c.p.sendFrame({ opcode: 1, fin: false, payload: f[0], sync });
        c.p.sendFrame({ opcode: 0, fin: false, payload: f[1], sync });
        c.p.sendFrame({ opcode: 9, fin: true, payload: pings[0], sync });
        c.p.continueLater(1, () => {
          c.p.sendFrame({ opcode: 0, fin: false, payload: f[2], sync });
          c.p.sendFrame({ opcode: 0, fin: false, payload: f[3], sync });
          c.p.sendFrame({ opcode: 9, fin: true, payload: pings[1], sync });
          c.p.sendFrame({ opcode: 0, fin: true, payload: f[4], sync });
          c.p.closeAfter(1);
        });
      },
    },
  );
}

// ------------------------------------------------------------------ 6 UTF-8

function echoText(
  id: string,
  desc: string,
  payload: Uint8Array,
  send: (c: Case) => void,
  closeAfter = 1,
): void {
  def(id, desc, "The message is echoed back. Clean close with normal code.", {
    onOpen(c) {
      c.expected.set("OK", [msg(payload)]);
      serverCloses(c);
      send(c);
      c.p.closeAfter(closeAfter);
    },
  });
}
echoText(
  "6.1.1",
  "Send text message of length 0.",
  EMPTY,
  (c) => c.p.sendFrame({ opcode: 1, payload: EMPTY }),
);
echoText(
  "6.1.2",
  "Send fragmented text message: 3 fragments, each of length 0.",
  EMPTY,
  (c) => {
    c.p.sendFrame({ opcode: 1, fin: false, payload: EMPTY });
    c.p.sendFrame({ opcode: 0, fin: false, payload: EMPTY });
    c.p.sendFrame({ opcode: 0, fin: true, payload: EMPTY });
  },
);
const middle = utf8("middle frame payload");
echoText(
  "6.1.3",
  "Send fragmented text message: 3 fragments, first and last of length 0, middle non-empty.",
  middle,
  (c) => {
    c.p.sendFrame({ opcode: 1, fin: false, payload: EMPTY });
    c.p.sendFrame({ opcode: 0, fin: false, payload: middle });
    c.p.sendFrame({ opcode: 0, fin: true, payload: EMPTY });
  },
);
const hello8 = utf8("Hello-µ@ßöäüàá-UTF-8!!");
const hello8a = utf8("Hello-µ@ßöä"), hello8b = utf8("üàá-UTF-8!!");
echoText(
  "6.2.1",
  "Send valid UTF-8 text message in one fragment.",
  hello8,
  (c) => c.p.sendMessage(hello8, false),
);
echoText(
  "6.2.2",
  "Send valid UTF-8 text message in two fragments, split on a code point boundary.",
  utf8("Hello-µ@ßöäüàá-UTF-8!!"),
  (c) => {
    c.p.sendFrame({ opcode: 1, fin: false, payload: hello8a });
    c.p.sendFrame({ opcode: 0, fin: true, payload: hello8b });
  },
);
echoText(
  "6.2.3",
  "Send valid UTF-8 text message in fragments of 1 octet (frames end inside code points).",
  hello8,
  (c) => c.p.sendMessage(hello8, false, 1),
);
const kosme = bytes("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5");
echoText(
  "6.2.4",
  "Send valid UTF-8 text message (κόσμε) in fragments of 1 octet (frames end inside code points).",
  kosme,
  (c) => c.p.sendMessage(kosme, false, 1),
);
const bad63 = bytes(
  "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64",
);
for (const [id, frag] of [["6.3.1", undefined], ["6.3.2", 1]] as const) {
  def(
    id,
    `Send invalid UTF-8 text message${
      frag ? " in fragments of 1 octet" : " unfragmented"
    }.`,
    "Connection is failed immediately (1007): the payload is not valid UTF-8.",
    {
      onOpen(c) {
        c.expected.set("OK", []);
        clientFails(c, INVALID_PAYLOAD, true);
        c.p.sendMessage(bad63, false, frag);
        c.p.killAfter(1);
      },
    },
  );
}
// 6.4: fail fast. The invalid octet arrives after a 1 s pause; the client must
// fail the connection then, before the rest arrives 1 s later.
const p641 = kosme, p642 = bytes("\xf4\x90\x80\x80"), p643 = utf8("edited");
const full64 = new Uint8Array([...p641, ...p642, ...p643]);
const parts64: Record<string, [Uint8Array, Uint8Array, Uint8Array]> = {
  a: [p641, p642, p643],
  b: [full64.subarray(0, 12), full64.subarray(12, 13), full64.subarray(13)],
};
for (
  const [id, split, chops] of [["6.4.1", "a", false], ["6.4.2", "b", false], [
    "6.4.3",
    "a",
    true,
  ], ["6.4.4", "b", true]] as const
) {
  const [x, y, z] = parts64[split];
  def(
    id,
    `Send invalid UTF-8 text message in 3 ${
      chops ? "chops of one frame" : "frames"
    }: valid part, pause, ${
      split === "a"
        ? "the 4 octets of U+110000"
        : "only the octet that makes it invalid"
    }, pause, the rest.`,
    "The first part is accepted; the connection is failed (1007) as soon as the invalid octet arrives (fail fast), or at the latest at the end (NON-STRICT).",
    {
      onOpen(c) {
        c.expected.set("OK", [timeout("A")]);
        c.expected.set("NON-STRICT", [timeout("A"), timeout("B")]);
        clientFails(c, INVALID_PAYLOAD, true);
        if (chops) {
          c.p.beginMessage();
          c.p.beginMessageFrame(full64.length);
          c.p.sendMessageFrameData(x);
        } else {
          c.p.sendFrame({ opcode: 1, fin: false, payload: x });
        }
        c.p.continueLater(1, () => {
          if (c.p.state !== "open") return;
          c.received.push(timeout("A"));
          if (chops) c.p.sendMessageFrameData(y);
          else c.p.sendFrame({ opcode: 0, fin: false, payload: y });
          c.p.continueLater(1, () => {
            if (c.p.state !== "open") return;
            c.received.push(timeout("B"));
            if (chops) {
              c.p.sendMessageFrameData(z);
              c.p.endMessage();
            } else {
              c.p.sendFrame({ opcode: 0, fin: true, payload: z });
            }
            c.p.killAfter(1);
          }, "B");
        }, "A");
      },
    },
  );
}
utf8Groups().forEach((group, gi) => {
  const sub = `6.${5 + gi}`;
  SUBCATEGORIES[sub] = group.title;
  group.sequences.forEach(([valid, payload], si) => {
    const hex = [...payload].map((b) => b.toString(16).padStart(2, "0")).join(
      "",
    );
    def(
      `${sub}.${si + 1}`,
      `Send a text message whose payload is ${
        valid ? "valid" : "not valid"
      } UTF-8, in one fragment. Payload: 0x${hex}`,
      valid
        ? "The message is echoed back. Clean close with normal code."
        : "Connection is failed immediately (1007): the payload is not valid UTF-8.",
      {
        onOpen(c) {
          if (valid) {
            c.expected.set("OK", [msg(payload)]);
            serverCloses(c);
          } else {
            c.expected.set("OK", []);
            clientFails(c, INVALID_PAYLOAD, true);
          }
          c.p.sendMessage(payload, false);
          c.p.killAfter(0.5);
        },
      },
    );
  });
});

// ------------------------------------------------------------------ 7 Close handling

const helloWorld = utf8("Hello World!");
def(
  "7.1.1",
  "Send a message followed by a close frame.",
  "Echoed message, then clean close with normal code.",
  {
    onOpen(c) {
      c.expected.set("OK", [msg(helloWorld)]);
      serverCloses(c);
      c.p.sendFrame({ opcode: 1, payload: helloWorld });
      c.p.killAfter(1);
    },
    afterGrade: wrongCodeFails,
  },
);
const after: Array<[string, string, string, (c: Case) => void]> = [
  [
    "7.1.2",
    "Send two close frames.",
    "Clean close with normal code; the second close frame is ignored.",
    (c) => {
      c.p.sendClose(NORMAL);
      c.p.sendFrame({ opcode: 8 });
    },
  ],
  [
    "7.1.3",
    "Send a ping after the close frame.",
    "Clean close with normal code; no pong.",
    (c) => {
      c.p.sendClose(NORMAL);
      c.p.sendFrame({ opcode: 9 });
    },
  ],
  [
    "7.1.4",
    "Send a text message after the close frame.",
    "Clean close with normal code; the message is ignored.",
    (c) => {
      c.p.sendClose(NORMAL);
      c.p.sendFrame({ opcode: 1, payload: helloWorld });
    },
  ],
  [
    "7.1.5",
    "Send the first fragment of a message, then a close frame, then the last fragment.",
    "Clean close with normal code.",
    (c) => {
      c.p.sendFrame({ opcode: 1, fin: false, payload: utf8("fragment1") });
      c.p.sendClose(NORMAL);
      c.p.sendFrame({ opcode: 0, fin: true, payload: utf8("fragment2") });
    },
  ],
];
for (const [id, desc, exp, send] of after) {
  def(id, desc, exp, {
    init(c) {
      c.suppressClose = true;
    },
    onOpen(c) {
      c.expected.set("OK", []);
      serverCloses(c);
      send(c);
      c.p.killAfter(1);
    },
    afterGrade: wrongCodeFails,
  });
}
def(
  "7.1.6",
  "Send a 256 KiB text message, a small text message, a close frame and a ping, back to back.",
  "Implementation defined: the small message may or may not be echoed before the close (graded INFORMATIONAL).",
  {
    init(c) {
      c.suppressClose = true;
    },
    onOpen(c) {
      c.expected.set("OK", [msg(helloWorld)]);
      c.expected.set("NON-STRICT", []);
      serverCloses(c);
      c.p.sendFrame({
        opcode: 1,
        payload: utf8("BAsd7&jh23"),
        payloadLen: 256 * 1024,
      });
      c.p.sendFrame({ opcode: 1, payload: helloWorld });
      c.p.sendClose(NORMAL);
      c.p.sendFrame({ opcode: 9 });
      c.p.killAfter(1);
    },
    afterGrade(c) {
      if (c.behavior === "OK") {
        c.result = "Text message was processed before close.";
      } else if (c.behavior === "NON-STRICT") {
        c.result = "Close was processed before text message could be returned.";
      } else {
        c.result =
          `Actual events differ from any expected: ${c.received.length} message(s) echoed before the close.`;
      }
      c.behavior = "INFORMATIONAL";
      c.behaviorClose = "INFORMATIONAL";
    },
  },
);
const closeCases: Array<
  [string, string, string, number[], boolean, (c: Case) => void]
> = [
  [
    "7.3.1",
    "Send a close frame with payload length 0 (no code, no reason).",
    "Clean close with normal code (or none).",
    [NORMAL],
    true,
    (c) => c.p.sendCloseFrame(),
  ],
  [
    "7.3.2",
    "Send a close frame with payload length 1.",
    "Close with protocol error (1002) or a dropped TCP connection.",
    [PROTOCOL_ERROR],
    false,
    (c) => c.p.sendCloseFrame(null, utf8("a")),
  ],
  [
    "7.3.3",
    "Send a close frame with payload length 2 (a code, no reason).",
    "Clean close with normal code.",
    [NORMAL],
    true,
    (c) => c.p.sendClose(NORMAL),
  ],
  [
    "7.3.4",
    "Send a close frame with a code and a reason.",
    "Clean close with normal code.",
    [NORMAL],
    true,
    (c) => c.p.sendClose(NORMAL, "Hello World!"),
  ],
  [
    "7.3.5",
    "Send a close frame with a code and a reason of maximum length (123 octets).",
    "Clean close with normal code.",
    [NORMAL],
    true,
    (c) => c.p.sendClose(NORMAL, "*".repeat(123)),
  ],
  [
    "7.3.6",
    "Send a close frame with a code and a reason of 124 octets (payload 126: too long for a control frame).",
    "Close with protocol error (1002) or a dropped TCP connection.",
    [PROTOCOL_ERROR],
    false,
    (c) => c.p.sendCloseFrame(NORMAL, utf8("*".repeat(124))),
  ],
  [
    "7.5.1",
    "Send a close frame whose reason is invalid UTF-8.",
    "Close with protocol error (1002) or invalid payload (1007), or a dropped TCP connection.",
    [PROTOCOL_ERROR, INVALID_PAYLOAD],
    false,
    (c) => c.p.sendCloseFrame(NORMAL, bad63),
  ],
];
for (const [id, desc, exp, codes, clean, send] of closeCases) {
  def(id, desc, exp, {
    init(c) {
      c.suppressClose = true;
    },
    onOpen(c) {
      c.expected.set("OK", []);
      c.expectedClose = {
        closedByMe: true,
        closeCode: codes,
        requireClean: clean,
      };
      send(c);
      c.p.killAfter(1);
    },
    afterGrade: wrongCodeFails,
  });
}
[1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999]
  .forEach((code, i) => {
    def(
      `7.7.${i + 1}`,
      `Send close with valid close code ${code}.`,
      "Clean close with normal or echoed code.",
      {
        onOpen(c) {
          c.expected.set("OK", []);
          c.expectedClose = {
            closedByMe: true,
            closeCode: [NORMAL, code],
            requireClean: true,
          };
          c.p.sendCloseFrame(code);
          c.p.killAfter(1);
        },
        afterGrade: wrongCodeFails,
      },
    );
  });
[0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999].forEach((code, i) => {
  def(
    `7.9.${i + 1}`,
    `Send close with invalid close code ${code}.`,
    "Close with protocol error (1002) or a dropped TCP connection.",
    {
      onOpen(c) {
        c.expected.set("OK", []);
        c.expectedClose = {
          closedByMe: true,
          closeCode: [PROTOCOL_ERROR],
          requireClean: false,
        };
        c.p.sendCloseFrame(code);
        c.p.killAfter(1);
      },
      afterGrade: wrongCodeFails,
    },
  );
});
[5000, 65535].forEach((code, i) => {
  def(
    `7.13.${i + 1}`,
    `Send close with close code ${code}.`,
    "Undefined by the spec (graded INFORMATIONAL).",
    {
      init(c) {
        c.suppressClose = true;
      },
      onOpen(c) {
        c.expected.set("OK", []);
        c.expectedClose = {
          closedByMe: true,
          closeCode: [NORMAL, code, PROTOCOL_ERROR],
          requireClean: false,
        };
        c.p.sendCloseFrame(code);
        c.p.killAfter(1);
      },
      afterGrade(c) {
        c.behavior = "INFORMATIONAL";
        c.behaviorClose = "INFORMATIONAL";
        c.result = "Actual events are undefined by the spec.";
      },
    },
  );
});

// ------------------------------------------------------------------ 9 Limits/performance

const KiB = 1024, MiB = 1024 * 1024;
const textPattern = utf8("BAsd7&jh23");
const binPattern = bytes("\x00\xfe\x23\xfa\xf0");

/** 9.x: the message must come back with the right type and length (Autobahn checks no more; we note content). */
function bigEcho(
  c: Case,
  sent: Uint8Array,
  binary: boolean,
  waitSecs: number,
  send: () => void,
): void {
  c.reportTime = true;
  c.behavior = "FAILED";
  serverCloses(c);
  c.result = `Did not receive message within ${waitSecs} seconds.`;
  c.vars.sent = sent;
  c.vars.binary = binary;
  send();
  c.p.closeAfter(waitSecs);
}
function bigEchoOnMessage(c: Case, payload: Uint8Array, binary: boolean): void {
  const want = c.vars.sent as Uint8Array;
  const kind = c.vars.binary ? "binary" : "text";
  if (binary !== c.vars.binary) {
    c.result = `Expected ${kind} message with payload, but got ${
      binary ? "binary" : "text"
    }.`;
  } else if (payload.length !== want.length) {
    c.result =
      `Expected ${kind} message with payload of length ${want.length}, but got ${payload.length}.`;
  } else {
    c.behavior = "OK";
    c.result = `Received ${kind} message of length ${payload.length}.`;
    if (!equalBytes(payload, want)) {
      c.notes.push(
        "Echoed payload has the right length but different content.",
      );
    }
  }
  c.p.sendClose(NORMAL);
}

const sizes9 = [64 * KiB, 256 * KiB, 1 * MiB, 4 * MiB, 8 * MiB, 16 * MiB];
for (const [sub, binary] of [[1, false], [2, true]] as const) {
  sizes9.forEach((n, i) => {
    const wait = binary ? (i < 4 ? 10 : 100) : (i < 2 ? 10 : 100);
    def(
      `9.${sub}.${i + 1}`,
      `Send ${binary ? "binary" : "text"} message with payload of length ${n}.`,
      `Receive the ${
        binary ? "binary" : "text"
      } message echoed back (same type and length).`,
      {
        onOpen(c) {
          const sent = repeatTo(binary ? binPattern : textPattern, n);
          bigEcho(
            c,
            sent,
            binary,
            wait,
            () => c.p.sendFrame({ opcode: binary ? 2 : 1, payload: sent }),
          );
        },
        onMessage: bigEchoOnMessage,
      },
    );
  });
}
const frags9 = [
  64,
  256,
  1 * KiB,
  4 * KiB,
  16 * KiB,
  64 * KiB,
  256 * KiB,
  1 * MiB,
  4 * MiB,
];
for (const [sub, binary] of [[3, false], [4, true]] as const) {
  frags9.forEach((frag, i) => {
    def(
      `9.${sub}.${i + 1}`,
      `Send fragmented ${
        binary ? "binary" : "text"
      } message with payload of length 4 MiB in fragments of ${frag}.`,
      `Receive the ${
        binary ? "binary" : "text"
      } message echoed back (same type and length).`,
      {
        onOpen(c) {
          // Autobahn sends 0xfe octets in 9.4.1 and "*" in the other 9.3/9.4 cases.
          const sent = repeatTo(
            binary && i === 0 ? bytes("\xfe") : utf8("*"),
            4 * MiB,
          );
          bigEcho(
            c,
            sent,
            binary,
            100,
            () => c.p.sendMessage(sent, binary, frag),
          );
        },
        onMessage: bigEchoOnMessage,
      },
    );
  });
}
const chops9 = [64, 128, 256, 512, 1024, 2048];
for (const [sub, binary] of [[5, false], [6, true]] as const) {
  chops9.forEach((chop, i) => {
    def(
      `9.${sub}.${i + 1}`,
      `Send ${
        binary ? "binary" : "text"
      } message with payload of length 1 MiB, written in chops of ${chop} octets.`,
      `Receive the ${
        binary ? "binary" : "text"
      } message echoed back (same type and length).`,
      {
        onOpen(c) {
          const sent = repeatTo(binary ? binPattern : textPattern, 1 * MiB);
          bigEcho(
            c,
            sent,
            binary,
            1000,
            () =>
              c.p.sendFrame({
                opcode: binary ? 2 : 1,
                payload: sent,
                chopsize: chop,
              }),
          );
        },
        onMessage: bigEchoOnMessage,
      },
    );
  });
}
const rtt9: Array<[number, number, number]> = [
  [0, 1000, 60],
  [16, 1000, 60],
  [64, 1000, 60],
  [256, 1000, 120],
  [
    1024,
    1000,
    240,
  ],
  [4096, 1000, 480],
];
for (const [sub, binary] of [[7, false], [8, true]] as const) {
  rtt9.forEach(([len, count, wait], i) => {
    def(
      `9.${sub}.${i + 1}`,
      `Send ${count} ${
        binary ? "binary" : "text"
      } messages of payload size ${len}, one after the other, each after the previous echo (round-trip time).`,
      `Receive every ${
        binary ? "binary" : "text"
      } message echoed back (same type and length). Timeout after ${wait} s.`,
      {
        onOpen(c) {
          c.reportTime = true;
          c.behavior = "FAILED";
          serverCloses(c);
          c.result = `Case did not finish within ${wait} seconds.`;
          c.p.closeAfter(wait);
          c.vars.count = 0;
          c.vars.payload = repeatTo(
            binary ? bytes("\xfe") : utf8("*"),
            Math.max(len, 1),
          ).subarray(0, len);
          c.vars.sendOne = () => {
            c.p.sendFrame({ opcode: binary ? 2 : 1, payload: c.vars.payload });
            c.vars.count++;
          };
          c.vars.sendOne();
        },
        onMessage(c, payload, isBinary) {
          if (isBinary !== binary || payload.length !== len) {
            c.behavior = "FAILED";
            c.result =
              `Echoed message type or length differs from what I sent (got binary = ${isBinary}, payload length = ${payload.length}).`;
            c.p.sendClose(NORMAL);
            return;
          }
          if (!equalBytes(payload, c.vars.payload) && !c.vars.noted) {
            c.vars.noted = true;
            c.notes.push(
              "An echoed payload has the right length but different content.",
            );
          }
          if (c.vars.count < count) {
            c.vars.sendOne();
          } else {
            c.behavior = "OK";
            c.result = "Ok, received all echoed messages in time.";
            c.p.sendClose(NORMAL);
          }
        },
      },
    );
  });
}

// ------------------------------------------------------------------ 10 Auto-fragmentation

def(
  "10.1.1",
  "Send text message with payload of length 65536, auto-fragmented by the server into frames of at most 1300 octets.",
  "Receive the message echoed back; the server sent the expected frame counts. Clean close with normal code.",
  {
    onOpen(c) {
      const payload = repeatTo(utf8("*"), 65536);
      c.vars.payload = payload;
      c.p.autoFragmentSize = 1300;
      c.expected.set("OK", [msg(payload)]);
      serverCloses(c);
      c.p.sendMessage(payload, false);
      c.p.killAfter(10);
    },
    afterGrade(c) {
      const n = (c.vars.payload as Uint8Array).length, f = c.p.autoFragmentSize;
      const want = { 0: Math.floor(n / f), 1: n % f > 0 ? 1 : 0 };
      const got = { 0: c.p.txFrameStats[0] ?? 0, 1: c.p.txFrameStats[1] ?? 0 };
      if (want[0] !== got[0] || want[1] !== got[1]) {
        c.behavior = "FAILED";
        c.result = `Frames transmitted ${
          JSON.stringify(got)
        } does not match what we expected ${JSON.stringify(want)}.`;
      }
    },
  },
);

// ------------------------------------------------------------------ order

/** Compares case numbers numerically, part by part ("6.10.1" after "6.9.2"). */
export function cmpId(a: string, b: string): number {
  const x = a.split(".").map(Number), y = b.split(".").map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? -1) - (y[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

// ------------------------------------------------------------------ 12, 13 Compression

defs.push(...deflateCases(SUBCATEGORIES));

defs.sort((a, b) => cmpId(a.id, b.id));

/** Every case, in Autobahn's order: `case=N` in a URL is `CASES[N - 1]`. */
export const CASES: readonly CaseDef[] = defs;

/** The category ("1", "6", "10") of a case number. */
export function categoryOf(id: string): string {
  return id.split(".")[0];
}

/** The subcategory ("6.4", "2") of a case number. */
export function subcategoryOf(id: string): string {
  const parts = id.split(".");
  return parts.length > 2 ? `${parts[0]}.${parts[1]}` : parts[0];
}
