// The audit log for several hosts: one PostgreSQL table that every instance appends to.
// A batch is one INSERT ... SELECT FROM unnest(...) statement (one round trip, atomic),
// and ON CONFLICT (request_id) DO NOTHING drops rows of a retried batch already stored.
// https://www.postgresql.org/docs/current/functions-array.html#ARRAY-FUNCTIONS-TABLE
import type { Pool, PoolClient } from "pg";
import type { AuditEvent } from "../event.js";
import type { AuditQuery, AuditRow, AuditSink } from "../sink.js";
import {
  AUDIT_SCHEMA_VERSION,
  INSERT_COLUMNS,
  META_VERSION_KEY,
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
  type Statement,
} from "./sql-schema.js";
import { withDefaultUser } from "../../stores/pg-url.js";
import { importPeer } from "../../stores/optional-peer.js";

/** `connectionString` (the sink owns and ends that pool) or a `pool` the caller keeps and ends. */
export type PostgresAuditConnection =
  { readonly connectionString: string } | { readonly pool: Pool };

export interface PostgresAuditOptions {
  /** Table name (lower-case letters, digits, `_`). Default "toolgate_audit". */
  readonly table?: string;
  /** For a pool made from `connectionString`: connection wait. Default 2000. */
  readonly connectTimeoutMs?: number;
  /** For a pool made from `connectionString`: statement_timeout. Default 5000. */
  readonly queryTimeoutMs?: number;
}

/**
 * pg_advisory_xact_lock key for creating the audit table: "tg_audit" in ASCII as a BIGINT,
 * apart from the idempotency store's key so the two migrations never wait on each other.
 */
const MIGRATION_LOCK = "8387777703186819444";

interface Connector {
  pool(): Promise<Pool>;
  end(): Promise<void>;
}

/** Validates options and makes the pool on first use (pg is an optional peer). */
function connector(
  who: string,
  connection: PostgresAuditConnection,
  options: PostgresAuditOptions,
) {
  const connectTimeout = positiveInt(who, "connectTimeoutMs", options.connectTimeoutMs, 2000);
  const queryTimeout = positiveInt(who, "queryTimeoutMs", options.queryTimeoutMs, 5000);
  if ("pool" in connection) {
    if (typeof connection.pool?.query !== "function") {
      throw new TypeError(`${who}: \`pool\` must be a pg Pool`);
    }
    const { pool } = connection;
    return { pool: () => Promise.resolve(pool), end: () => Promise.resolve() } satisfies Connector;
  }
  if (typeof connection?.connectionString !== "string") {
    throw new TypeError(`${who}: \`connectionString\` must be a string`);
  }
  let created: Promise<Pool> | undefined;
  return {
    pool: () =>
      (created ??= importPeer("pg", "the audit log", () => import("pg")).then(({ Pool }) => {
        const pool = new Pool({
          connectionString: withDefaultUser(connection.connectionString),
          connectionTimeoutMillis: connectTimeout,
          statement_timeout: queryTimeout,
          // Client-side guard for a server that stops answering (no reply, no error).
          query_timeout: queryTimeout + 1000,
        });
        // An idle client losing its server emits "error" on the pool; unhandled, it would
        // crash the process. The next query gets a fresh client (or the error).
        pool.on("error", () => undefined);
        return pool;
      })),
    async end() {
      const pool = await created?.catch(() => undefined);
      if (pool && !pool.ended) await pool.end();
    },
  } satisfies Connector;
}

export function postgresAuditSink(
  connection: PostgresAuditConnection,
  options: PostgresAuditOptions = {},
): AuditSink {
  const who = "postgresAuditSink";
  const table = checkTable(who, options.table);
  const conn = connector(who, connection, options);
  const insert = `
INSERT INTO "${table}" (${INSERT_COLUMNS})
SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[],
                     $6::text[], $7::text[], $8::float8[], $9::jsonb[])
ON CONFLICT (request_id) DO NOTHING`;
  let ready: Promise<Pool> | undefined;
  let closed = false;

  return {
    name: "postgres",
    async write(events: readonly AuditEvent[]): Promise<void> {
      if (closed) throw new Error("the postgres audit sink is closed");
      const rows = events.map((event) => pgSafe(toColumns(who, event)));
      if (rows.length === 0) return;
      ready ??= conn
        .pool()
        .then(async (pool) => {
          await migrate(pool, table);
          return pool;
        })
        .catch((err: unknown) => {
          ready = undefined; // the next write tries again
          throw pgError("postgres audit sink", err);
        });
      const pool = await ready;
      const column = <K extends keyof AuditColumns>(key: K) => rows.map((row) => row[key]);
      const values = [
        column("request_id"),
        column("time_ms"),
        column("subject"),
        column("issuer"),
        column("tenant"),
        column("tool"),
        column("outcome"),
        column("latency_ms"),
        column("event"),
      ];
      try {
        await pool.query(insert, values);
      } catch (err) {
        throw pgError("postgres audit sink", err);
      }
    },
    async close(): Promise<void> {
      closed = true;
      await ready?.catch(() => undefined);
      await conn.end();
    },
  };
}

// Several instances may start at once: the transaction-scoped advisory lock serializes
// CREATE ... IF NOT EXISTS, which alone can fail on a concurrent create.
async function migrate(pool: Pool, table: string): Promise<void> {
  const client: PoolClient = await pool.connect();
  let broken = false;
  try {
    await client.query("BEGIN");
    await client.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`);
    await client.query(auditSchema("postgres", table));
    const key = META_VERSION_KEY(table);
    await client.query(
      "INSERT INTO toolgate_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
      [key, String(AUDIT_SCHEMA_VERSION)],
    );
    const { rows } = await client.query<{ value: string }>(
      "SELECT value FROM toolgate_meta WHERE key = $1",
      [key],
    );
    checkSchemaVersion(table, rows[0]?.value);
    await client.query("COMMIT");
  } catch (err) {
    broken = true;
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    client.release(broken);
  }
}

/** Reads a PostgreSQL audit log. It never creates the table: a missing one is an error. */
export function postgresAuditReader(
  connection: PostgresAuditConnection,
  options: PostgresAuditOptions = {},
): SqlAuditReader {
  const who = "postgresAuditReader";
  const table = checkTable(who, options.table);
  const conn = connector(who, connection, options);

  async function all(statement: Statement) {
    try {
      const pool = await conn.pool();
      return (await pool.query<{ seq: string; event: unknown }>(statement.text, statement.values))
        .rows;
    } catch (err) {
      if ((err as { code?: unknown }).code === "42P01") {
        throw new Error(`no audit log in that database: table ${table} does not exist`, {
          cause: err,
        });
      }
      throw pgError("postgres audit log", err);
    }
  }

  return {
    async query(query: AuditQuery): Promise<AuditRow[]> {
      return (await all(selectStatement(who, "postgres", table, query))).map(toRow);
    },
    async tail(query: AuditTailQuery): Promise<AuditTailRow[]> {
      return (await all(tailStatement(who, "postgres", table, query))).map(toTailRow);
    },
    async latestSeq(): Promise<number> {
      const [row] = await all({ text: latestSeqStatement(table), values: [] });
      return Number(row?.seq ?? 0);
    },
    close: () => conn.end(),
  };
}

/** One line that says what failed; an ECONNREFUSED to `localhost` is an AggregateError with no message. */
function pgError(what: string, err: unknown): Error {
  if (err instanceof TypeError) return err; // an option or input check: a caller bug
  let message = err instanceof Error ? err.message : String(err);
  if (!message && err instanceof AggregateError) {
    message = err.errors.map((e) => (e instanceof Error ? e.message : String(e))).join("; ");
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (!message && typeof code === "string") message = code;
  return new Error(`${what}: ${message || "unknown error"}`, { cause: err });
}

// JSONB rejects \u0000 and lone surrogates, and TEXT rejects NUL bytes. Tool names and
// arguments come from callers, so one such string must not make a batch fail for ever.
const JSON_UNSAFE = /\\u0000|\\ud[89a-f]/i;
/* eslint-disable no-control-regex -- matching NUL is the point */
const TEXT_UNSAFE =
  /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
/* eslint-enable no-control-regex */

function cleanText<T extends string | null>(text: T): T {
  return (text === null ? text : text.replace(TEXT_UNSAFE, "\ufffd")) as T;
}

function cleanDeep(value: unknown): unknown {
  if (typeof value === "string") return cleanText(value);
  if (Array.isArray(value)) return value.map(cleanDeep);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([key, inner]) => [cleanText(key), cleanDeep(inner)]),
    );
  }
  return value;
}

function pgSafe(row: AuditColumns): AuditColumns {
  return {
    ...row,
    request_id: cleanText(row.request_id),
    subject: cleanText(row.subject),
    issuer: cleanText(row.issuer),
    tenant: cleanText(row.tenant),
    tool: cleanText(row.tool),
    outcome: cleanText(row.outcome),
    // Most events have nothing to clean: only those that do pay for the second pass.
    event: JSON_UNSAFE.test(row.event)
      ? JSON.stringify(cleanDeep(JSON.parse(row.event)))
      : row.event,
  };
}

function positiveInt(who: string, name: string, value: number | undefined, fallback: number) {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new TypeError(`${who}: \`${name}\` must be a positive integer`);
  }
  return value;
}
