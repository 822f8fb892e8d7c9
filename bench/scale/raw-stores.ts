// The raw ceilings of the stores curve: the least a store operation costs from Node with
// the client library toolgate uses (ioredis, pg, better-sqlite3), at the bench's
// concurrency, measured in this process. Also: whether a store answers, and the clean-up
// of what the bench wrote there.
import { withDefaultUser } from "../../src/stores/pg-url.js";
import { percentile } from "../drive.js";

export interface RawFigures {
  ops: number;
  rate: number;
  p50: number;
  p99: number;
}

/** `concurrency` loops each awaiting `op` one after the other, for `seconds`. */
async function loops(
  concurrency: number,
  seconds: number,
  op: (i: number) => Promise<unknown>,
): Promise<RawFigures> {
  let latencies = new Float64Array(1 << 16);
  let n = 0;
  let next = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const start = performance.now();
        await op(next++);
        if (n === latencies.length) {
          const grown = new Float64Array(n * 2);
          grown.set(latencies);
          latencies = grown;
        }
        latencies[n++] = performance.now() - start;
      }
    }),
  );
  const sorted = latencies.subarray(0, n).sort();
  const elapsed = (performance.now() - t0) / 1000;
  return { ops: n, rate: n / elapsed, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) };
}

const loadRedis = async () => (await import("ioredis")).Redis;
const loadPg = async () => (await import("pg")).default;

/** Why Redis cannot be used, or undefined when it answers PING. */
export async function redisProblem(url: string): Promise<string | undefined> {
  // ioredis rejects with "Connection is closed"; the socket's own error says why.
  let cause: Error | undefined;
  try {
    const Redis = await loadRedis();
    const client = new Redis(url, {
      connectTimeout: 2000,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      lazyConnect: true,
    });
    client.on("error", (error: Error) => void (cause ??= error));
    try {
      await client.connect();
      await client.ping();
    } finally {
      client.disconnect();
    }
    return undefined;
  } catch (error) {
    return `Redis at ${url}: ${(cause ?? (error as Error)).message}`;
  }
}

/**
 * Why PostgreSQL cannot be used, or undefined when it answers; `hadMeta` tells whether
 * the stores' shared toolgate_meta table was there before the bench.
 */
export async function postgresProblem(
  url: string,
  hadMeta: { value: boolean },
): Promise<string | undefined> {
  try {
    const pg = await loadPg();
    const client = new pg.Client({
      connectionString: withDefaultUser(url),
      connectionTimeoutMillis: 2000,
    });
    client.on("error", () => undefined);
    try {
      await client.connect();
      const { rows } = await client.query("SELECT to_regclass('toolgate_meta') AS t");
      hadMeta.value = (rows[0] as { t: string | null } | undefined)?.t != null;
    } finally {
      await client.end().catch(() => undefined);
    }
    return undefined;
  } catch (error) {
    return `PostgreSQL at ${url}: ${(error as Error).message}`;
  }
}

/** SET key NX PX (a claim's least form), one client, `concurrency` commands in flight. */
export async function rawRedis(
  url: string,
  prefix: string,
  seconds: number,
  concurrency: number,
): Promise<RawFigures> {
  const Redis = await loadRedis();
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    return await loops(concurrency, seconds, (i) =>
      client.set(`${prefix}raw:${i}`, "1", "PX", 600_000, "NX"),
    );
  } finally {
    client.disconnect();
  }
}

/** INSERT ... ON CONFLICT DO NOTHING, a pool of `concurrency` connections. */
export async function rawPostgres(
  url: string,
  table: string,
  seconds: number,
  concurrency: number,
): Promise<RawFigures> {
  const pg = await loadPg();
  const pool = new pg.Pool({ connectionString: withDefaultUser(url), max: concurrency });
  pool.on("error", () => undefined);
  try {
    await pool.query(
      `CREATE TABLE IF NOT EXISTS "${table}" (key text PRIMARY KEY, expires_at bigint NOT NULL)`,
    );
    const insert = `INSERT INTO "${table}" (key, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING`;
    return await loops(concurrency, seconds, (i) => pool.query(insert, [`k${i}`, Date.now()]));
  } finally {
    await pool.end();
  }
}

/**
 * INSERT OR IGNORE, one statement per transaction, with the SQLite store's pragmas (WAL,
 * synchronous NORMAL). better-sqlite3 is synchronous: one loop, no concurrency.
 */
export async function rawSqlite(file: string, seconds: number): Promise<RawFigures> {
  const { default: Database } = await import("better-sqlite3");
  const db = new Database(file);
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.exec("CREATE TABLE IF NOT EXISTS raw (key TEXT PRIMARY KEY, expires_at INTEGER NOT NULL)");
    const insert = db.prepare("INSERT OR IGNORE INTO raw (key, expires_at) VALUES (?, ?)");
    // Async only to share `loops`: each op is one synchronous statement.
    return await loops(1, seconds, (i) => Promise.resolve(insert.run(`k${i}`, Date.now())));
  } finally {
    db.close();
  }
}

/** Deletes every key under `prefix` (SCAN + UNLINK); resolves with how many. */
export async function cleanRedis(url: string, prefix: string): Promise<number> {
  const Redis = await loadRedis();
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  let removed = 0;
  try {
    let cursor = "0";
    do {
      const [next, keys] = await client.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) removed += await client.unlink(...keys);
    } while (cursor !== "0");
    return removed;
  } finally {
    client.disconnect();
  }
}

/**
 * Drops the bench's tables and the schema versions the store recorded for them; and
 * toolgate_meta itself when the bench created it and nothing else wrote to it since.
 */
export async function cleanPostgres(
  url: string,
  tables: readonly string[],
  dropMeta: boolean,
): Promise<void> {
  const pg = await loadPg();
  const client = new pg.Client({ connectionString: withDefaultUser(url) });
  client.on("error", () => undefined);
  await client.connect();
  try {
    for (const table of tables) await client.query(`DROP TABLE IF EXISTS "${table}"`);
    const meta = await client.query("SELECT to_regclass('toolgate_meta') AS t");
    if ((meta.rows[0] as { t: string | null } | undefined)?.t) {
      await client.query("DELETE FROM toolgate_meta WHERE key = ANY($1)", [
        tables.map((t) => `${t}.schema_version`),
      ]);
      if (dropMeta) {
        await client.query(
          "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM toolgate_meta) THEN DROP TABLE toolgate_meta; END IF; END $$",
        );
      }
    }
  } finally {
    await client.end();
  }
}
