import assert from "node:assert/strict";
import { renderSvg, rowsOf } from "../tools/chart.ts";

Deno.test("the bench chart shows each bench's speed relative to its group's baseline", () => {
  const json = {
    benches: [
      {
        group: "feed",
        name: "native",
        baseline: true,
        results: [{ ok: { avg: 800 } }],
      },
      {
        group: "feed",
        name: "nexus",
        baseline: false,
        results: [{ ok: { avg: 100 } }],
      },
      {
        group: "feed",
        name: "broken",
        baseline: false,
        results: [{ failed: "x" }],
      },
    ],
  };
  const rows = rowsOf(json);
  assert.deepEqual(rows.map((r) => r.name), ["native", "nexus"]);
  const svg = renderSvg(rows, "t<1>");
  assert.match(svg, /^<svg /);
  assert.match(svg, />8\.00×</);
  assert.match(svg, />1\.00×</);
  assert.match(svg, /t&lt;1&gt;/);
});
