// A store that hangs (a frozen database, a dead connection the driver has not noticed)
// must not hold a call past its deadline: the claim and the save are bounded by it, a
// claim that lands late is given back, a save that lands late is replayed to a retry, and
// a rate-limit store that hangs fails open quickly. Found by the reliability suite's
// frozen-PostgreSQL outage (test/reliability/outages.test.ts).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import * as z from "zod";
import { createToolServer, defineTool } from "../../src/index.js";
import { silentLogger } from "../../src/server/index.js";
import {
  authorize,
  execute,
  idempotency,
  mapErrors,
  requestId,
  resolveTool,
  validateInput,
  type Stage,
} from "../../src/pipeline/index.js";
import { memoryStore, type ClaimInput, type CompleteInput } from "../../src/stores/index.js";
import { IDEMPOTENCY_ARGUMENT } from "../../src/client/index.js";
import { expectToolError } from "../helpers/server.js";
import { expectFresh, expectReplayOf, gate, type Gate } from "./helpers.js";

const TIMEOUT_MS = 300;
/** The deadline plus what a loaded 2-core machine may add. */
const ANSWERED_WITHIN_MS = TIMEOUT_MS + 700;

/** A memory store whose claim or complete waits for a gate when asked to. */
function hangingStore() {
  const inner = memoryStore();
  const store = {
    name: "hanging(memory)",
    claimGate: undefined as Gate | undefined,
    completeGate: undefined as Gate | undefined,
    async claim(input: ClaimInput) {
      await store.claimGate?.promise;
      return inner.claim(input);
    },
    get: (scope: string, now: number) => inner.get(scope, now),
    async complete(input: CompleteInput) {
      await store.completeGate?.promise;
      return inner.complete(input);
    },
    release: (scope: string, owner: string) => inner.release(scope, owner),
    sweep: (now: number) => inner.sweep(now),
    close: () => inner.close(),
    consume: inner.consume.bind(inner),
  };
  return store;
}

function payServer(
  store: ReturnType<typeof hangingStore>,
  counter: { runs: number },
  extra: Partial<Parameters<typeof createToolServer>[0]> = {},
) {
  const pay = defineTool({
    name: "pay",
    version: "1.0.0",
    description: "Pays.",
    input: z.object({ amount: z.number() }),
    scopes: [],
    sideEffect: "write",
    timeoutMs: TIMEOUT_MS,
    handler: ({ amount }) => {
      counter.runs += 1;
      return { paid: amount };
    },
  });
  return createToolServer({
    name: "hanging",
    version: "1.0.0",
    tools: [pay],
    logger: silentLogger(),
    audit: false,
    // A list of stages brings its own stores.
    ...(extra.stages ? {} : { store }),
    ...extra,
  });
}

async function timed<T>(work: Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work;
  return { value, ms: performance.now() - started };
}

describe("a hanging idempotency store and the call's deadline", () => {
  test("a claim that does not answer: unavailable by the deadline, nothing runs, the late claim is given back", async () => {
    const store = hangingStore();
    const counter = { runs: 0 };
    const server = payServer(store, counter);
    store.claimGate = gate();
    const args = { amount: 5, [IDEMPOTENCY_ARGUMENT]: "op-1" };
    const { value, ms } = await timed(server.callTool("pay", args));
    const error = expectToolError(value, "unavailable");
    assert.equal(error.retryable, true);
    assert.match(error.message, /did not answer within the call's deadline/);
    assert.ok(ms < ANSWERED_WITHIN_MS, `answered after ${ms.toFixed(0)} ms`);
    assert.equal(counter.runs, 0);
    // The store comes back: the late claim lands and is released, so a retry runs at once
    // (a claim left in place would answer in_progress until its lease ended).
    const held = store.claimGate;
    store.claimGate = undefined;
    held.open();
    await sleep(50);
    assert.deepEqual(expectFresh(await server.callTool("pay", args)), { paid: 5 });
    assert.equal(counter.runs, 1);
    await server.close();
  });

  test("a save that does not answer: unavailable by the deadline; once it lands, a retry replays", async () => {
    const store = hangingStore();
    const counter = { runs: 0 };
    const server = payServer(store, counter);
    store.completeGate = gate();
    const args = { amount: 7, [IDEMPOTENCY_ARGUMENT]: "op-2" };
    const { value, ms } = await timed(server.callTool("pay", args));
    assert.equal(expectToolError(value, "unavailable").retryable, true);
    assert.ok(ms < ANSWERED_WITHIN_MS, `answered after ${ms.toFixed(0)} ms`);
    assert.equal(counter.runs, 1, "the handler ran once");
    // Meanwhile a retry is told the operation is still in progress, never run again.
    expectToolError(await server.callTool("pay", args), "in_progress");
    store.completeGate.open();
    store.completeGate = undefined;
    await sleep(50);
    const replayed = await server.callTool("pay", args);
    expectReplayOf(replayed, {
      content: [{ type: "text", text: JSON.stringify({ paid: 7 }) }],
      structuredContent: { paid: 7 },
    });
    assert.equal(counter.runs, 1, "never twice");
    await server.close();
  });

  test("a handler whose deadline passed in earlier stages is not started", async () => {
    const counter = { runs: 0 };
    const slow: Stage = async (_ctx, next) => {
      await sleep(TIMEOUT_MS + 100);
      return next();
    };
    const server = payServer(hangingStore(), counter, {
      stages: [
        requestId(),
        mapErrors(),
        resolveTool(),
        authorize({ requireAuthentication: false }),
        validateInput(),
        idempotency({ store: memoryStore() }),
        slow,
        execute(),
      ],
    });
    const result = await server.callTool("pay", { amount: 1, [IDEMPOTENCY_ARGUMENT]: "op-3" });
    const error = expectToolError(result, "timeout");
    assert.match(error.message, /could not start within its 300 ms deadline; nothing ran/);
    assert.equal(counter.runs, 0);
    await server.close();
  });

  test("a rate-limit store that does not answer: the call goes on uncounted in time", async () => {
    const counter = { runs: 0 };
    const store = hangingStore();
    store.consume = () => new Promise(() => undefined); // never answers
    const server = payServer(store, counter, { rateLimit: { perPrincipal: "100/min" } });
    const { value, ms } = await timed(
      server.callTool("pay", { amount: 2, [IDEMPOTENCY_ARGUMENT]: "op-4" }),
    );
    // It waited half of the 300 ms left, then let the call through.
    assert.deepEqual(expectFresh(value), { paid: 2 });
    assert.ok(ms >= 140 && ms < ANSWERED_WITHIN_MS, `answered after ${ms.toFixed(0)} ms`);
    await server.close();
  });
});
