// The durable store for several hosts: one PostgreSQL table. Claim is one INSERT ... ON
// CONFLICT DO UPDATE ... WHERE statement; complete and release are owner-conditional.
// Times are BIGINT epoch ms from the caller's clock (never now()), so fake clocks work.
// Rate-limit buckets live in `<table>_rate_limits`, advanced by one upsert per call.
// https://www.postgresql.org/docs/current/sql-insert.html#SQL-ON-CONFLICT
import type { Pool, PoolClient } from "pg";
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
import {
  checkClaim,
  checkComplete,
  checkNow,
  checkRateLimit,
  checkRelease,
  checkScope,
} from "./store-input.js";
import type { ToolgateStore } from "./store-types.js";
import { withDefaultUser } from "./pg-url.js";

/** `connectionString` (the store owns and ends that pool) or a `pool` the caller keeps and ends. */
export type PostgresConnection = { readonly connectionString: string } | { readonly pool: Pool };

export interface PostgresStoreOptions {
  /**
   * Table name (lower-case letters, digits, `_`). Default "toolgate_idempotency".
   * Rate-limit buckets go in `<table>_rate_limits`.
   */
  readonly table?: string;
  /** For a pool made from `connectionString`: connection wait. Default 2000. */
  readonly connectTimeoutMs?: number;
  /** For a pool made from `connectionString`: statement_timeout. Default 5000. */
  readonly queryTimeoutMs?: number;
}

export const POSTGRES_SCHEMA_VERSION = 1;
/** pg_advisory_xact_lock key for schema changes: "toolgate" in ASCII, as a BIGINT. */
const MIGRATION_LOCK = "8390880576584331365";

// SQLSTATE classes that pass: connection (08), resources (53), shutdown or statement
// timeout (57), system (58), serialization failure or deadlock (40).
const TRANSIENT_SQLSTATE = /^(08|53|57|58|40)/;

function toStoreError(err: unknown): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  const isSqlState = typeof code === "string" && /^[0-9A-Z]{5}$/.test(code);
  // Anything else thrown by the driver (socket errors, timeouts, a full pool) is the connection.
  if (isSqlState && !TRANSIENT_SQLSTATE.test(code)) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new StoreUnavailable(`postgres idempotency store: ${message}`, { cause: err });
}

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new TypeError(`postgresStore: \`${name}\` must be a positive integer`);
  }
  return value;
}

function statements(table: string) {
  const t = `"${table}"`;
  const rl = `"${table}_rate_limits"`;
  return {
    schema: `
CREATE TABLE IF NOT EXISTS toolgate_meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS ${t} (
  scope text PRIMARY KEY,
  state text NOT NULL CHECK (state IN ('in_progress', 'completed')),
  fingerprint text NOT NULL,
  owner_token text NOT NULL,
  lease_expires_at bigint NOT NULL,
  expires_at bigint NOT NULL,
  result text,
  created_at bigint NOT NULL,
  completed_at bigint,
  takeovers integer NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS "${table}_expires_at" ON ${t} (expires_at);
CREATE TABLE IF NOT EXISTS ${rl} (
  key text PRIMARY KEY,
  tat bigint NOT NULL,
  tat_rem bigint NOT NULL DEFAULT 0,
  expires_at bigint NOT NULL
);`,
    // No index on the buckets' expires_at: each call rewrites it, and an index would make
    // every such update a non-HOT one, for a sweep that runs every few minutes.
    // $1 scope, $2 fingerprint, $3 owner, $4 now, $5 lease end, $6 retention end.
    claim: `
INSERT INTO ${t} AS t (scope, state, fingerprint, owner_token, lease_expires_at, expires_at, created_at)
VALUES ($1, 'in_progress', $2, $3, $5, $6, $4)
ON CONFLICT (scope) DO UPDATE SET
  state = 'in_progress', fingerprint = EXCLUDED.fingerprint, owner_token = EXCLUDED.owner_token,
  lease_expires_at = EXCLUDED.lease_expires_at, expires_at = EXCLUDED.expires_at, result = NULL,
  created_at = EXCLUDED.created_at, completed_at = NULL, takeovers = ${TAKEOVERS_ON_CLAIM("t", "$4")}
WHERE t.expires_at <= $4
   OR (t.state = 'in_progress' AND t.lease_expires_at <= $4 AND t.fingerprint = $2)
RETURNING takeovers`,
    select: `SELECT ${RECORD_COLUMNS} FROM ${t} WHERE scope = $1 AND expires_at > $2`,
    complete: `
UPDATE ${t} SET state = 'completed', result = $3, completed_at = $4, expires_at = $5
WHERE scope = $1 AND owner_token = $2 AND state = 'in_progress' AND expires_at > $4`,
    release: `DELETE FROM ${t} WHERE scope = $1 AND owner_token = $2 AND state = 'in_progress'`,
    sweep: `DELETE FROM ${t} WHERE expires_at <= $1`,
    // $1 key, $2 now, $3 limit, $4 windowMs, $5-$7 the new row of a key that has none.
    consume: rateLimitUpsert(rl, {
      key: "$1",
      now: "$2::bigint",
      limit: "$3::bigint",
      windowMs: "$4::bigint",
      tat: "$5::bigint",
      rem: "$6::bigint",
      expiresAt: "$7::bigint",
    }),
    bucket: `SELECT tat, tat_rem FROM ${rl} WHERE key = $1`,
    sweepBuckets: `DELETE FROM ${rl} WHERE expires_at <= $1`,
  };
}

export function postgresStore(
  connection: PostgresConnection,
  options: PostgresStoreOptions = {},
): ToolgateStore {
  const table = options.table ?? "toolgate_idempotency";
  if (typeof table !== "string" || !/^[a-z_][a-z0-9_]{0,47}$/.test(table)) {
    throw new TypeError("postgresStore: `table` must match /^[a-z_][a-z0-9_]{0,47}$/");
  }
  const connectTimeout = positiveInt("connectTimeoutMs", options.connectTimeoutMs, 2000);
  const queryTimeout = positiveInt("queryTimeoutMs", options.queryTimeoutMs, 5000);
  if ("pool" in connection) {
    if (typeof connection.pool?.query !== "function") {
      throw new TypeError("postgresStore: `pool` must be a pg Pool");
    }
  } else if (typeof connection.connectionString !== "string") {
    throw new TypeError("postgresStore: `connectionString` must be a string");
  }
  const sql = statements(table);
  const ownsPool = !("pool" in connection);
  let pool: Pool | undefined = "pool" in connection ? connection.pool : undefined;
  let ready: Promise<Pool> | undefined;
  let closed = false;

  async function createPool(connectionString: string): Promise<Pool> {
    const { Pool } = await importPeer("pg", "the postgres idempotency store", () => import("pg"));
    const created = new Pool({
      connectionString: withDefaultUser(connectionString),
      connectionTimeoutMillis: connectTimeout,
      statement_timeout: queryTimeout,
      // Client-side guard for a server that stops answering (no reply, no error).
      query_timeout: queryTimeout + 1000,
    });
    // An idle client losing its server emits "error" on the pool; unhandled, it would crash.
    created.on("error", () => undefined);
    return created;
  }

  // Several processes may start at once: the transaction-scoped advisory lock serializes
  // CREATE ... IF NOT EXISTS, which alone can fail on a concurrent create.
  async function migrate(target: Pool): Promise<void> {
    const client: PoolClient = await target.connect();
    let broken = false;
    try {
      await client.query("BEGIN");
      await client.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`);
      await client.query(sql.schema);
      const key = `${table}.schema_version`;
      await client.query(
        "INSERT INTO toolgate_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        [key, String(POSTGRES_SCHEMA_VERSION)],
      );
      const { rows } = await client.query<{ value: string }>(
        "SELECT value FROM toolgate_meta WHERE key = $1",
        [key],
      );
      const version = Number(rows[0]?.value);
      if (version > POSTGRES_SCHEMA_VERSION) {
        throw new Error(
          `${table} has schema version ${version}, newer than this toolgate supports ` +
            `(${POSTGRES_SCHEMA_VERSION}): upgrade toolgate`,
        );
      }
      await client.query("COMMIT");
    } catch (err) {
      broken = true;
      await client.query("ROLLBACK").catch(() => undefined);
      throw err;
    } finally {
      client.release(broken);
    }
  }

  async function query<R extends object>(text: string, values: unknown[]) {
    if (closed) throw new StoreUnavailable("the postgres idempotency store is closed");
    ready ??= (async () => {
      if (!pool && "connectionString" in connection) {
        pool = await createPool(connection.connectionString);
      }
      await migrate(pool!);
      return pool!;
    })().catch((err: unknown) => {
      ready = undefined;
      throw toStoreError(err);
    });
    const target = await ready;
    try {
      return await target.query<R>(text, values);
    } catch (err) {
      throw toStoreError(err);
    }
  }

  return {
    name: "postgres",

    async claim(input: ClaimInput): Promise<ClaimOutcome> {
      checkClaim(input);
      const { scope, fingerprint, ownerToken, now } = input;
      const leaseEnd = now + input.leaseMs;
      const values = [scope, fingerprint, ownerToken, now, leaseEnd, now + input.retentionMs];
      // The SELECT only reports the row that blocked the claim; ownership is decided by
      // the upsert alone. If that row went away in between (released), claim again.
      for (let attempt = 0; attempt < 5; attempt += 1) {
        const won = await query<{ takeovers: number }>(sql.claim, values);
        const row = won.rows[0];
        if (row) return { kind: "claimed", takeover: row.takeovers > 0 };
        const found = await query<RecordRow>(sql.select, [scope, now]);
        const existing = found.rows[0];
        if (existing) return { kind: "existing", record: toRecord(existing) };
      }
      throw new StoreUnavailable(`postgres idempotency store: claim of ${scope} kept racing`);
    },

    async get(scope: string, now: number): Promise<IdempotencyRecord | undefined> {
      checkScope(scope);
      checkNow(now);
      const row = (await query<RecordRow>(sql.select, [scope, now])).rows[0];
      return row && toRecord(row);
    },

    async complete(input: CompleteInput): Promise<boolean> {
      checkComplete(input);
      const { scope, ownerToken, result, now } = input;
      const values = [scope, ownerToken, result, now, now + input.retentionMs];
      return ((await query(sql.complete, values)).rowCount ?? 0) > 0;
    },

    async release(scope: string, ownerToken: string): Promise<boolean> {
      checkRelease(scope, ownerToken);
      return ((await query(sql.release, [scope, ownerToken])).rowCount ?? 0) > 0;
    },

    /** Removes records past retention and rate-limit buckets past their TAT; counts both. */
    async sweep(now: number): Promise<number> {
      checkNow(now);
      const records = (await query(sql.sweep, [now])).rowCount ?? 0;
      return records + ((await query(sql.sweepBuckets, [now])).rowCount ?? 0);
    },

    async consume(input: RateLimitInput): Promise<RateLimitOutcome> {
      checkRateLimit(input);
      const { key, now, limit, windowMs } = input;
      const first = gcraFirst(input);
      const values = [key, now, limit, windowMs, first.tat, first.rem, gcraExpiresAt(first)];
      // The upsert alone decides (atomically, on the row's lock). A refusal leaves no row
      // in RETURNING, and the SELECT reads the TAT that refused it to say when to retry.
      // A TAT only moves forward, so that TAT refuses too, unless a sweep removed the row
      // in between (it had expired): then consume again.
      for (let attempt = 0; attempt < 5; attempt += 1) {
        const won = (await query<RateLimitRow>(sql.consume, values)).rows[0];
        if (won) {
          const state = { tat: Number(won.tat), rem: Number(won.tat_rem) };
          return gcraOutcome(input, { ...state, allowed: true });
        }
        const row = (await query<RateLimitRow>(sql.bucket, [key])).rows[0];
        const step = row && gcraStep({ tat: Number(row.tat), rem: Number(row.tat_rem) }, input);
        if (step && !step.allowed) return gcraOutcome(input, step);
      }
      throw new StoreUnavailable(`postgres idempotency store: consume of ${key} kept racing`);
    },

    async close(): Promise<void> {
      closed = true;
      await ready?.catch(() => undefined);
      if (ownsPool && pool && !pool.ended) await pool.end();
    },
  };
}
