// The refunds demo's tools must match their committed lock (examples/refunds/
// toolgate.lock.json): change a demo tool's contract without updating the lock and
// `npm test` fails here. And the check can fail: modified copies of a demo tool are
// caught and classified.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, test } from "node:test";
import { formatLock } from "../../src/contract/lock-file.js";
import { contractOf, lockOf } from "../../src/contract/snapshot.js";
import type { ContractReport } from "../../src/contract/types.js";
import { tools as demoTools } from "../../examples/refunds/contract.js";
import { REPO_ROOT } from "../helpers/process.js";
import { runCliCaptured } from "../helpers/cli.js";

const LOCK = path.join(REPO_ROOT, "examples", "refunds", "toolgate.lock.json");
const MODULE = path.join(REPO_ROOT, "examples", "refunds", "contract.ts");
const UPDATE =
  "npm run -s toolgate -- contract snapshot --module examples/refunds/contract.ts --out examples/refunds/toolgate.lock.json";

const cli = (...args: string[]) => runCliCaptured(args);

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "toolgate-demo-lock-"));
  await writeFile(path.join(dir, "package.json"), '{ "type": "module" }\n');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A module exporting the demo's tools with issue_refund changed by `change` (JS source). */
async function modifiedDemo(name: string, change: string): Promise<string> {
  const demo = pathToFileURL(MODULE).href;
  const file = path.join(dir, `${name}.ts`);
  await writeFile(
    file,
    `import { tools as demo } from ${JSON.stringify(demo)};
export const tools = demo.map((tool) => {
  if (tool.name !== "issue_refund") return tool;
  const copy = { ...tool, inputSchema: structuredClone(tool.inputSchema) };
  ${change}
  return copy;
});
`,
  );
  return file;
}

describe("the refunds demo's contract lock", () => {
  test("the demo's tools match the committed lock (exit 0)", async () => {
    const run = await cli("contract", "check", "--module", MODULE, "--lock", LOCK);
    assert.equal(
      run.code,
      0,
      `A demo tool's contract changed. Review it, bump its version, then run:\n  ${UPDATE}\n\n${run.stdout}${run.stderr}`,
    );
    assert.match(run.stdout, /No contract changes: 3 tools match the lock\./);
  });

  test("the committed lock is exactly what snapshot writes (formatting included)", async () => {
    const committed = await readFile(LOCK, "utf8");
    assert.equal(committed, formatLock(lockOf(demoTools.map(contractOf))), `run: ${UPDATE}`);
  });

  test("a tightened maxLength on issue_refund's reason is breaking (exit 1)", async () => {
    const module = await modifiedDemo(
      "tighter-reason",
      "copy.inputSchema.properties.reason.maxLength = 200;",
    );
    const json = await cli("contract", "check", "--module", module, "--lock", LOCK, "--json");
    assert.equal(json.code, 1, json.stdout + json.stderr);
    const report = JSON.parse(json.stdout) as ContractReport;
    const breaking = report.changes.filter((c) => c.kind === "breaking");
    assert.equal(breaking.length, 1, json.stdout);
    assert.equal(breaking[0]!.tool, "issue_refund");
    assert.match(breaking[0]!.path, /^input\/.*reason/);
    assert.deepEqual(report.versionNotBumped, ["issue_refund"]);

    const human = await cli("contract", "check", "--module", module, "--lock", LOCK);
    assert.equal(human.code, 1);
    const { version } = demoTools.find((t) => t.name === "issue_refund")!;
    assert.ok(human.stdout.split("\n").includes(`issue_refund (${version})`), human.stdout);
    assert.match(human.stdout, /^ {2}BREAKING/m);
    assert.match(human.stdout, /bump its version/);
  });

  test("a reworded description is behavioural, and its version was not bumped (exit 1)", async () => {
    const module = await modifiedDemo(
      "reworded",
      'copy.description = copy.description.replace("Refund part or all of an order", "Refund all of an order");',
    );
    const run = await cli("contract", "check", "--module", module, "--lock", LOCK, "--json");
    assert.equal(run.code, 1);
    const report = JSON.parse(run.stdout) as ContractReport;
    assert.deepEqual(
      report.changes.map((c) => [c.tool, c.path, c.kind]),
      [["issue_refund", "description", "behavioural"]],
    );
    assert.ok(report.changes[0]!.wordDiff?.includes("part"));
    assert.deepEqual(report.versionNotBumped, ["issue_refund"]);

    // Bumped, it passes: behavioural changes need review, not a failing build (unless --strict).
    const bumped = await modifiedDemo(
      "reworded-bumped",
      'copy.description = copy.description.replace("Refund part or all of an order", "Refund all of an order"); copy.version = "1.1.0";',
    );
    assert.equal((await cli("contract", "check", "--module", bumped, "--lock", LOCK)).code, 0);
    const strict = await cli("contract", "check", "--module", bumped, "--lock", LOCK, "--strict");
    assert.equal(strict.code, 1);
  });
});
