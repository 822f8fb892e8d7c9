// Where a gateway keeps the files of its defaults when the options name none: the SQLite
// idempotency store and the SQLite audit log. With `dataDir` (which loadGatewayConfig sets
// to `.toolgate` beside the config file) they go there, so a config file started from any
// working directory writes next to itself; without it the library's defaults apply
// ($TOOLGATE_DATA_DIR, else `.toolgate` in the working directory).
import { mkdir } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import type { AuditOptions } from "../audit/options.js";
import { DEFAULT_AUDIT_FILE } from "../audit/options.js";
import { sqliteAuditSink } from "../audit/sinks/sqlite-sink.js";
import type { IdempotencyStore } from "../idempotency/store.js";
import type { Logger } from "../log/logger.js";
import { sqliteStore } from "../stores/sqlite-store.js";
import type { GatewayOptions } from "./options.js";

const DEFAULT_STORE_FILE = "idempotency.sqlite";

export interface DataDirDefaults {
  readonly store: IdempotencyStore | undefined;
  readonly audit: AuditOptions | false | undefined;
  /** The store opened here, which the gateway closes; undefined when the options gave one. */
  readonly ownStore: IdempotencyStore | undefined;
}

export async function dataDirDefaults(
  options: GatewayOptions,
  log: Logger,
): Promise<DataDirDefaults> {
  const { dataDir } = options;
  if (dataDir === undefined)
    return { store: options.store, audit: options.audit, ownStore: undefined };
  const needsStore = options.store === undefined;
  const needsSinks = options.audit !== false && options.audit?.sinks === undefined;
  if (!needsStore && !needsSinks)
    return { store: options.store, audit: options.audit, ownStore: undefined };
  await mkdir(dataDir, { recursive: true, mode: 0o700 });

  let ownStore: IdempotencyStore | undefined;
  if (needsStore) {
    const file = path.join(dataDir, DEFAULT_STORE_FILE);
    ownStore = sqliteStore({ path: file });
    log.info({ path: file }, "idempotency records in SQLite (the default store)");
  }
  let audit = options.audit;
  // Without better-sqlite3 the server's own default applies (the server log, with a warning).
  if (audit !== false && needsSinks && hasBetterSqlite()) {
    audit = {
      ...audit,
      sinks: [sqliteAuditSink({ path: path.join(dataDir, DEFAULT_AUDIT_FILE) })],
    };
  }
  return { store: options.store ?? ownStore, audit, ownStore };
}

function hasBetterSqlite(): boolean {
  try {
    createRequire(import.meta.url).resolve("better-sqlite3");
    return true;
  } catch {
    return false;
  }
}
