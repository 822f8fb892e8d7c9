// Which better-sqlite3 major may load on which Node (src/stores/better-sqlite-version.ts):
// 12 aborts on Node 24.19+, 13 crashes on Node 20; a mismatch is refused with the fix.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  betterSqliteInstall,
  betterSqliteMismatch,
  checkBetterSqliteVersion,
} from "../../src/stores/better-sqlite-version.js";

test("12 runs on Node 20, 22 and 24 before 24.19; 13 on 22 and 24", () => {
  for (const [node, betterSqlite3] of [
    ["20.18.1", "12.9.0"],
    ["20.20.2", "12.11.1"],
    ["22.23.3", "12.11.1"],
    ["24.18.0", "12.11.1"],
    ["22.12.0", "13.2.0"],
    ["24.21.0", "13.2.0"],
  ] as const) {
    assert.equal(
      betterSqliteMismatch({ node, betterSqlite3 }),
      undefined,
      `${betterSqlite3} on ${node}`,
    );
  }
});

test("12 on Node 24.19 and later is refused with the command that installs 13", () => {
  for (const node of ["24.19.0", "24.21.0", "25.1.0"]) {
    const why = betterSqliteMismatch({ node, betterSqlite3: "12.11.1" });
    assert.match(why ?? "", /aborts the process on Node/);
    assert.match(why ?? "", /npm install better-sqlite3@13$/);
  }
});

test("13 on Node 20 is refused with the command that installs 12", () => {
  const why = betterSqliteMismatch({ node: "20.20.2", betterSqlite3: "13.2.0" });
  assert.match(why ?? "", /needs Node 22 or later .*npm install better-sqlite3@12$/);
});

test("the install hint names the major for the running Node", () => {
  assert.equal(betterSqliteInstall("20.20.2"), "npm install better-sqlite3@12");
  assert.equal(betterSqliteInstall("24.21.0"), "npm install better-sqlite3@13");
});

test("the installed pair in this process is one that runs", () => {
  // The test suite itself runs on SQLite: a refused pair here would mean CI tests a crash.
  assert.doesNotThrow(() => checkBetterSqliteVersion());
});
