#!/usr/bin/env node
// `npm run build`: compiles src/ to dist/ and makes the CLI executable. tsc writes files
// as 0644, and `npx toolgate` in a checkout runs dist/src/cli/main.js directly ("sh:
// toolgate: Permission denied" otherwise); npm makes bins executable only when it links
// them, which for the project itself may happen before `prepare` has built dist/.
import { spawnSync } from "node:child_process";
import { chmodSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const run = spawnSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], {
  cwd: root,
  stdio: "inherit",
});
if (run.status !== 0) process.exit(run.status ?? 1);

const { bin } = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
for (const file of Object.values(typeof bin === "string" ? { toolgate: bin } : bin)) {
  chmodSync(path.join(root, file), 0o755);
}
