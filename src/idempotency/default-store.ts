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

/** How often expired records are removed from a store a server or stage opened itself. */
export const SWEEP_INTERVAL_MS = 10 * 60_000;

export async function openDefaultStore(log: Logger): Promise<IdempotencyStore> {
  const { sqliteStore } = await import("../stores/sqlite-store.js");
  const file = dataFile(path.basename(DEFAULT_STORE_PATH));
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const store = sqliteStore({ path: file });
  log.info({ path: file }, "idempotency records in SQLite (the default store)");
  return store;
}

const shared = new Map<string, Promise<IdempotencyStore>>();

/**
 * The default store of stages built without one (`defaultStages()`, `idempotency()`,
 * `rateLimit()`): opened on first use, one per file per process, so that stages built
 * twice (`[...defaultStages().slice(0, 3), mine, ...defaultStages().slice(3)]`) share one
 * handle. It lives as long as the process (no server owns it, so none closes it); the
 * servers running those stages sweep it.
 */
export function sharedDefaultStore(log: Logger): Promise<IdempotencyStore> {
  const file = path.resolve(dataFile(path.basename(DEFAULT_STORE_PATH)));
  let opening = shared.get(file);
  if (!opening) {
    opening = openDefaultStore(log).catch((error: unknown) => {
      shared.delete(file); // tried again on the next call
      throw error;
    });
    shared.set(file, opening);
  }
  return opening;
}
