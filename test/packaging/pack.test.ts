// The package as npm publishes it: `npm pack` (which runs `prepare`, the build), installed
// into an empty app from the npm cache only, then the README's `tool-in-a-few-lines`
// block as that app's index.ts: run, called with the SDK v2 client, and type-checked
// against the installed package's .d.ts. No network: npm runs with --offline (and npx
// with a dead registry).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { exampleBlock } from "../docs/blocks.js";
import { assertReadmeExampleAnswers } from "../docs/readme-example.js";
import { readmeEnv, runSh } from "../docs/readme-shell.js";
import {
  LineCollector,
  REPO_ROOT,
  jsonLineWith,
  minimalEnv,
  tryParse,
  waitForExit,
} from "../helpers/process.js";
import { offlineLock } from "./offline-lock.js";

const dir = mkdtempSync(path.join(tmpdir(), "toolgate-pack-"));
const app = path.join(dir, "app");
after(() => rmSync(dir, { recursive: true, force: true }));

// npm only reads its cache (--offline). The registry setting stays as configured: the
// cache is keyed by the registry's URLs, so a dead registry would make every entry a miss.
const npmEnv = minimalEnv({ npm_config_update_notifier: "false" });
const TSX = import.meta.resolve("tsx");
const TSC = path.join(REPO_ROOT, "node_modules", "typescript", "bin", "tsc");

/** package.json `exports`: "." and each subpath, with the built files it points at. */
const EXPORTS = Object.entries(
  (
    JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as {
      exports: Record<string, string | { types: string; import: string }>;
    }
  ).exports,
).flatMap(([key, target]) =>
  typeof target === "string"
    ? []
    : [{ specifier: key === "." ? "toolgate" : `toolgate/${key.slice(2)}`, ...target }],
);
// These entries' declarations import their optional peer's types (ioredis, pg), which the
// app does not install: a user of them installs the peer.
const NEEDS_PEER = new Set([
  "toolgate/stores/redis",
  "toolgate/stores/postgres",
  "toolgate/audit/postgres",
]);
/** Every other entry, imported by name as a user would: loaded and type-checked below. */
const PLAIN_ENTRIES = EXPORTS.map((e) => e.specifier).filter((s) => !NEEDS_PEER.has(s));
const ENTRIES_FILE = [
  ...PLAIN_ENTRIES.map((s, i) => `import * as entry${i} from ${JSON.stringify(s)};`),
  `const loaded = [${PLAIN_ENTRIES.map((s, i) => `[${JSON.stringify(s)}, entry${i}]`).join(", ")}];`,
  "console.log(JSON.stringify(loaded.map(([s, m]) => [s, Object.keys(m).length])));",
].join("\n");

async function sh(script: string, cwd: string, env = npmEnv): Promise<string> {
  const run = await runSh(script, { cwd, env, timeoutMs: 180_000 });
  assert.equal(run.code, 0, `'${script}' failed:\n${run.stderr}\n${run.stdout}`);
  return run.stdout;
}

interface PackResult {
  filename: string;
  integrity: string;
  files: { path: string }[];
}
let packed: PackResult;

before(async () => {
  // --json keeps stdout to the result; `prepare`'s build output goes to stderr.
  const out = await sh(`npm pack --json --pack-destination ${JSON.stringify(dir)}`, REPO_ROOT);
  packed = (JSON.parse(out) as PackResult[])[0]!;

  mkdirSync(app);
  await sh("npm init -y", app);
  // The example is an ES module (import, top-level await); `npm init -y` writes
  // "type": "commonjs", which a new TypeScript app changes as its first step.
  await sh("npm pkg set type=module", app);
  // `npm install --offline <tarball> zod` cannot resolve from the cache (see
  // offline-lock.ts): the same dependencies go in with a lockfile from this repository's.
  // @types/node because the types of toolgate, the MCP SDK and pino use Node's.
  const { dependencies, lock } = offlineLock(
    "app",
    { spec: `../${packed.filename}`, integrity: packed.integrity },
    ["zod", "@types/node"],
  );
  const manifestFile = path.join(app, "package.json");
  const manifest = JSON.parse(readFileSync(manifestFile, "utf8")) as Record<string, unknown>;
  writeFileSync(manifestFile, JSON.stringify({ ...manifest, dependencies }, null, 2));
  writeFileSync(path.join(app, "package-lock.json"), JSON.stringify(lock, null, 2));
  await sh("npm install --offline --no-audit --no-fund", app);

  const { code } = exampleBlock("tool-in-a-few-lines");
  // The one change, as the README's tests document it: a free port instead of 3000.
  assert.equal(code.split("port: 3000").length, 2, "the example listens on port 3000 once");
  writeFileSync(path.join(app, "index.ts"), code.replace("port: 3000", "port: 0"));
  writeFileSync(path.join(app, "entries.ts"), `${ENTRIES_FILE}\n`);
});

describe("the packed package", () => {
  it("holds the build, the types, the CLI, LICENSE and README, and no sources or tests", () => {
    const files = packed.files.map((f) => f.path);
    for (const required of [
      "package.json",
      "LICENSE",
      "README.md",
      "dist/src/index.js",
      "dist/src/index.d.ts",
      "dist/src/cli/main.js",
      "dist/src/client/index.d.ts",
      // every entry package.json exports, as it points at it
      ...EXPORTS.flatMap((e) => [e.types, e.import].map((f) => f.replace(/^\.\//, ""))),
    ]) {
      assert.ok(files.includes(required), `${required} is in the tarball`);
    }
    assert.deepEqual(
      files.filter((f) => /^(src|test|examples|bench|scripts)\//.test(f)),
      [],
    );
  });

  it("runs the README example from the installed package and answers get_order", async () => {
    const child = spawn(process.execPath, ["--import", TSX, "index.ts"], {
      cwd: app,
      env: minimalEnv(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      const stderr = new LineCollector(child.stderr);
      const line = await stderr.waitForLine(
        jsonLineWith({ msg: "MCP server listening" }),
        30_000,
        "the example's listening log line",
      );
      const url = String(tryParse(line)!["url"]);
      await assertReadmeExampleAnswers(url, "pack-test");
    } finally {
      child.kill("SIGTERM");
      await waitForExit(child);
    }
  });

  it("loads every entry through the package's exports", async () => {
    const out = await sh(`node --import ${JSON.stringify(TSX)} entries.ts`, app, minimalEnv());
    const loaded = new Map(JSON.parse(out) as [string, number][]);
    assert.deepEqual([...loaded.keys()], PLAIN_ENTRIES, "each entry loads");
    assert.ok(loaded.get("toolgate")! > 0, "the root exports values");
  });

  it("type-checks the example against the installed .d.ts (strict, module nodenext)", async () => {
    // No skipLibCheck: the published declarations must compile as they are, also without
    // the optional peers' types (better-sqlite3, pg, ioredis) installed.
    const run = await runSh(
      `node ${JSON.stringify(TSC)} --strict --module nodenext --moduleResolution nodenext ` +
        "--target es2022 --noEmit index.ts entries.ts",
      { cwd: app, env: npmEnv, timeoutMs: 180_000 },
    );
    const errors = run.stdout.split("\n").filter((l) => /error TS\d+/.test(l));
    assert.deepEqual(errors, [], run.stdout);
  });

  it("npx toolgate --help runs the installed bin", async () => {
    const out = await sh("npx toolgate --help", app, readmeEnv());
    assert.match(out, /^Usage: toolgate <command>/);
  });
});
