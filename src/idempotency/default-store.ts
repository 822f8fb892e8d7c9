import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Logger } from "../log/logger.js";
import { dataFile } from "../util/data-dir.js";
import type { IdempotencyStore } from "./store.js";

/**
 * The embedded default: one SQLite file next to the process, safe for several processes on
 * one host. In `$TOOLGATE_DATA_DIR` instead of `.toolgate` when that is set.
 */
export const DEFAULT_STORE_PATH = path.join(".toolgate", "idempotency.sqlite");

export async function openDefaultStore(log: Logger): Promise<IdempotencyStore> {
  const { sqliteStore } = await import("../stores/sqlite-store.js");
  const file = dataFile(path.basename(DEFAULT_STORE_PATH));
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const store = sqliteStore({ path: file });
  log.info({ path: file }, "idempotency records in SQLite (the default store)");
  return store;
}
