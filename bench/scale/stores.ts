// Scale curve "stores": idempotent writes (the `record` tool, a fresh Idempotency-Key per
// call) and a tool with a budget (`limited`, one perPrincipal bucket, never exhausted),
// each with audit to SQLite, on the SQLite, Redis and PostgreSQL stores; beside each, the
// store's raw ceiling measured in the same run (raw-stores.ts), so what toolgate adds
// above the store shows. A store that does not answer gets an "unavailable" row.
import { randomUUID } from "node:crypto";
import path from "node:path";
import { startServer, type Child } from "../children.js";
import { HEADERS, callProblem, nextRpcId } from "../drive.js";
import type { ScaleStoreSpec } from "../perf-shared.js";
import {
  callBody,
  devToken,
  errorNotes,
  fmt,
  measurePoint,
  pointCells,
  type CurveResult,
  type Point,
  type ScaleContext,
} from "./common.js";
import {
  cleanPostgres,
  cleanRedis,
  postgresProblem,
  rawPostgres,
  rawRedis,
  rawSqlite,
  redisProblem,
  type RawFigures,
} from "./raw-stores.js";

const REDIS_URL = process.env["BENCH_REDIS_URL"] ?? "redis://127.0.0.1:6379/15";
const POSTGRES_URL = process.env["BENCH_POSTGRES_URL"] ?? "postgres://127.0.0.1:5432/test";

type StoreName = "sqlite" | "redis" | "postgres";

interface StoreFigures {
  store: StoreName;
  unavailable?: string;
  raw?: RawFigures;
  write?: Point;
  rateLimit?: Point;
  failed?: string;
}

/** The store's spec for the server, what the raw loop does, and the clean-up. */
function storeSetup(ctx: ScaleContext, store: StoreName) {
  const id = randomUUID().slice(0, 8);
  switch (store) {
    case "sqlite": {
      const spec: ScaleStoreSpec = { type: "sqlite", file: path.join(ctx.dir, "store.sqlite") };
      return {
        spec,
        problem: () => Promise.resolve(undefined),
        raw: () => rawSqlite(path.join(ctx.dir, "raw.sqlite"), ctx.seconds),
        rawWhat:
          "better-sqlite3 INSERT OR IGNORE, one statement per transaction (WAL, synchronous NORMAL), one loop",
        clean: () => Promise.resolve(),
      };
    }
    case "redis": {
      const prefix = `toolgate-bench:${id}:`;
      const spec: ScaleStoreSpec = { type: "redis", url: REDIS_URL, keyPrefix: `${prefix}idem:` };
      return {
        spec,
        problem: () => redisProblem(REDIS_URL),
        raw: () => rawRedis(REDIS_URL, prefix, ctx.seconds, ctx.connections),
        rawWhat: `ioredis SET NX PX, one client, ${ctx.connections} commands in flight`,
        clean: () => cleanRedis(REDIS_URL, prefix).then(() => undefined),
      };
    }
    case "postgres": {
      const table = `toolgate_bench_${id}`;
      const spec: ScaleStoreSpec = { type: "postgres", url: POSTGRES_URL, table };
      const hadMeta = { value: true };
      return {
        spec,
        problem: () => postgresProblem(POSTGRES_URL, hadMeta),
        raw: () => rawPostgres(POSTGRES_URL, `${table}_raw`, ctx.seconds, ctx.connections),
        rawWhat: `pg INSERT ... ON CONFLICT DO NOTHING, a pool of ${ctx.connections} connections`,
        clean: () =>
          cleanPostgres(
            POSTGRES_URL,
            [table, `${table}_rate_limits`, `${table}_raw`],
            !hadMeta.value,
          ),
      };
    }
  }
}

async function measureStore(
  ctx: ScaleContext,
  store: StoreName,
  notes: string[],
): Promise<StoreFigures> {
  const setup = storeSetup(ctx, store);
  const unavailable = await setup.problem();
  if (unavailable !== undefined) return { store, unavailable };
  notes.push(`${store} raw ceiling: ${setup.rawWhat}`);
  let child: Child | undefined;
  const figures: StoreFigures = { store };
  try {
    figures.raw = await setup.raw();
    child = await startServer(`scale-store-${store}`, {
      kind: "scale-store",
      store: setup.spec,
      keyFile: ctx.keyFile,
      auditFile: path.join(ctx.dir, `store-${store}-audit.sqlite`),
    });
    const server = child;
    const write = { ...HEADERS, authorization: await devToken(ctx, server.url, true) };
    const read = { ...HEADERS, authorization: await devToken(ctx, server.url) };
    for (const [tool, headers] of [
      ["record", write],
      ["limited", read],
    ] as const) {
      const key = { "idempotency-key": randomUUID() };
      const problem = await callProblem(server.url, { ...headers, ...key }, callBody(0, tool));
      if (problem !== undefined) throw new Error(`${tool}: the first call failed: ${problem}`);
    }
    figures.write = await measurePoint(
      ctx,
      [server],
      {
        url: server.url,
        headers: write,
        setup: (request) => {
          request.body = callBody(nextRpcId(), "record");
          if (request.headers) request.headers["idempotency-key"] = randomUUID();
        },
      },
      true,
    );
    figures.rateLimit = await measurePoint(
      ctx,
      [server],
      {
        url: server.url,
        headers: read,
        setup: (request) => {
          request.body = callBody(nextRpcId(), "limited");
        },
      },
      true,
    );
    errorNotes(`${store} write`, figures.write, notes);
    errorNotes(`${store} rate limit`, figures.rateLimit, notes);
  } catch (error) {
    figures.failed = (error as Error).message;
  } finally {
    await child?.stop();
    await setup.clean().catch((error: unknown) => {
      notes.push(`${store}: clean-up failed: ${(error as Error).message}`);
    });
  }
  return figures;
}

export async function storesCurve(ctx: ScaleContext): Promise<CurveResult> {
  const notes: string[] = [];
  const figures: StoreFigures[] = [];
  for (const store of ["sqlite", "redis", "postgres"] as const) {
    const f = await measureStore(ctx, store, notes);
    figures.push(f);
    process.stderr.write(
      `scale stores ${store}: ` +
        (f.unavailable ?? f.failed ?? `${fmt(f.write?.rate ?? NaN)} writes/s`) +
        "\n",
    );
  }
  const rows: string[][] = [];
  for (const f of figures) {
    if (f.unavailable !== undefined) {
      rows.push([f.store, `unavailable: ${f.unavailable}`]);
      continue;
    }
    if (f.raw) {
      const r = f.raw;
      rows.push([f.store, "raw ceiling", fmt(r.rate), fmt(r.p50, 2), fmt(r.p99, 2), "-", "0", "1"]);
    }
    if (f.write) rows.push([f.store, "idempotent write", ...pointCells(f.write), "2"]);
    if (f.rateLimit) rows.push([f.store, "rate-limited read", ...pointCells(f.rateLimit), "1"]);
    if (f.failed !== undefined) {
      rows.push([f.store, `failed: ${f.failed.replace(/\s+/g, " ").slice(0, 200)}`]);
    }
  }
  notes.push(
    "audit: the SQLite audit sink for all three stores (the store differs, the audit does not)",
    "store ops/call: an idempotent write is a claim, then a complete (2 round trips); a " +
      "rate-limited read consumes one bucket (perPrincipal, 1000000/s: never refused)",
    `Redis: ${REDIS_URL}, keys under a toolgate-bench:<id>: prefix, deleted after; ` +
      `PostgreSQL: ${POSTGRES_URL}, tables toolgate_bench_<id>*, dropped after ` +
      "(BENCH_REDIS_URL, BENCH_POSTGRES_URL to change)",
    "raw ceilings run in the bench process (its CPU is not counted); calls/s of a row is " +
      "ops/s for the raw ceiling",
  );
  return {
    name: "stores",
    title:
      "stores: idempotent writes and rate limits with audit on each store, beside the " +
      "store's raw ceiling",
    header: [
      "store",
      "row",
      "calls/s",
      "p50 ms",
      "p99 ms",
      "CPU µs/call",
      "errors",
      "store ops/call",
    ],
    rows,
    notes,
    data: { figures },
  };
}
