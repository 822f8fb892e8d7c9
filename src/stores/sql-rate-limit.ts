// The rate-limit step of the SQL stores (SQLite and PostgreSQL): one upsert that inserts a
// new bucket, or advances a bucket's TAT only if the call is allowed. It is gcraStep of
// gcra.ts written in SQL integer arithmetic (all operands are integers, so `/` is
// integer division of non-negative numbers and `%` its remainder). Times are the
// caller's epoch ms, never the database's clock.

/** The table's columns: TAT = tat + tat_rem / limit ms; the row may go at `expires_at`. */
export interface RateLimitRow {
  tat: number | string;
  tat_rem: number | string;
}

/** SQL expressions of the statement's parameters, typed as integers. */
export interface RateLimitParams {
  readonly key: string;
  readonly now: string;
  readonly limit: string;
  readonly windowMs: string;
  /** The new row of a key that has none (gcraFirst, computed by the caller). */
  readonly tat: string;
  readonly rem: string;
  readonly expiresAt: string;
}

/**
 * `INSERT ... ON CONFLICT DO UPDATE ... WHERE allowed RETURNING tat, tat_rem`: a row comes
 * back when the call was allowed (its new TAT); none when it was refused (nothing changed).
 */
export function rateLimitUpsert(table: string, p: RateLimitParams): string {
  // gcraStep: start from max(stored TAT, now); a remainder left by a larger limit is clamped.
  const live = `b.tat >= ${p.now}`;
  const base = `(CASE WHEN ${live} THEN b.tat ELSE ${p.now} END)`;
  const rem = `(CASE WHEN ${live} THEN (CASE WHEN b.tat_rem < ${p.limit} THEN b.tat_rem ELSE ${p.limit} - 1 END) ELSE 0 END)`;
  const sum = `(${rem} + ${p.windowMs})`;
  const newRem = `(${sum} % ${p.limit})`;
  const newTat = `(${base} + ${sum} / ${p.limit})`;
  const ahead = `(${newTat} - ${p.now})`;
  return `
INSERT INTO ${table} AS b (key, tat, tat_rem, expires_at)
VALUES (${p.key}, ${p.tat}, ${p.rem}, ${p.expiresAt})
ON CONFLICT (key) DO UPDATE SET
  tat = ${newTat},
  tat_rem = ${newRem},
  expires_at = ${newTat} + (CASE WHEN ${newRem} > 0 THEN 1 ELSE 0 END)
WHERE ${ahead} < ${p.windowMs} OR (${ahead} = ${p.windowMs} AND ${newRem} = 0)
RETURNING tat, tat_rem`;
}
