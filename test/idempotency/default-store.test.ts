// Without a `store` option, write tools use SQLite at .toolgate/idempotency.sqlite under the
// working directory, creating the folder: the embedded default needs no setup.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";

const fixture = fileURLToPath(new URL("./fixtures/default-store-server.ts", import.meta.url));
const cwd = mkdtempSync(path.join(tmpdir(), "toolgate-default-store-"));
after(() => rmSync(cwd, { recursive: true, force: true }));

test("the default store is a SQLite file under .toolgate/, created on first write call", async () => {
  // tsx resolved from this repo: the child runs in a bare temporary folder.
  const tsx = import.meta.resolve("tsx");
  // Without TOOLGATE_DATA_DIR (the test runner sets one), defaults live in ./.toolgate.
  const env = { ...process.env };
  delete env["TOOLGATE_DATA_DIR"];
  const { stdout } = await promisify(execFile)(process.execPath, ["--import", tsx, fixture], {
    cwd,
    env,
  });
  const out = JSON.parse(stdout.trim()) as Record<string, unknown>;
  assert.deepEqual(out["first"], { runs: 1 });
  assert.deepEqual(out["again"], { runs: 1 }, "the repeat replays instead of running again");
  assert.deepEqual(out["replay"], { "toolgate/idempotent-replay": true });
  assert.ok(existsSync(path.join(cwd, ".toolgate", "idempotency.sqlite")));
  assert.ok(
    existsSync(path.join(cwd, ".toolgate", "audit.sqlite")),
    "the default audit log sits beside it",
  );
});
