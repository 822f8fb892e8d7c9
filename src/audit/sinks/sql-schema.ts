// The audit log's table, shared by the SQLite and PostgreSQL sinks and readers: the same
// columns and the same queries, so `toolgate audit` reads either the same way. Filterable
// fields get their own indexed columns; the whole event is kept as JSON beside them.
import type { AuditEvent } from "../event.js";
import type { AuditQuery, AuditReader, AuditRow } from "../sink.js";

export const DEFAULT_AUDIT_TABLE = "toolgate_audit";
export const AUDIT_SCHEMA_VERSION = 1;

type Dialect = "sqlite" | "postgres";

/** Checks a table name: it is spliced into SQL, so only plain lower-case identifiers pass. */
export function checkTable(who: string, table: string | undefined): string {
  const name = table ?? DEFAULT_AUDIT_TABLE;
  if (typeof name !== "string" || !/^[a-z_][a-z0-9_]{0,47}$/.test(name)) {
    throw new TypeError(`${who}: \`table\` must match /^[a-z_][a-z0-9_]{0,47}$/`);
  }
  return name;
}

export function auditSchema(dialect: Dialect, table: string): string {
  const pg = dialect === "postgres";
  const t = `"${table}"`;
  const index = (suffix: string, columns: string) =>
    `CREATE INDEX IF NOT EXISTS "${table}_${suffix}" ON ${t} (${columns});`;
  return `
CREATE TABLE IF NOT EXISTS toolgate_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ${t} (
  seq ${pg ? "BIGSERIAL PRIMARY KEY" : "INTEGER PRIMARY KEY AUTOINCREMENT"},
  request_id TEXT NOT NULL UNIQUE,
  time_ms ${pg ? "BIGINT" : "INTEGER"} NOT NULL,
  subject TEXT,
  issuer TEXT,
  tenant TEXT,
  tool TEXT,
  outcome TEXT NOT NULL,
  latency_ms ${pg ? "DOUBLE PRECISION" : "REAL"},
  event ${pg ? "JSONB" : "TEXT"} NOT NULL
);
${index("time", "time_ms")}
${index("subject_time", "subject, time_ms")}
${index("tool_time", "tool, time_ms")}
${index("outcome_time", "outcome, time_ms")}`;
}

export const META_VERSION_KEY = (table: string) => `${table}.schema_version`;

/** Refuses a table written by a newer toolgate, whose layout this code may not know. */
export function checkSchemaVersion(table: string, stored: string | undefined): void {
  const version = Number(stored);
  if (version > AUDIT_SCHEMA_VERSION) {
    throw new Error(
      `${table} has schema version ${version}, newer than this toolgate supports ` +
        `(${AUDIT_SCHEMA_VERSION}): upgrade toolgate`,
    );
  }
}

export const INSERT_COLUMNS =
  "request_id, time_ms, subject, issuer, tenant, tool, outcome, latency_ms, event";

export interface AuditColumns {
  request_id: string;
  time_ms: number;
  subject: string | null;
  issuer: string | null;
  tenant: string | null;
  tool: string | null;
  outcome: string;
  latency_ms: number | null;
  event: string;
}

/** The row for one event. Throws only for an event without a request id (a caller bug). */
export function toColumns(who: string, event: AuditEvent): AuditColumns {
  if (typeof event?.requestId !== "string" || event.requestId === "") {
    throw new TypeError(`${who}: every audit event needs a non-empty string requestId`);
  }
  const parsed = Date.parse(event.time);
  return {
    request_id: event.requestId,
    // An unparsable time must not make the batch fail forever (the auditor retries a
    // rejected batch); the row sorts at its write time and the event keeps the original.
    time_ms: Number.isFinite(parsed) ? parsed : Date.now(),
    subject: event.principal?.subject ?? null,
    issuer: event.principal?.issuer ?? null,
    tenant: event.principal?.tenant ?? null,
    tool: event.tool ?? null,
    outcome: typeof event.outcome === "string" ? event.outcome : "unknown",
    latency_ms: Number.isFinite(event.latencyMs) ? event.latencyMs : null,
    event: JSON.stringify(event),
  };
}

/**
 * For `toolgate audit --follow`: rows in seq order, either those after `after` or exactly
 * the listed `seqs`, whether or not they match the filters (`event` is null when they do
 * not), so a follower can tell a seq not committed yet from one that is filtered out.
 */
export interface AuditTailQuery extends Omit<AuditQuery, "until" | "limit"> {
  after?: number;
  seqs?: readonly number[];
  limit: number;
}

export interface AuditTailRow {
  readonly seq: number;
  readonly event: AuditEvent | null;
}

/** The readers of this module: an AuditReader that can also tail the log by seq. */
export interface SqlAuditReader extends AuditReader {
  tail(query: AuditTailQuery): Promise<AuditTailRow[]>;
  /** The highest seq in the log, 0 when it is empty. */
  latestSeq(): Promise<number>;
}

export interface Statement {
  text: string;
  values: unknown[];
}

function checkQuery(who: string, query: AuditQuery | AuditTailQuery): void {
  for (const key of ["since", "until", "after"] as const) {
    const value = (query as Record<string, unknown>)[key];
    if (value !== undefined && !Number.isFinite(value)) {
      throw new TypeError(`${who}: \`${key}\` must be a finite number (epoch ms or seq)`);
    }
  }
  for (const key of ["subject", "tool", "outcome"] as const) {
    const value = query[key];
    if (value !== undefined && typeof value !== "string") {
      throw new TypeError(`${who}: \`${key}\` must be a string`);
    }
  }
  const seqs = (query as AuditTailQuery).seqs;
  if (seqs !== undefined && !Array.isArray(seqs)) {
    throw new TypeError(`${who}: \`seqs\` must be an array of seqs`);
  }
  const limit = query.limit;
  if (limit !== undefined && !(Number.isSafeInteger(limit) && limit >= 1)) {
    throw new TypeError(`${who}: \`limit\` must be a positive integer`);
  }
}

/** Builds placeholders in order: `?` for SQLite, `$n` for PostgreSQL. */
function params(dialect: Dialect) {
  const values: unknown[] = [];
  const add = (value: unknown) => {
    values.push(value);
    return dialect === "postgres" ? `$${values.length}` : "?";
  };
  return { values, add };
}

function conditions(query: AuditQuery, add: (value: unknown) => string): string[] {
  const where: string[] = [];
  if (query.since !== undefined) where.push(`time_ms >= ${add(Math.ceil(query.since))}`);
  if (query.until !== undefined) where.push(`time_ms < ${add(Math.ceil(query.until))}`);
  if (query.subject !== undefined) where.push(`subject = ${add(query.subject)}`);
  if (query.tool !== undefined) where.push(`tool = ${add(query.tool)}`);
  if (query.outcome !== undefined) where.push(`outcome = ${add(query.outcome)}`);
  return where;
}

/** The most recent `limit` matches, oldest first (ties in time broken by seq). */
export function selectStatement(
  who: string,
  dialect: Dialect,
  table: string,
  query: AuditQuery,
): Statement {
  checkQuery(who, query);
  const { values, add } = params(dialect);
  const where = conditions(query, add);
  const filter = where.length > 0 ? `WHERE ${where.join(" AND ")}` : "";
  const text = `
SELECT seq, event FROM (
  SELECT seq, time_ms, event FROM "${table}" ${filter}
  ORDER BY time_ms DESC, seq DESC LIMIT ${add(query.limit ?? 100)}
) recent ORDER BY time_ms, seq`;
  return { text, values };
}

export function tailStatement(
  who: string,
  dialect: Dialect,
  table: string,
  query: AuditTailQuery,
): Statement {
  checkQuery(who, query);
  const { values, add } = params(dialect);
  const where = conditions(query, add);
  const event = where.length > 0 ? `CASE WHEN ${where.join(" AND ")} THEN event END` : "event";
  const range: string[] = [];
  if (query.after !== undefined) range.push(`seq > ${add(query.after)}`);
  if (query.seqs !== undefined) {
    const seqs = query.seqs.map(Number).filter(Number.isSafeInteger);
    range.push(
      dialect === "postgres"
        ? `seq = ANY(${add(seqs)}::bigint[])`
        : `seq IN (SELECT value FROM json_each(${add(JSON.stringify(seqs))}))`,
    );
  }
  const text = `
SELECT seq, ${event} AS event FROM "${table}"
${range.length > 0 ? `WHERE ${range.join(" AND ")}` : ""} ORDER BY seq LIMIT ${add(query.limit)}`;
  return { text, values };
}

export const latestSeqStatement = (table: string) =>
  `SELECT coalesce(max(seq), 0) AS seq FROM "${table}"`;

/** A stored row back to an AuditRow: PG returns BIGINT as a string and JSONB parsed. */
export function toRow(row: { seq: number | string; event: unknown }): AuditRow {
  const event: unknown = typeof row.event === "string" ? JSON.parse(row.event) : row.event;
  return { seq: Number(row.seq), event: event as AuditEvent };
}

export function toTailRow(row: { seq: number | string; event: unknown }): AuditTailRow {
  return row.event === null ? { seq: Number(row.seq), event: null } : toRow(row);
}
