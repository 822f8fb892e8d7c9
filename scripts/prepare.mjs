#!/usr/bin/env node
// `prepare`: npm runs it after `npm ci` / `npm install` in this checkout, for git installs,
// `npm link` and `npm pack`. It builds dist/ (so `npx toolgate` works in a fresh clone) and
// makes the checkout's SQLite driver one that runs on this Node: the lockfile holds
// better-sqlite3 12 because 13 crashes on Node 20, but 12 aborts the process on Node 24.19
// and later (nodejs/node#65446), so there it installs 13 in its place (`--no-save`: the
// lockfile and package.json stay as they are). Users of the published package pick the
// major themselves (the peer range admits 12 and 13; the loader refuses a mismatch).
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

function npm(args) {
  const execPath = process.env.npm_execpath;
  const [cmd, argv] = execPath ? [process.execPath, [execPath, ...args]] : ["npm", args];
  return spawnSync(cmd, argv, { cwd: root, stdio: "inherit" });
}

const build = npm(["run", "build"]);
if (build.status !== 0) process.exit(build.status ?? 1);

let installed;
try {
  installed = createRequire(path.join(root, "package.json"))("better-sqlite3/package.json").version;
} catch {
  process.exit(0); // not installed (e.g. --omit=dev): nothing to match
}
const versions = path.join(root, "dist", "src", "stores", "better-sqlite-version.js");
const { betterSqliteMismatch, betterSqliteMajorFor } = await import(pathToFileURL(versions).href);
const node = process.versions.node;
if (!betterSqliteMismatch({ node, betterSqlite3: installed })) process.exit(0);

const wanted = `better-sqlite3@${betterSqliteMajorFor(node)}`;
console.error(
  `prepare: better-sqlite3 ${installed} does not run on Node ${node}; installing ${wanted} (--no-save)`,
);
const swap = npm(["install", "--no-save", "--no-audit", "--no-fund", wanted]);
if (swap.status !== 0) {
  // The install itself succeeded; what fails is the demo and the SQLite store, which then
  // refuse to load the driver with this same command.
  console.error(
    `prepare: could not install ${wanted} (exit ${swap.status}); run \`npm install --no-save ${wanted}\``,
  );
}
