import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Logger } from "../log/logger.js";
import type { IdempotencyStore } from "./store.js";

/** The embedded default: one SQLite file next to the process, safe for several processes on one host. */
export const DEFAULT_STORE_PATH = path.join(".toolgate", "idempotency.sqlite");

export async function openDefaultStore(log: Logger): Promise<IdempotencyStore> {
  const { sqliteStore } = await import("../stores/sqlite-store.js");
  mkdirSync(path.dirname(DEFAULT_STORE_PATH), { recursive: true, mode: 0o700 });
  const store = sqliteStore({ path: DEFAULT_STORE_PATH });
  log.info({ path: DEFAULT_STORE_PATH }, "idempotency records in SQLite (the default store)");
  return store;
}
