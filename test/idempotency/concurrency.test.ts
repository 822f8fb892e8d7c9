// Duplicates racing each other and a handler outliving its deadline (design page
// idempotency.md, test plan lines 4 and 15), on one toolgate instance over real HTTP with
// the official SDK client. Handlers are held by gates the tests open, and store writes are
// awaited as events, so nothing depends on sleeping the right amount.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import { after, before, describe, test } from "node:test";
import * as z from "zod";
import type { CallToolResult } from "@modelcontextprotocol/client";
import { defineTool } from "../../src/index.js";
import { IDEMPOTENCY_ARGUMENT } from "../../src/client/index.js";
import {
  CLIENT_MODES,
  connectClient,
  expectToolError,
  nextEvent,
  startServer,
  withTimeout,
  type ConnectedClient,
  type RunningServer,
} from "../helpers/server.js";
import {
  SpyStore,
  expectFresh,
  expectReplayOf,
  gate,
  isReplay,
  rawCall,
  type Gate,
} from "./helpers.js";

const PARALLEL = 50;
const HANDLER_MS = 200;
const DEADLINE_MS = 200;

/** Executions per account, and events: "started" (tool, account) when a handler begins. */
const executions = new Map<string, number>();
const events = new EventEmitter();
events.setMaxListeners(0);
const gates = new Map<string, Gate>();
/** The test's gate for an account's handler (created on first use). */
const gateFor = (account: string): Gate => {
  let g = gates.get(account);
  if (!g) gates.set(account, (g = gate()));
  return g;
};
const countedRun = (tool: string, account: string) => {
  const n = (executions.get(account) ?? 0) + 1;
  executions.set(account, n);
  events.emit("started", tool, account);
  return n;
};
const runsOf = (account: string) => executions.get(account) ?? 0;

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const input = z.object({ account: z.string(), amount: z.number() });

/** Takes about 200 ms: the work of one payment. */
const slowPay = (name: string, waitMs?: number) =>
  defineTool({
    name,
    version: "1.0.0",
    description: "Pays slowly.",
    input,
    scopes: [],
    sideEffect: "write",
    ...(waitMs === undefined ? {} : { idempotency: { waitMs } }),
    handler: async (args) => {
      const n = countedRun(name, args.account);
      await delay(HANDLER_MS);
      return { paid: args.amount, account: args.account, execution: n, id: randomUUID() };
    },
  });

/** Runs until the test opens its gate; duplicates never wait for it (waitMs: 0). */
const heldPay = defineTool({
  name: "held_pay",
  version: "1.0.0",
  description: "Pays when the test lets it.",
  input,
  scopes: [],
  sideEffect: "write",
  idempotency: { waitMs: 0 },
  handler: async (args) => {
    countedRun("held_pay", args.account);
    await gateFor(args.account).promise;
    return { paid: args.amount, account: args.account, id: randomUUID() };
  },
});

/** Ignores its signal: keeps going after the 200 ms deadline until the test opens its gate. */
const lateRefund = defineTool({
  name: "late_refund",
  version: "1.0.0",
  description: "Refunds; the bank is slow and cannot be interrupted.",
  input,
  scopes: [],
  sideEffect: "write",
  timeoutMs: DEADLINE_MS,
  handler: async (args) => {
    countedRun("late_refund", args.account);
    await gateFor(args.account).promise;
    events.emit("side-effect", args.account);
    return { refunded: args.amount, account: args.account, id: randomUUID() };
  },
});

/** Honours its signal: at the deadline it stops and rejects with the abort reason. */
const abortableRefund = defineTool({
  name: "abortable_refund",
  version: "1.0.0",
  description: "Refunds; stops cleanly when told to.",
  input,
  scopes: [],
  sideEffect: "write",
  timeoutMs: DEADLINE_MS,
  handler: async (args, ctx) => {
    const n = countedRun("abortable_refund", args.account);
    if (n === 1) {
      // The first attempt hangs on a dead connection until the deadline aborts it.
      await new Promise<never>((_, reject) => {
        const stop = () => reject(ctx.signal.reason as Error);
        if (ctx.signal.aborted) stop();
        else ctx.signal.addEventListener("abort", stop, { once: true });
      });
    }
    return { refunded: args.amount, account: args.account, attempt: n };
  },
});

let spy: SpyStore;
let running: RunningServer;

before(async () => {
  spy = new SpyStore();
  running = await startServer(
    [slowPay("slow_pay"), slowPay("slow_pay_wait2s", 2000), heldPay, lateRefund, abortableRefund],
    { store: spy },
  );
});
after(async () => {
  // A held handler must not keep the server open if a test failed half-way.
  for (const g of gates.values()) g.open();
  await running?.close();
  await spy?.close();
});

const newAccount = () => `acct-${randomUUID()}`;
const newKey = () => `key-${randomUUID()}`;

/** Exactly one fresh answer; every other one a flagged replay of it or a retryable in_progress. */
function partition(results: CallToolResult[]) {
  const fresh = results.filter((r) => !r.isError && !isReplay(r));
  assert.equal(fresh.length, 1, `exactly one answer is the execution itself`);
  const original = fresh[0]!;
  let replays = 0;
  let inProgress = 0;
  for (const r of results) {
    if (r === original) continue;
    if (isReplay(r)) {
      expectReplayOf(r, original);
      replays += 1;
    } else {
      const error = expectToolError(r, "in_progress");
      assert.equal(error.retryable, true);
      assert.ok(
        typeof error.retryAfterMs === "number" && error.retryAfterMs > 0,
        `retryAfterMs: ${JSON.stringify(error)}`,
      );
      inProgress += 1;
    }
  }
  return { original, replays, inProgress };
}

for (const mode of CLIENT_MODES) {
  describe(`${PARALLEL} parallel identical calls (plan 4), ${mode} client`, () => {
    let conn: ConnectedClient;
    before(async () => {
      conn = await connectClient(running.url, mode);
    });
    after(async () => {
      await conn?.close();
    });

    const burst = (name: string, args: Record<string, unknown>) =>
      withTimeout(
        Promise.all(
          Array.from(
            { length: PARALLEL },
            async () => await conn.client.callTool({ name, arguments: args }),
          ),
        ),
        20_000,
        `${PARALLEL} parallel calls`,
      );

    test("exactly one execution; the others replay or are told in_progress", async () => {
      const account = newAccount();
      const args = { account, amount: 25, [IDEMPOTENCY_ARGUMENT]: newKey() };
      const results = await burst("slow_pay", args);
      const { replays, inProgress } = partition(results);
      assert.equal(replays + inProgress, PARALLEL - 1);
      assert.equal(runsOf(account), 1, "the handler ran exactly once");
      // Done now: a late duplicate replays.
      assert.equal(
        isReplay(await conn.client.callTool({ name: "slow_pay", arguments: args })),
        true,
      );
      assert.equal(runsOf(account), 1);
    });

    test("with waitMs: 2000 every duplicate waits and gets the replay", async () => {
      const account = newAccount();
      const args = { account, amount: 30, [IDEMPOTENCY_ARGUMENT]: newKey() };
      const results = await burst("slow_pay_wait2s", args);
      const { replays, inProgress } = partition(results);
      assert.equal(inProgress, 0, "no duplicate gave up waiting");
      assert.equal(replays, PARALLEL - 1);
      assert.equal(runsOf(account), 1);
    });
  });
}

describe("duplicates with waitMs: 0 (plan 4, raw fetch)", () => {
  test("answer in_progress at once while the one execution is still running", async () => {
    const account = newAccount();
    const args = { account, amount: 12, [IDEMPOTENCY_ARGUMENT]: newKey() };
    const started = nextEvent(events, "started", (_tool, a) => a === account);
    const owner = rawCall(running.url, { name: "held_pay", arguments: args });
    await started;
    // The handler is held: these can only be answered without waiting for it.
    const duplicates = await withTimeout(
      Promise.all(
        Array.from({ length: PARALLEL - 1 }, () =>
          rawCall(running.url, { name: "held_pay", arguments: args }),
        ),
      ),
      10_000,
      "duplicates answering while the handler runs",
    );
    for (const d of duplicates) {
      const error = expectToolError(d, "in_progress");
      assert.equal(error.retryable, true);
      assert.ok((error.retryAfterMs ?? 0) > 0, JSON.stringify(error));
      assert.match(error.message, /same key/);
    }
    gateFor(account).open();
    const first = await owner;
    expectFresh(first);
    expectReplayOf(await rawCall(running.url, { name: "held_pay", arguments: args }), first);
    assert.equal(runsOf(account), 1);
  });
});

describe("timeout, then the handler completes late (plan 15)", () => {
  let conn: ConnectedClient;
  before(async () => {
    conn = await connectClient(running.url, "legacy");
  });
  after(async () => {
    await conn?.close();
  });
  const call = async (name: string, args: Record<string, unknown>) =>
    await conn.client.callTool({ name, arguments: args });

  test("the caller gets timeout; a retry during the run is in_progress; after it settles the real result replays; one side effect", async () => {
    const account = newAccount();
    const args = { account, amount: 99, [IDEMPOTENCY_ARGUMENT]: newKey() };
    let sideEffects = 0;
    const onSideEffect = (a: unknown) => {
      if (a === account) sideEffects += 1;
    };
    events.on("side-effect", onSideEffect);
    try {
      const started = nextEvent(events, "started", (_tool, a) => a === account);
      const first = await call("late_refund", args);
      await started;
      const timedOut = expectToolError(first, "timeout");
      assert.equal(timedOut.retryable, true);
      assert.match(timedOut.message, /same idempotency key/);

      // The handler is still running (its gate is closed): the retry must not run it again.
      const during = await call("late_refund", args);
      assert.ok(!isReplay(during));
      const busy = expectToolError(during, "in_progress");
      assert.equal(busy.retryable, true);
      assert.ok((busy.retryAfterMs ?? 0) > 0);
      assert.equal(runsOf(account), 1);

      // Let the handler finish, and wait until toolgate has stored what it returned.
      const stored = nextEvent(spy.events, "complete", (input) =>
        String((input as { result: string }).result).includes(account),
      );
      gateFor(account).open();
      const [, ok] = await stored;
      assert.equal(ok, true, "the late outcome was stored by its owner");

      const after = await call("late_refund", args);
      assert.equal(isReplay(after), true, "the retry replays");
      assert.notEqual(after.isError, true, JSON.stringify(after));
      const real = (after.structuredContent ?? {}) as Record<string, unknown>;
      assert.equal(real["refunded"], 99, "the real result, not the timeout");
      assert.equal(real["account"], account);
      assert.equal(runsOf(account), 1, "the handler ran once");
      assert.equal(sideEffects, 1, "the refund happened once");
      expectReplayOf(await call("late_refund", args), after);
    } finally {
      events.off("side-effect", onSideEffect);
      gateFor(account).open();
    }
  });

  test("a handler that honours the abort: the claim is released and a retry runs again", async () => {
    const account = newAccount();
    const args = { account, amount: 15, [IDEMPOTENCY_ARGUMENT]: newKey() };
    const released = nextEvent(spy.events, "release");
    const first = await call("abortable_refund", args);
    const error = expectToolError(first, "timeout");
    assert.equal(error.retryable, true);
    const [, wasReleased] = await released;
    assert.equal(wasReleased, true, "the owner released its claim");
    const retry = await call("abortable_refund", args);
    assert.deepEqual(expectFresh(retry), { refunded: 15, account, attempt: 2 });
    expectReplayOf(await call("abortable_refund", args), retry);
    assert.equal(runsOf(account), 2, "executed twice in total: the aborted attempt and the retry");
  });
});
