// Finds the local PostgreSQL and Redis for `npm test`: when TOOLGATE_TEST_POSTGRES_URL or
// TOOLGATE_TEST_REDIS_URL is unset, the default local address is tried (a real connection
// and query, never just an open port), and if it answers the variable is set for the tests.
// A variable set to "off" or "" switches its suites off and skips the probe.
//
// The suites behind these variables only create and remove their own tables and keys (named
// per run); suites that stop or kill a service start private ones (test/reliability).
import { createRequire } from "node:module";
import { userInfo } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(path.join(root, "package.json"));

export const SERVICES = [
  {
    name: "PostgreSQL",
    variable: "TOOLGATE_TEST_POSTGRES_URL",
    defaultUrl: "postgres://127.0.0.1:5432/test",
    probe: probePostgres,
  },
  {
    name: "Redis",
    variable: "TOOLGATE_TEST_REDIS_URL",
    defaultUrl: "redis://127.0.0.1:6379/15",
    probe: probeRedis,
  },
];

/** Values that switch a service's suites off instead of naming a server. */
export function isOff(value) {
  return value !== undefined && ["", "off"].includes(value.trim().toLowerCase());
}

/** Rejects after ms; the probes' own timeouts come first, this bounds what they miss. */
function deadline(ms, what) {
  let timer;
  const promise = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return { promise, clear: () => clearTimeout(timer) };
}

/** Resolves to undefined when PostgreSQL at url answers SELECT 1, else to why not. */
export async function probePostgres(url, timeoutMs = 2_000) {
  let pg;
  try {
    pg = require("pg");
  } catch {
    return "the pg package is not installed";
  }
  const u = new URL(url);
  // Like the store and libpq: without a user in the URL or the environment, the OS user.
  if (!u.username && !process.env.PGUSER && !process.env.USER) u.username = userInfo().username;
  const client = new pg.Client({
    connectionString: u.toString(),
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
  });
  client.on("error", () => undefined);
  const limit = deadline(timeoutMs + 500, "PostgreSQL");
  try {
    await Promise.race([
      (async () => {
        await client.connect();
        await client.query("SELECT 1");
      })(),
      limit.promise,
    ]);
    return undefined;
  } catch (err) {
    return err.message || err.code || String(err);
  } finally {
    limit.clear();
    client.end().catch(() => undefined);
  }
}

/** Resolves to undefined when Redis at url answers PING, else to why not. */
export async function probeRedis(url, timeoutMs = 2_000) {
  let Redis;
  try {
    ({ Redis } = require("ioredis"));
  } catch {
    return "the ioredis package is not installed";
  }
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
  });
  client.on("error", () => undefined);
  const limit = deadline(timeoutMs + 500, "Redis");
  try {
    const reply = await Promise.race([
      (async () => {
        await client.connect();
        return client.ping();
      })(),
      limit.promise,
    ]);
    return reply === "PONG" ? undefined : `PING answered ${String(reply)}`;
  } catch (err) {
    return err.message || err.code || String(err);
  } finally {
    limit.clear();
    client.disconnect();
  }
}

/**
 * Sets each unset service variable in env when its default local server answers; deletes
 * variables set to "off" or "" so the tests see them unset. Returns one line per service
 * that was found or switched off, for the runner to print.
 */
export async function detectServices(env, timeoutMs = 2_000) {
  const lines = await Promise.all(
    SERVICES.map(async ({ name, variable, defaultUrl, probe }) => {
      if (isOff(env[variable])) {
        delete env[variable];
        return `off: ${name} suites (${variable} is set to off)`;
      }
      if (env[variable] !== undefined) return undefined;
      const failure = await probe(defaultUrl, timeoutMs);
      if (failure !== undefined) return undefined;
      env[variable] = defaultUrl;
      return (
        `found: ${name} at ${defaultUrl}, so its suites run ` +
        `(${variable}=off to skip them, or set it to another URL)`
      );
    }),
  );
  return lines.filter((l) => l !== undefined);
}
