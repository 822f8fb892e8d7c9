// The embedded default store: one SQLite file, shared safely by several processes on one
// host (WAL journal + busy_timeout; writes are IMMEDIATE transactions). Rate-limit
// buckets live in a second table of the same file.
//
// Group commit: the writes (claim, complete, release, consume) asked for in one turn of
// the event loop are committed together, one IMMEDIATE transaction, at the end of that
// turn. Every commit appends each page it changed to the WAL;
// under load most of a write call's cost was that per-commit work, and calls arriving
// together now share it. Each write still commits before its promise resolves (results
// are persisted before a call returns), and one failing write undoes only its own
// statement. A write waits at most one turn of the loop.
// https://www.sqlite.org/wal.html  https://www.sqlite.org/lang_upsert.html
import type BetterSqlite3 from "better-sqlite3";
import {
  StoreUnavailable,
  type ClaimInput,
  type ClaimOutcome,
  type CompleteInput,
  type IdempotencyRecord,
} from "../idempotency/store.js";
import type { RateLimitInput, RateLimitOutcome } from "../ratelimit/store.js";
import { gcraExpiresAt, gcraFirst, gcraOutcome, gcraStep } from "./gcra.js";
import { importPeer } from "./optional-peer.js";
import { RECORD_COLUMNS, TAKEOVERS_ON_CLAIM, toRecord, type RecordRow } from "./sql-record.js";
import { rateLimitUpsert, type RateLimitRow } from "./sql-rate-limit.js";
import { setWritePragmas } from "./sqlite-pragmas.js";
import {
  checkClaim,
  checkComplete,
  checkNow,
  checkRateLimit,
  checkRelease,
  checkScope,
} from "./store-input.js";
import type { ToolgateStore } from "./store-types.js";

export type SqliteStoreOptions =
  | {
      /** The database file (created if missing). Every process sharing keys opens the same file. */
      readonly path: string;
      /** How long a statement waits for another process's lock before failing. Default 5000. */
      readonly busyTimeoutMs?: number;
    }
  | {
      /** An open better-sqlite3 connection. Its pragmas are left as they are; close() keeps it open. */
      readonly database: SqliteDatabase;
    };

/**
 * An open better-sqlite3 `Database`, described by the members the store checks rather than
 * as `BetterSqlite3.Database`: better-sqlite3 is an optional peer, and naming its type here
 * made the published declarations fail to compile (TS2307) for every user without it.
 */
export interface SqliteDatabase {
  prepare(source: string): unknown;
  transaction(fn: (...args: never[]) => unknown): unknown;
  readonly open: boolean;
}

export const SQLITE_SCHEMA_VERSION = 1;
const TABLE = "toolgate_idempotency";
/** Added next to the idempotency table (CREATE IF NOT EXISTS: no schema version change). */
const RATE_TABLE = "toolgate_rate_limits";
const SCHEMA = `
CREATE TABLE IF NOT EXISTS toolgate_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ${TABLE} (
  scope TEXT PRIMARY KEY,
  state TEXT NOT NULL CHECK (state IN ('in_progress', 'completed')),
  fingerprint TEXT NOT NULL,
  owner_token TEXT NOT NULL,
  lease_expires_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  result TEXT,
  created_at INTEGER NOT NULL,
  completed_at INTEGER,
  takeovers INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS ${TABLE}_expires_at ON ${TABLE} (expires_at);
CREATE TABLE IF NOT EXISTS ${RATE_TABLE} (
  key TEXT PRIMARY KEY,
  tat INTEGER NOT NULL,
  tat_rem INTEGER NOT NULL DEFAULT 0,
  expires_at INTEGER NOT NULL
);`;
// No index on expires_at: every call rewrites its bucket's expires_at, and an index would
// be one more B-tree write per call to speed up a sweep that runs every few minutes.

// A missing, expired or lease-ended same-fingerprint row is claimed; anything else is
// left untouched and RETURNING yields no row.
const CLAIM = `
INSERT INTO ${TABLE} (scope, state, fingerprint, owner_token, lease_expires_at, expires_at, created_at)
VALUES (@scope, 'in_progress', @fingerprint, @ownerToken, @leaseExpiresAt, @expiresAt, @now)
ON CONFLICT (scope) DO UPDATE SET
  state = 'in_progress', fingerprint = excluded.fingerprint, owner_token = excluded.owner_token,
  lease_expires_at = excluded.lease_expires_at, expires_at = excluded.expires_at, result = NULL,
  created_at = excluded.created_at, completed_at = NULL,
  takeovers = ${TAKEOVERS_ON_CLAIM(TABLE, "@now")}
WHERE ${TABLE}.expires_at <= @now
   OR (${TABLE}.state = 'in_progress' AND ${TABLE}.lease_expires_at <= @now
       AND ${TABLE}.fingerprint = @fingerprint)
RETURNING takeovers`;

const SELECT = `SELECT ${RECORD_COLUMNS} FROM ${TABLE} WHERE scope = ? AND expires_at > ?`;
const COMPLETE = `
UPDATE ${TABLE} SET state = 'completed', result = @result, completed_at = @now, expires_at = @expiresAt
WHERE scope = @scope AND owner_token = @ownerToken AND state = 'in_progress' AND expires_at > @now`;
const RELEASE = `DELETE FROM ${TABLE} WHERE scope = ? AND owner_token = ? AND state = 'in_progress'`;
const SWEEP = `DELETE FROM ${TABLE} WHERE expires_at <= ?`;
// Bound JS numbers are REAL in SQLite: cast, so `/` divides integers.
const int = (param: string) => `CAST(${param} AS INTEGER)`;
const CONSUME = rateLimitUpsert(RATE_TABLE, {
  key: "@key",
  now: int("@now"),
  limit: int("@limit"),
  windowMs: int("@windowMs"),
  tat: int("@tat"),
  rem: int("@rem"),
  expiresAt: int("@expiresAt"),
});
const SELECT_BUCKET = `SELECT tat, tat_rem FROM ${RATE_TABLE} WHERE key = ?`;
const SWEEP_BUCKETS = `DELETE FROM ${RATE_TABLE} WHERE expires_at <= ?`;

interface Prepared {
  /** Only inside `group` (its transaction). */
  claim(input: ClaimInput): ClaimOutcome;
  consume(input: RateLimitInput): RateLimitOutcome;
  select: BetterSqlite3.Statement<[string, number], RecordRow>;
  complete: BetterSqlite3.Statement<[Record<string, string | number>]>;
  release: BetterSqlite3.Statement<[string, string]>;
  sweep(now: number): number;
  /** Runs the writes in one IMMEDIATE transaction; each settles with its own outcome. */
  group(writes: QueuedWrite[]): void;
}

interface QueuedWrite {
  readonly op: (p: Prepared) => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  outcome?: { ok: true; value: unknown } | { ok: false; error: unknown };
}

// Lock contention and I/O failures: the layer fails closed (`unavailable`, retryable).
const UNAVAILABLE_CODES =
  /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|READONLY|PROTOCOL|NOLFS|CORRUPT|NOTADB|PERM|AUTH)/;

function mapError(err: unknown): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === "string" && UNAVAILABLE_CODES.test(code)) {
    return new StoreUnavailable(`sqlite idempotency store: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return err;
}

export function sqliteStore(options: SqliteStoreOptions): ToolgateStore {
  if ("database" in options) {
    if (typeof options.database?.prepare !== "function") {
      throw new TypeError("sqliteStore: `database` must be an open better-sqlite3 Database");
    }
  } else {
    if (typeof options.path !== "string" || options.path === "") {
      throw new TypeError("sqliteStore: `path` must be a non-empty file path");
    }
    const busy = options.busyTimeoutMs;
    if (busy !== undefined && !(Number.isSafeInteger(busy) && busy >= 0)) {
      throw new TypeError("sqliteStore: `busyTimeoutMs` must be an integer >= 0");
    }
  }
  const ownsDatabase = !("database" in options);
  let db: BetterSqlite3.Database | undefined;
  let ready: Promise<Prepared> | undefined;
  let closed = false;

  async function open(): Promise<Prepared> {
    db =
      "database" in options
        ? (options.database as BetterSqlite3.Database)
        : await openFile(options.path, options);
    const conn = db;
    conn.transaction(() => migrate(conn)).immediate();
    const claim = conn.prepare<[Record<string, string | number>], { takeovers: number }>(CLAIM);
    const select = conn.prepare<[string, number], RecordRow>(SELECT);
    // Upsert and read in one transaction (the group's): the row reported as existing is
    // the one that blocked the claim. Plain functions, not nested transactions: nested,
    // each would be a savepoint (two more statements per claim, for no more atomicity).
    const claimOp = (input: ClaimInput): ClaimOutcome => {
      const { scope, fingerprint, ownerToken, now } = input;
      const leaseExpiresAt = now + input.leaseMs;
      const expiresAt = now + input.retentionMs;
      const won = claim.get({ scope, fingerprint, ownerToken, now, leaseExpiresAt, expiresAt });
      if (won) return { kind: "claimed", takeover: won.takeovers > 0 };
      const row = select.get(scope, now);
      if (!row) throw new Error("sqlite idempotency store: claim found no row and no winner");
      return { kind: "existing", record: toRecord(row) };
    };
    const consume = conn.prepare<[Record<string, string | number>], RateLimitRow>(CONSUME);
    const bucket = conn.prepare<[string], RateLimitRow>(SELECT_BUCKET);
    // The upsert decides; a refusal reads the TAT that refused it in the same transaction.
    const consumeOp = (input: RateLimitInput): RateLimitOutcome => {
      const { key, now, limit, windowMs } = input;
      const first = gcraFirst(input);
      const expiresAt = gcraExpiresAt(first);
      const params = { key, now, limit, windowMs, tat: first.tat, rem: first.rem, expiresAt };
      const won = consume.get(params);
      if (won) {
        const state = { tat: Number(won.tat), rem: Number(won.tat_rem) };
        return gcraOutcome(input, { ...state, allowed: true });
      }
      const row = bucket.get(key);
      const step = row && gcraStep({ tat: Number(row.tat), rem: Number(row.tat_rem) }, input);
      if (!step || step.allowed) throw new Error("sqlite store: consume refused without a reason");
      return gcraOutcome(input, step);
    };
    const sweepRecords = conn.prepare<[number]>(SWEEP);
    const sweepBuckets = conn.prepare<[number]>(SWEEP_BUCKETS);
    const sweepTx = conn.transaction(
      (now: number) => sweepRecords.run(now).changes + sweepBuckets.run(now).changes,
    );
    // No savepoint per write: each op either changes the database with its first
    // statement and stops, or changes nothing (a lost claim reads the row that won), and
    // a statement that fails is undone by SQLite alone (statement journal), leaving the
    // transaction to the others. A savepoint per write was two more statements each, for
    // no more atomicity. An error that ends the whole transaction (disk full, I/O) fails
    // every write of the group: none of them was committed.
    const groupTx = conn.transaction((writes: QueuedWrite[]) => {
      for (const write of writes) {
        try {
          write.outcome = { ok: true, value: write.op(prepared) };
        } catch (error) {
          if (!conn.inTransaction) throw error;
          write.outcome = { ok: false, error };
        }
      }
    });
    const prepared: Prepared = {
      claim: claimOp,
      consume: consumeOp,
      select,
      complete: conn.prepare(COMPLETE),
      release: conn.prepare(RELEASE),
      sweep: (now) => sweepTx.immediate(now),
      group: (writes) => groupTx.immediate(writes),
    };
    return prepared;
  }

  let queued: QueuedWrite[] = [];

  /** Commits the writes queued so far; each promise settles with its own outcome. */
  function commitQueued(p: Prepared): void {
    const writes = queued;
    queued = [];
    if (writes.length === 0) return;
    try {
      p.group(writes);
    } catch (err) {
      // The transaction itself failed (busy, I/O): nothing of it was committed.
      for (const write of writes) write.reject(mapError(err));
      return;
    }
    for (const { outcome, resolve, reject } of writes) {
      if (outcome?.ok) resolve(outcome.value);
      else reject(mapError(outcome?.error));
    }
  }

  async function write<T>(op: (p: Prepared) => T): Promise<T> {
    const p = await opened();
    return new Promise<T>((resolve, reject) => {
      queued.push({ op, resolve: resolve as (value: unknown) => void, reject });
      if (queued.length === 1) setImmediate(commitQueued, p);
    });
  }

  function opened(): Promise<Prepared> {
    if (closed)
      return Promise.reject(new StoreUnavailable("the sqlite idempotency store is closed"));
    ready ??= open().catch((err: unknown) => {
      ready = undefined;
      throw mapError(err);
    });
    return ready;
  }

  async function run<T>(op: (p: Prepared) => T): Promise<T> {
    const prepared = await opened();
    try {
      return op(prepared);
    } catch (err) {
      throw mapError(err);
    }
  }

  return {
    name: "sqlite",
    async claim(input: ClaimInput): Promise<ClaimOutcome> {
      checkClaim(input);
      return await write((p) => p.claim(input));
    },
    async get(scope: string, now: number): Promise<IdempotencyRecord | undefined> {
      checkScope(scope);
      checkNow(now);
      return await run((p) => {
        const row = p.select.get(scope, now);
        return row && toRecord(row);
      });
    },
    async complete(input: CompleteInput): Promise<boolean> {
      checkComplete(input);
      const { scope, ownerToken, result, now } = input;
      const expiresAt = now + input.retentionMs;
      return await write(
        (p) => p.complete.run({ scope, ownerToken, result, now, expiresAt }).changes > 0,
      );
    },
    async release(scope: string, ownerToken: string): Promise<boolean> {
      checkRelease(scope, ownerToken);
      return await write((p) => p.release.run(scope, ownerToken).changes > 0);
    },
    /** Removes records past retention and rate-limit buckets past their TAT; counts both. */
    async sweep(now: number): Promise<number> {
      checkNow(now);
      return await run((p) => p.sweep(now));
    },
    async consume(input: RateLimitInput): Promise<RateLimitOutcome> {
      checkRateLimit(input);
      return await write((p) => p.consume(input));
    },
    async close(): Promise<void> {
      closed = true;
      const p = await ready?.catch(() => undefined);
      // Writes already asked for are committed (or fail) before the connection closes.
      if (p) commitQueued(p);
      if (ownsDatabase && db?.open) db.close();
    },
  };
}

async function openFile(path: string, options: { busyTimeoutMs?: number }) {
  const { default: Database } = await importPeer(
    "better-sqlite3",
    "the sqlite idempotency store",
    () => import("better-sqlite3"),
  );
  let db: BetterSqlite3.Database;
  try {
    db = new Database(path);
  } catch (err) {
    if (!isAddonLoadError(err)) throw err;
    throw new Error(
      "better-sqlite3 is installed but its native addon does not load; rebuild it with " +
        "`npm rebuild better-sqlite3` (needs python3, make and g++)",
      { cause: err },
    );
  }
  setWritePragmas(db, options.busyTimeoutMs);
  return db;
}

function migrate(db: BetterSqlite3.Database): void {
  db.exec(SCHEMA);
  db.prepare(
    "INSERT INTO toolgate_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
  ).run(`${TABLE}.schema_version`, String(SQLITE_SCHEMA_VERSION));
  const row = db
    .prepare<[string], { value: string }>("SELECT value FROM toolgate_meta WHERE key = ?")
    .get(`${TABLE}.schema_version`);
  const version = Number(row?.value);
  if (version > SQLITE_SCHEMA_VERSION) {
    throw new Error(
      `${TABLE} has schema version ${version}, newer than this toolgate supports ` +
        `(${SQLITE_SCHEMA_VERSION}): upgrade toolgate`,
    );
  }
}

/** The package loaded but its compiled addon is missing or built for another Node. */
function isAddonLoadError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (code === "ERR_DLOPEN_FAILED") return true;
  return /bindings file|better_sqlite3\.node|NODE_MODULE_VERSION|dlopen/i.test(err.message);
}
