// The README's `demo` block (`npm ci && npm start`), started as a reader's shell would, on
// a free port, as a real process tree (npm, sh, node). Processes it started are killed
// when the test file ends, whatever the test did.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after } from "node:test";
import { exampleBlock } from "./blocks.js";
import { readmeEnv } from "./readme-shell.js";
import { killAll, processTree, type Proc } from "./process-tree.js";
import { LineCollector, REPO_ROOT } from "../helpers/process.js";

const started: Proc[] = [];
after(() => killAll(started));

/** `npm start` as the README's `demo` block says, on a free port as the README says. */
export function demoCommand(): string {
  const { code } = exampleBlock("demo");
  // The suite itself runs after `npm ci` (it needs node_modules, and dist/ that `npm ci`
  // builds through `prepare`), so the test runs what follows it, exactly as written.
  assert.ok(code.startsWith("npm ci && "), `the demo block starts with "npm ci && ": ${code}`);
  return `${code.slice("npm ci && ".length).trim()} -- --port 0`;
}

export async function startDemo() {
  const child = spawn("sh", ["-c", demoCommand()], {
    cwd: REPO_ROOT,
    env: readmeEnv(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  const stdout = new LineCollector(child.stdout);
  const stderr = new LineCollector(child.stderr);
  const line = await stdout
    .waitForLine((l) => /MCP endpoint:\s+http/.test(l), 60_000, "the demo's URL")
    .catch((error: Error) => assert.fail(`${error.message}\nstderr:\n${stderr.text}`));
  const url = /(http:\/\/\S+)/.exec(line)![1]!;
  const tree = processTree(child.pid!);
  started.push(...tree);
  // npm is the process a reader's terminal (or a test runner) stops: find it in the tree.
  const npm = tree.find((p) => p.comm.startsWith("npm"));
  assert.ok(npm, `npm is in the process tree: ${JSON.stringify(tree)}`);
  // One node process runs the demo (no tsx wrapper between npm's shell and the server). It
  // is told by its command line: its comm is "MainThread" on Node 24.
  const demoNodes = tree.filter(
    (p) => p.argv[0]?.split("/").pop() === "node" && p.argv.includes("examples/refunds/main.ts"),
  );
  assert.equal(demoNodes.length, 1, `one node process runs the demo: ${JSON.stringify(tree)}`);
  return { child, url, tree, npm, stderr };
}
