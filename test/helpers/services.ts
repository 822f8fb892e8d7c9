// Reaching the test databases for setup and cleanup. A suite whose variable is set but
// whose server does not answer fails (it never skips): these helpers reject then.
import { userInfo } from "node:os";
import { Redis } from "ioredis";
import pg from "pg";

/** Pool config for a test URL; like the store (and libpq), the user defaults to the OS user. */
export function pgConfig(url: string): pg.PoolConfig {
  const u = new URL(url);
  if (!u.username && !process.env["PGUSER"] && !process.env["USER"]) {
    u.username = userInfo().username;
  }
  return { connectionString: u.toString(), connectionTimeoutMillis: 2_000 };
}

/** An admin pool for setup and cleanup; rejects if PostgreSQL does not answer. */
export async function postgresAdmin(url: string): Promise<pg.Pool> {
  const pool = new pg.Pool(pgConfig(url));
  pool.on("error", () => undefined); // idle clients dropped by a restart
  try {
    await pool.query("SELECT 1");
  } catch (err) {
    await pool.end();
    throw new Error(`TOOLGATE_TEST_POSTGRES_URL=${url} is set but PostgreSQL does not answer`, {
      cause: err,
    });
  }
  return pool;
}

/** A plain client for setup and cleanup; rejects if Redis does not answer. */
export async function redisAdmin(url: string): Promise<Redis> {
  const admin = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2_000,
    retryStrategy: () => null,
  });
  admin.on("error", () => undefined); // connect() rejects with the error
  try {
    await admin.connect();
  } catch (err) {
    admin.disconnect();
    throw new Error(`TOOLGATE_TEST_REDIS_URL=${url} is set but Redis does not answer`, {
      cause: err,
    });
  }
  return admin;
}
