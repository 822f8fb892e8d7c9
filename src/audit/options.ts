import { createRequire } from "node:module";
import { betterSqliteInstall } from "../stores/better-sqlite-version.js";
import type { Logger } from "../log/logger.js";
import { dataFile } from "../util/data-dir.js";
import { loggerAuditSink } from "./log-sink.js";
import type { AuditSink } from "./sink.js";
import { sqliteAuditSink } from "./sinks/sqlite-sink.js";

export interface AuditOptions {
  /**
   * Where events go. Default: SQLite at `.toolgate/audit.sqlite` (or in
   * `$TOOLGATE_DATA_DIR`), next to the default idempotency store.
   */
  sinks?: readonly AuditSink[];
  /**
   * Refuse write tools with `unavailable` (retryable) while any sink is failing or full,
   * so no change happens that the log could miss. Reads keep working. Default false.
   */
  failClosed?: boolean;
  /** Events buffered per sink while it is down; more are dropped and counted. Default 10 000. */
  maxBuffered?: number;
  /** Largest batch per sink write. Default 64. */
  batchSize?: number;
  /** Longest wait before a batch is written. Default 100 ms. */
  flushIntervalMs?: number;
  /** Argument keys masked in every tool's audit (besides `sensitive: true` fields and the defaults). */
  redactKeys?: readonly (string | RegExp)[];
  /**
   * Mask e-mail addresses found in argument strings. Default false: an address names who a
   * call was about (what an audit is read for) and is not a credential.
   */
  redactEmails?: boolean;
}

export const DEFAULT_AUDIT_FILE = "audit.sqlite";

export function checkAuditOptions(options: AuditOptions | false | undefined): void {
  if (options === undefined || options === false) return;
  if (typeof options !== "object" || options === null)
    throw new TypeError("audit must be an options object or false.");
  if (options.sinks !== undefined) {
    if (!Array.isArray(options.sinks))
      throw new TypeError("audit.sinks must be an array of sinks.");
    for (const [i, sink] of options.sinks.entries()) {
      const s = sink as Partial<AuditSink> | null;
      if (
        typeof s?.write !== "function" ||
        typeof s.close !== "function" ||
        typeof s.name !== "string"
      )
        throw new TypeError(`audit.sinks[${i}] is not an audit sink ({ name, write, close }).`);
    }
  }
  if (options.failClosed !== undefined && typeof options.failClosed !== "boolean")
    throw new TypeError("audit.failClosed must be a boolean.");
  if (options.redactKeys !== undefined && !Array.isArray(options.redactKeys))
    throw new TypeError("audit.redactKeys must be an array of strings or regular expressions.");
  if (options.redactEmails !== undefined && typeof options.redactEmails !== "boolean")
    throw new TypeError("audit.redactEmails must be a boolean.");
}

/** The embedded default: SQLite next to the idempotency store, or the server log without better-sqlite3. */
export function defaultAuditSinks(log: Logger): AuditSink[] {
  try {
    createRequire(import.meta.url).resolve("better-sqlite3");
  } catch {
    log.warn(
      `better-sqlite3 is not installed: audit events go to the server log (${betterSqliteInstall()} for the SQLite audit log)`,
    );
    return [loggerAuditSink(log)];
  }
  return [sqliteAuditSink({ path: dataFile(DEFAULT_AUDIT_FILE) })];
}
