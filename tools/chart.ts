// deno-lint-ignore-file no-explicit-any
/**
 * Renders `deno bench --json` output as an SVG bar chart: one panel per
 * bench group, each bar the speed relative to the group's baseline
 * (baseline avg time / bench avg time, so 2.0× means twice as fast).
 *
 * Usage:
 *   deno task bench:json > bench.json   # or: deno bench --json ... > bench.json
 *   deno run --allow-read --allow-write tools/chart.ts bench.json docs/performance.svg
 *
 * @module
 */

interface Row {
  group: string;
  name: string;
  baseline: boolean;
  avg: number;
}

/** Parses deno bench JSON into rows (skipping failed benches). */
export function rowsOf(json: any): Row[] {
  const rows: Row[] = [];
  for (const b of json.benches ?? []) {
    const ok = b.results?.[0]?.ok;
    if (!ok) continue;
    rows.push({
      group: b.group ?? "(none)",
      name: b.name,
      baseline: !!b.baseline,
      avg: ok.avg,
    });
  }
  return rows;
}

const esc = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** Builds the SVG text for the rows. */
export function renderSvg(rows: Row[], title: string): string {
  const groups = [...new Set(rows.map((r) => r.group))];
  // label column wide enough for the longest name (~7 px a character at 13 px)
  const longest = Math.max(...rows.map((r) => r.name.length));
  const left = Math.max(200, Math.ceil(longest * 7) + 24);
  const titleWidth = Math.max(
    ...groups.map((g) => (g.length + 40) * 8),
    0,
  );
  const W = Math.max(left + 560, titleWidth), barH = 26, gap = 8, right = 90;
  const panelPad = 44;
  let y = 48;
  const parts: string[] = [];
  for (const g of groups) {
    const rs = rows.filter((r) => r.group === g);
    const base = rs.find((r) => r.baseline) ?? rs[0];
    const ratios = rs.map((r) => base.avg / r.avg);
    const max = Math.max(...ratios, 1);
    parts.push(
      `<text x="16" y="${y}" font-size="15" font-weight="bold">${
        esc(g)
      } (baseline: ${esc(base.name)})</text>`,
    );
    y += 14;
    rs.forEach((r, i) => {
      const w = ((W - left - right) * ratios[i]) / max;
      const color = r.baseline
        ? "#9aa5b1"
        : ratios[i] >= 1
        ? "#2f7d32"
        : "#c0392b";
      parts.push(
        `<text x="${left - 8}" y="${
          y + barH * 0.68
        }" font-size="13" text-anchor="end">${esc(r.name)}</text>`,
        `<rect x="${left}" y="${y}" width="${
          w.toFixed(1)
        }" height="${barH}" fill="${color}" rx="3"/>`,
        `<text x="${left + w + 6}" y="${y + barH * 0.68}" font-size="13">${
          ratios[i].toFixed(2)
        }×</text>`,
      );
      y += barH + gap;
    });
    y += panelPad - gap;
  }
  const H = y;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="16" y="26" font-size="17" font-weight="bold">${esc(title)}</text>
${parts.join("\n")}
</svg>
`;
}

if (import.meta.main) {
  const [input, output] = Deno.args;
  if (!input || !output) {
    console.error("usage: tools/chart.ts <bench.json> <out.svg>");
    Deno.exit(2);
  }
  const json = JSON.parse(await Deno.readTextFile(input));
  const rows = rowsOf(json);
  if (rows.length === 0) {
    console.error(`no successful benches in ${input}`);
    Deno.exit(1);
  }
  await Deno.writeTextFile(
    output,
    renderSvg(
      rows,
      `nexus-ws: speed relative to the baseline (${json.runtime ?? "deno"}, ${
        json.cpu ?? ""
      })`,
    ),
  );
  console.log(`wrote ${output} (${rows.length} benches)`);
}
