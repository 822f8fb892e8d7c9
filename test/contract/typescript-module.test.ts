// The compiled CLI (`npx toolgate`, dist/) cannot import TypeScript by itself: a `--module`
// written in TypeScript is loaded with the tsx of the project the CLI runs in, and without
// one the CLI says how to get it. Runs dist/ as a user's `npx toolgate` would.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { promisify } from "node:util";
import { REPO_ROOT } from "../helpers/process.js";

const run = promisify(execFile);
const CLI = path.join(REPO_ROOT, "dist", "src", "cli", "main.js");

// Inside the repository so that `import "toolgate"` resolves (the package's self-reference).
mkdirSync(path.join(REPO_ROOT, ".toolgate"), { recursive: true });
const dir = mkdtempSync(path.join(REPO_ROOT, ".toolgate", "ts-module-"));
const elsewhere = mkdtempSync(path.join(tmpdir(), "toolgate-no-tsx-"));
after(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(elsewhere, { recursive: true, force: true });
});
const moduleFile = path.join(dir, "tools.ts");
writeFileSync(
  moduleFile,
  `import { defineTool } from "toolgate";
const echo = defineTool({
  name: "echo", version: "1.0.0", sideEffect: "read", scopes: [],
  description: "Echo the text back.",
  input: { type: "object", properties: { text: { type: "string" } }, required: ["text"] } as const,
  handler: async ({ text }: { text: string }) => text,
});
export const tools = [echo];
`,
);

async function cli(cwd: string, ...args: string[]) {
  assert.ok(existsSync(CLI), "dist/ is missing: run npm run build first");
  // Without NODE_OPTIONS: the test runner's own tsx loader must not reach the CLI.
  const env = { ...process.env, NODE_OPTIONS: "" };
  return run(process.execPath, [CLI, ...args], { cwd, env }).then(
    (out) => ({ code: 0, ...out }),
    (err: { code: number; stdout: string; stderr: string }) => err,
  );
}

test("a TypeScript --module loads with the project's tsx", async () => {
  const out = await cli(REPO_ROOT, "contract", "snapshot", "--module", moduleFile, "--out", "-");
  assert.equal(out.code, 0, out.stderr);
  const lock = JSON.parse(out.stdout) as { tools: Record<string, { version: string }> };
  assert.equal(lock.tools["echo"]?.version, "1.0.0");
});

test("without tsx in the project, the CLI says how to load a TypeScript module", async () => {
  const file = path.join(elsewhere, "tools.ts");
  writeFileSync(file, "export const tools: unknown[] = [];\n");
  const out = await cli(elsewhere, "contract", "snapshot", "--module", file, "--out", "-");
  assert.notEqual(out.code, 0);
  assert.match(out.stderr, /needs tsx in the project: npm install --save-dev tsx/);
  assert.doesNotMatch(out.stderr, /\n\s+at /, "no stack trace");
});
