// "A user can write a new tool in under 20 lines and call it from the MCP inspector CLI
// over HTTP and stdio; a test does exactly that." The tool is test/fixtures/quick-tool.ts.
//
// The inspector 2.x needs Node 22. `npm test` finds both in .ci/tools (installed by
// `npm ci --prefix .ci/tools`) and sets TOOLGATE_TEST_NODE22 and TOOLGATE_INSPECTOR_CLI;
// without them the inspector tests are skipped.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { dig, digArray } from "../helpers/json.js";
import {
  INSPECTOR_SKIP,
  LineCollector,
  REPO_ROOT,
  fixturePath,
  inspectorResult,
  runInspector,
  waitForExit,
} from "../helpers/process.js";

const SKIP = INSPECTOR_SKIP;
const QUICK_TOOL = fixturePath("quick-tool.ts");

/** The inspector keeps state under $HOME; give it a throwaway home. */
let home: string | undefined;
const inspector = (args: string[]) =>
  runInspector(args, { home: (home ??= mkdtempSync(path.join(tmpdir(), "toolgate-inspector-"))) });
const resultOf = inspectorResult;

function assertAddListed(result: unknown): void {
  const tools = digArray(result, "tools");
  assert.deepEqual(
    tools.map((t) => dig(t, "name")),
    ["add"],
  );
  const add = tools[0]!;
  assert.equal(dig(add, "inputSchema", "additionalProperties"), false);
  assert.deepEqual(dig(add, "inputSchema", "required"), ["a", "b"]);
  assert.equal(dig(add, "annotations", "readOnlyHint"), true);
  assert.equal(dig(add, "_meta", "toolgate/version"), "1.0.0");
}

function assertSum(result: unknown, sum: number): void {
  assert.notEqual(dig(result, "isError"), true, JSON.stringify(result));
  assert.deepEqual(dig(result, "structuredContent"), { sum });
  assert.equal(dig(result, "content", 0, "text"), JSON.stringify({ sum }));
}

after(() => {
  if (home) rmSync(home, { recursive: true, force: true });
});

test("the quick tool is a complete server in under 20 lines", () => {
  const source = readFileSync(QUICK_TOOL, "utf8");
  const lines = source.replace(/\n$/, "").split("\n");
  assert.ok(lines.length < 20, `quick-tool.ts has ${lines.length} lines`);
  assert.match(source, /from "\.\.\/\.\.\/src\/index\.js"/);
  assert.match(source, /defineTool\(/);
  assert.match(source, /createToolServer\(/);
});

test("MCP inspector CLI over HTTP: tools/list and tools/call", { skip: SKIP }, async (t) => {
  const server = spawn(process.execPath, ["--import", "tsx", QUICK_TOOL], {
    cwd: REPO_ROOT,
    env: { PATH: process.env["PATH"] ?? "", PORT: "0", TOOLGATE_LOG_LEVEL: "warn" },
    stdio: ["pipe", "pipe", "pipe"],
  });
  try {
    const stdout = new LineCollector(server.stdout);
    const url = await stdout.waitForLine(
      (l) => /^http:\/\/127\.0\.0\.1:\d+\/mcp$/.test(l),
      30_000,
      "the quick tool's URL line",
    );

    await t.test("tools/list", async () => {
      assertAddListed(resultOf(await inspector([url, "--method", "tools/list"])));
    });

    await t.test("tools/call with key=value arguments", async () => {
      const run = await inspector([
        url,
        "--method",
        "tools/call",
        "--tool-name",
        "add",
        "--tool-arg",
        "a=2",
        "b=40",
      ]);
      assertSum(resultOf(run), 42);
    });

    await t.test("tools/call with JSON arguments", async () => {
      const run = await inspector([
        url,
        "--method",
        "tools/call",
        "--tool-name",
        "add",
        "--tool-args-json",
        '{"a":1.5,"b":-0.25}',
      ]);
      assertSum(resultOf(run), 1.25);
    });

    await t.test("a bad argument comes back as a typed invalid_input result (exit 5)", async () => {
      const run = await inspector([
        url,
        "--method",
        "tools/call",
        "--tool-name",
        "add",
        "--tool-args-json",
        '{"a":"two","b":40}',
      ]);
      const result = resultOf(run, 5);
      assert.equal(dig(result, "isError"), true);
      const error = dig(result, "structuredContent", "error");
      assert.equal(dig(error, "type"), "invalid_input");
      assert.deepEqual(
        (dig(error, "details", "issues") as { path: string }[]).map((i) => i.path),
        ["/a"],
      );
    });
  } finally {
    if (server.exitCode === null && server.signalCode === null) server.kill("SIGTERM");
    await waitForExit(server, 10_000);
  }
});

test("MCP inspector CLI over stdio: tools/list and tools/call", { skip: SKIP }, async (t) => {
  // The inspector spawns the server itself: Node 20 (this process's node) with tsx.
  const command = ["--cwd", REPO_ROOT, process.execPath, "--import", "tsx", QUICK_TOOL, "--stdio"];

  await t.test("tools/list", async () => {
    assertAddListed(resultOf(await inspector([...command, "--method", "tools/list"])));
  });

  await t.test("tools/call with arguments", async () => {
    const run = await inspector([
      ...command,
      "--method",
      "tools/call",
      "--tool-name",
      "add",
      "--tool-arg",
      "a=19",
      "b=23",
    ]);
    assertSum(resultOf(run), 42);
  });
});
