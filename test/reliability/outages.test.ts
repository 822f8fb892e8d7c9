// Outages: the services a toolgate server depends on fail mid-run, under continuous calls
// over real HTTP, and come back:
//   1. the idempotency store's PostgreSQL is shut down (fast) and killed (SIGKILL), then started;
//   2. the same with PostgreSQL frozen (SIGSTOP: it keeps its sockets and answers nothing);
//   3. the idempotency store's Redis is stopped, killed and frozen, then back;
//   4. the PostgreSQL audit sink's database goes away: calls are still served, events arrive later;
//   5. an HTTP backend hangs, then refuses connections (circuit breaker included), then is back;
//   6. the gateway's upstream MCP servers (stdio and HTTP child processes) are SIGKILLed.
// For every call: an answer within its deadline (tool timeout + slack, measured), either a
// success or a typed error of the contract; during the outage only retryable ones; no HTTP
// 5xx, no JSON-RPC error, no stack trace, no hang. Afterwards service resumes by itself
// (no server restart) within a bound, and every operation that failed retryably, retried
// with the same idempotency key, completes exactly once (executions are counted where
// they happen).
//
// PostgreSQL and Redis are PRIVATE instances (test/reliability/private-services.ts) on
// free ports: the shared services other suites use are never touched.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { pino } from "pino";
import * as z from "zod";
import { createToolServer, defineTool, httpBackend, type ToolServer } from "../../src/index.js";
import { silentLogger } from "../../src/server/index.js";
import { ERROR_TYPES, isErrorType } from "../../src/errors/index.js";
import { memoryStore, type ToolgateStore } from "../../src/stores/index.js";
import { createGateway, type Gateway } from "../../src/gateway/index.js";
import { REPLAY_META_KEY } from "../../src/client/index.js";
import { postgresAuditSink } from "../../src/audit/sinks/postgres-sink.js";
import { postgresStore } from "../../src/stores/postgres-store.js";
import { redisStore } from "../../src/stores/redis-store.js";
import { LineCollector, REPO_ROOT, minimalEnv, waitForExit } from "../helpers/process.js";
import { LEAK_MARKERS } from "../helpers/server.js";
import {
  assertAvailable,
  freeLoopbackPort,
  postgresMissing,
  privatePostgres,
  privateRedis,
  redisMissing,
  skipUnless,
  type PrivateService,
} from "./private-services.js";
import { byProfile, report } from "./summary.js";

const SUITE = "outages";
/** Added to a tool's timeout for the latency bound: scheduling on a busy 2-core machine. */
const SLACK_MS = 1_500;
/** A call with no answer after this is a hang (the bound is checked separately). */
const HANG_MS = 15_000;
/** After the service is back, the first success must come within this. */
const RECOVERY_BOUND_MS = 15_000;
/** The gateway's recovery includes starting a Node child process (tsx) on a busy machine. */
const GATEWAY_RECOVERY_BOUND_MS = 20_000;
/** After recovery, calls must keep succeeding for this long. */
const STEADY_MS = 1_500;
/** Calls made this soon after the first success may still be settling (pools refilling). */
const SETTLE_MS = 500;
const WARM_MS = 1_000;
/** Pause between one caller's calls. */
const PAUSE_MS = 25;
const OUTAGE_MS = byProfile(2_500, 8_000);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------
// One MCP tools/call over HTTP, checked against the error contract

interface Outcome {
  readonly label: string;
  readonly kind: "read" | "write";
  readonly op?: string;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly latencyMs: number;
  /** "ok", an error type of the contract, or "bad" when the answer broke the contract. */
  readonly outcome: string;
  readonly retryable?: boolean;
  readonly retryAfterMs?: number;
  readonly message?: string;
  readonly details?: Record<string, unknown>;
  readonly replayed?: boolean;
  /** A contract breach: HTTP status, JSON-RPC error, untyped error, no answer. */
  readonly problem?: string;
  /** The answer carried a stack trace, source path or other internals. */
  readonly leak?: boolean;
}

let rpcId = 0;

async function mcpCall(
  url: string,
  name: string,
  args: Record<string, unknown>,
  meta: { label: string; kind: "read" | "write"; op?: string },
): Promise<Outcome> {
  const id = ++rpcId;
  const startedAt = Date.now();
  const base = { ...meta, startedAt };
  const done = (fields: Partial<Outcome> & { outcome: string }): Outcome => {
    const endedAt = Date.now();
    return { ...base, ...fields, endedAt, latencyMs: endedAt - startedAt };
  };
  let status: number;
  let contentType: string;
  let body: string;
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-protocol-version": "2025-11-25",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id,
        method: "tools/call",
        params: { name, arguments: args },
      }),
      signal: AbortSignal.timeout(HANG_MS),
    });
    status = response.status;
    contentType = response.headers.get("content-type") ?? "";
    body = await response.text();
  } catch (error) {
    const hang = (error as Error).name === "TimeoutError";
    return done({
      outcome: "bad",
      problem: hang
        ? `no answer within ${HANG_MS} ms (a hang)`
        : `transport error: ${(error as Error).message}`,
    });
  }
  if (status !== 200) {
    return done({
      outcome: "bad",
      problem: `HTTP ${status}: ${body.slice(0, 300)}`,
      leak: LEAK_MARKERS.some((m) => body.includes(m)),
    });
  }
  let message: { id?: unknown; result?: Record<string, unknown>; error?: unknown } | undefined;
  try {
    if (contentType.includes("text/event-stream")) {
      for (const line of body.split("\n")) {
        if (!line.startsWith("data:")) continue;
        const parsed = JSON.parse(line.slice(5)) as typeof message;
        if (parsed?.id === id) message = parsed;
      }
    } else {
      message = JSON.parse(body) as typeof message;
    }
  } catch {
    message = undefined;
  }
  if (!message || (message.result === undefined && message.error === undefined)) {
    return done({ outcome: "bad", problem: `unparsable answer: ${body.slice(0, 300)}` });
  }
  if (message.error !== undefined) {
    return done({
      outcome: "bad",
      problem: `JSON-RPC error ${JSON.stringify(message.error).slice(0, 300)}`,
      leak: LEAK_MARKERS.some((m) => body.includes(m)),
    });
  }
  const result = message.result!;
  const replayed = (result["_meta"] as Record<string, unknown> | undefined)?.[REPLAY_META_KEY];
  if (result["isError"] !== true) return done({ outcome: "ok", replayed: replayed === true });
  const structured = result["structuredContent"] as { error?: Record<string, unknown> } | undefined;
  const error = structured?.error;
  const content = result["content"] as { type?: string; text?: string }[] | undefined;
  const leak = LEAK_MARKERS.some((m) => JSON.stringify(result).includes(m));
  const type = error?.["type"];
  if (!error || !isErrorType(type)) {
    return done({
      outcome: "bad",
      problem: `isError without a typed error: ${JSON.stringify(result).slice(0, 300)}`,
      leak,
    });
  }
  const fields: Partial<Outcome> & { outcome: string } = {
    outcome: type,
    retryable: error["retryable"] === true,
    message: String(error["message"]),
    leak,
    replayed: replayed === true,
  };
  if (typeof error["retryAfterMs"] === "number") {
    Object.assign(fields, { retryAfterMs: error["retryAfterMs"] });
  }
  if (typeof error["details"] === "object" && error["details"] !== null) {
    Object.assign(fields, { details: error["details"] as Record<string, unknown> });
  }
  if (error["retryable"] !== ERROR_TYPES[type].retryable) {
    Object.assign(fields, { problem: `${type} with retryable ${String(error["retryable"])}` });
  } else if (content?.[0]?.text !== JSON.stringify(structured)) {
    Object.assign(fields, { problem: "content[0].text is not the JSON of structuredContent" });
  }
  return done(fields);
}

/** A server logger keeping its warnings and errors, for failure messages. */
function memoryLogger() {
  const lines: string[] = [];
  const logger = pino(
    { level: "warn", serializers: { err: pino.stdSerializers.err } },
    {
      write(line: string) {
        lines.push(line);
        if (lines.length > 200) lines.shift();
      },
    },
  );
  const tail = (n = 12) =>
    lines
      .slice(-n)
      .map((line) => {
        const entry = JSON.parse(line) as { time: number; msg: string; err?: { message?: string } };
        return `  ${new Date(entry.time).toISOString().slice(11, 23)} ${entry.msg}${entry.err?.message ? `: ${entry.err.message}` : ""}`;
      })
      .join("\n");
  return { logger, tail };
}

// ---------------------------------------------------------------------------------------
// Continuous callers

class Load {
  readonly calls: Outcome[] = [];
  private stopped = false;
  private readonly loops: Promise<void>[] = [];

  /** A caller that calls `step(i)` (i = 0, 1, ...) until stopped. */
  add(step: (i: number) => Promise<Outcome>): void {
    this.loops.push(
      (async () => {
        for (let i = 0; !this.stopped; i++) {
          this.calls.push(await step(i));
          await sleep(PAUSE_MS);
        }
      })(),
    );
  }

  /** The first call matching `test` that ended, waiting for it up to `ms`. */
  async first(test: (c: Outcome) => boolean, ms: number): Promise<Outcome | undefined> {
    const until = Date.now() + ms;
    for (;;) {
      const found = this.calls.find(test);
      if (found || Date.now() > until) return found;
      await sleep(20);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }
}

/** One injected fault: when it started, when the service was back, when calls succeeded again. */
interface Round {
  readonly what: string;
  readonly faultAt: number;
  readonly backAt: number;
  /** End of the first successful call started after `backAt` (undefined: never). */
  readonly recoveredAt: number | undefined;
  /** Where the steady window after recovery ends. */
  steadyUntil: number;
}

const inWindow = (c: Outcome, rounds: readonly Round[]) =>
  rounds.some((r) => c.startedAt >= r.faultAt && c.startedAt < r.backAt);

/** Where a call happened relative to the nearest fault (for failure messages). */
function timeline(c: Outcome, rounds: readonly Round[]): string {
  const r = [...rounds].reverse().find((x) => c.startedAt >= x.faultAt - 5_000) ?? rounds[0];
  if (!r) return `(+${c.latencyMs} ms)`;
  const rel = (t: number | undefined) => (t === undefined ? "never" : `${t - r.faultAt}`);
  return (
    `[started ${c.startedAt - r.faultAt} ms after the fault "${r.what}", took ${c.latencyMs} ms; ` +
    `service back at ${rel(r.backAt)}, calls ok at ${rel(r.recoveredAt)}]`
  );
}

/**
 * Every breach of the contract among `calls`: a problem, a latency over `boundMs`, a
 * non-retryable error (unless `accept` accepts it), and after recovery, anything but ok.
 */
function breaches(
  calls: readonly Outcome[],
  boundMs: number,
  rounds: readonly Round[],
  accept: (c: Outcome) => boolean = () => false,
): string[] {
  const out: string[] = [];
  const at = (c: Outcome) => `${c.label}${c.op ? ` ${c.op}` : ""} ${timeline(c, rounds)}`;
  for (const c of calls) {
    if (c.problem) out.push(`${at(c)}: ${c.problem}`);
    if (c.leak) out.push(`${at(c)}: internals leaked in the answer`);
    if (c.latencyMs > boundMs) {
      out.push(`${at(c)}: ${c.outcome} after ${c.latencyMs} ms (bound ${boundMs} ms)`);
    }
    if (c.outcome !== "ok" && c.outcome !== "bad" && c.retryable !== true && !accept(c)) {
      out.push(`${at(c)}: non-retryable ${c.outcome}: ${c.message}`);
    }
    const steady = rounds.find(
      (r) =>
        r.recoveredAt !== undefined &&
        c.startedAt >= r.recoveredAt + SETTLE_MS &&
        c.endedAt <= r.steadyUntil,
    );
    if (steady && c.outcome !== "ok" && !accept(c)) {
      out.push(`${at(c)}: ${c.outcome} after recovery (${steady.what}): ${c.message}`);
    }
  }
  return out;
}

function assertNoBreaches(list: readonly string[], what: string, serverLog?: string): void {
  assert.equal(
    list.length,
    0,
    `${list.length} contract breach(es) in ${what}:\n${list.slice(0, 15).join("\n")}` +
      (serverLog !== undefined ? `\nserver log (warnings):\n${serverLog || "  (none)"}` : ""),
  );
}

const maxLatency = (calls: readonly Outcome[]) =>
  calls.reduce((max, c) => Math.max(max, c.latencyMs), 0);

/**
 * Retries each operation with its own key until it succeeds (bounded): what an agent
 * does after an outage. Returns the retries made.
 */
async function retryUntilDone(
  ops: readonly string[],
  call: (op: string) => Promise<Outcome>,
  boundMs: number,
): Promise<{ retries: Outcome[]; unfinished: string[] }> {
  const retries: Outcome[] = [];
  const unfinished: string[] = [];
  const until = Date.now() + boundMs;
  const queue = [...ops];
  const worker = async () => {
    for (let op = queue.shift(); op !== undefined; op = queue.shift()) {
      for (;;) {
        const outcome = await call(op);
        retries.push(outcome);
        if (outcome.outcome === "ok") break;
        if (outcome.retryable !== true || Date.now() > until) {
          unfinished.push(`${op}: ${outcome.outcome} ${outcome.message ?? outcome.problem ?? ""}`);
          break;
        }
        await sleep(Math.min(Math.max(outcome.retryAfterMs ?? 200, 50), 1_000));
      }
    }
  };
  await Promise.all([worker(), worker(), worker()]);
  return { retries, unfinished };
}

// ---------------------------------------------------------------------------------------
// Scenarios 1-3: the idempotency store goes away

type Fault = "graceful" | "kill" | "freeze";

interface StoreScenario {
  readonly scenario: string;
  readonly service: PrivateService;
  readonly store: ToolgateStore;
  readonly faults: readonly Fault[];
  readonly outageMs: number;
  /** Records must survive the restart (a durable store): replays of earlier operations. */
  readonly durable: boolean;
}

const STORE_TOOL_TIMEOUT_MS = 2_000;
const WRITERS = 3;

async function storeOutage(s: StoreScenario): Promise<void> {
  const executions = new Map<string, number>();
  const log = memoryLogger();
  // The lease outlives the outage, so a result that could not be saved is saved once the
  // store is back, while the claim is still this call's (rule: persist before answering).
  const leaseSec = Math.ceil((s.outageMs + 8_000) / 1000);
  const record = defineTool({
    name: "record_op",
    version: "1.0.0",
    description: "Records one operation.",
    input: z.object({ op: z.string().max(200) }),
    scopes: [],
    sideEffect: "write",
    timeoutMs: STORE_TOOL_TIMEOUT_MS,
    idempotency: { leaseSec },
    handler: async ({ op }) => {
      executions.set(op, (executions.get(op) ?? 0) + 1);
      await sleep(5);
      return { op };
    },
  });
  const count = defineTool({
    name: "count_ops",
    version: "1.0.0",
    description: "Counts recorded operations.",
    input: z.object({}),
    scopes: [],
    sideEffect: "read",
    timeoutMs: STORE_TOOL_TIMEOUT_MS,
    handler: async () => {
      await sleep(1);
      return { ops: executions.size };
    },
  });
  const server: ToolServer = createToolServer({
    name: `outage-${s.scenario}`,
    version: "1.0.0",
    tools: [record, count],
    store: s.store,
    audit: false,
    metrics: false,
    logger: log.logger,
  });
  const boundMs = STORE_TOOL_TIMEOUT_MS + SLACK_MS;
  const load = new Load();
  const rounds: Round[] = [];
  const completedBefore: string[] = [];
  const { url } = await server.listen({ port: 0, host: "127.0.0.1" });
  const write = (op: string, label: string) =>
    mcpCall(url, "record_op", { op, idempotency_key: op }, { label, kind: "write", op });
  try {
    // The first call creates the table: not part of the measured run.
    const first = await write(`${s.scenario}-first`, "setup");
    assert.equal(
      first.outcome,
      "ok",
      `the store works before the outage: ${JSON.stringify(first)}`,
    );

    for (let c = 0; c < WRITERS; c++) {
      load.add((i) => write(`${s.scenario}-w${c}-${i}`, `writer ${c}`));
    }
    load.add(() => mcpCall(url, "count_ops", {}, { label: "reader", kind: "read" }));
    await sleep(WARM_MS);
    for (const c of load.calls)
      if (c.kind === "write" && c.outcome === "ok") completedBefore.push(c.op!);

    for (const fault of s.faults) {
      const faultAt = Date.now();
      if (fault === "freeze") s.service.freeze();
      else await s.service.stop(fault);
      await sleep(s.outageMs);
      if (fault === "freeze") s.service.thaw();
      else await s.service.start();
      const backAt = Date.now();
      const ok = await load.first(
        (c) => c.kind === "write" && c.startedAt >= backAt && c.outcome === "ok",
        RECOVERY_BOUND_MS,
      );
      const round: Round = {
        what: `${s.service.name} ${fault}`,
        faultAt,
        backAt,
        recoveredAt: ok?.endedAt,
        steadyUntil: Infinity,
      };
      rounds.push(round);
      if (!ok) break;
      await sleep(STEADY_MS);
      round.steadyUntil = Date.now();
    }
  } catch (error) {
    await load.stop();
    await server.close();
    throw error;
  }
  await load.stop();

  try {
    // Operations whose call failed (retryably) are retried with the same key.
    const ops = new Map<string, Outcome[]>();
    for (const c of load.calls) if (c.op) ops.set(c.op, [...(ops.get(c.op) ?? []), c]);
    const pending = [...ops].filter(([, tries]) => !tries.some((t) => t.outcome === "ok"));
    const { retries, unfinished } = await retryUntilDone(
      pending.map(([op]) => op),
      (op) => write(op, "retry"),
      leaseSec * 1000 + RECOVERY_BOUND_MS,
    );
    // Records written before the outages are still there: a retry replays, never re-runs.
    const replays: Outcome[] = [];
    if (s.durable) {
      for (const op of completedBefore.slice(0, 10)) {
        replays.push(await write(op, "replay"));
      }
    }
    const all = [...load.calls, ...retries, ...replays];
    const window = load.calls.filter((c) => inWindow(c, rounds));
    const windowFailures = window.filter((c) => c.outcome !== "ok");
    const opsRun = new Set([...ops.keys()]);
    const duplicates = [...opsRun].filter((op) => (executions.get(op) ?? 0) > 1);
    const neverRan = [...opsRun].filter(
      (op) => !unfinished.some((u) => u.startsWith(`${op}:`)) && (executions.get(op) ?? 0) === 0,
    );
    const lost = replays.filter((r) => r.outcome !== "ok" || !r.replayed);
    const recovered = rounds.map((r) =>
      r.recoveredAt === undefined ? Infinity : r.recoveredAt - r.backAt,
    );
    report(
      SUITE,
      s.scenario,
      {
        faults: rounds.length,
        calls: all.length,
        cases: opsRun.size,
        duplicatesExecuted: duplicates.length,
        recordsLost: lost.length + neverRan.length,
        leaks: all.filter((c) => c.leak).length,
      },
      {
        windowCalls: window.length,
        windowFailures: windowFailures.length,
        retriedOps: pending.length,
        maxLatencyMs: maxLatency(all),
        boundMs,
        recoveredAfterMs: Math.max(...recovered),
      },
    );

    assert.equal(rounds.length, s.faults.length, "every fault was injected");
    for (const [i, r] of rounds.entries()) {
      assert.ok(
        r.recoveredAt !== undefined,
        `calls did not succeed again within ${RECOVERY_BOUND_MS} ms after ${r.what} (round ${i + 1}) ended, ` +
          `without restarting the server. ${s.service.name} log:\n${s.service.logTail()}`,
      );
    }
    assertNoBreaches(breaches(all, boundMs, rounds), s.scenario, log.tail());
    for (const r of rounds) {
      // A write that overlapped the outage failed (or, for a frozen store, was held up).
      const seen = load.calls.some(
        (c) =>
          c.kind === "write" &&
          c.endedAt > r.faultAt &&
          c.startedAt < r.backAt &&
          (c.outcome !== "ok" || c.latencyMs > STORE_TOOL_TIMEOUT_MS),
      );
      assert.ok(seen, `the callers saw the outage (${r.what}): some write failed during it`);
    }
    assert.deepEqual(unfinished, [], "every retried operation completed");
    assert.deepEqual(
      duplicates,
      [],
      `no operation ran twice; their calls:\n${duplicates
        .map((op) =>
          [...(ops.get(op) ?? []), ...retries.filter((r) => r.op === op)]
            .map((c) => `  ${op}: ${c.outcome} ${timeline(c, rounds)} ${c.message ?? ""}`)
            .join("\n"),
        )
        .join("\n")}\nserver log:\n${log.tail()}`,
    );
    assert.deepEqual(neverRan, [], "every operation that answered ok ran");
    assert.deepEqual(
      lost.map((r) => `${r.op}: ${r.outcome}${r.replayed ? "" : " (not a replay)"}`),
      [],
      "operations completed before the outage replay after it",
    );
  } finally {
    await server.close();
  }
}

describe(
  "outages: PostgreSQL (private instance) under the idempotency store and the audit log",
  { skip: skipUnless("PostgreSQL outage suite", [postgresMissing()]) },
  () => {
    let service: PrivateService | undefined;
    before(async () => {
      assertAvailable([postgresMissing()]);
      service = await privatePostgres();
      await service.start();
    });
    after(async () => {
      await service?.dispose();
    });

    it("store: fast shutdown and SIGKILL mid-run; typed retryable answers in time; recovers; exactly once", async () => {
      const store = postgresStore({ connectionString: service!.url }, { table: "outage_stop" });
      try {
        await storeOutage({
          scenario: "postgres-store-stopped",
          service: service!,
          store,
          faults: byProfile(["graceful", "kill"], ["graceful", "kill", "graceful"]),
          outageMs: OUTAGE_MS,
          durable: true,
        });
      } finally {
        await store.close();
      }
    });

    it("store: PostgreSQL frozen (SIGSTOP) mid-run; calls still answer within their deadline", async () => {
      // Default store timeouts (connect 2 s, statement 5 s + 1 s client guard), as a user
      // would leave them; the tool's deadline is 2 s. A frozen server (a network partition,
      // a stalled disk) answers nothing and refuses nothing: each call must still be
      // answered at its deadline. Found failing (toolgate 7f0b819): the idempotency stage's
      // store calls (claim, and complete after the handler) are not bounded by the call's
      // deadline, so calls answer when the freeze ends (or at the store's 6 s guard),
      // whatever the tool's timeout.
      const store = postgresStore({ connectionString: service!.url }, { table: "outage_freeze" });
      try {
        await storeOutage({
          scenario: "postgres-store-frozen",
          service: service!,
          store,
          faults: ["freeze"],
          outageMs: byProfile(5_000, 8_000),
          durable: true,
        });
      } finally {
        service!.thaw();
        await store.close();
      }
    });

    it("audit sink: calls keep being served while PostgreSQL is down; every event arrives after", async () => {
      const table = "outage_audit";
      const tools = [
        defineTool({
          name: "look",
          version: "1.0.0",
          description: "Reads.",
          input: z.object({}),
          scopes: [],
          sideEffect: "read",
          timeoutMs: STORE_TOOL_TIMEOUT_MS,
          handler: () => ({ ok: true }),
        }),
        defineTool({
          name: "change",
          version: "1.0.0",
          description: "Writes.",
          input: z.object({ op: z.string() }),
          scopes: [],
          sideEffect: "write",
          timeoutMs: STORE_TOOL_TIMEOUT_MS,
          handler: ({ op }) => ({ op }),
        }),
      ];
      const server = createToolServer({
        name: "outage-audit",
        version: "1.0.0",
        tools,
        store: memoryStore(),
        metrics: false,
        logger: silentLogger(),
        audit: {
          sinks: [
            postgresAuditSink(
              { connectionString: service!.url },
              { table, connectTimeoutMs: 500, queryTimeoutMs: 1_000 },
            ),
          ],
          flushIntervalMs: 20,
        },
      });
      const admin = new pg.Pool({ connectionString: service!.url, connectionTimeoutMillis: 1_000 });
      admin.on("error", () => undefined);
      const rows = async () =>
        Number(
          (
            await admin
              .query<{ n: string }>(`SELECT count(*) AS n FROM "${table}"`)
              .catch(() => ({ rows: [{ n: "-1" }] }))
          ).rows[0]!.n,
        );
      const load = new Load();
      const rounds: Round[] = [];
      const boundMs = STORE_TOOL_TIMEOUT_MS + SLACK_MS;
      try {
        const { url } = await server.listen({ port: 0, host: "127.0.0.1" });
        load.add(() => mcpCall(url, "look", {}, { label: "reader", kind: "read" }));
        load.add((i) =>
          mcpCall(
            url,
            "change",
            { op: `a${i}`, idempotency_key: `audit-${i}` },
            { label: "writer", kind: "write" },
          ),
        );
        await sleep(WARM_MS);
        const faultAt = Date.now();
        await service!.stop("graceful");
        await sleep(OUTAGE_MS);
        await service!.start();
        const backAt = Date.now();
        rounds.push({
          what: "audit database down",
          faultAt,
          backAt,
          recoveredAt: backAt,
          steadyUntil: Infinity,
        });
        await sleep(STEADY_MS);
        await load.stop();
        // Buffered events are written once the database is back (the sink retries with backoff).
        const until = Date.now() + 20_000;
        while ((await rows()) < load.calls.length && Date.now() < until) await sleep(100);
        const stored = await rows();
        const distinct = Number(
          (
            await admin.query<{ n: string }>(
              `SELECT count(DISTINCT request_id) AS n FROM "${table}"`,
            )
          ).rows[0]!.n,
        );
        const window = load.calls.filter((c) => inWindow(c, rounds));
        report(
          SUITE,
          "postgres-audit-sink-down",
          {
            faults: 1,
            calls: load.calls.length,
            cases: load.calls.length,
            recordsLost: Math.max(0, load.calls.length - stored),
            leaks: load.calls.filter((c) => c.leak).length,
          },
          {
            windowCalls: window.length,
            maxLatencyMs: maxLatency(load.calls),
            boundMs,
            eventsStored: stored,
            recoveredAfterMs: 0,
          },
        );
        assert.ok(window.length > 0, "calls were made while the audit database was down");
        // The audit log failing must not fail calls (failClosed is off): every one is ok.
        const failed = load.calls.filter((c) => c.outcome !== "ok");
        assertNoBreaches(breaches(load.calls, boundMs, rounds), "audit outage");
        assert.deepEqual(
          failed.map((c) => `${c.label}: ${c.outcome} ${c.message ?? c.problem ?? ""}`),
          [],
          "every call was served while the audit log was down",
        );
        assert.equal(stored, load.calls.length, "every call's event reached the database");
        assert.equal(distinct, stored, "no event stored twice");
      } finally {
        await load.stop();
        await server.close();
        await admin.end();
      }
    });
  },
);

describe(
  "outages: Redis (private instance) under the idempotency store",
  { skip: skipUnless("Redis outage suite", [redisMissing()]) },
  () => {
    let service: PrivateService | undefined;
    before(async () => {
      assertAvailable([redisMissing()]);
      // Persistent (AOF, fsync always): what a store must keep across a restart is kept, so
      // exactly-once and replays are checked; without persistence a restart forgets every
      // record by design (README, stores).
      service = await privateRedis({ persistent: true });
      await service.start();
    });
    after(async () => {
      await service?.dispose();
    });

    it("store: SIGTERM, SIGKILL and SIGSTOP mid-run; typed retryable answers in time; recovers; exactly once", async () => {
      const store = redisStore({ url: service!.url });
      try {
        await storeOutage({
          scenario: "redis-store-restarted",
          service: service!,
          store,
          faults: byProfile(
            ["graceful", "kill", "freeze"],
            ["graceful", "kill", "freeze", "graceful"],
          ),
          outageMs: OUTAGE_MS,
          durable: true,
        });
      } finally {
        service!.thaw();
        await store.close();
      }
    });
  },
);

// ---------------------------------------------------------------------------------------
// Scenario 5: an HTTP backend that hangs, then refuses connections

/** A small HTTP backend: `ok` answers, `hang` accepts and never answers; `close()` refuses. */
function flakyBackend() {
  let mode: "ok" | "hang" = "ok";
  let server: Server | undefined;
  let port = 0;
  const sockets = new Set<Socket>();
  const hung = new Set<ServerResponse>();
  /** 200 answers to a POST, per Idempotency-Key: the effect a real provider applies. */
  const answered = new Map<string, number>();
  const start = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer((req, res) => {
        req.resume();
        req.on("end", () => {
          if (mode === "hang") return void hung.add(res);
          if (req.method === "POST") {
            const key = String(req.headers["idempotency-key"] ?? "");
            answered.set(key, (answered.get(key) ?? 0) + 1);
          }
          res.writeHead(200, { "content-type": "application/json" }).end('{"balance":42}');
        });
      });
      s.on("connection", (socket) => {
        sockets.add(socket);
        socket.on("close", () => sockets.delete(socket));
      });
      s.once("error", reject);
      s.listen(port, "127.0.0.1", () => {
        port = (s.address() as AddressInfo).port;
        server = s;
        resolve();
      });
    });
  const close = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      hung.clear();
      if (!server) return resolve();
      server.close(() => resolve());
      server = undefined;
    });
  return {
    start,
    close,
    setMode: (m: "ok" | "hang") => (mode = m),
    url: () => `http://127.0.0.1:${port}/`,
    answered,
  };
}

describe("outages: an HTTP backend hangs, then refuses connections", () => {
  it("answers timeout/unavailable (retryable) within the deadline, breaker included; resumes by itself", async () => {
    const backend = flakyBackend();
    await backend.start();
    const toolTimeoutMs = 1_500;
    const executions = new Map<string, number>();
    const tools = [
      defineTool({
        name: "get_balance",
        version: "1.0.0",
        description: "Reads the balance.",
        input: z.object({}),
        scopes: [],
        sideEffect: "read",
        timeoutMs: toolTimeoutMs,
        backends: ["bank"],
        handler: async (_args, ctx) =>
          (await ctx.backend("bank").fetch("v1/balance")).json() as Promise<
            Record<string, unknown>
          >,
      }),
      defineTool({
        name: "transfer",
        version: "1.0.0",
        description: "Moves money.",
        input: z.object({ op: z.string() }),
        scopes: [],
        sideEffect: "write",
        timeoutMs: toolTimeoutMs,
        idempotency: { leaseSec: 10 },
        backends: ["bank"],
        handler: async ({ op }, ctx) => {
          executions.set(op, (executions.get(op) ?? 0) + 1);
          const response = await ctx.backend("bank").fetch("v1/transfers", {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ op }),
          });
          return (await response.json()) as Record<string, unknown>;
        },
      }),
    ];
    const server = createToolServer({
      name: "outage-backend",
      version: "1.0.0",
      tools,
      store: memoryStore(),
      audit: false,
      metrics: false,
      logger: silentLogger(),
      backends: {
        bank: httpBackend({
          baseUrl: backend.url(),
          timeoutMs: 400,
          connectTimeoutMs: 300,
          retry: { maxAttempts: 2, initialDelayMs: 50, maxDelayMs: 100 },
          breaker: { consecutiveFailures: 4, halfOpenAfterMs: 1_000 },
        }),
      },
    });
    const boundMs = toolTimeoutMs + SLACK_MS;
    const load = new Load();
    const rounds: Round[] = [];
    try {
      const { url } = await server.listen({ port: 0, host: "127.0.0.1" });
      const transfer = (op: string, label: string) =>
        mcpCall(url, "transfer", { op, idempotency_key: op }, { label, kind: "write", op });
      load.add(() => mcpCall(url, "get_balance", {}, { label: "reader 0", kind: "read" }));
      load.add(() => mcpCall(url, "get_balance", {}, { label: "reader 1", kind: "read" }));
      load.add((i) => transfer(`t${i}`, "writer"));
      await sleep(WARM_MS);

      const faultAt = Date.now();
      backend.setMode("hang");
      await sleep(byProfile(2_000, 5_000));
      const refusedAt = Date.now();
      await backend.close(); // hung sockets dropped, port closed: connections refused
      await sleep(byProfile(2_000, 5_000));
      backend.setMode("ok");
      await backend.start(); // the same port
      const backAt = Date.now();
      const ok = await load.first(
        (c) => c.kind === "read" && c.startedAt >= backAt && c.outcome === "ok",
        RECOVERY_BOUND_MS,
      );
      const round: Round = {
        what: "backend hang + refuse",
        faultAt,
        backAt,
        recoveredAt: ok?.endedAt,
        steadyUntil: Infinity,
      };
      rounds.push(round);
      if (ok) {
        await sleep(STEADY_MS);
        round.steadyUntil = Date.now();
      }
      await load.stop();

      const ops = new Map<string, Outcome[]>();
      for (const c of load.calls) if (c.op) ops.set(c.op, [...(ops.get(c.op) ?? []), c]);
      const pending = [...ops].filter(([, tries]) => !tries.some((t) => t.outcome === "ok"));
      const { retries, unfinished } = await retryUntilDone(
        pending.map(([op]) => op),
        (op) => transfer(op, "retry"),
        RECOVERY_BOUND_MS,
      );
      const all = [...load.calls, ...retries];
      const window = load.calls.filter((c) => inWindow(c, rounds));
      // Calls in flight when the backend started hanging count too: they are the first to
      // time out, and may open the breaker before any later call does.
      const hangCalls = load.calls.filter((c) => c.endedAt > faultAt && c.startedAt < refusedAt);
      const refuseCalls = window.filter((c) => c.startedAt >= refusedAt);
      const breakerOpen = all.filter(
        (c) => c.outcome === "unavailable" && /paused/.test(c.message ?? ""),
      );
      const duplicates = [...backend.answered].filter(([, n]) => n > 1);
      report(
        SUITE,
        "backend-hang-then-refuse",
        {
          faults: 2,
          calls: all.length,
          cases: ops.size,
          duplicatesExecuted: duplicates.length,
          leaks: all.filter((c) => c.leak).length,
        },
        {
          windowCalls: window.length,
          breakerOpenAnswers: breakerOpen.length,
          maxLatencyMs: maxLatency(all),
          boundMs,
          recoveredAfterMs: ok ? ok.endedAt - backAt : Infinity,
        },
      );
      assert.ok(
        ok,
        `calls did not succeed again within ${RECOVERY_BOUND_MS} ms after the backend was back`,
      );
      assertNoBreaches(breaches(all, boundMs, rounds), "backend outage");
      const sample = (calls: readonly Outcome[]) =>
        calls
          .slice(0, 8)
          .map((c) => `  ${c.label}: ${c.outcome} ${timeline(c, rounds)} ${c.message ?? ""}`)
          .join("\n");
      assert.ok(
        hangCalls.every(
          (c) =>
            c.outcome === "timeout" ||
            c.outcome === "unavailable" ||
            (c.outcome === "ok" && c.startedAt < faultAt),
        ),
        `a hung backend answers timeout or unavailable:\n${sample(hangCalls)}`,
      );
      assert.ok(
        hangCalls.some((c) => c.outcome === "timeout"),
        `the first calls to a hung backend time out (before the breaker opens):\n${sample(hangCalls)}`,
      );
      // A call still retrying its connection when the backend came back may succeed.
      assert.ok(
        refuseCalls.every(
          (c) =>
            c.outcome === "unavailable" ||
            c.outcome === "timeout" ||
            (c.outcome === "ok" && c.endedAt >= backAt),
        ),
        `a refusing backend answers unavailable: ${[...new Set(refuseCalls.map((c) => c.outcome))].join(", ")}`,
      );
      assert.ok(
        refuseCalls.some((c) => c.outcome === "unavailable"),
        "refused connections were answered unavailable",
      );
      for (const c of breakerOpen) {
        assert.ok((c.retryAfterMs ?? 0) > 0, "an open breaker says when to retry");
      }
      assert.deepEqual(unfinished, [], "every retried transfer completed");
      assert.deepEqual(
        duplicates.map(([key, n]) => `${key}: ${n}`),
        [],
        "the backend applied no transfer twice",
      );
    } finally {
      await load.stop();
      await server.close();
      await backend.close();
    }
  });
});

// ---------------------------------------------------------------------------------------
// Scenario 6: the gateway's upstream servers crash

const UPSTREAM_FIXTURE = path.join(
  REPO_ROOT,
  "test",
  "reliability",
  "fixtures",
  "outage-upstream.ts",
);

/** The HTTP upstream: a child process on a fixed port, killed and started again by the test. */
function httpUpstream(port: number, ledger: string) {
  let child: ChildProcess | undefined;
  // Even if this process dies mid-test, the upstream does not outlive it.
  const onExit = () => child?.kill("SIGKILL");
  process.once("exit", onExit);
  const start = async () => {
    const spawned = spawn(process.execPath, ["--import", "tsx", UPSTREAM_FIXTURE], {
      cwd: REPO_ROOT,
      env: minimalEnv({ MODE: "http", PORT: String(port), LEDGER_FILE: ledger }),
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = spawned;
    const out = new LineCollector(spawned.stdout);
    const err = new LineCollector(spawned.stderr);
    await out
      .waitForLine((line) => line.startsWith("listening "), 30_000, "the HTTP upstream to listen")
      .catch((error: Error) => {
        throw new Error(`${error.message}\nstderr: ${err.text.slice(-2000)}`);
      });
  };
  const kill = async () => {
    const current = child;
    child = undefined;
    if (!current) return;
    current.kill("SIGKILL");
    await waitForExit(current, 10_000).catch(() => undefined);
  };
  return { start, kill };
}

function ledgerOf(file: string): Map<string, number> {
  const counts = new Map<string, number>();
  if (!existsSync(file)) return counts;
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (!line) continue;
    const { op } = JSON.parse(line) as { op: string };
    counts.set(op, (counts.get(op) ?? 0) + 1);
  }
  return counts;
}

describe("outages: the gateway's upstream MCP servers crash (SIGKILL)", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "toolgate-outage-gw-"));
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers unavailable (retryable) in time while they are down; reconnects by itself; writes at most once", async () => {
    const toolTimeoutMs = 2_000;
    const pidFile = path.join(dir, "stdio.pid");
    const ledgers = { st: path.join(dir, "st.jsonl"), ht: path.join(dir, "ht.jsonl") };
    const httpPort = await freeLoopbackPort();
    const http = httpUpstream(httpPort, ledgers.ht);
    cleanups.push(() => http.kill());
    await http.start();
    const restart = { initialDelayMs: 200, maxDelayMs: 1_000 };
    const gateway: Gateway = await createGateway({
      upstreams: {
        st: {
          stdio: {
            command: process.execPath,
            args: ["--import", "tsx", UPSTREAM_FIXTURE],
            cwd: REPO_ROOT,
            env: { MODE: "stdio", PID_FILE: pidFile, LEDGER_FILE: ledgers.st },
          },
          timeoutMs: toolTimeoutMs,
          connectTimeoutMs: 30_000,
          restart,
        },
        ht: { url: `http://127.0.0.1:${httpPort}/mcp`, timeoutMs: toolTimeoutMs, restart },
      },
      store: memoryStore(),
      audit: false,
      metrics: false,
      logger: silentLogger(),
      pinning: false,
    });
    cleanups.push(() => gateway.close());
    assert.deepEqual(
      gateway.upstreams().map((u) => `${u.name}:${u.state}`),
      ["st:ready", "ht:ready"],
      "both upstreams connected",
    );
    const { url } = await gateway.listen({ port: 0, host: "127.0.0.1" });
    const boundMs = toolTimeoutMs + SLACK_MS;
    const load = new Load();
    const rounds: Round[] = [];
    const perUpstream: Record<string, number[]> = { st: [], ht: [] };
    const write = (up: string, op: string, label: string) =>
      mcpCall(url, `${up}.record`, { op, idempotency_key: op }, { label, kind: "write", op });
    for (const up of ["st", "ht"]) {
      load.add((i) =>
        mcpCall(url, `${up}.echo`, { message: `m${i}` }, { label: `${up} reader`, kind: "read" }),
      );
      load.add((i) => write(up, `${up}-${i}`, `${up} writer`));
    }
    try {
      await sleep(WARM_MS);
      for (let round = 0; round < byProfile(2, 4); round++) {
        const pid = Number(readFileSync(pidFile, "utf8"));
        assert.ok(pid > 0, "the stdio upstream wrote its pid");
        const faultAt = Date.now();
        process.kill(pid, "SIGKILL");
        await http.kill();
        await sleep(1_000); // the HTTP upstream stays down a while (the stdio one restarts by itself)
        const httpBackAt = Date.now();
        await http.start();
        const backAt = Date.now();
        const firstOk = async (up: string, from: number) =>
          load.first(
            (c) =>
              c.label.startsWith(up) &&
              c.kind === "read" &&
              c.startedAt >= from &&
              c.outcome === "ok",
            GATEWAY_RECOVERY_BOUND_MS,
          );
        const [st, ht] = await Promise.all([firstOk("st", faultAt + 1), firstOk("ht", backAt)]);
        const roundInfo: Round = {
          what: `upstream crash ${round + 1}`,
          faultAt,
          backAt: Math.max(backAt, st?.startedAt ?? backAt),
          recoveredAt: st && ht ? Math.max(st.endedAt, ht.endedAt) : undefined,
          steadyUntil: Infinity,
        };
        rounds.push(roundInfo);
        if (st) perUpstream["st"]!.push(st.endedAt - faultAt);
        if (ht) perUpstream["ht"]!.push(ht.endedAt - httpBackAt);
        if (!st || !ht) break;
        await sleep(STEADY_MS);
        roundInfo.steadyUntil = Date.now();
      }
    } finally {
      await load.stop();
    }

    // A write in flight when its upstream died may have run: its outcome is unknown, stored,
    // and never resent (the gateway's documented rule), answered conflict/outcome_unknown.
    const outcomeUnknown = (c: Outcome) =>
      c.kind === "write" && c.outcome === "conflict" && c.details?.["reason"] === "outcome_unknown";
    const ops = new Map<string, Outcome[]>();
    for (const c of load.calls) if (c.op) ops.set(c.op, [...(ops.get(c.op) ?? []), c]);
    const unknown = [...ops].filter(([, tries]) => tries.some(outcomeUnknown)).map(([op]) => op);
    const pending = [...ops]
      .filter(([op, tries]) => !unknown.includes(op) && !tries.some((t) => t.outcome === "ok"))
      .map(([op]) => op);
    const { retries, unfinished } = await retryUntilDone(
      pending,
      (op) => write(op.slice(0, 2), op, "retry"),
      RECOVERY_BOUND_MS,
    );
    const all = [...load.calls, ...retries];
    const window = load.calls.filter((c) => inWindow(c, rounds));
    const executed = new Map([...ledgerOf(ledgers.st), ...ledgerOf(ledgers.ht)]);
    const duplicates = [...executed].filter(([, n]) => n > 1);
    const done = [...ops.keys()].filter((op) => !unknown.includes(op));
    const missing = done.filter(
      (op) => executed.get(op) !== 1 && !unfinished.some((u) => u.startsWith(`${op}:`)),
    );
    report(
      SUITE,
      "gateway-upstream-crash",
      {
        faults: rounds.length * 2,
        calls: all.length,
        cases: ops.size,
        duplicatesExecuted: duplicates.length,
        recordsLost: missing.length,
        leaks: all.filter((c) => c.leak).length,
      },
      {
        windowCalls: window.length,
        outcomeUnknownWrites: unknown.length,
        maxLatencyMs: maxLatency(all),
        boundMs,
        recoveredAfterMs: Math.max(...perUpstream["st"]!, ...perUpstream["ht"]!),
        stdioRecoveredAfterMs: Math.max(...perUpstream["st"]!),
        httpRecoveredAfterMs: Math.max(...perUpstream["ht"]!),
      },
    );
    assert.equal(rounds.length, byProfile(2, 4), "every crash round ran");
    for (const r of rounds) {
      assert.ok(
        r.recoveredAt !== undefined,
        `the gateway did not serve both upstreams again within ${GATEWAY_RECOVERY_BOUND_MS} ms (${r.what}): ` +
          JSON.stringify(gateway.upstreams()),
      );
      assert.ok(
        load.calls.some(
          (c) => c.startedAt >= r.faultAt && c.startedAt < r.backAt && c.outcome === "unavailable",
        ),
        `calls during ${r.what} were answered unavailable`,
      );
    }
    // Only a write caught in flight may be outcome_unknown, and only during an outage.
    const acceptUnknown = (c: Outcome) =>
      outcomeUnknown(c) &&
      rounds.some((r) => c.startedAt >= r.faultAt - toolTimeoutMs && c.startedAt < r.backAt);
    assertNoBreaches(breaches(all, boundMs, rounds, acceptUnknown), "gateway upstream crashes");
    assert.deepEqual(unfinished, [], "every write refused before sending completed on retry");
    assert.deepEqual(
      duplicates.map(([op, n]) => `${op}: ${n}`),
      [],
      "no write executed twice upstream",
    );
    assert.deepEqual(
      missing,
      [],
      "every write answered ok (or retried to ok) executed exactly once",
    );
  });
});
