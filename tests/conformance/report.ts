/**
 * Summary tables, the golden file of expected outcomes, and comparison.
 *
 * @module
 */

import { CATEGORIES, categoryOf } from "./cases.ts";
import { type CaseReport, isStrictPass } from "./runner.ts";

/** The golden file: the expected grade of every case. */
export interface Golden {
  agent: string;
  cases: Record<string, { behavior: string; behaviorClose: string }>;
}

/** One case whose outcome differs from the golden file. */
export interface GoldenDiff {
  id: string;
  expected: string;
  actual: string;
}

const outcome = (b: string, c: string) => `${b} / ${c}`;

/** Compares reports with the golden file (cases missing from either side count too). */
export function compareGolden(
  golden: Golden,
  reports: CaseReport[],
  ids?: string[],
): GoldenDiff[] {
  const diffs: GoldenDiff[] = [];
  const byId = new Map(reports.map((r) => [r.id, r]));
  for (const id of ids ?? Object.keys(golden.cases)) {
    const g = golden.cases[id];
    const r = byId.get(id);
    const expected = g
      ? outcome(g.behavior, g.behaviorClose)
      : "(not in golden file)";
    const actual = r ? outcome(r.behavior, r.behaviorClose) : "(not run)";
    if (expected !== actual) diffs.push({ id, expected, actual });
  }
  return diffs;
}

/** Serializes a golden file: one case a line, so a change of outcome is a one-line diff. */
export function formatGolden(agent: string, reports: CaseReport[]): string {
  const lines = reports.map((r) =>
    `    ${JSON.stringify(r.id)}: { "behavior": ${
      JSON.stringify(r.behavior)
    }, "behaviorClose": ${JSON.stringify(r.behaviorClose)} }`
  );
  return `{\n  "agent": ${JSON.stringify(agent)},\n  "cases": {\n${
    lines.join(",\n")
  }\n  }\n}\n`;
}

/** Counts per category for the summary table. */
export interface CategoryRow {
  category: string;
  name: string;
  cases: number;
  ok: number;
  nonStrict: number;
  informational: number;
  failed: number;
  closeOk: number;
  closeInformational: number;
  closeOther: number;
  strict: number;
  ms: number;
}

/** Per-category counts, plus a total row. */
export function categoryRows(reports: CaseReport[]): CategoryRow[] {
  const rows = new Map<string, CategoryRow>();
  const zero = (category: string, name: string): CategoryRow => ({
    category,
    name,
    cases: 0,
    ok: 0,
    nonStrict: 0,
    informational: 0,
    failed: 0,
    closeOk: 0,
    closeInformational: 0,
    closeOther: 0,
    strict: 0,
    ms: 0,
  });
  const total = zero("all", "Total");
  for (const r of reports) {
    const cat = categoryOf(r.id);
    let row = rows.get(cat);
    if (!row) {
      row = zero(cat, CATEGORIES[cat] ?? "?");
      rows.set(cat, row);
    }
    for (const x of [row, total]) {
      x.cases++;
      if (r.behavior === "OK") x.ok++;
      else if (r.behavior === "NON-STRICT") x.nonStrict++;
      else if (r.behavior === "INFORMATIONAL") x.informational++;
      else x.failed++;
      if (r.behaviorClose === "OK") x.closeOk++;
      else if (r.behaviorClose === "INFORMATIONAL") x.closeInformational++;
      else x.closeOther++;
      if (isStrictPass(r)) x.strict++;
      x.ms += r.duration;
    }
  }
  return [...rows.values(), total];
}

/** A Markdown table, padded the way `deno fmt` pads tables (so the file is fmt-stable). */
export function markdownTable(
  header: string[],
  align: Array<"l" | "r">,
  rows: string[][],
): string {
  const widths = header.map((h, i) =>
    Math.max(3, h.length, ...rows.map((r) => r[i].length))
  );
  const cell = (
    s: string,
    i: number,
  ) => (align[i] === "r" ? s.padStart(widths[i]) : s.padEnd(widths[i]));
  const line = (cells: string[]) => `| ${cells.map(cell).join(" | ")} |`;
  const rule = `| ${
    widths.map((
      w,
      i,
    ) => (align[i] === "r" ? `${"-".repeat(w - 1)}:` : "-".repeat(w))).join(
      " | ",
    )
  } |`;
  return [line(header), rule, ...rows.map(line)].join("\n");
}

/** The summary table by category. */
export function categoryTableMarkdown(reports: CaseReport[]): string {
  const header = [
    "Category",
    "Cases",
    "OK",
    "NON-STRICT",
    "INFORMATIONAL",
    "FAILED",
    "Close OK",
    "Close INFO",
    "Close not OK",
    "Strict pass",
    "Time",
  ];
  const rows = categoryRows(reports).map((r) => [
    r.category === "all" ? "**Total**" : `${r.category} ${r.name}`,
    String(r.cases),
    String(r.ok),
    String(r.nonStrict),
    String(r.informational),
    String(r.failed),
    String(r.closeOk),
    String(r.closeInformational),
    String(r.closeOther),
    `${r.strict}/${r.cases}`,
    `${(r.ms / 1000).toFixed(1)} s`,
  ]);
  return markdownTable(header, [
    "l",
    "r",
    "r",
    "r",
    "r",
    "r",
    "r",
    "r",
    "r",
    "r",
    "r",
  ], rows);
}

/** Cases that are not plain OK/OK (or carry notes), as a Markdown table; "" when none. */
export function oddCasesMarkdown(reports: CaseReport[]): string {
  const odd = reports.filter((r) =>
    !isStrictPass(r) || r.behavior === "INFORMATIONAL" || r.notes
  );
  if (odd.length === 0) return "";
  return markdownTable(
    ["Case", "Behaviour", "Close", "Result", "Close result"],
    ["l", "l", "l", "l", "l"],
    odd.map((r) => [
      r.id,
      r.behavior,
      r.behaviorClose,
      r.result + (r.notes ? ` (${r.notes.join(" ")})` : ""),
      `${r.resultClose} (client sent ${r.remoteCloseCode ?? "no code"})`,
    ]),
  );
}

/** Durations of the cases Autobahn reports times for (9.x), as a Markdown table. */
export function timingMarkdown(reports: CaseReport[]): string {
  const timed = reports.filter((r) => r.reportTime);
  if (timed.length === 0) return "";
  return markdownTable(
    ["Case", "Grade", "Duration"],
    ["l", "l", "r"],
    timed.map((
      r,
    ) => [r.id, `${r.behavior} / ${r.behaviorClose}`, `${r.duration} ms`]),
  );
}

/** The whole Markdown report. */
export function summaryMarkdown(reports: CaseReport[]): string {
  const parts = [categoryTableMarkdown(reports)];
  const odd = oddCasesMarkdown(reports);
  if (odd) parts.push("Cases not graded OK in both behaviour and close:", odd);
  const timing = timingMarkdown(reports);
  if (timing) {
    parts.push(
      "Durations of the limits/performance cases (case start to TCP close):",
      timing,
    );
  }
  return parts.join("\n\n") + "\n";
}

/** A plain-text table for the terminal. */
export function summaryText(reports: CaseReport[]): string {
  const rows = categoryRows(reports);
  const cols = [
    "Category",
    "Cases",
    "OK",
    "NON-STR",
    "INFO",
    "FAILED",
    "Close OK",
    "Close INFO",
    "Close bad",
    "Strict",
    "Time",
  ];
  const data = rows.map((r) => [
    r.category === "all" ? "Total" : `${r.category} ${r.name}`,
    String(r.cases),
    String(r.ok),
    String(r.nonStrict),
    String(r.informational),
    String(r.failed),
    String(r.closeOk),
    String(r.closeInformational),
    String(r.closeOther),
    `${r.strict}/${r.cases}`,
    `${(r.ms / 1000).toFixed(1)}s`,
  ]);
  const widths = cols.map((c, i) =>
    Math.max(c.length, ...data.map((d) => d[i].length))
  );
  const fmt = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join("  ");
  const out = [fmt(cols), widths.map((w) => "-".repeat(w)).join("  ")];
  data.forEach((d, i) => {
    if (i === data.length - 1) {
      out.push(widths.map((w) => "-".repeat(w)).join("  "));
    }
    out.push(fmt(d));
  });
  for (const r of reports) {
    if (!isStrictPass(r) || r.behavior === "INFORMATIONAL" || r.notes) {
      out.push(
        `  ${
          r.id.padEnd(8)
        } ${r.behavior} / ${r.behaviorClose}: ${r.result} ${r.resultClose} (client sent ${
          r.remoteCloseCode ?? "no code"
        }; client: ${r.client.error ?? "clean"})${
          r.notes ? ` NOTE: ${r.notes.join(" ")}` : ""
        }`,
      );
    }
  }
  return out.join("\n");
}
