#!/usr/bin/env node
// `npm test`: runs test/**/*.test.ts with Node's built-in test runner (TypeScript via tsx).
//
//   npm test                      all test files
//   npm test -- test/unit         only files under these paths or path prefixes
//   npm test -- --test-name-pattern=deadline   flags starting with --test are passed to node
//
// Integration suites are switched on by environment variables, which the tests read themselves.
// PostgreSQL and Redis on their default local ports are found without them (test-services.mjs);
// TOOLGATE_TEST_POSTGRES_URL=off or TOOLGATE_TEST_REDIS_URL=off skips those suites. The run
// ends with the list of suites that were skipped and what enables each.
// With CI=true and TOOLGATE_REQUIRE_INTEGRATION=1 a missing variable fails the run instead.
import { spawn, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { SERVICES, detectServices, isOff } from "./test-services.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const toolsDir = path.join(root, ".ci", "tools", "node_modules");
const env = { ...process.env };
// Variables switched off with "off" (or ""): the skip summary says to unset them.
const switchedOff = SERVICES.map((s) => s.variable).filter((v) => isOff(env[v]));

/** Files under dir (relative to root, "/"-separated) whose names end in .test.ts. */
function findTests(dir) {
  const out = [];
  for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const rel = `${dir}/${entry.name}`;
    if (entry.isDirectory()) out.push(...findTests(rel));
    else if (entry.isFile() && entry.name.endsWith(".test.ts")) out.push(rel);
  }
  return out;
}

// Node 22 and the MCP Inspector CLI, installed by `npm ci --prefix .ci/tools`, are found there.
function detectNode22() {
  if (!env.TOOLGATE_TEST_NODE22) {
    const bin = path.join(toolsDir, "node", "bin", "node");
    if (existsSync(bin)) {
      try {
        const version = execFileSync(bin, ["--version"], { encoding: "utf8" }).trim();
        if (version.startsWith("v22.")) env.TOOLGATE_TEST_NODE22 = bin;
        else console.log(`note: ${bin} is ${version}, not Node 22; not using it`);
      } catch (err) {
        console.log(`note: ${bin} does not run (${err.message.split("\n")[0]})`);
      }
    }
  }
  if (env.TOOLGATE_TEST_NODE22 && !env.TOOLGATE_INSPECTOR_CLI) {
    const pkgDir = path.join(toolsDir, "@modelcontextprotocol", "inspector");
    const pkgFile = path.join(pkgDir, "package.json");
    if (existsSync(pkgFile)) {
      const { bin } = JSON.parse(readFileSync(pkgFile, "utf8"));
      const rel = typeof bin === "string" ? bin : (bin?.["mcp-inspector"] ?? bin?.inspector);
      if (rel && existsSync(path.join(pkgDir, rel))) {
        env.TOOLGATE_INSPECTOR_CLI = path.join(pkgDir, rel);
      }
    }
  }
}

function redact(url) {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return url;
  }
}

// Suites that need something this machine may lack; `files` matches the test files that
// skip (wholly or partly: shared-store has memory parts too) without it.
const suites = [
  {
    name: "PostgreSQL integration suite",
    files: /postgres|\/shared-store\./,
    vars: ["TOOLGATE_TEST_POSTGRES_URL"],
    hint:
      "run PostgreSQL on 127.0.0.1:5432 with a database test, " +
      "or set TOOLGATE_TEST_POSTGRES_URL=postgres://host:port/db, to enable",
  },
  {
    name: "Redis integration suite",
    files: /redis|\/shared-store\./,
    vars: ["TOOLGATE_TEST_REDIS_URL"],
    hint:
      "run Redis on 127.0.0.1:6379 (the tests use db 15), " +
      "or set TOOLGATE_TEST_REDIS_URL=redis://host:port/db, to enable",
  },
  {
    // Plan line 10 stops and restarts the shared servers (as root), which breaks whatever
    // else uses them: never switched on by the detection above, only when asked.
    name: "PostgreSQL and Redis restart tests (idempotency plan line 10)",
    files: /^test\/idempotency\/multiprocess-(postgres|redis)\./,
    vars: ["TOOLGATE_TEST_RESTART_SERVICES"],
    on: (value) => value === "1",
    hint:
      "set TOOLGATE_TEST_RESTART_SERVICES=1 to let them stop and restart the local " +
      "PostgreSQL and Redis (needs root; CI does)",
  },
  {
    name: "MCP Inspector CLI suite",
    files: /inspector/,
    vars: ["TOOLGATE_TEST_NODE22", "TOOLGATE_INSPECTOR_CLI"],
    hint:
      "run `npm ci --prefix .ci/tools` to install Node 22 and the inspector there, " +
      "or set TOOLGATE_TEST_NODE22=/path/to/node22 and TOOLGATE_INSPECTOR_CLI=/path/to/inspector.js",
  },
  {
    // The interop matrix runs without them too, but its Inspector column is then not run.
    name: "interop matrix, Inspector column",
    files: /^test\/interop\//,
    vars: ["TOOLGATE_TEST_NODE22", "TOOLGATE_INSPECTOR_CLI"],
    hint: "run `npm ci --prefix .ci/tools` (Node 22 and the MCP Inspector) to run it",
  },
];

/**
 * Prints which suites run; returns the required suites that cannot (for CI) and, for the
 * summary at the end, the skipped suites with their files in this run.
 */
function reportSuites(files) {
  const missing = [];
  const skipped = [];
  // Only suites with test files in this run are reported (and required).
  for (const suite of suites) {
    const mine = files.filter((f) => suite.files.test(f));
    if (mine.length === 0) continue;
    const unset = suite.vars.filter((v) => !(suite.on ?? Boolean)(env[v]));
    if (unset.length === 0) {
      const shown = suite.vars.map((v) => `${v}=${redact(env[v])}`).join(" ");
      console.log(`enabled: ${suite.name} (${shown})`);
    } else {
      const off = unset.filter((v) => switchedOff.includes(v));
      const hint = off.length > 0 ? `${off.join(", ")}=off; unset it to enable` : suite.hint;
      console.log(`skipped: ${suite.name} (${hint})`);
      missing.push(`${suite.name}: ${unset.join(", ")} ${off.length > 0 ? "off" : "unset"}`);
      skipped.push({ name: suite.name, hint, files: mine });
    }
  }
  for (const v of ["TOOLGATE_TEST_NODE22", "TOOLGATE_INSPECTOR_CLI"]) {
    if (env[v] && !existsSync(env[v])) missing.push(`${v}=${env[v]} does not exist`);
  }
  return { missing, skipped };
}

/** The closing summary: every skipped suite, its files, and how to enable it. */
function skippedSummary(skipped) {
  if (skipped.length === 0) return "skipped suites: none";
  const lines = ["skipped suites (the tests in them reported as skipped above):"];
  for (const { name, hint, files } of skipped) {
    lines.push(`  - ${name}: ${hint}`);
    for (const f of files) lines.push(`      ${f}`);
  }
  return lines.join("\n");
}

// The SQLite store needs better-sqlite3's compiled addon; say how to get it before tests fail.
function checkSqlite() {
  try {
    const Database = createRequire(path.join(root, "package.json"))("better-sqlite3");
    new Database(":memory:").close();
  } catch (err) {
    console.log(
      `warning: better-sqlite3 does not load, so SQLite tests will fail: ${err.message.split("\n")[0]}\n` +
        "  fix: npm rebuild better-sqlite3  (it compiles the addon: needs python3, make and g++;\n" +
        "       on Debian: apt-get install -y python3 make g++)",
    );
  }
}

const nodeFlags = process.argv.slice(2).filter((a) => a.startsWith("--"));
const filters = process.argv
  .slice(2)
  .filter((a) => !a.startsWith("--"))
  .map((a) => path.relative(root, path.resolve(a)).split(path.sep).join("/"));

let files = existsSync(path.join(root, "test")) ? findTests("test").sort() : [];
// The reliability suite (faults, outages, a soak) has its own runner and time budget:
// `npm run test:reliability`. It runs here only when asked for by path.
if (filters.length > 0) files = files.filter((f) => filters.some((p) => f.startsWith(p)));
else files = files.filter((f) => !f.startsWith("test/reliability/"));
if (files.length === 0) {
  console.error(
    `error: no test files found${filters.length ? ` under ${filters.join(", ")}` : ""}`,
  );
  process.exit(1);
}

detectNode22();
for (const line of await detectServices(env)) console.log(line);
const { missing, skipped } = reportSuites(files);
if (missing.length > 0 && env.CI === "true" && env.TOOLGATE_REQUIRE_INTEGRATION === "1") {
  console.error(
    "error: CI=true and TOOLGATE_REQUIRE_INTEGRATION=1, but integration suites cannot run:\n" +
      missing.map((m) => `  - ${m}`).join("\n"),
  );
  process.exit(1);
}
checkSqlite();
// The embedded defaults (idempotency records, audit log) of servers the tests start go to
// a fresh folder per run, not into the working tree.
let dataDir;
if (!env.TOOLGATE_DATA_DIR) {
  dataDir = mkdtempSync(path.join(tmpdir(), "toolgate-test-data-"));
  env.TOOLGATE_DATA_DIR = dataDir;
}
// The interop matrix (test/interop) writes its table here; it is printed after the run.
const matrixDir = mkdtempSync(path.join(tmpdir(), "toolgate-interop-matrix-"));
const matrixFile = path.join(matrixDir, "matrix.txt");
env.TOOLGATE_INTEROP_MATRIX_FILE = matrixFile;
console.log(`running ${files.length} test file(s)\n`);

const child = spawn(
  process.execPath,
  // One file at a time: suites start servers and child processes and time them; running
  // files side by side (Node's default on larger machines) makes their timings flaky.
  [
    "--import",
    "tsx",
    "--test",
    "--test-concurrency=1",
    "--test-reporter=spec",
    ...nodeFlags,
    ...files,
  ],
  { cwd: root, env, stdio: "inherit" },
);
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => child.kill(sig));
child.on("exit", (code, signal) => {
  if (existsSync(matrixFile)) console.log(`\n${readFileSync(matrixFile, "utf8")}`);
  console.log(`\n${skippedSummary(skipped)}`);
  rmSync(matrixDir, { recursive: true, force: true });
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  process.exit(code ?? (signal ? 1 : 0));
});
