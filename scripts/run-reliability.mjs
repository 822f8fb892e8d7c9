#!/usr/bin/env node
// `npm run test:reliability`: the reliability and security suite (test/reliability/):
// hostile input, chaos for idempotency, outages, auth under load and a soak, one file at
// a time, then one summary of what was tried and what went wrong.
//
//   npm run test:reliability              the CI profile (bounded: a few minutes)
//   npm run test:reliability -- --full    the full profile (5-minute soak, more cases)
//   npm run test:reliability -- test/reliability/hostile-input.test.ts   some files only
//
// Services: PostgreSQL and Redis suites read TOOLGATE_TEST_POSTGRES_URL and
// TOOLGATE_TEST_REDIS_URL (as `npm test` does); outage suites start their own private
// PostgreSQL and Redis instances when the binaries are there. A suite that cannot run says
// so; with CI=true and TOOLGATE_REQUIRE_INTEGRATION=1 that fails the run.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const full = args.includes("--full");
const unknown = args.filter((a) => a.startsWith("--") && a !== "--full");
if (unknown.length > 0) {
  console.error(`error: unknown option ${unknown.join(", ")} (the only option is --full)`);
  process.exit(2);
}
const filters = args
  .filter((a) => !a.startsWith("--"))
  .map((a) => path.relative(root, path.resolve(a)).split(path.sep).join("/"));
const dir = "test/reliability";
let files = readdirSync(path.join(root, dir))
  .filter((f) => f.endsWith(".test.ts"))
  .map((f) => `${dir}/${f}`)
  .sort();
if (filters.length > 0) files = files.filter((f) => filters.some((p) => f.startsWith(p)));
if (files.length === 0) {
  console.error(
    `error: no reliability test files found${filters.length ? ` under ${filters.join(", ")}` : ""}`,
  );
  process.exit(1);
}

const work = mkdtempSync(path.join(tmpdir(), "toolgate-reliability-"));
const summaryFile = path.join(work, "summary.jsonl");
const env = {
  ...process.env,
  TOOLGATE_RELIABILITY_PROFILE: full ? "full" : "ci",
  TOOLGATE_RELIABILITY_SUMMARY: summaryFile,
  TOOLGATE_DATA_DIR: process.env.TOOLGATE_DATA_DIR ?? path.join(work, "data"),
};
const started = Date.now();
console.log(`reliability suite, ${full ? "full" : "CI"} profile: ${files.length} file(s)\n`);

const child = spawn(
  process.execPath,
  ["--import", "tsx", "--test", "--test-concurrency=1", "--test-reporter=spec", ...files],
  { cwd: root, env, stdio: "inherit" },
);
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => child.kill(sig));
child.on("exit", (code, signal) => {
  const status = code ?? (signal ? 1 : 0);
  const bad = printSummary((Date.now() - started) / 1000);
  rmSync(work, { recursive: true, force: true });
  process.exit(status !== 0 ? status : bad ? 1 : 0);
});

/** Prints the per-scenario table and the totals; true when a must-be-zero count is not. */
function printSummary(elapsedS) {
  const lines = existsSync(summaryFile)
    ? readFileSync(summaryFile, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l))
    : [];
  const keys = ["cases", "faults", "calls", "duplicatesExecuted", "recordsLost", "leaks"];
  const totals = Object.fromEntries(keys.map((k) => [k, 0]));
  console.log(
    `\n==== reliability summary (${full ? "full" : "CI"} profile, ${elapsedS.toFixed(0)} s) ====`,
  );
  for (const { suite, scenario, counts, figures } of lines) {
    for (const k of keys) totals[k] += Number(counts?.[k] ?? 0);
    const shown = keys.filter((k) => counts?.[k] !== undefined).map((k) => `${k} ${counts[k]}`);
    const extra = Object.entries(figures ?? {}).map(
      ([k, v]) => `${k} ${typeof v === "number" ? +v.toFixed(2) : v}`,
    );
    console.log(`${suite} / ${scenario}: ${[...shown, ...extra].join(", ")}`);
  }
  console.log(
    `\ncases tried: ${totals.cases}\nfaults injected: ${totals.faults}\ncalls made: ${totals.calls}\n` +
      `duplicates executed: ${totals.duplicatesExecuted} (must be 0)\n` +
      `records lost: ${totals.recordsLost} (must be 0)\nleaks found: ${totals.leaks} (must be 0)`,
  );
  if (lines.length === 0) console.log("(no suite reported counts)");
  return totals.duplicatesExecuted > 0 || totals.recordsLost > 0 || totals.leaks > 0;
}
