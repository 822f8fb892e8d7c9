// The README's first run, as a reader types it: `npm start` (the `demo` block), a token
// and a curl call (`demo-call`), `npx toolgate --help` (`cli-help`), each run by `sh` in
// the repository's root. The demo is a real process tree (npm, sh, node): when npm is
// stopped or killed, every process of it must go, and the port with them.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { connect } from "node:net";
import { after, describe, it } from "node:test";
import { exampleBlock } from "./blocks.js";
import { readmeEnv, runSh } from "./readme-shell.js";
import { killAll, processTree, waitAllGone, type Proc } from "./process-tree.js";
import { LineCollector, REPO_ROOT, waitForExit } from "../helpers/process.js";

const started: Proc[] = [];
after(() => killAll(started));

/** `npm start` as the README's `demo` block says, on a free port as the README says. */
function demoCommand(): string {
  const { code } = exampleBlock("demo");
  // The suite itself runs after `npm ci` (it needs node_modules, and dist/ that `npm ci`
  // builds through `prepare`), so the test runs what follows it, exactly as written.
  assert.ok(code.startsWith("npm ci && "), `the demo block starts with "npm ci && ": ${code}`);
  return `${code.slice("npm ci && ".length).trim()} -- --port 0`;
}

async function startDemo() {
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
  assert.ok(
    tree.some((p) => p.comm === "node"),
    "the demo runs as a node process",
  );
  return { child, url, tree, npm, stderr };
}

/** Resolves true when nothing accepts connections on the URL's port. */
function portClosed(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(true));
  });
}

describe("README first run: npm start", () => {
  for (const signal of ["SIGTERM", "SIGKILL"] as const) {
    it(`serves /healthz, and every process of it exits when npm gets ${signal}`, async () => {
      const demo = await startDemo();
      const health = await fetch(new URL("/healthz", demo.url));
      assert.equal(health.status, 200);
      await health.body?.cancel();
      // The demo has auth on, so its scopes are enforced and it has nothing to warn about.
      assert.doesNotMatch(demo.stderr.text, /scopes are not enforced/);

      process.kill(demo.npm.pid, signal);
      const left = await waitAllGone(demo.tree, 5_000);
      assert.deepEqual(
        left.map((p) => `${p.pid} ${p.comm}`),
        [],
        `processes still running 5 s after ${signal} of npm; demo stderr:\n${demo.stderr.text}`,
      );
      assert.equal(await portClosed(demo.url), true, "the demo's port is closed");
      await waitForExit(demo.child);
    });
  }

  it("the demo-call block mints a token and calls get_order (the port swapped)", async () => {
    const demo = await startDemo();
    try {
      const { code } = exampleBlock("demo-call");
      // The README shows the default port; this demo runs on a free one.
      assert.ok(code.includes("http://127.0.0.1:3000/mcp"), code);
      const run = await runSh(code.replaceAll("http://127.0.0.1:3000/mcp", demo.url));
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /"structuredContent":\{[^}]*"id":"INV-2024-00001"/);
      assert.doesNotMatch(run.stdout, /"isError":true/);
    } finally {
      process.kill(demo.npm.pid, "SIGTERM");
      await waitAllGone(demo.tree, 5_000);
    }
  });
});

describe("README first run: npx toolgate --help", () => {
  it("prints the usage from the project's own bin, with no registry reachable", async () => {
    const { code } = exampleBlock("cli-help");
    assert.equal(code.trim(), "npx toolgate --help");
    const run = await runSh(code);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^Usage: toolgate <command>/);
    assert.match(run.stdout, /\btoken\b/);
  });
});
