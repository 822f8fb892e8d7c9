// Following an audit log as it grows (what `toolgate audit --follow` prints): the matches
// of a query, then every matching event written after, each once, including rows that
// concurrent PostgreSQL writers commit out of seq order. The CLI parses flags and prints;
// the polling and the gap tracking live here so a program can follow a log the same way.
import { setTimeout as sleep } from "node:timers/promises";
import type { AuditEvent } from "./event.js";
import type { AuditQuery } from "./sink.js";
import type { SqlAuditReader } from "./sinks/sql-schema.js";

export interface FollowAuditOptions {
  /**
   * The filters (`subject`, `tool`, `outcome`, `since`) and the size of the first batch
   * (`limit`: its most recent matches). No `until`: new events are never before it.
   */
  query?: Omit<AuditQuery, "until">;
  /** How often to look for new events, in ms (default 1000). */
  intervalMs?: number;
  /** Ends the follow: the iteration finishes after the batch in hand. */
  signal?: AbortSignal;
}

const DEFAULT_INTERVAL_MS = 1000;
// How long a missing seq may still show up: PostgreSQL assigns seqs at insert and commits
// later, so concurrent writers commit out of seq order. A seq also goes missing for good
// (a duplicate skipped by ON CONFLICT, a rolled-back batch); after this long we stop asking.
const GAP_GRACE_MS = 60_000;
// Bounds the memory and the query for missing seqs; beyond it the oldest are given up.
const MAX_GAPS = 10_000;
const PAGE = 1000;

/**
 * Follows an audit log: yields the matches of `query` (oldest first), then, every
 * `intervalMs`, the matching events added since, in seq order, each event once. Besides new
 * seqs above the highest seen, it asks again for seqs that were missing below it (not
 * committed yet when first looked for) for a minute. Batches are never empty. Ends when
 * `signal` aborts (at once if it already has) or when the loop is left.
 *
 * `reader` is a `sqliteAuditReader` or a `postgresAuditReader`; closing it is the caller's.
 *
 * @example
 * for await (const events of followAudit(reader, { query: { tool: "refund" }, signal })) {
 *   for (const event of events) console.log(event.requestId, event.outcome);
 * }
 */
export async function* followAudit(
  reader: SqlAuditReader,
  options: FollowAuditOptions = {},
): AsyncGenerator<AuditEvent[], void, undefined> {
  const { query = {}, signal } = options;
  const interval = options.intervalMs ?? DEFAULT_INTERVAL_MS;
  if (!Number.isFinite(interval) || interval <= 0) {
    throw new TypeError("followAudit: `intervalMs` must be a positive number");
  }
  if ((query as AuditQuery).until !== undefined) {
    throw new TypeError(
      "followAudit: `query.until` cannot be used (new events are never before it)",
    );
  }
  if (signal?.aborted) return;
  const { limit: _limit, ...filters } = query;
  const gaps = new Map<number, number>(); // seq -> when first found missing (insertion order = age)
  const printed = new Set<number>(); // seqs yielded at start that may come up again as gaps or new

  const missing = (from: number, to: number, at: number) => {
    // A jump of the sequence far past MAX_GAPS is not rows in flight; track only its top.
    for (let seq = Math.max(from, to - MAX_GAPS + 1); seq <= to; seq += 1) gaps.set(seq, at);
    for (const seq of gaps.keys()) {
      if (gaps.size <= MAX_GAPS) break;
      gaps.delete(seq);
    }
  };

  // Look for missing seqs before the first query, so nothing committed between them is lost.
  let known = await reader.latestSeq();
  const recentFrom = Math.max(0, known - PAGE);
  const recent = await reader.tail({ ...filters, after: recentFrom, limit: PAGE });
  let next = recentFrom + 1;
  for (const row of recent.filter((r) => r.seq <= known)) {
    missing(next, row.seq - 1, Date.now());
    next = row.seq + 1;
  }
  missing(next, known, Date.now());

  const rows = await reader.query(query);
  for (const row of rows) printed.add(row.seq);
  if (rows.length > 0) yield rows.map((row) => row.event);

  while (!signal?.aborted) {
    await sleep(interval, undefined, signal ? { signal } : {}).catch(() => undefined);
    if (signal?.aborted) break;
    const now = Date.now();
    for (const [seq, at] of gaps) {
      if (now - at < GAP_GRACE_MS) break;
      gaps.delete(seq);
    }
    const found = [];
    if (gaps.size > 0) {
      const seqs = [...gaps.keys()];
      found.push(...(await reader.tail({ ...filters, seqs, limit: seqs.length })));
    }
    for (;;) {
      const page = await reader.tail({ ...filters, after: known, limit: PAGE });
      for (const row of page) {
        missing(known + 1, row.seq - 1, now);
        known = row.seq;
      }
      found.push(...page);
      if (page.length < PAGE) break;
    }
    found.sort((a, b) => a.seq - b.seq);
    const events: AuditEvent[] = [];
    for (const row of found) {
      gaps.delete(row.seq);
      if (row.event && !printed.delete(row.seq)) events.push(row.event);
    }
    if (events.length > 0) yield events;
  }
}
