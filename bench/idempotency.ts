// `npm run bench`: what idempotency costs per write call, for each store. One process
// starts a toolgate server per store (all on 127.0.0.1, the same trivial write tool) and
// drives each with plain fetch POSTs of `tools/call`, a fresh Idempotency-Key per call.
// Rounds are interleaved so a noisy moment hits every store alike; medians are reported.
// Not a test: nothing is asserted. Redis and PostgreSQL run only when
//   TOOLGATE_TEST_REDIS_URL=redis://127.0.0.1:6379/15
//   TOOLGATE_TEST_POSTGRES_URL=postgres://127.0.0.1:5432/test
// are set; they get their own key prefix / table, removed at the end.
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import path from "node:path";
import { Redis } from "ioredis";
import pg from "pg";
import * as z from "zod";
import { createToolServer, defineTool, type ToolServer } from "../src/index.js";
import { silentLogger } from "../src/server/index.js";
import { memoryStore, sqliteStore, type IdempotencyStore } from "../src/stores/index.js";
import { postgresStore } from "../src/stores/postgres-store.js";
import { redisStore } from "../src/stores/redis-store.js";

const CALLS = 2_000; // per round and store
const CONNECTIONS = 10; // concurrent requests in flight
const ROUNDS = 3;
const WARMUP = 300; // per store, before the first round (JIT, connections, schema)
const MAX_RUN_MS = 6_000; // a slower run stops early, so the whole bench stays under 2 minutes
const RUN = `bench_${process.pid}_${randomUUID().slice(0, 8)}`;
const REDIS_URL = process.env["TOOLGATE_TEST_REDIS_URL"];
const POSTGRES_URL = process.env["TOOLGATE_TEST_POSTGRES_URL"];

/** The same trivial write for every store; only `idempotency` differs. */
const bump = (idempotency: boolean) =>
  defineTool({
    name: "bump",
    version: "1.0.0",
    description: "Adds one to n.",
    input: z.object({ n: z.number().int() }),
    output: z.object({ n: z.number().int() }),
    scopes: [],
    sideEffect: "write",
    ...(idempotency ? {} : { idempotency: false as const }),
    handler: ({ n }) => ({ n: n + 1 }),
  });

const HEADERS = {
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
  "mcp-protocol-version": "2025-11-25",
};
const BODY = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "tools/call",
  params: { name: "bump", arguments: { n: 1 } },
});

interface Variant {
  name: string;
  store?: IdempotencyStore;
  server?: ToolServer;
  url?: string;
  rates: number[]; // calls/s, one per round
  errors: number; // failed calls, all rounds
  capped: number; // rounds stopped by MAX_RUN_MS
}

/** One call; false when it failed (HTTP error, tool error, no answer within 10 s). */
async function callOnce(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { ...HEADERS, "idempotency-key": randomUUID() },
      body: BODY,
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    return res.ok && !text.includes('"isError":true');
  } catch {
    return false;
  }
}

/** Up to `calls` calls (at most MAX_RUN_MS) over CONNECTIONS concurrent workers. */
async function drive(url: string, calls: number) {
  let started = 0;
  let errors = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (started < calls && performance.now() - t0 < MAX_RUN_MS) {
      started += 1;
      if (!(await callOnce(url))) errors += 1;
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  return { rate: started / ((performance.now() - t0) / 1000), errors, capped: started < calls };
}

/** Like libpq (and the store), a URL without a user connects as the OS user. */
function pgConnectionString(url: string): string {
  const parsed = new URL(url);
  if (!parsed.username && !process.env["PGUSER"] && !process.env["USER"]) {
    parsed.username = userInfo().username;
  }
  return parsed.toString();
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

async function main(): Promise<void> {
  const tempDir = mkdtempSync(path.join(tmpdir(), "toolgate-bench-"));
  const redisPrefix = `toolgate:${RUN}:`;
  const pgTable = `toolgate_idem_${RUN}`;
  const notes: string[] = [];
  const variant = (name: string, store?: IdempotencyStore): Variant => ({
    name,
    ...(store ? { store } : {}),
    rates: [],
    errors: 0,
    capped: 0,
  });
  const variants = [
    variant("none (idempotency: false)"),
    variant("memoryStore", memoryStore()),
    variant("sqliteStore (temp file)", sqliteStore({ path: path.join(tempDir, "idem.sqlite") })),
  ];
  if (REDIS_URL) {
    variants.push(
      variant("redisStore", redisStore({ url: REDIS_URL }, { keyPrefix: redisPrefix })),
    );
  } else notes.push("redisStore skipped: set TOOLGATE_TEST_REDIS_URL to include it");
  if (POSTGRES_URL) {
    const store = postgresStore({ connectionString: POSTGRES_URL }, { table: pgTable });
    variants.push(variant("postgresStore", store));
  } else notes.push("postgresStore skipped: set TOOLGATE_TEST_POSTGRES_URL to include it");

  try {
    for (const v of variants) {
      v.server = createToolServer({
        name: "bench",
        version: "1.0.0",
        tools: [bump(v.store !== undefined)],
        logger: silentLogger(),
        ...(v.store ? { store: v.store } : {}),
      });
      v.url = (await v.server.listen({ port: 0, host: "127.0.0.1" })).url;
      const warm = await drive(v.url, WARMUP);
      if (warm.errors > 0) notes.push(`${v.name}: ${warm.errors}/${WARMUP} warm-up calls failed`);
    }
    for (let round = 0; round < ROUNDS; round++) {
      // Each round starts with another store, so none always runs right after the warm-ups.
      const order = [...variants.slice(round % variants.length), ...variants];
      for (const v of order.slice(0, variants.length)) {
        const { rate, errors, capped } = await drive(v.url!, CALLS);
        v.rates.push(rate);
        v.errors += errors;
        if (capped) v.capped += 1;
      }
    }
  } finally {
    for (const v of variants) {
      await v.server?.close().catch(() => undefined);
      await v.store?.close().catch(() => undefined);
    }
    rmSync(tempDir, { recursive: true, force: true });
    await cleanUpRedis(redisPrefix).catch((e: Error) => notes.push(`redis cleanup: ${e.message}`));
    await cleanUpPostgres(pgTable).catch((e: Error) => notes.push(`pg cleanup: ${e.message}`));
  }

  const baseline = median(variants[0]!.rates);
  const rows = variants.map((v) => [
    v.name,
    median(v.rates).toFixed(0),
    `${(median(v.rates) / baseline).toFixed(2)}x`,
    v.rates.map((r) => r.toFixed(0)).join(" / "),
    String(v.errors),
  ]);
  const header = ["store", "calls/s (median)", "vs baseline", "rounds", "failed"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ");
  console.log(
    `toolgate idempotency bench: ${CALLS} calls x ${ROUNDS} interleaved rounds per store, ` +
      `${CONNECTIONS} concurrent, fresh key per call, loopback, Node ${process.version}\n`,
  );
  for (const row of [header, widths.map((w) => "-".repeat(w)), ...rows]) {
    console.log(line(row).trimEnd());
  }
  for (const v of variants.filter((x) => x.capped > 0)) {
    notes.push(`${v.name}: ${v.capped} round(s) stopped at ${MAX_RUN_MS} ms, short of ${CALLS}`);
  }
  for (const note of notes) console.log(`note: ${note}`);
}

async function cleanUpRedis(prefix: string): Promise<void> {
  if (!REDIS_URL) return;
  const admin = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await admin.connect();
    let cursor = "0";
    do {
      const [next, keys] = await admin.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      if (keys.length > 0) await admin.del(...keys);
      cursor = next;
    } while (cursor !== "0");
  } finally {
    admin.disconnect();
  }
}

async function cleanUpPostgres(table: string): Promise<void> {
  if (!POSTGRES_URL) return;
  const admin = new pg.Client({ connectionString: pgConnectionString(POSTGRES_URL) });
  await admin.connect();
  try {
    await admin.query(`DROP TABLE IF EXISTS "${table}"`);
    // The store records its table's schema version here; toolgate_meta itself is shared.
    const meta = await admin.query("SELECT to_regclass('toolgate_meta') IS NOT NULL AS present");
    if ((meta.rows[0] as { present: boolean } | undefined)?.present) {
      await admin.query("DELETE FROM toolgate_meta WHERE key = $1", [`${table}.schema_version`]);
    }
  } finally {
    await admin.end();
  }
}

await main();
