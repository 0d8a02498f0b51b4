/**
 * Runs the Autobahn-equivalent cases of the categories the golden file
 * covers (1 to 10 today; 12 and 13 join once the client negotiates
 * permessage-deflate) against the nexus-ws client and fails when any case's
 * outcome differs from `golden.json`. One test per category, each on its own
 * fuzzing server. Of 12 and 13 it runs the sample series (`inSample`); the
 * whole takes minutes: `deno task conformance --deflate`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { nexus } from "./agents.ts";
import { CASES, CATEGORIES, categoryOf, DEFLATE_CATEGORIES } from "./cases.ts";
import { inSample } from "./cases_deflate.ts";
import { compareGolden, type Golden } from "./report.ts";
import { runCases } from "./runner.ts";

const golden: Golden = JSON.parse(
  await Deno.readTextFile(new URL("golden.json", import.meta.url)),
);

Deno.test("The case list has Autobahn's 517 client cases and the golden file grades every case of its categories", () => {
  assert.equal(CASES.length, 517);
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
    12: 90,
    13: 126,
  });
  assert.ok(golden.categories.every((c) => c in CATEGORIES));
  assert.deepEqual(
    Object.keys(golden.cases).sort(),
    CASES.filter((c) => golden.categories.includes(categoryOf(c.id))).map((
      c,
    ) => c.id).sort(),
  );
});

for (const category of golden.categories) {
  const sampled = DEFLATE_CATEGORIES.includes(category);
  const cases = CASES.filter((c) =>
    categoryOf(c.id) === category && (!sampled || inSample(c.id))
  );
  Deno.test(
    `Autobahn category ${category} (${CATEGORIES[category]}): ${
      sampled ? "a sample of" : "all"
    } ${cases.length} cases grade as in the golden file`,
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
