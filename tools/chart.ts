// deno-lint-ignore-file no-explicit-any
/**
 * Renders `deno bench --json` output as an SVG bar chart: one panel per
 * bench group, each bar the speed relative to the group's baseline
 * (baseline avg time / bench avg time, so 2.0× means twice as fast).
 *
 * The chart adds no labels of its own: a panel's title is the bench group
 * (wrapped) and its baseline, a bar's label is the bench name. In the feed
 * bench (`bench/ws_feed_bench.ts`) those come from `bench/feed_clients.ts`:
 * a bench name is exactly the loop it runs, and a group says what each loop
 * makes of a message and whether the comparison with its native baseline is
 * like for like.
 *
 * Usage:
 *   deno task chart   # runs the feed and HTTP benches with --json, then this:
 *   deno run --allow-read --allow-write tools/chart.ts bench-results.json docs/performance.svg
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

/** Most characters in one line of a panel title before it wraps. */
const TITLE_CHARS = 100;

/** Splits `text` at spaces into lines of at most `max` characters (a longer word keeps its own line). */
export function wrap(text: string, max: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > max) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  return line ? [...lines, line] : lines;
}

/** A panel's title: the group (the bench file names what it compares), then its baseline. */
function panelTitle(group: string, baseline: string): string[] {
  return [
    ...wrap(group, TITLE_CHARS),
    ...wrap(`baseline: ${baseline}`, TITLE_CHARS),
  ];
}

/** Builds the SVG text for the rows. */
export function renderSvg(rows: Row[], title: string): string {
  const groups = [...new Set(rows.map((r) => r.group))];
  const baseOf = (rs: Row[]) => rs.find((r) => r.baseline) ?? rs[0];
  // label column wide enough for the longest name (~7 px a character at 13 px)
  const longest = Math.max(...rows.map((r) => r.name.length));
  const left = Math.max(200, Math.ceil(longest * 7) + 24);
  const titleWidth = Math.max(
    ...groups.flatMap((g) =>
      panelTitle(g, baseOf(rows.filter((r) => r.group === g)).name)
    ).map((line) => line.length * 8 + 32),
    title.length * 9 + 32,
  );
  const W = Math.max(left + 560, titleWidth), barH = 26, gap = 8, right = 90;
  const panelPad = 44;
  let y = 48;
  const parts: string[] = [];
  for (const g of groups) {
    const rs = rows.filter((r) => r.group === g);
    const base = baseOf(rs);
    const ratios = rs.map((r) => base.avg / r.avg);
    const max = Math.max(...ratios, 1);
    for (const [i, line] of panelTitle(g, base.name).entries()) {
      if (i > 0) y += 19;
      parts.push(
        `<text x="16" y="${y}" font-size="15"${
          line.startsWith("baseline: ") ? "" : ' font-weight="bold"'
        }>${esc(line)}</text>`,
      );
    }
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
