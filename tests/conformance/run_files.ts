/**
 * Where a conformance run writes. Every run writes its own report to the
 * reports directory, where nothing is tracked by git but the summaries
 * listed in `reports/.gitignore`; the tracked files (the golden file and
 * those summaries) are written only on an explicit flag.
 *
 * @module
 */

/** The reports directory (its `.gitignore` ignores all but the committed summaries). */
export const REPORTS_DIR: URL = new URL("reports/", import.meta.url);

/** The golden file of the nexus agent. */
export const GOLDEN_FILE: URL = new URL("golden.json", import.meta.url);

/** What decides a run's files. */
export interface RunFileOptions {
  agent: string;
  /** The run's start time, as it appears in file names. */
  stamp: string;
  /** Directory for the run's own report (default {@link REPORTS_DIR}). */
  out?: URL;
  /** `--update-golden`: accept the outcomes (golden file and the agent's summary). */
  updateGolden?: boolean;
  /** `--write-report`: write the agent's committed summary. */
  writeReport?: boolean;
}

/** The files of one run. */
export interface RunFiles {
  /** Every case's grades, closes, wire log: `<stamp>-<agent>.json`. */
  json: URL;
  /** The Markdown summary of the latest run of this agent: `<agent>-latest.md`. */
  latest: URL;
  /** The golden file, only with `updateGolden`. */
  golden?: URL;
  /** The committed summary `reports/<agent>.md`, only with `updateGolden` or `writeReport`. */
  summary?: URL;
}

/** The files a run with `options` writes. */
export function runFiles(options: RunFileOptions): RunFiles {
  const out = options.out ?? REPORTS_DIR;
  const files: RunFiles = {
    json: new URL(`${options.stamp}-${options.agent}.json`, out),
    latest: new URL(`${options.agent}-latest.md`, out),
  };
  if (options.updateGolden) files.golden = GOLDEN_FILE;
  if (options.updateGolden || options.writeReport) {
    files.summary = new URL(`${options.agent}.md`, REPORTS_DIR);
  }
  return files;
}
