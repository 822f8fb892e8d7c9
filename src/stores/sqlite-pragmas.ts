// The pragmas of every SQLite connection toolgate opens itself to write: the idempotency
// store's and the audit log's. A connection a user passes in keeps its own.
// https://www.sqlite.org/pragma.html  https://www.sqlite.org/wal.html

/** The part of a better-sqlite3 `Database` this needs (better-sqlite3 is an optional peer). */
export interface PragmaTarget {
  pragma(source: string): unknown;
}

/**
 * Page cache per connection, in KiB: SQLite's own default. better-sqlite3 builds SQLite with
 * 16 MB, which a long-running writer fills: the audit log appends at the right edge of its
 * B-trees (a few hot pages), and the store's lookups by random key miss a cache of any
 * size once the table outgrows it (the OS page cache serves those reads either way).
 * Measured in `npm run bench` (7 December 2026): RSS -16 MB for toolgate read, -18 MB for
 * write, calls/s unchanged. A small cache is also cheaper to commit with: after a B-tree
 * page split, SQLite's commit walks the cache's whole hash table (`pcache1TruncateUnsafe`,
 * 3% of a write call's CPU with 16 MB).
 */
export const PAGE_CACHE_KIB = 2000;

export function setWritePragmas(db: PragmaTarget, busyTimeoutMs = 5000): void {
  // busy_timeout first: switching to WAL takes a lock another process may hold.
  db.pragma(`busy_timeout = ${busyTimeoutMs}`);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
}
