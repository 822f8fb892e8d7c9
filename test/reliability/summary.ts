// What every reliability suite reports, gathered by scripts/run-reliability.mjs into the
// summary printed at the end of `npm run test:reliability`. Each suite calls `report`
// once per scenario with the counts it observed (never assumed): the runner adds them
// up and fails the run when a must-be-zero count is not zero.
import { appendFileSync } from "node:fs";

export interface ReliabilityCounts {
  /** Inputs tried (hostile cases, operations, scenarios). */
  readonly cases?: number;
  /** Faults injected: kills, restarts, outages, key rotations, hangs. */
  readonly faults?: number;
  /** Calls made to a server under test. */
  readonly calls?: number;
  /** Effects that happened more than once for one operation. Must be 0. */
  readonly duplicatesExecuted?: number;
  /** Completed records (or results) that were later missing. Must be 0. */
  readonly recordsLost?: number;
  /** Stack traces, other principals' results, secrets or growing memory seen. Must be 0. */
  readonly leaks?: number;
}

/** "ci" (bounded for CI) unless the runner was given --full. */
export const PROFILE: "ci" | "full" =
  process.env["TOOLGATE_RELIABILITY_PROFILE"] === "full" ? "full" : "ci";

/** `ci` in the CI profile, `full` with --full. */
export function byProfile<T>(ci: T, full: T): T {
  return PROFILE === "full" ? full : ci;
}

/**
 * Records one scenario's counts (and free-form figures for the README, e.g. p99). Written
 * to the runner's summary file; printed when a suite runs on its own.
 */
export function report(
  suite: string,
  scenario: string,
  counts: ReliabilityCounts,
  figures: Record<string, unknown> = {},
): void {
  const line = JSON.stringify({ suite, scenario, counts, figures });
  const file = process.env["TOOLGATE_RELIABILITY_SUMMARY"];
  if (file) appendFileSync(file, `${line}\n`);
  else process.stdout.write(`reliability: ${line}\n`);
}
