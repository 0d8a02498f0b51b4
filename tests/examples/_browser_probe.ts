/**
 * Opens pages of the edge fan-out example in headless Chromium (Debian's
 * `chromium`, driven by playwright-core from npm) and prints what their DOM
 * shows as one JSON line. Run by edge_fanout_browser_test.ts in its own
 * process with `-A`: playwright-core probes paths under /proc, which Deno
 * grants only with all permissions, more than `deno task test` gives.
 *
 * Usage: deno run -A tests/examples/_browser_probe.ts <url>...
 */
import { chromium } from "playwright-core";

const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const COUNT = `Number(document.getElementById("count").textContent)`;

const profile = await Deno.makeTempDir({ prefix: "nexus-ws-chromium-" });
const context = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM,
  headless: true,
  args: ARGS,
});
const results = [];
try {
  for (const url of Deno.args) {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(url);
    await page.waitForFunction(`${COUNT} >= 10`, undefined, {
      timeout: 15_000,
    });
    const snapshot = {
      url,
      transport: await page.textContent("#transport"),
      status: await page.textContent("#status"),
      quote: await page.textContent("#quote"),
      rows: await page.locator("#ticks li").allTextContents(),
      count: Number(await page.textContent("#count")),
      countLater: 0,
      errors,
    };
    // Live, not a snapshot: wait for the count to grow.
    await page.waitForFunction(`${COUNT} > ${snapshot.count}`, undefined, {
      timeout: 5_000,
    });
    snapshot.countLater = Number(await page.textContent("#count"));
    if (Deno.env.get("SCREENSHOT_DIR")) {
      await page.screenshot({
        path: `${Deno.env.get("SCREENSHOT_DIR")}/fanout_${results.length}.png`,
      });
    }
    results.push(snapshot);
    await page.close();
  }
} finally {
  await context.close();
  await Deno.remove(profile, { recursive: true }).catch(() => {});
}
console.log(JSON.stringify(results));
