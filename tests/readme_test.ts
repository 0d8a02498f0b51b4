/**
 * The README cannot rot: every TypeScript block in it runs as pasted (type
 * checked, from the repository root, where `@x/nexus-ws` and
 * `jsr:@x/nexus-ws` resolve to this package through `deno.json`'s name and
 * exports, as in the doc tests), and its install line, tasks, links and
 * Debian packages match the repository.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);
const README = await Deno.readTextFile(new URL("README.md", ROOT));
const CONFIG = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));

/** The README's fenced code blocks in one of `langs`, in order. */
function blocks(...langs: string[]): string[] {
  const out: string[] = [];
  for (const m of README.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)) {
    if (langs.includes(m[1])) out.push(m[2]);
  }
  return out;
}

/** The README's inline code spans (outside fenced blocks). */
function inlineCode(): string[] {
  const prose = README.replace(/^```[\s\S]*?^```$/gm, "");
  return [...prose.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]);
}

/**
 * Runs `source` as a module from the repository root, with the permissions
 * the README tells the reader to give (`--allow-net`) and type checking on.
 * Killed after `ms`.
 */
async function runModule(
  source: string,
  ms = 60_000,
): Promise<
  { code: number; stdout: string; stderr: string; timedOut: boolean }
> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--check", "--allow-net", "-"],
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, ms);
  try {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(source));
    await writer.close();
    const out = await child.output();
    const text = (b: Uint8Array) => new TextDecoder().decode(b);
    return {
      code: out.code,
      stdout: text(out.stdout),
      stderr: text(out.stderr),
      timedOut,
    };
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("Every TypeScript block in the README runs as pasted and exits 0", async () => {
  const ts = blocks("ts", "typescript");
  assert.ok(ts.length >= 1, "Expected at least one TypeScript block");
  for (const [i, source] of ts.entries()) {
    const r = await runModule(source);
    assert.equal(r.timedOut, false, `README block ${i + 1} hung:\n${source}`);
    assert.equal(
      r.code,
      0,
      `README block ${i + 1} failed:\n${source}\n${r.stdout}\n${r.stderr}`,
    );
  }
});

Deno.test("The README's feed snippet prints the three ticks its server sends", async () => {
  const [feed] = blocks("ts");
  const r = await runModule(feed);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "64123.5 64124\n64123.75 64124.25\n64124 64124.5\n");
});

Deno.test("Every import line in the README's prose resolves and type checks", async () => {
  const imports = inlineCode().filter((c) => /^import .* from "/.test(c));
  assert.deepEqual(imports, [
    'import { connect } from "@x/nexus-ws";',
    'import { connect } from "jsr:@x/nexus-ws";',
  ]);
  for (const line of imports) {
    const r = await runModule(
      `${line}\nif (typeof connect !== "function") Deno.exit(3);\n`,
    );
    assert.equal(r.code, 0, `${line}\n${r.stderr}`);
  }
});

Deno.test("The README's deno add line and import map entry match deno.json's name and version", () => {
  const name: string = CONFIG.name, version: string = CONFIG.version;
  assert.ok(
    README.includes(`deno add jsr:${name}\n`),
    `Expected the README to say: deno add jsr:${name}`,
  );
  const maps = blocks("json").map((b) => JSON.parse(b));
  assert.deepEqual(maps, [{ imports: { [name]: `jsr:${name}@^${version}` } }]);
});

Deno.test("Every deno task the README names exists in deno.json", () => {
  const named = [...README.matchAll(/deno(?:@[\d.]+)? task (\w[\w:-]*)/g)]
    .map((m) => m[1]);
  assert.ok(named.length >= 8, named.join(" "));
  for (const task of new Set(named)) {
    assert.ok(task in CONFIG.tasks, `README names a missing task: ${task}`);
  }
  for (const task of Object.keys(CONFIG.tasks)) {
    assert.ok(
      named.includes(task),
      `README does not mention deno task ${task}`,
    );
  }
});

Deno.test("Every relative link in the README points at a file in the repository", async () => {
  const links = [...README.matchAll(/\]\(([^)]+)\)/g)].map((m) => m[1])
    .filter((href) => !/^[a-z]+:/.test(href));
  assert.ok(links.length >= 7, links.join(" "));
  for (const href of links) {
    const stat = await Deno.stat(new URL(href.split("#")[0], ROOT));
    assert.ok(stat.isFile, `${href} is not a file`);
  }
});

Deno.test("The README names every Debian package .ci/run installs", async () => {
  const ci = await Deno.readTextFile(new URL(".ci/run", ROOT));
  const line = ci.split("\n").find((l) => l.includes("apt-get install"));
  assert.ok(line, "Expected an apt-get install line in .ci/run");
  const words = line.replace(/>.*$/, "").trim().split(/\s+/);
  const packages = words.slice(words.indexOf("install") + 1)
    .filter((w) => !w.startsWith("-"));
  assert.ok(packages.length >= 1, line);
  for (const p of packages) {
    assert.ok(README.includes(`\`${p}\``), `README does not name ${p}`);
  }
});
