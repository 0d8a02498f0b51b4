/**
 * The edge fan-out example in a real browser: headless Chromium (Debian's
 * `chromium` package, /usr/bin/chromium) driven by playwright-core from npm,
 * in a probe process (see _browser_probe.ts for why it runs apart).
 */
import assert from "node:assert/strict";
import { Example } from "./_spawn.ts";

const PROBE = new URL("./_browser_probe.ts", import.meta.url).pathname;

interface Snapshot {
  url: string;
  transport: string;
  status: string;
  quote: string;
  rows: string[];
  count: number;
  countLater: number;
  errors: string[];
}

Deno.test("in headless Chromium the edge fan-out page shows live ticks relayed from the upstream feed, over WebSocket and over server-sent events", async () => {
  const ex = new Example("edge_fanout.ts", [
    "--port",
    "0",
    "--rate",
    "100",
    "--duration",
    "60000",
  ]);
  let out, result;
  try {
    const [, base] = await ex.waitFor(/^listening on (http:\/\/\S+)$/);
    out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", PROBE, base, base + "?transport=sse"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000),
    }).output();
  } finally {
    ex.kill("SIGINT");
    result = await ex.exit();
  }
  const decoder = new TextDecoder();
  assert.equal(out.code, 0, decoder.decode(out.stderr));
  const pages: Snapshot[] = JSON.parse(decoder.decode(out.stdout));
  assert.deepEqual(pages.map((p) => p.transport), [
    "WebSocket",
    "server-sent events",
  ]);
  for (const p of pages) {
    assert.deepEqual(p.errors, []);
    assert.equal(p.status, "live");
    assert.ok(p.count >= 10 && p.countLater > p.count, JSON.stringify(p));
    assert.match(p.quote, /^BTC-USD \d+\.\d\d \/ \d+\.\d\d$/);
    assert.ok(p.rows.length >= 10, `rows: ${p.rows.length}`);
    for (const row of p.rows) {
      assert.match(
        row,
        /^\d\d:\d\d:\d\d\.\d{3} {2}\d+\.\d\d x \d\.\d {3}\d+\.\d\d x \d\.\d$/,
      );
    }
  }

  const { code, stdout, stderr } = result;
  assert.equal(code, 0, stderr);
  const done = stdout.match(
    /^done \(interrupted\): (\d+) ticks in, (\d+) sent/m,
  );
  assert.ok(done, stdout);
  assert.ok(Number(done[2]) >= 20, done[0]);
});
