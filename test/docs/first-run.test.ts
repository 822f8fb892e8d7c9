// The README's first run, as a reader types it: `npm start` (the `demo` block), a token
// and a curl call (`demo-call`), `npx toolgate --help` (`cli-help`), each run by `sh` in
// the repository's root. The demo is a real process tree (npm, sh, node): when npm is
// stopped or killed, every process of it must go, and the port with them.
import assert from "node:assert/strict";
import { connect } from "node:net";
import { describe, it } from "node:test";
import { exampleBlock } from "./blocks.js";
import { runSh } from "./readme-shell.js";
import { waitAllGone } from "./process-tree.js";
import { startDemo } from "./readme-demo.js";
import { waitForExit } from "../helpers/process.js";

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
