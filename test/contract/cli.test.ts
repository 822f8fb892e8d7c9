// `toolgate contract check`: the exit codes (clean, compatible only, behavioural with and
// without --strict, breaking, version not bumped), the human report, --json, and bad
// input (missing lock, malformed lock). Tools come from small generated modules.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, test } from "node:test";
import { elide } from "../../src/contract/report.js";
import type { ContractReport } from "../../src/contract/types.js";
import { REPO_ROOT } from "../helpers/process.js";
import { runCliCaptured, type CliRun as Run } from "../helpers/cli.js";

const cli = (...args: string[]) => runCliCaptured(args);

interface Variant {
  version?: string;
  description?: string;
  reasonMaxLength?: number;
  /** Adds an optional `note` argument (a compatible change). */
  optionalNote?: boolean;
  /** Leaves get_order out (a removed tool). */
  withoutGetOrder?: boolean;
  /** Adds an optional `note` to issue_refund's (closed) output. */
  outputNote?: boolean;
}

const BASE_DESCRIPTION = "Refund part or all of an order. Call it once per refund.";

let dir: string;
let lock: string;
let counter = 0;

/** Writes a module with two tools, changed as the variant says; returns its path. */
async function toolsModule(variant: Variant = {}): Promise<string> {
  const index = pathToFileURL(path.join(REPO_ROOT, "src", "index.ts")).href;
  const zod = import.meta.resolve("zod");
  const file = path.join(dir, `tools-${++counter}.ts`);
  await writeFile(
    file,
    `import { defineTool } from ${JSON.stringify(index)};
import * as z from ${JSON.stringify(zod)};
const issueRefund = defineTool({
  name: "issue_refund",
  version: ${JSON.stringify(variant.version ?? "1.0.0")},
  description: ${JSON.stringify(variant.description ?? BASE_DESCRIPTION)},
  input: z.object({
    order_id: z.string(),
    reason: z.string().min(1).max(${variant.reasonMaxLength ?? 500}),
    ${variant.optionalNote ? "note: z.string().optional()," : ""}
  }),
  output: z.object({
    refund_id: z.string(),
    ${variant.outputNote ? "note: z.string().optional()," : ""}
  }),
  scopes: ["refunds:write"],
  sideEffect: "write",
  idempotency: false,
  handler: () => "ok",
});
const getOrder = defineTool({
  name: "get_order",
  version: "1.0.0",
  description: "Look up one order by its ID.",
  input: z.object({ order_id: z.string() }),
  scopes: ["orders:read"],
  sideEffect: "read",
  handler: () => "ok",
});
export const tools = ${variant.withoutGetOrder ? "[issueRefund]" : "[issueRefund, getOrder]"};
`,
  );
  return file;
}

function check(module: string, ...flags: string[]): Promise<Run> {
  return cli("contract", "check", "--lock", lock, "--module", module, ...flags);
}

async function jsonReport(module: string, ...flags: string[]): Promise<ContractReport> {
  const run = await check(module, "--json", ...flags);
  assert.equal(run.stderr, "");
  const report = JSON.parse(run.stdout) as ContractReport;
  assert.deepEqual(Object.keys(report).sort(), ["changes", "versionNotBumped"]);
  return report;
}

function kinds(report: ContractReport): string[] {
  return [...new Set(report.changes.map((c) => c.kind))].sort();
}

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "toolgate-check-"));
  await writeFile(path.join(dir, "package.json"), '{ "type": "module" }\n');
  lock = path.join(dir, "toolgate.lock.json");
  const run = await cli("contract", "snapshot", "--module", await toolsModule(), "--out", lock);
  assert.equal(run.code, 0, run.stderr);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("toolgate contract check", () => {
  test("unchanged tools: exit 0", async () => {
    const run = await check(await toolsModule());
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.equal(run.stderr, "");
    assert.match(run.stdout, /No contract changes: 2 tools match the lock\./);
    const report = await jsonReport(await toolsModule());
    assert.deepEqual(report, { changes: [], versionNotBumped: [] });
  });

  test("compatible changes with a version bump: exit 0", async () => {
    const module = await toolsModule({ optionalNote: true, version: "1.1.0" });
    const report = await jsonReport(module);
    assert.deepEqual(kinds(report), ["compatible"], JSON.stringify(report));
    assert.ok(report.changes.some((c) => c.tool === "issue_refund" && c.path.startsWith("input")));
    assert.deepEqual(report.versionNotBumped, []);
    const run = await check(module);
    assert.equal(run.code, 0, run.stdout);
    assert.match(run.stdout, /^issue_refund \(1\.0\.0 -> 1\.1\.0\)$/m);
    assert.match(run.stdout, /^ {2}COMPATIBLE {3}input/m);
    assert.match(run.stdout, /^OK: compatible changes only\./m);
    assert.equal((await check(module, "--strict")).code, 0, "--strict does not mind them");
  });

  test("a changed description: behavioural, exit 0, and 1 with --strict", async () => {
    const module = await toolsModule({
      version: "1.1.0",
      description: "Refund all of an order. Call it once per refund.",
    });
    const report = await jsonReport(module);
    const described = report.changes.find((c) => c.path === "description");
    assert.ok(described, JSON.stringify(report));
    assert.equal(described.kind, "behavioural");
    assert.equal(described.tool, "issue_refund");
    assert.ok(described.wordDiff?.includes("part"), described.wordDiff);
    assert.ok(!report.changes.some((c) => c.kind === "breaking"));

    const run = await check(module);
    assert.equal(run.code, 0, run.stdout);
    assert.match(run.stdout, /^ {2}BEHAVIOURAL {2}description changed: /m);
    assert.ok(run.stdout.includes(described.wordDiff!), "the word diff is shown");
    assert.match(run.stdout, /re-run your evals/);
    assert.match(run.stdout, /^OK, with behavioural changes to review/m);

    const strict = await check(module, "--strict");
    assert.equal(strict.code, 1, strict.stdout);
    assert.match(strict.stdout, /^FAIL: .*behavioural changes \(--strict\)/m);
  });

  test("a tightened input (maxLength 500 -> 200): breaking, exit 1 even with a bump", async () => {
    const module = await toolsModule({ version: "2.0.0", reasonMaxLength: 200 });
    const report = await jsonReport(module);
    const breaking = report.changes.filter((c) => c.kind === "breaking");
    assert.equal(breaking.length, 1, JSON.stringify(report));
    assert.equal(breaking[0]!.tool, "issue_refund");
    assert.match(breaking[0]!.path, /^input\/.*reason/);
    assert.deepEqual(report.versionNotBumped, []);

    const run = await check(module);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /^ {2}BREAKING {5}input\/.*reason/m);
    assert.match(run.stdout, /^FAIL: 1 breaking change/m);
    assert.match(run.stdout, new RegExp(`contract snapshot --out ${lock.replaceAll(".", "\\.")}`));
  });

  test("a new field in a closed output: breaking; compatible only with --tolerant-reader", async () => {
    const module = await toolsModule({ version: "1.1.0", outputNote: true });
    const report = await jsonReport(module);
    assert.deepEqual(
      report.changes.map((c) => [c.kind, c.path]),
      [["breaking", "output/note"]],
    );
    assert.match(report.changes[0]!.message, /reject results carrying it/);
    assert.equal((await check(module)).code, 1);

    const tolerant = await jsonReport(module, "--tolerant-reader");
    assert.deepEqual(
      tolerant.changes.map((c) => [c.kind, c.path]),
      [["compatible", "output/note"]],
    );
    assert.match(tolerant.changes[0]!.message, /tolerantReader is on/);
    const run = await check(module, "--tolerant-reader");
    assert.equal(run.code, 0, run.stdout);
    assert.match(run.stdout, /^OK: compatible changes only\./m);
  });

  test("a removed tool is breaking", async () => {
    const report = await jsonReport(await toolsModule({ withoutGetOrder: true }));
    assert.ok(
      report.changes.some((c) => c.tool === "get_order" && c.kind === "breaking"),
      JSON.stringify(report),
    );
    assert.equal((await check(await toolsModule({ withoutGetOrder: true }))).code, 1);
  });

  test("a changed contract without a version bump: exit 1, 'bump its version'", async () => {
    const module = await toolsModule({ optionalNote: true });
    const report = await jsonReport(module);
    assert.deepEqual(report.versionNotBumped, ["issue_refund"]);
    assert.deepEqual(kinds(report), ["compatible"]);
    const run = await check(module);
    assert.equal(run.code, 1, run.stdout);
    assert.match(
      run.stdout,
      /^ {2}VERSION {6}the contract changed but the version is still 1\.0\.0: bump its version$/m,
    );
    assert.match(run.stdout, /^FAIL: bump the version of issue_refund\./m);
  });

  test("the human report groups changes by tool", async () => {
    const module = await toolsModule({
      version: "2.0.0",
      reasonMaxLength: 200,
      description: "Refund all of an order. Call it once per refund.",
      withoutGetOrder: true,
    });
    const run = await check(module);
    assert.equal(run.code, 1);
    const lines = run.stdout.split("\n");
    const refund = lines.indexOf("issue_refund (1.0.0 -> 2.0.0)");
    const removed = lines.indexOf("get_order (removed, was 1.0.0)");
    assert.ok(refund > 0 && removed > 0, run.stdout);
    // Every change line sits under its tool's heading.
    const refundBlock = lines.slice(refund + 1, lines.indexOf("", refund));
    assert.ok(refundBlock.some((l) => /BREAKING/.test(l)));
    assert.ok(refundBlock.some((l) => /BEHAVIOURAL/.test(l)));
    assert.match(
      run.stdout,
      /^\d+ changes in 2 tools: 2 breaking, 1 behavioural, \d+ compatible\.$/m,
    );
  });
});

describe("bad input", () => {
  test("a missing lock says how to create it (exit 1)", async () => {
    const missing = path.join(dir, "nope.lock.json");
    const module = await toolsModule();
    const run = await cli("contract", "check", "--lock", missing, "--module", module);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, "");
    assert.equal(
      run.stderr,
      `toolgate contract: no lock file at ${missing}: run toolgate contract snapshot --out ${missing} --module ${module} to create it\n`,
    );
  });

  test("a malformed lock is one line naming the file (exit 1)", async () => {
    const bad = path.join(dir, "bad.lock.json");
    for (const [text, message] of [
      ["{", /is not valid JSON/],
      ['{"lockfileVersion":1,"tools":[]}', /tools must be an object/],
    ] as const) {
      await writeFile(bad, text);
      const run = await cli("contract", "check", "--lock", bad, "--module", await toolsModule());
      assert.equal(run.code, 1);
      assert.equal(run.stdout, "");
      assert.match(run.stderr, message);
      assert.ok(run.stderr.includes(bad));
      assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
    }
  });

  test("a bad flag is a usage error (exit 2)", async () => {
    const run = await cli("contract", "check", "--module", "x.ts", "--bogus");
    assert.equal(run.code, 2);
    assert.match(run.stderr, /Unknown option '--bogus'/);
  });
});

describe("word diffs in the report", () => {
  test("a long text is cut to its edits with a few words around each", () => {
    const words = Array.from({ length: 60 }, (_, i) => `w${i}`);
    const diff = [...words.slice(0, 30), "[-old-]", "{+new+}", ...words.slice(30)].join(" ");
    assert.equal(
      elide(diff),
      "... w22 w23 w24 w25 w26 w27 w28 w29 [-old-] {+new+} w30 w31 w32 w33 w34 w35 w36 w37 ...",
    );
    assert.equal(
      elide("Refund [-part-] {+all+} of an order"),
      "Refund [-part-] {+all+} of an order",
    );
  });
});
