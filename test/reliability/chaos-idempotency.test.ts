// Chaos for idempotency (design page idempotency.md, "The flow" and rule 10): per store
// (SQLite, PostgreSQL, Redis), three toolgate processes share the store while agents fire
// concurrent duplicate write calls with random keys, and a chaos loop SIGKILLs a random
// process at random moments and starts it again. Each agent retries with the SAME key, on
// whichever process is up, until its operation succeeds. Then the fake payments
// provider's ledger is the ground truth:
// - `refund` (the provider honours toolgate's derived key): exactly one refund per operation;
// - `refund_unkeyed` (a fresh key per execution, i.e. a backend that ignores keys): at most
//   one, except a repeat after its process was killed between paying and persisting (a
//   takeover reruns the handler; that is what the derived key is for), counted apart;
// - every answer belongs to its own operation, one result per key, and after the chaos
//   every operation replays that same result from the store (no completed record lost).
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it, type TestContext } from "node:test";
import { isDeepStrictEqual } from "node:util";
import { devIssuer, type Principal } from "../../src/index.js";
import { sqliteStore, type IdempotencyStore } from "../../src/stores/index.js";
import { derivedKeyOf, scopeOf } from "../../src/idempotency/key.js";
import { postgresStore } from "../../src/stores/postgres-store.js";
import { redisStore } from "../../src/stores/redis-store.js";
import { PAYMENTS_SECRET_ENV } from "../../examples/refunds/backends.js";
import {
  startPaymentsService,
  type PaymentsService,
} from "../../examples/refunds/payments-service.js";
import { postgresAdmin, redisAdmin } from "../helpers/services.js";
import { byProfile, report } from "./summary.js";
import { judge, type ChaosTool, type Operation } from "./fixtures/chaos-checks.js";
import { Agents, startChaos } from "./fixtures/chaos-agent.js";
import { ProcessPool, seededRandom, sleep, type ToolResult } from "./fixtures/chaos-harness.js";

const OPERATIONS = byProfile(200, 1_000);
/** Operations in flight at once (each with 2-3 duplicate callers). */
const CONCURRENCY = byProfile(12, 16);
/** Operation starts are spread over this long, so the kills land among them. */
const SPREAD_MS = byProfile(20_000, 100_000);
/** A kill every 1.5-4 s while operations run. */
const KILL_GAP_MS = [1_500, 4_000] as const;
const MIN_KILLS = 3;
/** The tools' deadline: lease = 3 s + 5 s margin = 8 s, how long a killed owner's claim blocks. */
const TOOL_TIMEOUT_MS = 3_000;
const LEASE_MS = TOOL_TIMEOUT_MS + 5_000;
const WAIT_MS = 1_000;
/** One HTTP exchange, and an operation's whole retry budget (several leases and restarts). */
const CALL_TIMEOUT_MS = 15_000;
const GIVE_UP_MS = 90_000;
const UNKEYED_SHARE = 0.35;
/** Share of operations that reuse an earlier key under another principal or tool. */
const KEY_REUSE_SHARE = 0.1;
const AUDIENCE = "https://toolgate-chaos.test/mcp";
const SEED = Number(process.env["TOOLGATE_CHAOS_SEED"] ?? randomBytes(4).readUInt32LE());
const TEST_TIMEOUT_MS = byProfile(300_000, 1_200_000);

const REQUIRE_INTEGRATION =
  process.env["CI"] === "true" && process.env["TOOLGATE_REQUIRE_INTEGRATION"] === "1";
const POSTGRES_URL = process.env["TOOLGATE_TEST_POSTGRES_URL"];
const REDIS_URL = process.env["TOOLGATE_TEST_REDIS_URL"];

/** false (run), or why this part skips; with CI=true and TOOLGATE_REQUIRE_INTEGRATION=1 it runs (and fails). */
function skipUnless(variable: string, example: string): string | false {
  if (process.env[variable] || REQUIRE_INTEGRATION) return false;
  return `${variable} is unset: set ${variable}=${example} to run this part`;
}

function requireVariable(variable: string): string {
  const value = process.env[variable];
  if (!value) {
    assert.fail(`${variable} is unset, and CI=true with TOOLGATE_REQUIRE_INTEGRATION=1 needs it`);
  }
  return value;
}

/** One store shared by every process of a run, the test's own handle on it, and its cleanup. */
interface StoreTarget {
  readonly name: string;
  readonly env: Record<string, string>;
  readonly inspector: IdempotencyStore;
  cleanup(): Promise<void>;
}

interface Caller {
  readonly subject: string;
  readonly tenant?: string;
  readonly token: string;
}

const CLIENT_SECRET = `cs_${randomBytes(24).toString("base64url")}`;
/** What a run still holds if it is cut short (a test timeout): released by after(). */
const pools = new Set<ProcessPool>();
const providers = new Set<PaymentsService>();
let dir: string;
let keyFile: string;
let issuerName: string;
let callers: Caller[];

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "toolgate-chaos-"));
  keyFile = path.join(dir, "dev-issuer.json");
  const issuer = await devIssuer({ keyFile, env: {} });
  issuerName = issuer.issuer;
  const mint = async (subject: string, tenant?: string): Promise<Caller> => ({
    subject,
    ...(tenant === undefined ? {} : { tenant }),
    token: await issuer.mint({
      sub: subject,
      ...(tenant === undefined ? {} : { tenant }),
      scope: "refunds:write",
      audience: AUDIENCE,
      ttlSec: 3600,
    }),
  });
  callers = [await mint("alice", "acme"), await mint("bob")];
});

after(async () => {
  for (const pool of pools) pool.killAll();
  await Promise.all([...providers].map((p) => p.close()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe(`idempotency chaos (seed ${SEED}: TOOLGATE_CHAOS_SEED=${SEED} to replay)`, () => {
  it("SQLite: 3 processes on one file, random SIGKILLs", { timeout: TEST_TIMEOUT_MS }, (t) =>
    runChaos(t, () => {
      const file = path.join(dir, `chaos-${randomUUID().slice(0, 8)}.sqlite`);
      const inspector = sqliteStore({ path: file });
      return Promise.resolve({
        name: "sqlite",
        env: { STORE: "sqlite", SQLITE_PATH: file },
        inspector,
        cleanup: async () => {
          await inspector.close();
          for (const suffix of ["", "-wal", "-shm"]) rmSync(file + suffix, { force: true });
        },
      });
    }),
  );

  it(
    "PostgreSQL: 3 processes on one table, random SIGKILLs",
    {
      timeout: TEST_TIMEOUT_MS,
      skip: skipUnless("TOOLGATE_TEST_POSTGRES_URL", "postgres://127.0.0.1:5432/test"),
    },
    (t) =>
      runChaos(t, async () => {
        const url = POSTGRES_URL ?? requireVariable("TOOLGATE_TEST_POSTGRES_URL");
        const admin = await postgresAdmin(url);
        const table = `toolgate_chaos_${process.pid}_${randomBytes(4).toString("hex")}`;
        const inspector = postgresStore({ connectionString: url }, { table });
        return {
          name: "postgres",
          env: { STORE: "postgres", POSTGRES_URL: url, POSTGRES_TABLE: table },
          inspector,
          cleanup: async () => {
            await inspector.close();
            await admin.query(`DROP TABLE IF EXISTS "${table}", "${table}_rate_limits"`);
            await admin.query("DELETE FROM toolgate_meta WHERE key = $1", [
              `${table}.schema_version`,
            ]);
            await admin.end();
          },
        };
      }),
  );

  it(
    "Redis: 3 processes on one key prefix, random SIGKILLs",
    {
      timeout: TEST_TIMEOUT_MS,
      skip: skipUnless("TOOLGATE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
    },
    (t) =>
      runChaos(t, async () => {
        const url = REDIS_URL ?? requireVariable("TOOLGATE_TEST_REDIS_URL");
        const admin = await redisAdmin(url);
        const prefix = `toolgate:chaos:${process.pid}:${randomBytes(4).toString("hex")}:`;
        const inspector = redisStore({ url }, { keyPrefix: prefix });
        return {
          name: "redis",
          env: { STORE: "redis", REDIS_URL: url, REDIS_PREFIX: prefix },
          inspector,
          cleanup: async () => {
            await inspector.close();
            for (let cursor = "0"; ;) {
              const [next, keys] = await admin.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500);
              if (keys.length > 0) await admin.del(...keys);
              if ((cursor = next) === "0") break;
            }
            admin.disconnect();
          },
        };
      }),
  );
});

async function runChaos(t: TestContext, makeTarget: () => Promise<StoreTarget>): Promise<void> {
  const random = seededRandom(SEED);
  const target = await makeTarget();
  const started = Date.now();
  let payments: PaymentsService | undefined;
  let pool: ProcessPool | undefined;
  try {
    payments = await startPaymentsService({ clientSecret: CLIENT_SECRET });
    providers.add(payments);
    pool = new ProcessPool(3, serverEnv(target, payments));
    pools.add(pool);
    await Promise.all([0, 1, 2].map((slot) => pool!.start(slot)));
    const ops = planOperations(target.name, random);
    const agents = new Agents({
      pool,
      random,
      tokenOf: (subject) => callers.find((c) => c.subject === subject)!.token,
      callTimeoutMs: CALL_TIMEOUT_MS,
      giveUpMs: GIVE_UP_MS,
    });

    // Each operation starts at its moment in the spread, with 2-3 duplicate callers,
    // while the chaos loop kills and restarts processes.
    const chaos = startChaos({ pool, random, agents, gapMs: KILL_GAP_MS });
    const runStarted = Date.now();
    try {
      await Agents.each(ops, CONCURRENCY, async (op, i) => {
        await sleep(runStarted + (i * SPREAD_MS) / ops.length - Date.now());
        const duplicates = 2 + Math.floor(random() * 2);
        await Promise.all(Array.from({ length: duplicates }, () => agents.callUntilDone(op)));
      });
    } finally {
      await chaos.stop();
    }
    const { kills } = chaos;
    const chaosSeconds = (Date.now() - runStarted) / 1000;

    const ledgerBefore = payments.ledger().length;
    const replays = await checkReplays(ops, agents, target.inspector);
    const reran = payments.ledger().length - ledgerBefore;
    const verdict = judge(ops, payments.ledger(), kills, {
      // A takeover reruns a killed owner's handler no sooner than its lease after the claim,
      // and the claim came at most one deadline before the payment it made.
      minRerunGapMs: LEASE_MS - TOOL_TIMEOUT_MS,
    });
    const logs = pool.started.map((p) => p.stderr.text).join("\n");
    const takeovers = logs.split("took over an idempotency claim").length - 1;
    // Requests the provider answered from its key store: crash windows the derived key closed.
    const keyedPosts = new Map<string, number>();
    for (const r of payments.requests()) {
      if (r.method === "POST" && r.path === "/v1/refunds" && r.idempotencyKey?.startsWith("tg_"))
        keyedPosts.set(r.idempotencyKey, (keyedPosts.get(r.idempotencyKey) ?? 0) + 1);
    }
    const providerDedupes = [...keyedPosts.values()].reduce((n, c) => n + c - 1, 0);

    const counts = {
      cases: ops.length,
      faults: kills.length,
      calls: agents.calls,
      // A rerun during the replays is also an unexplained ledger entry for judge().
      duplicatesExecuted: verdict.duplicatesExecuted,
      recordsLost: verdict.recordsLost + replays.lost.length,
      leaks: verdict.leaks + agents.leaks.length,
    };
    const seconds = (Date.now() - started) / 1000;
    report("chaos-idempotency", target.name, counts, {
      kills: kills.length,
      retries: agents.retries,
      callsCutOff: agents.cutOff,
      seconds,
      chaosSeconds,
      replaysChecked: replays.checked,
      takeovers,
      providerDedupes,
      unkeyedCrashRepeats: verdict.crashRepeats,
      seed: SEED,
    });
    t.diagnostic(
      `${target.name}: ${ops.length} operations, ${agents.calls} calls, ${agents.retries} retries, ` +
        `${kills.length} kills, ${agents.cutOff} calls cut off, ${takeovers} takeovers, ` +
        `${providerDedupes} provider dedupes, ${verdict.crashRepeats} unkeyed crash repeats, ` +
        `${seconds.toFixed(1)} s (seed ${SEED})`,
    );

    const problems = [...verdict.problems, ...replays.lost, ...agents.leaks];
    if (reran > 0) problems.push(`${reran} refunds ran again when replaying completed operations`);
    assert.deepEqual(problems.slice(0, 20), [], `${problems.length} problems`);
    assert.equal(counts.duplicatesExecuted, 0);
    assert.equal(counts.recordsLost, 0);
    assert.equal(counts.leaks, 0);
    assert.ok(kills.length >= MIN_KILLS, `only ${kills.length} kills: the run proved little`);
    assert.equal(replays.checked, ops.length, "every operation completed and was replayed");
  } finally {
    if (pool) {
      await pool.stopAll();
      pools.delete(pool);
    }
    if (payments) {
      await payments.close();
      providers.delete(payments);
    }
    await target.cleanup();
  }
}

/** The environment of a server process of this run (slot and generation name its audit log). */
function serverEnv(target: StoreTarget, payments: PaymentsService) {
  return (slot: number, generation: number): Record<string, string> => ({
    ...target.env,
    DEV_KEY_FILE: keyFile,
    AUDIENCE,
    PAYMENTS_URL: payments.url,
    PAYMENTS_TOKEN_URL: payments.tokenUrl,
    PAYMENTS_CLIENT_ID: payments.clientId,
    [PAYMENTS_SECRET_ENV]: CLIENT_SECRET,
    AUDIT_FILE: path.join(dir, `audit-${target.name}-${slot}-${generation}.sqlite`),
    TIMEOUT_MS: String(TOOL_TIMEOUT_MS),
    WAIT_MS: String(WAIT_MS),
  });
}

/**
 * After the chaos, asks every completed operation again with its key (any process): it
 * must be a flagged replay of the result the agents got, and the store must hold that
 * result as completed. Anything else is a lost (or replaced) record.
 */
async function checkReplays(
  ops: readonly Operation[],
  agents: Agents,
  inspector: IdempotencyStore,
): Promise<{ checked: number; lost: string[] }> {
  const lost: string[] = [];
  let checked = 0;
  const done = ops.filter((op) => op.successes.length > 0 && !op.failure);
  await Agents.each(done, CONCURRENCY, async (op) => {
    const first = op.successes[0]!.result.structuredContent;
    const probe: Operation = { ...op, successes: [] };
    await agents.callUntilDone(probe);
    const again = probe.successes[0];
    checked += 1;
    const scope = scopeOf(principalOf(op.principal), op.tool, op.key);
    const stored = await inspector.get(scope, Date.now());
    const storedResult = stored?.result
      ? (JSON.parse(stored.result) as ToolResult).structuredContent
      : undefined;
    const replayed =
      again?.replay === true && isDeepStrictEqual(again.result.structuredContent, first);
    const kept = stored?.state === "completed" && isDeepStrictEqual(storedResult, first);
    if (!replayed || !kept) {
      lost.push(
        `${op.args.op}: asked again: ${JSON.stringify(again ?? probe.failure)}; record ${stored?.state ?? "missing"}`,
      );
    }
  });
  return { checked, lost };
}

/** The principal toolgate builds from a caller's dev token (what scopes its records). */
function principalOf(p: Operation["principal"]): Principal {
  return { issuer: issuerName, ...p, scopes: [], claims: {}, anonymous: false };
}

/**
 * The operations of a run: each has its own amount, order and reason (so a result and a
 * ledger entry name their operation), a random tool and principal, and a random key.
 */
function planOperations(store: string, random: () => number): Operation[] {
  const ops: Operation[] = [];
  for (let index = 0; index < OPERATIONS; index += 1) {
    const tool: ChaosTool = random() < UNKEYED_SHARE ? "refund_unkeyed" : "refund";
    const caller = callers[Math.floor(random() * callers.length)]!;
    const principal = {
      subject: caller.subject,
      ...(caller.tenant === undefined ? {} : { tenant: caller.tenant }),
    };
    // A few reuse an earlier key under another principal or on the other tool: another scope.
    const earlier = random() < KEY_REUSE_SHARE ? ops[Math.floor(random() * ops.length)] : undefined;
    const key =
      earlier && !usedInScope(ops, earlier.key, principal.subject, tool)
        ? earlier.key
        : randomUUID();
    const scope = scopeOf(principalOf(principal), tool, key);
    ops.push({
      index,
      tool,
      principal,
      key,
      derivedKey: derivedKeyOf(scope),
      args: {
        op: `${store}-${index}`,
        order_id: `ORD-${store}-${String(index).padStart(5, "0")}`,
        amount_cents: 100 + index,
        reason: `chaos ${store} operation ${index}`,
        delay_ms: Math.floor(random() * 200),
        settle_ms: Math.floor(random() * 300),
      },
      successes: [],
    });
  }
  return ops;
}

/** Whether `key` already names an operation of this principal on this tool (same scope). */
function usedInScope(ops: Operation[], key: string, subject: string, tool: ChaosTool): boolean {
  return ops.some((o) => o.key === key && o.principal.subject === subject && o.tool === tool);
}
