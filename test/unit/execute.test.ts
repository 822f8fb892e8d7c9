import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setImmediate as tick, setTimeout as sleep } from "node:timers/promises";
import * as z from "zod";
import { createToolServer, defineTool, notFound, toolResult } from "../../src/index.js";
import { silentLogger } from "../../src/server/index.js";
import { execute, idempotency, resolveTool } from "../../src/pipeline/index.js";
import type { ToolContext } from "../../src/index.js";
import type { Logger } from "../../src/server/index.js";
import { memoryLogger } from "./helpers/memory-logger.js";
import type { CallToolResult } from "@modelcontextprotocol/server";
import { readWireError } from "../../src/errors/to-result.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

type Handler = (args: Record<string, unknown>, ctx: ToolContext) => unknown;

function serverWith(
  handler: Handler,
  opts: { timeoutMs?: number; defaultTimeoutMs?: number; logger?: Logger } = {},
) {
  const tool = defineTool({
    name: "work",
    version: "1.0.0",
    description: "Does some work.",
    scopes: [],
    sideEffect: "read",
    input: { type: "object" },
    ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
    handler: handler as () => never,
  });
  return createToolServer({
    name: "s",
    version: "1.0.0",
    tools: [tool],
    logger: opts.logger ?? silentLogger(),
    ...(opts.defaultTimeoutMs === undefined ? {} : { defaultTimeoutMs: opts.defaultTimeoutMs }),
  });
}

function errorOf(result: CallToolResult): Record<string, unknown> {
  const error = readWireError(result);
  assert.ok(error, `expected an error result, got ${JSON.stringify(result)}`);
  return error as unknown as Record<string, unknown>;
}

/** Resolves with the abort reason when the signal aborts. */
const aborted = (signal: AbortSignal) =>
  new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));

describe("execute: deadlines", () => {
  it("aborts the handler's signal at the deadline and answers timeout", async () => {
    let sawAborted: boolean | undefined;
    const server = serverWith(
      async (_args, ctx) => {
        await aborted(ctx.signal);
        sawAborted = ctx.signal.aborted;
        throw ctx.signal.reason;
      },
      { timeoutMs: 50 },
    );
    const started = Date.now();
    const error = errorOf(await server.callTool("work", {}));
    assert.ok(Date.now() - started >= 45, "not before the deadline");
    assert.equal(sawAborted, true);
    assert.equal(error["type"], "timeout");
    assert.equal(error["retryable"], true);
    assert.match(String(error["message"]), /work did not finish within 50 ms/);
  });

  it("answers timeout at the deadline even if the handler ignores its signal", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    const { log, lines } = memoryLogger();
    let finished!: () => void;
    const handlerDone = new Promise<void>((resolve) => (finished = resolve));
    try {
      const server = serverWith(
        async () => {
          try {
            await sleep(400);
            throw new Error("late failure");
          } finally {
            finished();
          }
        },
        { timeoutMs: 50, logger: log },
      );
      const started = Date.now();
      const error = errorOf(await server.callTool("work", {}));
      const elapsed = Date.now() - started;
      assert.equal(error["type"], "timeout");
      assert.ok(elapsed < 50 + 200, `returned after ${elapsed} ms, not at the deadline`);

      await handlerDone;
      await tick();
      await tick();
      assert.deepEqual(unhandled, []);
      assert.ok(lines().some((l) => l["msg"] === "tool handler failed after its deadline"));
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });

  it("answers timeout even when the handler returns a value as soon as its signal aborts", async () => {
    // A handler that settles in the abort listener itself (as some libraries do) must not
    // win the race against the deadline: the deadline passed, so the caller gets timeout.
    const server = serverWith(
      (_args, ctx) =>
        new Promise((resolve) =>
          ctx.signal.addEventListener("abort", () => resolve({ late: true })),
        ),
      { timeoutMs: 50 },
    );
    const result = await server.callTool("work", {});
    assert.equal(errorOf(result).type, "timeout", JSON.stringify(result));
    await server.close();
  });

  it("lets a tool's timeoutMs override the server's defaultTimeoutMs", async () => {
    const slow = async () => {
      await sleep(120);
      return "done";
    };
    const longer = serverWith(slow, { timeoutMs: 2000, defaultTimeoutMs: 30 });
    assert.equal((await longer.callTool("work", {})).isError, undefined);

    const shorter = serverWith(slow, { timeoutMs: 30, defaultTimeoutMs: 5000 });
    const error = errorOf(await shorter.callTool("work", {}));
    assert.equal(error["type"], "timeout");
    assert.match(String(error["message"]), /30 ms/);

    const byDefault = serverWith(slow, { defaultTimeoutMs: 30 });
    assert.equal(errorOf(await byDefault.callTool("work", {}))["type"], "timeout");
  });

  it("gives the handler ctx.deadline = start of the call + timeout", async () => {
    let deadline = 0;
    const server = serverWith((_args, ctx) => ((deadline = ctx.deadline), "ok"), {
      timeoutMs: 1234,
    });
    const before = Date.now();
    await server.callTool("work", {});
    const after = Date.now();
    assert.ok(deadline >= before + 1234 && deadline <= after + 1234, `deadline ${deadline}`);
  });

  it("leaves no timer behind after calls that succeed or fail", async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    const server = serverWith((args) => {
      if (args["fail"] === true) throw notFound("no such thing");
      return { ok: true };
    });
    const before = timers();
    for (let i = 0; i < 50; i++) await server.callTool("work", { fail: i % 2 === 0 });
    await Promise.all(Array.from({ length: 20 }, () => server.callTool("work", {})));
    assert.ok(timers() <= before, `Timeout handles grew from ${before} to ${timers()}`);
  });

  it("treats synchronous and asynchronous handlers alike: results, errors, no timer left", async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    const before = timers();
    let mode: "ok" | "fail" | "bad" = "ok";
    let badValue: unknown;
    const run = () => {
      if (mode === "fail") throw notFound("no such thing");
      if (mode === "bad") return badValue; // not JSON: no result can be built from it
      return { ok: true };
    };
    const sync = serverWith(() => run());
    const async = serverWith(async () => {
      await tick();
      return run();
    });
    for (const server of [sync, async]) {
      mode = "ok";
      assert.deepEqual((await server.callTool("work", {})).structuredContent, { ok: true });
      mode = "fail";
      assert.equal(errorOf(await server.callTool("work", {}))["type"], "not_found");
      for (const bad of [10n, Symbol("no JSON"), () => "no JSON"]) {
        mode = "bad";
        badValue = bad;
        assert.equal(errorOf(await server.callTool("work", {}))["type"], "internal");
      }
    }
    assert.ok(timers() <= before, `Timeout handles grew from ${before} to ${timers()}`);
  });

  it("answers timeout when the caller's signal is already aborted", async () => {
    const signals: boolean[] = [];
    const server = serverWith((_args, ctx) => {
      signals.push(ctx.signal.aborted);
      return "should not be used";
    });
    const controller = new AbortController();
    controller.abort();
    const error = errorOf(await server.callTool("work", {}, { signal: controller.signal }));
    assert.equal(error["type"], "timeout");
    assert.match(String(error["message"]), /cancelled/);
    await tick();
    // Today the handler still runs (with an aborted signal); not running it at all is also fine.
    assert.ok(signals.length <= 1);
    assert.ok(
      signals.every((s) => s),
      "a handler that runs sees its signal aborted",
    );
  });

  it("aborts the handler when the caller cancels mid-call", async () => {
    let sawAborted = false;
    const server = serverWith(
      async (_args, ctx) => {
        await aborted(ctx.signal);
        sawAborted = true;
        return "late";
      },
      { timeoutMs: 5000 },
    );
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 20);
    const started = Date.now();
    const error = errorOf(await server.callTool("work", {}, { signal: controller.signal }));
    assert.equal(error["type"], "timeout");
    assert.ok(Date.now() - started < 1000);
    assert.equal(sawAborted, true);
  });

  it("rejects a bad defaultTimeoutMs with a TypeError", () => {
    for (const defaultTimeoutMs of [0, -1, 1.5, 2 ** 31]) {
      assert.throws(() => execute({ defaultTimeoutMs } as never), TypeError);
      assert.throws(() => resolveTool({ defaultTimeoutMs }), /resolveTool: defaultTimeoutMs/);
    }
    // The deadline is fixed once, by resolveTool: execute and idempotency refuse the
    // option by name instead of ignoring it.
    assert.throws(() => execute({ defaultTimeoutMs: 1000 } as never), /moved to resolveTool/);
    assert.throws(() => idempotency({ defaultTimeoutMs: 1000 } as never), /moved to resolveTool/);
  });
});

describe("execute: output validation", () => {
  const output = {
    type: "object",
    properties: { total: { type: "number" } },
    required: ["total"],
  };
  function serverReturning(value: unknown, logger: Logger = silentLogger()) {
    const tool = defineTool({
      name: "total",
      version: "1.0.0",
      description: "Sums.",
      scopes: [],
      sideEffect: "read",
      input: z.object({}),
      output,
      handler: () => value as never,
    });
    return createToolServer({ name: "s", version: "1.0.0", tools: [tool], logger });
  }

  it("passes a result that matches the output schema", async () => {
    const result = await serverReturning({ total: 12 }).callTool("total", {});
    assert.deepEqual(result.structuredContent, { total: 12 });
  });

  for (const [label, value] of [
    ["the wrong type", { total: "SECRET-WRONG-DATA" }],
    ["an extra field", { total: 1, leaked: "SECRET-WRONG-DATA" }],
    ["text instead of an object", "SECRET-WRONG-DATA"],
  ] as const) {
    it(`answers internal, with an incident id and none of the data, for ${label}`, async () => {
      const { log, lines } = memoryLogger();
      const result = await serverReturning(value, log).callTool("total", {});
      const error = errorOf(result);
      assert.equal(error["type"], "internal");
      assert.match(String(error["incidentId"]), UUID);
      assert.doesNotMatch(JSON.stringify(result), /SECRET-WRONG-DATA/);
      assert.ok(lines().some((l) => l["incidentId"] === error["incidentId"] && l["level"] === 50));
    });
  }
});

describe("execute: return values", () => {
  it("maps a string to text content", async () => {
    assert.deepEqual(await serverWith(() => "hello").callTool("work", {}), {
      content: [{ type: "text", text: "hello" }],
    });
  });

  it("maps an object to structuredContent plus the same JSON as text", async () => {
    const value = { id: "INV-1", lines: [1, 2], note: null };
    assert.deepEqual(await serverWith(() => value).callTool("work", {}), {
      content: [{ type: "text", text: JSON.stringify(value) }],
      structuredContent: value,
    });
  });

  it("maps other JSON values to text JSON only", async () => {
    assert.deepEqual(await serverWith(() => 42).callTool("work", {}), {
      content: [{ type: "text", text: "42" }],
    });
    assert.deepEqual(await serverWith(() => [1, "a"]).callTool("work", {}), {
      content: [{ type: "text", text: '[1,"a"]' }],
    });
  });

  it("passes toolResult(...) through as built", async () => {
    const raw = {
      content: [
        { type: "image" as const, data: "iVBORw0KGgo=", mimeType: "image/png" },
        { type: "text" as const, text: "a chart" },
      ],
    };
    assert.deepEqual(await serverWith(() => toolResult(raw)).callTool("work", {}), raw);
    assert.throws(() => toolResult({} as never), TypeError);
  });

  it("passes a handler's ToolError through as written", async () => {
    const error = errorOf(
      await serverWith(() => Promise.reject(notFound("No order INV-9."))).callTool("work", {}),
    );
    assert.deepEqual(error, { type: "not_found", message: "No order INV-9.", retryable: false });
  });
});
