// The call's context is immutable: a stage passes what it learns on as a derived context
// (`next(withState(ctx, ...))`), and what happened during the call goes into the one
// shared `ctx.record` that the audit reads after the pipeline.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import * as z from "zod";
import { createToolServer, defineTool } from "../../src/index.js";
import { silentLogger } from "../../src/server/index.js";
import { compose, defaultStages, withState } from "../../src/pipeline/index.js";
import type { CallContext, Stage } from "../../src/pipeline/index.js";
import { createCallContext } from "../../src/server/mcp-factory.js";
import { LazyAbort } from "../../src/util/lazy-abort.js";
import { memoryStore } from "../../src/stores/index.js";
import { memoryAuditSink } from "../../src/audit/index.js";

/** A LazyAbort that counts reads of its signal (each read would create or return it). */
class CountingAbort extends LazyAbort {
  reads = 0;
  override get signal(): AbortSignal {
    this.reads++;
    return super.signal;
  }
}

function callContext(signal?: LazyAbort | AbortSignal): CallContext {
  return createCallContext({
    toolName: "echo",
    rawArguments: { a: 1 },
    transport: "direct",
    lookup: () => undefined,
    log: silentLogger(),
    signal,
  });
}

const done = { content: [{ type: "text" as const, text: "done" }] };

describe("withState", () => {
  it("later stages see derived state; the earlier stage's context is unchanged", async () => {
    const seen: CallContext[] = [];
    const learn: Stage = (ctx, next) => {
      seen.push(ctx);
      return next(withState(ctx, { deadline: 1234, args: { b: 2 } }));
    };
    const pass: Stage = (ctx, next) => {
      seen.push(ctx);
      return next();
    };
    const last: Stage = (ctx) => {
      seen.push(ctx);
      return Promise.resolve(done);
    };
    const first = callContext();
    await compose([learn, pass, last])(first);
    const [a, b, c] = seen;
    assert.equal(a, first);
    assert.equal(a?.deadline, undefined);
    assert.equal(a?.args, undefined);
    assert.notEqual(b, a, "the learning stage passed on a new context");
    assert.equal(c, b, "next() without a context passes the same one on");
    assert.equal(c?.deadline, 1234);
    assert.deepEqual(c?.args, { b: 2 });
    // The request itself travels unchanged, and so does the one record.
    assert.equal(c?.toolName, "echo");
    assert.deepEqual(c?.rawArguments, { a: 1 });
    assert.equal(c?.startedAt, first.startedAt);
    assert.equal(c?.record, first.record);
  });

  it("carries earlier state through later derivations", () => {
    const first = callContext();
    const log = silentLogger();
    const d1 = withState(first, { requestId: "r-1", log });
    const d2 = withState(d1, { deadline: 99 });
    const d3 = withState(d2, { idempotencyKey: "k" });
    assert.equal(d3.requestId, "r-1");
    assert.equal(d3.log, log);
    assert.equal(d3.deadline, 99);
    assert.equal(d3.idempotencyKey, "k");
    assert.equal(d2.idempotencyKey, undefined);
    assert.equal(d1.deadline, undefined);
    assert.equal(first.requestId, "");
  });

  it("does not create the lazy AbortSignal, and a derived context reads the same one", () => {
    const abort = new CountingAbort();
    const first = callContext(abort);
    let ctx = first;
    for (let i = 0; i < 4; i++) ctx = withState(ctx, { deadline: i });
    const spread = { ...ctx };
    assert.equal(abort.reads, 0, "neither deriving nor spreading read the signal");
    assert.equal("signal" in spread, false);
    const signal = ctx.signal;
    assert.equal(abort.reads, 1);
    assert.equal(first.signal, signal, "one cancellation per call");
    abort.abort();
    assert.equal(ctx.signal.aborted, true);
  });

  it("keeps a caller's own signal", () => {
    const controller = new AbortController();
    const ctx = withState(callContext(controller.signal), { deadline: 1 });
    assert.equal(ctx.signal, controller.signal);
  });

  it("adopts a context built by hand without reading its signal getter", () => {
    let reads = 0;
    const base = callContext();
    const byHand = {
      ...base,
      get signal(): AbortSignal {
        reads++;
        return AbortSignal.abort();
      },
    } as CallContext;
    const derived = withState(byHand, { deadline: 5 });
    assert.equal(reads, 0);
    assert.equal(derived.deadline, 5);
    assert.equal(derived.toolName, "echo");
    assert.equal(derived.record, base.record);
    assert.equal(derived.signal.aborted, true);
    assert.equal(reads, 1);
  });

  it("refuses to change the request", () => {
    const ctx = callContext();
    for (const key of ["toolName", "record", "signal", "rawArguments"]) {
      assert.throws(
        () => withState(ctx, { [key]: "x" }),
        (error: unknown) => error instanceof TypeError && error.message.includes(`'${key}'`),
      );
    }
  });

  it("carries state of the user's own (an augmented CallState) through later derivations", () => {
    const d1 = withState(callContext(), { quota: 3 } as never);
    const d2 = withState(d1, { deadline: 1 });
    assert.equal((d2 as unknown as { quota: number }).quota, 3);
  });

  it("a context's fields cannot be assigned", () => {
    const ctx = callContext();
    // Readonly in the type (test/types); at run time the record is the one mutable part.
    ctx.record.upstream = "u";
    assert.equal(withState(ctx, {}).record.upstream, "u");
  });
});

describe("the call record", () => {
  it("observations deep in the pipeline reach the audit: id, idempotency, backend calls", async () => {
    const sink = memoryAuditSink();
    let handlerRequestId: string | undefined;
    let handlerKey: string | undefined;
    const pay = defineTool({
      name: "pay",
      version: "1.0.0",
      description: "Pays once per key.",
      input: z.object({ amount: z.number() }),
      scopes: [],
      sideEffect: "write",
      idempotency: { waitMs: 0 },
      handler: async ({ amount }, ctx) => {
        handlerRequestId = ctx.requestId;
        handlerKey = ctx.idempotencyKey;
        await ctx.backendCall("ledger", () => ({ status: 201 }));
        return { paid: amount };
      },
    });
    // A stage of the user's own after the defaults' request id: it sees the learned state.
    let stageSaw: string | undefined;
    const [first, ...rest] = defaultStages({ store: memoryStore() });
    const peek: Stage = (ctx, next) => {
      stageSaw = ctx.requestId;
      return next();
    };
    const server = createToolServer({
      name: "s",
      version: "1.0.0",
      tools: [pay],
      logger: silentLogger(),
      audit: { sinks: [sink], flushIntervalMs: 5 },
      stages: [first!, peek, ...rest],
    });
    try {
      const result = await server.callTool(
        "pay",
        { amount: 3 },
        { meta: { "toolgate/idempotency-key": randomUUID() } },
      );
      assert.equal(result.isError, undefined);
      const [event] = await sink.waitFor(1);
      assert.ok(handlerRequestId);
      assert.equal(event?.requestId, handlerRequestId, "the audit carries the handler's id");
      assert.equal(stageSaw, handlerRequestId);
      assert.ok(handlerKey, "the handler got the derived idempotency key");
      assert.equal(event?.idempotency, "executed");
      assert.equal(event?.backendCalls.length, 1);
      assert.equal(event?.backendCalls[0]?.name, "ledger");
      assert.equal(event?.backendCalls[0]?.status, 201);
    } finally {
      await server.close();
    }
  });
});
