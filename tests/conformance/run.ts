/**
 * Runs the Autobahn-equivalent conformance suite and writes a report.
 *
 * ```sh
 * deno task conformance                       # all 301 cases against nexus-ws
 * deno task conformance --cases '6.4.*,7.*'   # Autobahn-style case patterns
 * deno task conformance --agent native        # Deno's WebSocket (or: ws, the npm package)
 * deno task conformance --update-golden       # accept the current outcomes
 * ```
 *
 * Writes `reports/<timestamp>-<agent>.json` (every run; not committed) and,
 * for a full run, `reports/<agent>.json` and `reports/<agent>.md` (the latest
 * full run; committed). Prints the summary table by category. Exits 1 when
 * an outcome differs from `golden.json` (nexus agent) or with `--strict` when
 * a case is not a strict pass.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { AGENTS } from "./agents.ts";
import { CASES, cmpId } from "./cases.ts";
import {
  compareGolden,
  formatGolden,
  type Golden,
  summaryMarkdown,
  summaryText,
} from "./report.ts";
import { type CaseReport, isStrictPass, runCases } from "./runner.ts";

const here = new URL(".", import.meta.url);

/** Greedy wrap at 80 columns with code spans kept whole, as `deno fmt` wraps prose. */
function wrap(text: string, width = 80): string {
  const words = text.match(/`[^`]*`\S*|\S+/g) ?? [];
  const lines: string[] = [];
  let line = "";
  for (const w of words) {
    if (line && line.length + 1 + w.length > width) {
      lines.push(line);
      line = w;
    } else {
      line = line ? `${line} ${w}` : w;
    }
  }
  if (line) lines.push(line);
  return lines.join("\n");
}

/** Autobahn-style patterns ("6.4.*", "1.1.1", "*") to a case filter. */
function matcher(patterns: string): (id: string) => boolean {
  const res = patterns.split(",").map((p) => p.trim()).filter(Boolean).map((
    p,
  ) => new RegExp(`^${p.replaceAll(".", "\\.").replaceAll("*", ".*")}$`));
  return (id) => res.some((r) => r.test(id));
}

const { values } = parseArgs({
  args: Deno.args,
  options: {
    agent: { type: "string", default: "nexus" },
    cases: { type: "string", default: "*" },
    exclude: { type: "string", default: "" },
    "case-timeout": { type: "string", default: "120" },
    "update-golden": { type: "boolean", default: false },
    strict: { type: "boolean", default: false },
    quiet: { type: "boolean", default: false },
  },
});

const agent = AGENTS[values.agent];
if (!agent) {
  console.error(
    `Unknown agent ${values.agent}; expected one of ${
      Object.keys(AGENTS).join(", ")
    }`,
  );
  Deno.exit(2);
}
const include = matcher(values.cases);
const exclude = values.exclude ? matcher(values.exclude) : () => false;
const selected = CASES.filter((c) => include(c.id) && !exclude(c.id));
const full = selected.length === CASES.length;
if (selected.length === 0) {
  console.error(`No case matches ${values.cases}`);
  Deno.exit(2);
}

const started = new Date();
const t0 = performance.now();
console.log(`Running ${selected.length} case(s) against ${values.agent} ...`);
const reports: CaseReport[] = await runCases({
  agent,
  agentName: values.agent,
  cases: selected,
  caseTimeoutMs: Number(values["case-timeout"]) * 1000,
  onCase(r) {
    if (!values.quiet && !isStrictPass(r)) {
      console.log(
        `  ${r.id}: ${r.behavior} / ${r.behaviorClose} - ${r.result} ${r.resultClose}`,
      );
    }
  },
});
const seconds = (performance.now() - t0) / 1000;
reports.sort((a, b) => cmpId(a.id, b.id));

const doc = {
  agent: values.agent,
  started: started.toISOString(),
  seconds: Math.round(seconds * 10) / 10,
  deno: Deno.version.deno,
  cases: reports.length,
  strict: reports.filter(isStrictPass).length,
  reports,
};
const dir = new URL("reports/", here);
await Deno.mkdir(dir, { recursive: true });
const stamp = started.toISOString().replaceAll(":", "").replace(".", "-");
// One case a line, leaving out fields at their usual value (null, false):
// small, and diffable.
const OPTIONAL = new Set([
  "wasNotCleanReason",
  "remoteCloseReason",
  "failedByMe",
  "reportTime",
  "error",
  "localCloseCode",
]);
const slim = (
  k: string,
  v: unknown,
) => (OPTIONAL.has(k) && (v === null || v === false) ? undefined : v);
const json = JSON.stringify({ ...doc, reports: [] }, null, 1).replace(
  /"reports": \[\]/,
  `"reports": [\n${
    reports.map((r) => `  ${JSON.stringify(r, slim)}`).join(",\n")
  }\n ]`,
) + "\n";
await Deno.writeTextFile(new URL(`${stamp}-${values.agent}.json`, dir), json);
const md = `# Conformance report: ${values.agent}\n\n` + wrap(
  `Run ${started.toISOString()} on Deno ${Deno.version.deno}: ` +
    `${reports.length} cases in ${seconds.toFixed(1)} s, ` +
    `${doc.strict}/${reports.length} strict pass (OK, or INFORMATIONAL where ` +
    "Autobahn grades so). Made by `deno task conformance`; see " +
    "docs/conformance.md.",
) + "\n\n" + summaryMarkdown(reports);
if (full) {
  await Deno.writeTextFile(new URL(`${values.agent}.json`, dir), json);
  await Deno.writeTextFile(new URL(`${values.agent}.md`, dir), md);
}

console.log();
console.log(summaryText(reports));
console.log(
  `\n${reports.length} cases in ${
    seconds.toFixed(1)
  } s; report: tests/conformance/reports/${stamp}-${values.agent}.json`,
);

let exit = 0;
const goldenUrl = new URL("golden.json", here);
if (values["update-golden"]) {
  if (!full || values.agent !== "nexus") {
    console.error(
      "--update-golden needs a full run (all 301 cases) of the nexus agent",
    );
    Deno.exit(2);
  }
  await Deno.writeTextFile(goldenUrl, formatGolden(values.agent, reports));
  console.log("Golden file updated: tests/conformance/golden.json");
} else if (values.agent === "nexus") {
  let golden: Golden = { agent: "nexus", cases: {} };
  try {
    golden = JSON.parse(await Deno.readTextFile(goldenUrl));
  } catch {
    console.log("No golden.json yet: run with --update-golden to create it.");
  }
  const diffs = compareGolden(golden, reports, selected.map((c) => c.id));
  if (diffs.length > 0) {
    console.log(
      `\n${diffs.length} case(s) changed outcome against golden.json:`,
    );
    for (const d of diffs) {
      console.log(`  ${d.id}: expected ${d.expected}, got ${d.actual}`);
    }
    exit = 1;
  } else {
    console.log("Every outcome matches golden.json.");
  }
}
if (values.strict && reports.some((r) => !isStrictPass(r))) exit = 1;
Deno.exit(exit);
