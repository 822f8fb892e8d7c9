// Reads the settings of a better-sqlite3 connection toolgate opened itself (the store's or
// the audit log's): per-connection pragmas such as cache_size are invisible to any other
// connection, so the test catches the connection as it configures itself. The pragma
// calls still run; nothing is replaced.
import Database from "better-sqlite3";

export interface ConnectionPragmas {
  readonly journalMode: unknown;
  readonly synchronous: unknown;
  readonly busyTimeout: unknown;
  readonly cacheSize: unknown;
}

/** Runs `open` and returns the pragmas of each connection it configured, read on that connection. */
export async function pragmasOfConnectionsOpenedBy(
  open: () => Promise<unknown>,
): Promise<ConnectionPragmas[]> {
  const proto = Database.prototype;
  const original = Object.getOwnPropertyDescriptor(proto, "pragma");
  if (typeof original?.value !== "function") throw new Error("better-sqlite3 has no pragma()");
  const pragma = original.value as (...args: unknown[]) => unknown;
  const seen = new Set<Database.Database>();
  Object.defineProperty(proto, "pragma", {
    ...original,
    value: function (this: Database.Database, ...args: unknown[]) {
      seen.add(this);
      return pragma.apply(this, args);
    },
  });
  try {
    await open();
  } finally {
    Object.defineProperty(proto, "pragma", original);
  }
  return [...seen].map((db) => ({
    journalMode: db.pragma("journal_mode", { simple: true }),
    synchronous: db.pragma("synchronous", { simple: true }),
    busyTimeout: db.pragma("busy_timeout", { simple: true }),
    cacheSize: db.pragma("cache_size", { simple: true }),
  }));
}
