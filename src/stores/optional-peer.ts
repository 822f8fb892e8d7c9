// Drivers are optional peer dependencies, loaded on first use so toolgate installs without them.
import { betterSqliteInstall, checkBetterSqliteVersion } from "./better-sqlite-version.js";

/**
 * Loads an optional peer dependency. `load` is a literal `() => import("name")` so
 * bundlers still see the specifier.
 */
export async function importPeer<T>(
  name: string,
  /** Who needs it, as the error message names it: "the redis idempotency store", "the audit log". */
  user: string,
  load: () => Promise<T>,
): Promise<T> {
  if (name === "better-sqlite3") checkBetterSqliteVersion();
  try {
    return await load();
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") {
      // better-sqlite3's newest major crashes on Node 20: name the one that runs here.
      const install = name === "better-sqlite3" ? betterSqliteInstall() : `npm install ${name}`;
      throw new Error(`${user} needs the optional peer dependency "${name}": ${install}`, {
        cause: err,
      });
    }
    throw err;
  }
}
