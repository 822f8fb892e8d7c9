// The embedded audit log: one SQLite file (default .toolgate/audit.sqlite), shared by
// several processes on one host the same way as the SQLite idempotency store: WAL journal,
// busy_timeout, and every batch one IMMEDIATE transaction.
// https://www.sqlite.org/wal.html  https://www.sqlite.org/lang_upsert.html
import { mkdir, open, stat } from "node:fs/promises";
import path from "node:path";
import type BetterSqlite3 from "better-sqlite3";
import type { AuditEvent } from "../event.js";
import type { AuditQuery, AuditRow, AuditSink } from "../sink.js";
import {
  INSERT_COLUMNS,
  META_VERSION_KEY,
  AUDIT_SCHEMA_VERSION,
  auditSchema,
  checkSchemaVersion,
  checkTable,
  latestSeqStatement,
  selectStatement,
  tailStatement,
  toColumns,
  toRow,
  toTailRow,
  type AuditColumns,
  type AuditTailQuery,
  type AuditTailRow,
  type SqlAuditReader,
} from "./sql-schema.js";
import { importPeer } from "../../stores/optional-peer.js";
import { setWritePragmas } from "../../stores/sqlite-pragmas.js";

export interface SqliteAuditSinkOptions {
  /** The log file (created on the first write, with its folder). */
  readonly path: string;
  /** How long a write waits for another process's lock before failing. Default 5000. */
  readonly busyTimeoutMs?: number;
  /** Table name (lower-case letters, digits, `_`). Default "toolgate_audit". */
  readonly table?: string;
}

export interface SqliteAuditReaderOptions {
  readonly path: string;
  readonly table?: string;
  readonly busyTimeoutMs?: number;
}

interface Row {
  seq: number;
  event: string | null;
}

function checkOptions(who: string, options: { path: string; busyTimeoutMs?: number }): void {
  if (typeof options?.path !== "string" || options.path === "") {
    throw new TypeError(`${who}: \`path\` must be a non-empty file path`);
  }
  const busy = options.busyTimeoutMs;
  if (busy !== undefined && !(Number.isSafeInteger(busy) && busy >= 0)) {
    throw new TypeError(`${who}: \`busyTimeoutMs\` must be an integer >= 0`);
  }
}

async function loadDatabase() {
  const { default: Database } = await importPeer(
    "better-sqlite3",
    "the audit log",
    () => import("better-sqlite3"),
  );
  return Database;
}

/** Rows per write transaction (~0.5 ms of the event loop): the auditor's default batch. */
const ROWS_PER_TRANSACTION = 64;

export function sqliteAuditSink(options: SqliteAuditSinkOptions): AuditSink {
  const who = "sqliteAuditSink";
  checkOptions(who, options);
  const table = checkTable(who, options.table);
  let db: BetterSqlite3.Database | undefined;
  let ready: Promise<(rows: AuditColumns[]) => void> | undefined;
  let closed = false;

  // Nothing touches the disk until the first write, so building a sink is free and a
  // misconfigured path surfaces as a rejected (and later retried) write.
  async function openLog(): Promise<(rows: AuditColumns[]) => void> {
    const file = options.path;
    if (file !== ":memory:") {
      // The log holds who called what with which arguments: keep it private to the user.
      await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
      // Created 0600 if missing; SQLite gives its -wal and -shm files the same mode.
      await (await open(file, "a", 0o600)).close();
    }
    const Database = await loadDatabase();
    const conn = new Database(file);
    try {
      setWritePragmas(conn, options.busyTimeoutMs);
      conn.transaction(() => migrate(conn, table)).immediate();
      const insert = conn.prepare<[AuditColumns]>(
        `INSERT INTO "${table}" (${INSERT_COLUMNS}) VALUES (@request_id, @time_ms, @subject, ` +
          `@issuer, @tenant, @tool, @outcome, @latency_ms, @event) ` +
          `ON CONFLICT (request_id) DO NOTHING`,
      );
      const batch = conn.transaction((rows: AuditColumns[]) => {
        for (const row of rows) insert.run(row);
      });
      db = conn;
      return (rows) => batch.immediate(rows);
    } catch (err) {
      conn.close();
      throw err;
    }
  }

  return {
    name: "sqlite",
    async write(events: readonly AuditEvent[]): Promise<void> {
      if (closed) throw new Error("the sqlite audit sink is closed");
      const rows = events.map((event) => toColumns(who, event));
      if (rows.length === 0) return;
      ready ??= openLog().catch((err: unknown) => {
        ready = undefined; // the next write tries again
        throw sinkError(options.path, err);
      });
      const insert = await ready;
      // better-sqlite3 is synchronous: a large batch in one transaction would hold the
      // event loop for milliseconds, the p99 of every call in flight. Larger batches are
      // written in short transactions with a turn of the loop between them. A batch that fails
      // half-way is retried whole; rows already written are skipped (ON CONFLICT DO NOTHING).
      for (let start = 0; start < rows.length; start += ROWS_PER_TRANSACTION) {
        if (start > 0) await new Promise<void>((resolve) => setImmediate(resolve));
        try {
          insert(rows.slice(start, start + ROWS_PER_TRANSACTION));
        } catch (err) {
          throw sinkError(options.path, err);
        }
      }
    },
    async close(): Promise<void> {
      closed = true;
      await ready?.catch(() => undefined);
      if (db?.open) db.close();
    },
  };
}

function sinkError(file: string, err: unknown): Error {
  const message = err instanceof Error ? err.message : String(err);
  return new Error(`sqlite audit sink (${file}): ${message}`, { cause: err });
}

function migrate(db: BetterSqlite3.Database, table: string): void {
  db.exec(auditSchema("sqlite", table));
  const key = META_VERSION_KEY(table);
  db.prepare(
    "INSERT INTO toolgate_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
  ).run(key, String(AUDIT_SCHEMA_VERSION));
  const row = db
    .prepare<[string], { value: string }>("SELECT value FROM toolgate_meta WHERE key = ?")
    .get(key);
  checkSchemaVersion(table, row?.value);
}

/** Reads a SQLite audit log; opens it read-only, so it never creates or changes the file. */
export function sqliteAuditReader(options: SqliteAuditReaderOptions): SqlAuditReader {
  const who = "sqliteAuditReader";
  checkOptions(who, options);
  const table = checkTable(who, options.table);
  let ready: Promise<BetterSqlite3.Database> | undefined;

  async function openLog(): Promise<BetterSqlite3.Database> {
    const file = options.path;
    const found = await stat(file).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT")
        throw new Error(`no audit log at ${file}: the file does not exist`);
      throw new Error(`no audit log at ${file}: ${err.message}`, { cause: err });
    });
    if (!found.isFile()) throw new Error(`no audit log at ${file}: not a file`);
    const Database = await loadDatabase();
    let conn: BetterSqlite3.Database;
    try {
      conn = new Database(file, { readonly: true, fileMustExist: true });
    } catch (err) {
      throw new Error(`no audit log at ${file}: ${(err as Error).message}`, { cause: err });
    }
    conn.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
    const exists = conn
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?")
      .get(table);
    if (!exists) {
      conn.close();
      throw new Error(`no audit log at ${file}: it has no table ${table}`);
    }
    return conn;
  }

  async function all(statement: { text: string; values: unknown[] }): Promise<Row[]> {
    ready ??= openLog().catch((err: unknown) => {
      ready = undefined;
      throw err;
    });
    const conn = await ready;
    try {
      return conn.prepare<unknown[], Row>(statement.text).all(...statement.values);
    } catch (err) {
      throw new Error(`audit log ${options.path}: ${(err as Error).message}`, { cause: err });
    }
  }

  return {
    async query(query: AuditQuery): Promise<AuditRow[]> {
      const rows = await all(selectStatement(who, "sqlite", table, query));
      return rows.map(toRow);
    },
    async tail(query: AuditTailQuery): Promise<AuditTailRow[]> {
      const rows = await all(tailStatement(who, "sqlite", table, query));
      return rows.map(toTailRow);
    },
    async latestSeq(): Promise<number> {
      const [row] = await all({ text: latestSeqStatement(table), values: [] });
      return Number(row?.seq ?? 0);
    },
    async close(): Promise<void> {
      const conn = await ready?.catch(() => undefined);
      ready = undefined;
      if (conn?.open) conn.close();
    },
  };
}
