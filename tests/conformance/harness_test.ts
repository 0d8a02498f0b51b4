/**
 * Tests of the conformance harness itself: its wire codec, its case list,
 * and that the grader fails a client that breaks a rule (a minimal client
 * with one rule switched off at a time), as Autobahn would.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Agent } from "./agents.ts";
import { CASES } from "./cases.ts";
import { laxAgent } from "./lax_client.ts";
import { runCases } from "./runner.ts";
import { GOLDEN_FILE, REPORTS_DIR, runFiles } from "./run_files.ts";
import { acceptKey } from "./server.ts";
import { fragmentFrames } from "./session.ts";
import { utf8Groups } from "./utf8_sequences.ts";
import {
  encodeFrame,
  FrameParser,
  isValidUtf8,
  type ParsedFrame,
  repeatTo,
  unmaskInPlace,
} from "./wire.ts";

async function grade(agent: Agent, id: string): Promise<string> {
  const def = CASES.find((c) => c.id === id)!;
  const [r] = await runCases({
    agent,
    agentName: "lax",
    cases: [def],
    caseTimeoutMs: 20_000,
  });
  return `${r.behavior} / ${r.behaviorClose}`;
}

Deno.test("The harness computes Sec-WebSocket-Accept as RFC 6455 section 1.3 shows", async () => {
  assert.equal(
    await acceptKey("dGhlIHNhbXBsZSBub25jZQ=="),
    "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
  );
});

Deno.test("The harness frame parser reads back masked frames of every length class, fed one octet at a time", () => {
  for (const len of [0, 1, 125, 126, 65535, 65536, 70000]) {
    const payload = repeatTo(new Uint8Array([1, 2, 3, 250]), len);
    const frame = encodeFrame({
      opcode: 2,
      payload,
      mask: new Uint8Array([9, 8, 7, 6]),
    });
    const p = new FrameParser();
    let got = null;
    for (let i = 0; i < frame.length && got === null; i++) {
      p.push(frame.subarray(i, i + 1));
      for (let ev = p.next(); ev !== null; ev = p.next()) {
        if ("frame" in ev) got = ev.frame;
      }
    }
    assert.ok(got, `frame of ${len} octets`);
    assert.equal(got.masked, true);
    assert.equal(got.length, len);
    assert.deepEqual(got.payload, payload);
  }
});

Deno.test("The harness unmasks views at any alignment and key phase", () => {
  const key = new Uint8Array([0x12, 0x34, 0x56, 0x78]);
  const data = crypto.getRandomValues(new Uint8Array(103));
  for (let off = 0; off < 4; off++) {
    for (let phase = 0; phase < 4; phase++) {
      const view = data.slice().subarray(off);
      unmaskInPlace(view, key, phase);
      for (let i = 0; i < view.length; i++) {
        assert.equal(view[i], data[off + i] ^ key[(phase + i) & 3]);
      }
    }
  }
});

Deno.test("The harness UTF-8 validator agrees with the WHATWG decoder on every code point and on random octets", () => {
  const td = new TextDecoder("utf-8", { fatal: true });
  const strict = (b: Uint8Array) => {
    try {
      td.decode(b);
      return true;
    } catch {
      return false;
    }
  };
  for (let cp = 0; cp <= 0x10ffff; cp += cp < 0x10000 ? 1 : 17) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    assert.ok(
      isValidUtf8(new TextEncoder().encode(String.fromCodePoint(cp))),
      `U+${cp.toString(16)}`,
    );
  }
  for (let n = 0; n < 20000; n++) {
    const b = crypto.getRandomValues(new Uint8Array(1 + (n % 7)));
    assert.equal(isValidUtf8(b), strict(b), `${b}`);
  }
  for (const g of utf8Groups()) {
    for (const [valid, seq] of g.sequences) {
      assert.equal(isValidUtf8(seq), valid, `${g.title}: ${seq}`);
    }
  }
});

Deno.test("A client that follows the rules passes sample cases of each kind", async () => {
  const lax = laxAgent();
  for (
    const id of [
      "1.1.1",
      "2.2",
      "3.1",
      "5.6",
      "6.3.1",
      "7.7.1",
      "7.3.3",
      "10.1.1",
    ]
  ) {
    assert.equal(await grade(lax, id), "OK / OK", id);
  }
});

Deno.test("A client that ignores RSV bits fails case 3.1", async () => {
  assert.equal(
    await grade(laxAgent({ checkRsv: false }), "3.1"),
    "FAILED / FAILED",
  );
});

Deno.test("A client that does not validate UTF-8 fails case 6.3.1 and 6.5.x invalid sequences", async () => {
  const lax = laxAgent({ utf8: "none" });
  assert.equal(await grade(lax, "6.3.1"), "FAILED / FAILED");
  assert.equal(await grade(lax, "6.8.1"), "FAILED / FAILED");
});

Deno.test("A client that validates UTF-8 only at the end of a message is NON-STRICT on fail-fast case 6.4.1", async () => {
  assert.equal(
    await grade(laxAgent({ utf8: "message" }), "6.4.1"),
    "NON-STRICT / OK",
  );
});

Deno.test("A client that answers close with another code gets WRONG CODE in case 7.7.1", async () => {
  assert.equal(
    await grade(laxAgent({ closeReply: "1001" }), "7.7.1"),
    "FAILED / WRONG CODE",
  );
});

Deno.test("A client that drops TCP instead of answering close is UNCLEAN in case 7.3.3", async () => {
  assert.equal(
    await grade(laxAgent({ closeReply: "drop" }), "7.3.3"),
    "OK / UNCLEAN",
  );
});

Deno.test("A client that does not answer pings fails case 2.2", async () => {
  assert.equal(await grade(laxAgent({ pong: false }), "2.2"), "FAILED / OK");
});

Deno.test("A client that echoes an invalid close code instead of failing gets WRONG CODE in case 7.9.1", async () => {
  assert.equal(await grade(laxAgent(), "7.9.1"), "FAILED / WRONG CODE");
});

Deno.test("A client whose opening handshake the server refuses is graded FAILED without hanging the run", async () => {
  assert.equal(
    await grade(laxAgent({ badHandshake: true }), "1.1.1"),
    "FAILED / FAILED",
  );
});

/** Grades `id` with a rule-abiding client and returns the data frames the server sent. */
async function dataFrames(
  id: string,
): Promise<{ grade: string; frames: ParsedFrame[] }> {
  const frames: ParsedFrame[] = [];
  const outcome = await grade(
    laxAgent({
      onFrame(f) {
        if (f.opcode <= 2) {
          // Keep the 4 MiB cases light: only the shape of each frame counts here.
          frames.push({ ...f, payload: f.payload.subarray(0, 0) });
        }
      },
    }),
    id,
  );
  return { grade: outcome, frames };
}

Deno.test("Fragmented messages end with an empty FIN frame when the fragment size divides the length, as Autobahn sends them", async () => {
  // Autobahn's sendMessage ends a message only when the next fragment would
  // pass its end: n octets in fragments of f is n / f full frames plus an
  // empty final continuation frame whenever f divides n (and n > f).
  const cases: Array<[string, number, number, string]> = [
    ["6.2.3", 29, 30, "OK / OK"],
    ["6.2.4", 11, 12, "OK / OK"],
    ["6.3.2", 20, 21, "OK / OK"],
    ["9.3.1", 4 * 1024 * 1024, 65537, "OK / OK"],
    ["9.4.1", 4 * 1024 * 1024, 65537, "OK / OK"],
    ["9.3.8", 4 * 1024 * 1024, 5, "OK / OK"],
    ["9.4.9", 4 * 1024 * 1024, 1, "OK / OK"],
  ];
  for (const [id, octets, count, grade] of cases) {
    const got = await dataFrames(id);
    assert.equal(got.grade, grade, id);
    assert.equal(got.frames.length, count, `${id}: frames on the wire`);
    assert.equal(
      got.frames.reduce((n, f) => n + f.length, 0),
      octets,
      `${id}: payload octets`,
    );
    const last = got.frames[count - 1];
    assert.equal(last.fin, true, `${id}: the last frame has FIN`);
    assert.ok(
      got.frames.slice(0, -1).every((f) => !f.fin),
      `${id}: only the last frame has FIN`,
    );
    if (count > 1) {
      assert.equal(last.opcode, 0, `${id}: the last frame is a continuation`);
      assert.equal(last.length, 0, `${id}: the last frame is empty`);
    }
  }
});

Deno.test("The fragmenter cuts exactly like Autobahn's sendMessage loop", () => {
  assert.deepEqual(fragmentFrames(5, 2), [[0, 2], [2, 4], [4, 5]]);
  assert.deepEqual(fragmentFrames(4, 2), [[0, 2], [2, 4], [4, 4]]);
  assert.deepEqual(fragmentFrames(65536, 1300).length, 51);
  assert.throws(() => fragmentFrames(4, 0), RangeError);
});

Deno.test("A conformance run writes only files git ignores, unless asked to update the tracked ones", async () => {
  const rules = (await Deno.readTextFile(new URL(".gitignore", REPORTS_DIR)))
    .split("\n").map((l) => l.trim());
  assert.ok(rules.includes("*"), "the reports directory ignores all files");
  const tracked = rules.filter((l) => l.startsWith("!")).map((l) => l.slice(1))
    .filter((n) => n !== ".gitignore");
  const name = (u: URL) => u.pathname.split("/").pop()!;
  const inReports = (u: URL) =>
    u.href.startsWith(REPORTS_DIR.href) &&
    !u.href.slice(REPORTS_DIR.href.length).includes("/");
  for (const agent of ["nexus", "ws", "native"]) {
    const plain = runFiles({ agent, stamp: "2026-01-01T000000-000Z" });
    assert.equal(plain.golden, undefined);
    assert.equal(plain.summary, undefined);
    for (const u of [plain.json, plain.latest]) {
      assert.ok(inReports(u), u.href);
      assert.ok(!tracked.includes(name(u)), `${name(u)} is not tracked`);
    }
  }
  const update = runFiles({ agent: "nexus", stamp: "x", updateGolden: true });
  assert.equal(update.golden?.href, GOLDEN_FILE.href);
  assert.ok(tracked.includes(name(update.summary!)));
  const ws = runFiles({ agent: "ws", stamp: "x", writeReport: true });
  assert.ok(tracked.includes(name(ws.summary!)));
  assert.equal(ws.golden, undefined);
});

Deno.test("The conformance command writes its report where it is told and nowhere else", async () => {
  const out = await Deno.makeTempDir();
  try {
    const run = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-prompt",
        "--allow-net=127.0.0.1",
        "--allow-read",
        `--allow-write=${out}`,
        new URL("run.ts", import.meta.url).pathname,
        "--cases",
        "2.1,7.7.1",
        "--quiet",
        "--out",
        out,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(run.stdout) +
      new TextDecoder().decode(run.stderr);
    assert.equal(run.code, 0, text);
    assert.match(text, /Every outcome matches golden\.json\./);
    const names = [];
    for await (const e of Deno.readDir(out)) names.push(e.name);
    assert.equal(names.length, 2, names.join(", "));
    assert.ok(names.includes("nexus-latest.md"));
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
