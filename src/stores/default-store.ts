// The embedded default store, and who holds it. It lives in stores/ beside the SQLite store
// it opens: stores/ implements the Store interfaces that idempotency/ and ratelimit/ declare
// (the architecture page's layout), so the dependency runs stores -> idempotency/ratelimit
// and never back. The stages reach this file only through the layer above them (stages/),
// which hands each stage a lease on it.
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { StoreLease } from "../idempotency/store.js";
import type { Logger } from "../log/logger.js";
import { dataFile } from "../util/data-dir.js";
import type { ToolgateStore } from "./store-types.js";

/**
 * The embedded default: one SQLite file next to the process, safe for several processes on
 * one host. In `$TOOLGATE_DATA_DIR` instead of `.toolgate` when that is set.
 */
export const DEFAULT_STORE_PATH = path.join(".toolgate", "idempotency.sqlite");

const defaultFile = () => path.resolve(dataFile(path.basename(DEFAULT_STORE_PATH)));

async function openDefaultStore(file: string, log: Logger): Promise<ToolgateStore> {
  // Loaded on first use: a server whose tools never write pays nothing for SQLite.
  const { sqliteStore } = await import("./sqlite-store.js");
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const store = sqliteStore({ path: file });
  log.info({ path: file }, "idempotency records in SQLite (the default store)");
  return store;
}

interface Shared {
  readonly opening: Promise<ToolgateStore>;
  holders: number;
}

/** Per file: the one open handle of this process, and how many leases hold it. */
const shared = new Map<string, Shared>();

/**
 * A lease on the default store, for a stage built without a store (`defaultStages()`,
 * `idempotency()`, `rateLimit()`). Its first `open` takes a hold on the process's one
 * handle on the file (opening it if nobody holds it), so stages built twice share one
 * handle; `release` gives the hold back, and the last holder to release closes the store.
 * A lease released and then opened again takes a new hold (reopening the file if needed).
 */
export function leaseDefaultStore(): StoreLease<ToolgateStore> {
  let held: { readonly file: string; readonly entry: Shared } | undefined;
  return {
    open(log) {
      if (held) return held.entry.opening;
      const file = defaultFile();
      let entry = shared.get(file);
      if (!entry) {
        entry = { opening: openDefaultStore(file, log), holders: 0 };
        shared.set(file, entry);
      }
      entry.holders += 1;
      const mine = { file, entry };
      held = mine;
      entry.opening.catch(() => {
        // A store that failed to open is forgotten, so the next open tries again.
        if (shared.get(file) === mine.entry) shared.delete(file);
        if (held === mine) held = undefined;
      });
      return entry.opening;
    },
    async release() {
      const mine = held;
      if (!mine) return;
      held = undefined;
      mine.entry.holders -= 1;
      if (mine.entry.holders > 0) return;
      if (shared.get(mine.file) === mine.entry) shared.delete(mine.file);
      const store = await mine.entry.opening.catch(() => undefined);
      await store?.close();
    },
  };
}
