/**
 * The fast-check configuration the fuzz tests share: how many inputs a
 * property gets (`FUZZ_RUNS`, default 300 in CI) and the seed (`FUZZ_SEED`;
 * a fixed one in CI, a fresh printed one for a larger run). See
 * docs/fuzzing.md.
 *
 * @module
 */

import fc from "fast-check";

function env(name: string): string | undefined {
  const granted =
    Deno.permissions.querySync({ name: "env", variable: name }).state ===
      "granted";
  return granted ? Deno.env.get(name) : undefined;
}

/** Inputs per property in CI. */
export const CI_RUNS = 300;
/** Inputs per property in this run. */
export const RUNS = Number(env("FUZZ_RUNS") ?? CI_RUNS);
/** The seed of this run. */
export const SEED = env("FUZZ_SEED") !== undefined
  ? Number(env("FUZZ_SEED"))
  : RUNS > CI_RUNS
  ? (Date.now() ^ (Math.random() * 0x7fffffff)) | 0
  : 0x6e657875;
if (RUNS > CI_RUNS) {
  console.log(`fuzz: ${RUNS} runs per property, seed ${SEED}`);
}

/**
 * Checks a property with the run's seed and size; on failure throws an
 * error with the cause and fast-check's replay report, cut to stay readable.
 */
export function check<T>(
  name: string,
  prop: fc.IPropertyWithHooks<T> | fc.IProperty<T>,
  runs = RUNS,
): void {
  const details = fc.check(prop, { seed: SEED, numRuns: runs });
  if (details.failed) {
    // counterexamples can hold 70 KB payloads: keep the report readable
    const cause = String(
      (details.errorInstance as Error)?.stack ?? details.errorInstance,
    ).slice(0, 1500);
    const report = `${cause}\n${fc.defaultReportMessage(details) ?? ""}`;
    throw new Error(
      report.length > 4000
        ? `${report.slice(0, 2000)}\n…\n${report.slice(-2000)}`
        : report,
    );
  }
  if (RUNS > CI_RUNS) {
    console.log(`fuzz: ${name}: ${details.numRuns} inputs passed`);
  }
}

/** `p` cut into pieces at `cuts` (each taken modulo `p.length + 1`). */
export function cutInto(p: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (p.length + 1)))].sort((
    a,
    b,
  ) => a - b);
  const out: Uint8Array[] = [];
  let at = 0;
  for (const c of points) {
    out.push(p.subarray(at, c));
    at = c;
  }
  out.push(p.subarray(at));
  return out;
}
