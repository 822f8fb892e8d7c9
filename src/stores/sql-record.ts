// The row shape shared by the SQL stores (SQLite and PostgreSQL) and its mapping to
// the store interface. Times are epoch ms from the caller's clock, never the database's.
import type { IdempotencyRecord } from "../idempotency/store.js";

/** Columns, in the order of `RECORD_COLUMNS`. PostgreSQL returns BIGINT as a string. */
export interface RecordRow {
  state: string;
  fingerprint: string;
  owner_token: string;
  lease_expires_at: number | string;
  expires_at: number | string;
  result: string | null;
  created_at: number | string;
  completed_at: number | string | null;
}

export const RECORD_COLUMNS =
  "state, fingerprint, owner_token, lease_expires_at, expires_at, result, created_at, completed_at";

/**
 * `takeovers` counts lease takeovers since the key was last claimed fresh. The claim
 * upsert sets it from the old row, which is how its RETURNING tells a takeover from a
 * fresh claim over an expired row (RETURNING cannot read the old row before PG 18).
 */
export const TAKEOVERS_ON_CLAIM = (table: string, now: string): string =>
  `CASE WHEN ${table}.expires_at <= ${now} THEN 0 ELSE ${table}.takeovers + 1 END`;

export function toRecord(row: RecordRow): IdempotencyRecord {
  if (row.state !== "in_progress" && row.state !== "completed") {
    throw new Error(`idempotency record has an unknown state: ${row.state}`);
  }
  return Object.freeze({
    state: row.state,
    fingerprint: row.fingerprint,
    ownerToken: row.owner_token,
    leaseExpiresAt: Number(row.lease_expires_at),
    expiresAt: Number(row.expires_at),
    ...(row.result === null ? {} : { result: row.result }),
    createdAt: Number(row.created_at),
    ...(row.completed_at === null ? {} : { completedAt: Number(row.completed_at) }),
  });
}
