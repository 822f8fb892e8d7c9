// Which better-sqlite3 major runs on which Node: 12 (a V8-API addon) aborts the process on
// Node 24.19 and later (`Assertion failed: (env) != nullptr` in Statement::~Statement, when a
// statement is garbage-collected; nodejs/node#65446), and 13 (Node-API) needs Node 22 (it
// segfaults on Node 20). Both failures kill the process long after it started, so the
// version is checked when the module is loaded and a mismatch is refused with the install
// command that fixes it. The peer range (`^12.9.0 || ^13.2.0`) admits both.
import { createRequire } from "node:module";

export interface VersionPair {
  /** process.versions.node, e.g. "24.21.0". */
  readonly node: string;
  /** better-sqlite3's package version, e.g. "12.11.1". */
  readonly betterSqlite3: string;
}

/** The better-sqlite3 major that runs on this Node: 12 on Node 20, 13 on Node 22 and later. */
export function betterSqliteMajorFor(node: string): 12 | 13 {
  return Number(node.split(".")[0]) >= 22 ? 13 : 12;
}

/** `npm install better-sqlite3@N`, N the major that runs on this Node. */
export function betterSqliteInstall(node = process.versions.node): string {
  return `npm install better-sqlite3@${betterSqliteMajorFor(node)}`;
}

/** Why this pair would crash, with the fix; undefined when it runs. */
export function betterSqliteMismatch(pair: VersionPair): string | undefined {
  const [nodeMajor = 0, nodeMinor = 0] = pair.node.split(".").map(Number);
  const major = Number(pair.betterSqlite3.split(".")[0]);
  const fix = betterSqliteInstall(pair.node);
  if (major < 13 && (nodeMajor > 24 || (nodeMajor === 24 && nodeMinor >= 19))) {
    return (
      `better-sqlite3 ${pair.betterSqlite3} aborts the process on Node ${pair.node} ` +
      `(Node 24.19 and later, nodejs/node#65446); ${fix}`
    );
  }
  if (major >= 13 && nodeMajor < 22) {
    return `better-sqlite3 ${pair.betterSqlite3} needs Node 22 or later (it crashes on Node ${pair.node}); ${fix}`;
  }
  return undefined;
}

/** Throws when the installed better-sqlite3 would crash on this Node (see above). */
export function checkBetterSqliteVersion(): void {
  let version: unknown;
  try {
    version = (
      createRequire(import.meta.url)("better-sqlite3/package.json") as { version?: unknown }
    ).version;
  } catch {
    return; // not installed: the loader says how to install it
  }
  if (typeof version !== "string") return;
  const mismatch = betterSqliteMismatch({ node: process.versions.node, betterSqlite3: version });
  if (mismatch) throw new Error(mismatch);
}
