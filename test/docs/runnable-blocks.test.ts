// Runs every code block of the README and docs/ marked `<!-- runnable -->` on the line(s)
// above its fence, so that a page's examples stay true. What "runnable" means, per language
// (docs/development.md says the same for authors):
//
// - `ts`: the block is written to a temporary `.mts` file inside the repository (under
//   .toolgate/, git-ignored, so `zod` and the SDK resolve from node_modules as they would
//   for a user), with `from "toolgate"` and `from "toolgate/<subpath>"` pointed at the
//   source entry files that package.json's `exports` compile from (the tests run the
//   code, not a stale dist/). It runs with `node --import tsx` in a fresh directory,
//   which is also $TOOLGATE_DATA_DIR, so default stores and audit logs land there. It
//   must exit 0 within BLOCK_TIMEOUT_MS: top-level await is fine, a server left open is
//   not (call `await server.close()`), and `node:assert` lines are how a block states
//   what it expects.
// - `sh`: the block runs with `sh -e` in the repository's root, with
//   npm_config_registry=http://127.0.0.1:9/ (npm and npx never reach the network), and
//   must exit 0 within BLOCK_TIMEOUT_MS. `npx toolgate` runs dist/, so build first
//   (`npm run build`); a missing dist/ fails with a message that says so.
// - any other language cannot be marked runnable: the test fails on such a mark.
//
// Blocks that serve until stopped stay unmarked; the README's named examples have their
// own tests (test/docs/readme*.test.ts).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { after, test } from "node:test";
import { REPO_ROOT } from "../helpers/process.js";
import { codeBlocks, docPages, type CodeBlock } from "./blocks.js";

const BLOCK_TIMEOUT_MS = 60_000;
/** At least this many blocks are marked: a page losing its marks fails here. */
const MIN_RUNNABLE = 8;

/** package.json `exports` subpaths ("toolgate/client") -> the source files dist/ compiles from. */
const ENTRY_POINTS: ReadonlyMap<string, string> = new Map(
  Object.entries(
    (
      JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as {
        exports: Record<string, string | { import?: string }>;
      }
    ).exports,
  ).flatMap(([subpath, target]) => {
    const file = typeof target === "string" ? target : target.import;
    const source = /^\.\/dist\/(src\/.+)\.js$/.exec(file ?? "")?.[1];
    return source === undefined
      ? []
      : [[subpath === "." ? "toolgate" : `toolgate/${subpath.slice(2)}`, `${source}.ts`]];
  }),
);

const blocks = docPages()
  .flatMap((page) => codeBlocks(page))
  .filter((b) => b.runnable);

mkdirSync(path.join(REPO_ROOT, ".toolgate"), { recursive: true });
const scratch = mkdtempSync(path.join(REPO_ROOT, ".toolgate", "runnable-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** The block's imports of the package, pointed at the source; any other import is unknown. */
function pointAtSource(code: string, where: string): string {
  return code.replace(/from\s+"(toolgate(?:\/[^"]*)?)"/g, (_, specifier: string) => {
    const entry = ENTRY_POINTS.get(specifier);
    assert.ok(entry, `${where} imports "${specifier}", which package.json does not export`);
    return `from ${JSON.stringify(pathToFileURL(path.join(REPO_ROOT, entry)).href)}`;
  });
}

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

async function run(
  command: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<Outcome> {
  const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += String(chunk)));
  child.stderr.on("data", (chunk: Buffer) => (output += String(chunk)));
  const timer = setTimeout(() => child.kill("SIGKILL"), BLOCK_TIMEOUT_MS);
  try {
    const [code, signal] = (await once(child, "exit")) as [number | null, NodeJS.Signals | null];
    return { code, signal, output };
  } finally {
    clearTimeout(timer);
  }
}

function describe(block: CodeBlock): string {
  return `${block.file}:${block.line} (${block.lang})`;
}

function baseEnv(dir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TOOLGATE_DATA_DIR: dir,
    TOOLGATE_LOG_LEVEL: "warn",
    npm_config_registry: "http://127.0.0.1:9/",
  };
  // The block runs as a reader would run it, not as a subtest of this runner.
  delete env["NODE_TEST_CONTEXT"];
  return env;
}

async function runBlock(block: CodeBlock, index: number): Promise<Outcome> {
  const dir = path.join(scratch, `block-${index}`);
  mkdirSync(dir, { recursive: true });
  if (block.lang === "ts") {
    const file = path.join(dir, "block.mts");
    writeFileSync(file, pointAtSource(block.code, describe(block)));
    return run(process.execPath, ["--import", "tsx", file], dir, baseEnv(dir));
  }
  if (block.lang === "sh") {
    assert.ok(
      existsSync(path.join(REPO_ROOT, "dist", "src", "cli", "main.js")) ||
        !/\bnpx toolgate\b/.test(block.code),
      `${describe(block)} runs npx toolgate, which needs dist/: run npm run build first`,
    );
    return run("sh", ["-e", "-c", block.code], REPO_ROOT, baseEnv(dir));
  }
  assert.fail(`${describe(block)} is marked runnable, but only ts and sh blocks can run`);
}

test(`the docs mark at least ${MIN_RUNNABLE} runnable blocks`, () => {
  assert.ok(
    blocks.length >= MIN_RUNNABLE,
    `${blocks.length} runnable blocks: ${blocks.map(describe).join(", ")}`,
  );
});

test("a block's package imports are pointed at the source, and unknown subpaths refused", () => {
  const code = 'import { a } from "toolgate";\nimport { b } from "toolgate/client";\n';
  const rewritten = pointAtSource(code, "here");
  assert.ok(rewritten.includes(pathToFileURL(path.join(REPO_ROOT, "src/index.ts")).href));
  assert.ok(rewritten.includes(pathToFileURL(path.join(REPO_ROOT, "src/client/index.ts")).href));
  assert.doesNotMatch(rewritten, /"toolgate/);
  assert.throws(() => pointAtSource('import x from "toolgate/nope";', "here"), /does not export/);
  assert.equal(ENTRY_POINTS.get("toolgate/stores/redis"), "src/stores/redis-store.ts");
});

blocks.forEach((block, index) => {
  test(`runnable block ${describe(block)}`, { timeout: BLOCK_TIMEOUT_MS + 10_000 }, async () => {
    const outcome = await runBlock(block, index);
    assert.equal(
      outcome.code,
      0,
      `${describe(block)} exited with ${outcome.code ?? outcome.signal}:\n${outcome.output}`,
    );
  });
});
