/**
 * Runs the Autobahn-equivalent conformance suite and writes a report.
 *
 * ```sh
 * deno task conformance                       # the 301 cases of categories 1-10 against nexus-ws
 * deno task conformance --deflate             # and the 216 permessage-deflate cases (12, 13)
 * deno task conformance --cases '6.4.*,7.*'   # Autobahn-style case patterns ('*': all 517)
 * deno task conformance --agent ws --deflate  # npm ws (or: native, ws-offers)
 * deno task conformance --update-golden       # accept the current outcomes (nexus)
 * deno task conformance --agent ws --deflate --write-report  # ws's committed summary
 * ```
 *
 * Every run writes `reports/<timestamp>-<agent>.json` and
 * `reports/<agent>-latest.md`, which git ignores (`--out DIR` puts them
 * elsewhere). Tracked files are written only on request: `--update-golden`
 * writes `golden.json` and `reports/nexus.md`, `--write-report` writes
 * `reports/<agent>.md`. Exits 1 when an outcome differs from `golden.json`
 * (nexus agent, in the categories the golden file covers) or, with
 * `--strict`, when a case is not a strict pass.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { AGENTS } from "./agents.ts";
import {
  CASES,
  categoryOf,
  cmpId,
  CORE_CATEGORIES,
  DEFLATE_CATEGORIES,
} from "./cases.ts";
import {
  compareGolden,
  formatGolden,
  type Golden,
  summaryMarkdown,
  summaryText,
} from "./report.ts";
import { type CaseReport, isStrictPass, runCases } from "./runner.ts";
import { GOLDEN_FILE, runFiles } from "./run_files.ts";

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
    cases: { type: "string" },
    deflate: { type: "boolean", default: false },
    exclude: { type: "string", default: "" },
    "case-timeout": { type: "string", default: "120" },
    "update-golden": { type: "boolean", default: false },
    "write-report": { type: "boolean", default: false },
    out: { type: "string" },
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
const defaultCategories = new Set([
  ...CORE_CATEGORIES,
  ...(values.deflate ? DEFLATE_CATEGORIES : []),
]);
const include = values.cases !== undefined
  ? matcher(values.cases)
  : (id: string) => defaultCategories.has(categoryOf(id));
const exclude = values.exclude ? matcher(values.exclude) : () => false;
const selected = CASES.filter((c) => include(c.id) && !exclude(c.id));
if (selected.length === 0) {
  console.error(`No case matches ${values.cases}`);
  Deno.exit(2);
}
const selectedCategories = new Set(selected.map((c) => categoryOf(c.id)));
const wholeCategories =
  CASES.filter((c) => selectedCategories.has(categoryOf(c.id))).length ===
    selected.length;
if (values["update-golden"]) {
  if (values.agent !== "nexus" || !wholeCategories) {
    console.error(
      "--update-golden needs the nexus agent and whole categories (e.g. the default selection, or --deflate)",
    );
    Deno.exit(2);
  }
}

const started = new Date();
const stamp = started.toISOString().replaceAll(":", "").replace(".", "-");
const files = runFiles({
  agent: values.agent,
  stamp,
  out: values.out === undefined
    ? undefined
    : new URL(`${values.out.replace(/\/?$/, "/")}`, `file://${Deno.cwd()}/`),
  updateGolden: values["update-golden"],
  writeReport: values["write-report"],
});
const t0 = performance.now();
console.log(`Running ${selected.length} case(s) against ${values.agent} ...`);
const reports: CaseReport[] = await runCases({
  agent,
  agentName: values.agent,
  cases: selected,
  caseTimeoutMs: Number(values["case-timeout"]) * 1000,
  onCase(r) {
    if (!values.quiet && !isStrictPass(r) && r.behavior !== "UNIMPLEMENTED") {
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
const categories = [...selectedCategories].sort((a, b) => cmpId(a, b));
const md = `# Conformance report: ${values.agent}\n\n` + wrap(
  `Run ${started.toISOString()} on Deno ${Deno.version.deno}: ` +
    `${reports.length} cases (categories ${categories.join(", ")}) in ` +
    `${seconds.toFixed(1)} s, ${doc.strict}/${reports.length} strict pass ` +
    "(OK, or INFORMATIONAL where Autobahn grades so). Made by " +
    `\`deno task conformance\`; see docs/conformance.md.`,
) + "\n\n" + summaryMarkdown(reports);
await Deno.mkdir(new URL(".", files.json), { recursive: true });
await Deno.writeTextFile(files.json, json);
await Deno.writeTextFile(files.latest, md);

console.log();
console.log(summaryText(reports));
console.log(
  `\n${reports.length} cases in ${
    seconds.toFixed(1)
  } s; report: ${files.json.pathname}`,
);

let exit = 0;
if (files.summary) {
  await Deno.writeTextFile(files.summary, md);
  console.log(`Summary written: ${files.summary.pathname}`);
}
if (files.golden) {
  await Deno.writeTextFile(files.golden, formatGolden(values.agent, reports));
  console.log(`Golden file updated: ${files.golden.pathname}`);
} else if (values.agent === "nexus") {
  let golden: Golden = { agent: "nexus", categories: [], cases: {} };
  try {
    golden = JSON.parse(await Deno.readTextFile(GOLDEN_FILE));
  } catch {
    console.log("No golden.json yet: run with --update-golden to create it.");
  }
  const diffs = compareGolden(golden, reports, selected.map((c) => c.id));
  const outside = selected.filter((c) =>
    !golden.categories.includes(categoryOf(c.id))
  ).length;
  if (outside > 0) {
    console.log(
      `${outside} case(s) are outside the golden file's categories (${
        golden.categories.join(", ")
      }): not compared.`,
    );
  }
  if (diffs.length > 0) {
    console.log(
      `\n${diffs.length} case(s) changed outcome against golden.json:`,
    );
    for (const d of diffs) {
      console.log(`  ${d.id}: expected ${d.expected}, got ${d.actual}`);
    }
    exit = 1;
  } else if (outside < selected.length) {
    console.log("Every outcome matches golden.json.");
  }
}
if (values.strict && reports.some((r) => !isStrictPass(r))) exit = 1;
Deno.exit(exit);
