/**
 * Summary tables, the golden file of expected outcomes, and comparison.
 *
 * @module
 */

import { CATEGORIES, categoryOf } from "./cases.ts";
import { type CaseReport, isStrictPass } from "./runner.ts";

/** The golden file: the expected grade of every case of the categories it covers. */
export interface Golden {
  agent: string;
  /** The categories it covers (every case of them is in `cases`). */
  categories: string[];
  cases: Record<string, { behavior: string; behaviorClose: string }>;
}

/** One case whose outcome differs from the golden file. */
export interface GoldenDiff {
  id: string;
  expected: string;
  actual: string;
}

const outcome = (b: string, c: string) => `${b} / ${c}`;

/**
 * Compares reports with the golden file. `ids`: the cases that were meant to
 * run (default: every case in the golden file); those outside the golden
 * file's categories are not compared, those inside it count when missing
 * from either side.
 */
export function compareGolden(
  golden: Golden,
  reports: CaseReport[],
  ids?: string[],
): GoldenDiff[] {
  const diffs: GoldenDiff[] = [];
  const byId = new Map(reports.map((r) => [r.id, r]));
  const covered = new Set(golden.categories);
  for (const id of ids ?? Object.keys(golden.cases)) {
    if (!covered.has(categoryOf(id))) continue;
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
  const categories = [...new Set(reports.map((r) => categoryOf(r.id)))];
  const lines = reports.map((r) =>
    `    ${JSON.stringify(r.id)}: { "behavior": ${
      JSON.stringify(r.behavior)
    }, "behaviorClose": ${JSON.stringify(r.behaviorClose)} }`
  );
  return `{\n  "agent": ${JSON.stringify(agent)},\n  "categories": ${
    JSON.stringify(categories).replaceAll(",", ", ")
  },\n  "cases": {\n${lines.join(",\n")}\n  }\n}\n`;
}

/** Counts per category for the summary table. */
export interface CategoryRow {
  category: string;
  name: string;
  cases: number;
  ok: number;
  nonStrict: number;
  informational: number;
  unimplemented: number;
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
    unimplemented: 0,
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
      else if (r.behavior === "UNIMPLEMENTED") x.unimplemented++;
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
    "UNIMPLEMENTED",
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
    String(r.unimplemented),
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
    "r",
  ], rows);
}

/** Cases that are not plain OK/OK (or carry notes), as a Markdown table; "" when none. */
export function oddCasesMarkdown(reports: CaseReport[]): string {
  const odd = reports.filter(isOdd);
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

/** Whether a case is listed on its own: not a plain pass, and not one of the many UNIMPLEMENTED (counted instead). */
function isOdd(r: CaseReport): boolean {
  return r.behavior !== "UNIMPLEMENTED" &&
    (!isStrictPass(r) || r.behavior === "INFORMATIONAL" || !!r.notes);
}

/** A sentence on the UNIMPLEMENTED cases; "" when none. */
function unimplementedNote(reports: CaseReport[]): string {
  const n = reports.filter((r) => r.behavior === "UNIMPLEMENTED");
  if (n.length === 0) return "";
  return `${n.length} case(s) UNIMPLEMENTED: no permessage-deflate was negotiated (${
    n.filter((r) => r.behaviorClose === "OK").length
  } of them closed properly).`;
}

const ratio = (wire: number, app: number) =>
  app === 0 ? "-" : (wire / app).toFixed(3);

/** The compression cases: duration, what was negotiated, and compressed over uncompressed octets each way. */
export function compressionMarkdown(reports: CaseReport[]): string {
  const rows = reports.filter((r) =>
    r.traffic && r.behavior !== "UNIMPLEMENTED"
  );
  if (rows.length === 0) return "";
  return markdownTable(
    ["Case", "Grade", "Duration", "Negotiated", "Ratio sent", "Ratio echoed"],
    ["l", "l", "r", "l", "r", "r"],
    rows.map((r) => {
      const t = r.traffic!;
      return [
        r.id,
        `${r.behavior} / ${r.behaviorClose}`,
        `${r.duration} ms`,
        `\`${r.deflate ?? "none"}\``,
        ratio(t.outgoingOctetsWebSocketLevel, t.outgoingOctetsAppLevel),
        ratio(t.incomingOctetsWebSocketLevel, t.incomingOctetsAppLevel),
      ];
    }),
  );
}

/** Durations of the cases Autobahn reports times for (9.x), as a Markdown table. */
export function timingMarkdown(reports: CaseReport[]): string {
  const timed = reports.filter((r) => r.reportTime && !r.traffic);
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
  const unimplemented = unimplementedNote(reports);
  if (unimplemented) parts.push(unimplemented);
  const timing = timingMarkdown(reports);
  if (timing) {
    parts.push(
      "Durations of the limits/performance cases (case start to TCP close):",
      timing,
    );
  }
  const compression = compressionMarkdown(reports);
  if (compression) {
    parts.push(
      "Compression cases: duration, the permessage-deflate response, and " +
        "message octets on the wire over octets before compression, for " +
        "what the server sent and for what the client echoed:",
      compression,
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
    "UNIMPL",
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
    String(r.unimplemented),
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
  const unimplemented = unimplementedNote(reports);
  if (unimplemented) out.push(unimplemented);
  for (const r of reports) {
    if (isOdd(r)) {
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
