/**
 * Runs all 301 Autobahn-equivalent cases against the nexus-ws client and
 * fails when any case's outcome differs from `golden.json`. One test per
 * category, each on its own fuzzing server.
 *
 * @module
 */

import assert from "node:assert/strict";
import { nexus } from "./agents.ts";
import { CASES, CATEGORIES, categoryOf } from "./cases.ts";
import { compareGolden, type Golden } from "./report.ts";
import { runCases } from "./runner.ts";

const golden: Golden = JSON.parse(
  await Deno.readTextFile(new URL("golden.json", import.meta.url)),
);

Deno.test("The case list has Autobahn's 301 client cases and the golden file grades each of them", () => {
  assert.equal(CASES.length, 301);
  const perCategory: Record<string, number> = {};
  for (const c of CASES) {
    perCategory[categoryOf(c.id)] = (perCategory[categoryOf(c.id)] ?? 0) + 1;
  }
  assert.deepEqual(perCategory, {
    1: 16,
    2: 11,
    3: 7,
    4: 10,
    5: 20,
    6: 145,
    7: 37,
    9: 54,
    10: 1,
  });
  assert.deepEqual(
    Object.keys(golden.cases).sort(),
    CASES.map((c) => c.id).sort(),
  );
});

for (const category of Object.keys(CATEGORIES)) {
  const cases = CASES.filter((c) => categoryOf(c.id) === category);
  Deno.test(
    `Autobahn category ${category} (${
      CATEGORIES[category]
    }): all ${cases.length} cases grade as in the golden file`,
    async () => {
      const reports = await runCases({
        agent: nexus,
        agentName: "nexus",
        cases,
        caseTimeoutMs: 30_000,
      });
      const diffs = compareGolden(golden, reports, cases.map((c) => c.id));
      const detail = diffs.map((d) => {
        const r = reports.find((x) => x.id === d.id);
        return `  ${d.id}: expected ${d.expected}, got ${d.actual}` +
          (r
            ? ` (${r.result} ${r.resultClose}; client: ${
              r.client.error ?? "clean"
            })`
            : "");
      });
      assert.equal(
        diffs.length,
        0,
        `Cases changed outcome:\n${detail.join("\n")}`,
      );
    },
  );
}
