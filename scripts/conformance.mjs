#!/usr/bin/env node
// Runs the official MCP conformance suite (server scenarios) against the toolgate server
// in examples/conformance: the suite's "active" scenarios, then its "pending" ones, each
// against the expected-failures baseline in .ci/conformance-baseline.yml. The suite fails
// the run on a failure that is not in the baseline and on a baseline entry that now
// passes (stale). Needs `npm ci --prefix .ci/tools` (Node 22 and the pinned suite).
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const tools = path.join(root, ".ci", "tools", "node_modules");
const node22 = process.env.TOOLGATE_TEST_NODE22 || path.join(tools, "node", "bin", "node");
const suite = path.join(tools, "@modelcontextprotocol", "conformance", "dist", "index.js");
const baseline = path.join(root, ".ci", "conformance-baseline.yml");

for (const [what, file] of [
  ["Node 22", node22],
  ["the conformance suite", suite],
]) {
  if (!existsSync(file)) {
    console.error(`error: ${what} is not installed (${file}). Run: npm ci --prefix .ci/tools`);
    process.exit(1);
  }
}

const server = spawn(
  process.execPath,
  ["--import", "tsx", "examples/conformance/main.ts", "--port", "0"],
  { cwd: root, stdio: ["ignore", "pipe", "inherit"] },
);
const stop = () => server.exitCode === null && server.kill("SIGTERM");
process.on("exit", stop);
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => process.exit(1));

const url = await new Promise((resolve, reject) => {
  let out = "";
  const timer = setTimeout(
    () => reject(new Error("the conformance server did not start in 30 s")),
    30_000,
  );
  server.stdout.setEncoding("utf8").on("data", (chunk) => {
    out += chunk;
    const line = out.split("\n").find((l) => l.startsWith("http://"));
    if (line) {
      clearTimeout(timer);
      resolve(line.trim());
    }
  });
  server.once("exit", (code) => reject(new Error(`the conformance server exited (${code})`)));
}).catch((error) => {
  console.error(`error: ${error.message}`);
  process.exit(1);
});
console.log(`conformance server: ${url}`);

let failed = false;
for (const which of ["active", "pending"]) {
  console.log(`\n==== conformance suite: ${which} ====`);
  const run = spawnSync(
    node22,
    [suite, "server", "--url", url, "--suite", which, "--expected-failures", baseline],
    { cwd: root, stdio: "inherit", timeout: 600_000 },
  );
  if (run.status !== 0) failed = true;
}
stop();
process.exit(failed ? 1 : 0);
