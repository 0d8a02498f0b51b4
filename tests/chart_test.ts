import assert from "node:assert/strict";
import { renderSvg, rowsOf, wrap } from "../tools/chart.ts";
import { comparisonOf, FEED_LOOPS } from "../bench/feed_clients.ts";

Deno.test("The bench chart shows each bench's speed relative to its group's baseline", () => {
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

Deno.test("The chart labels every feed bench bar with its loop and wraps each panel title whole", () => {
  const { title, verdict, baseline } = comparisonOf("bytes");
  const group = `ws feed, ${title}: ${verdict}`;
  const loops = FEED_LOOPS.filter((l) => l.work === "bytes");
  const rows = rowsOf({
    benches: [baseline, ...loops].map((l, i) => ({
      group,
      name: l.label,
      baseline: i === 0,
      results: [{ ok: { avg: 100 / (i + 1) } }],
    })),
  });
  const svg = renderSvg(rows, "t");
  const texts = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) =>
    m[1].replaceAll("&amp;", "&").replaceAll("&lt;", "<")
      .replaceAll("&gt;", ">")
  );
  for (const l of [baseline, ...loops]) {
    assert.ok(texts.includes(l.label), `Expected a bar labelled ${l.label}`);
  }
  const heading = texts.slice(1, texts.indexOf(baseline.label));
  assert.ok(heading.length > 2, `Expected a wrapped title, got ${heading}`);
  assert.ok(heading.every((line) => line.length <= 100), heading.join("\n"));
  assert.equal(
    heading.join(" "),
    `${group} baseline: ${baseline.label}`,
  );
  assert.match(heading.join(" "), /NOT like for like/);
});

Deno.test("The chart's wrap splits at spaces, keeps every word, and never makes an empty line", () => {
  assert.deepEqual(wrap("aa bb cc", 5), ["aa bb", "cc"]);
  assert.deepEqual(wrap("averylongword x", 4), ["averylongword", "x"]);
  assert.deepEqual(wrap("", 10), []);
});
