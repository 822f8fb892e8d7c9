import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as z from "zod";
import { createToolServer, defineTool } from "../../src/index.js";
import { silentLogger } from "../../src/server/index.js";
import {
  compose,
  defaultStages,
  execute,
  mapErrors,
  requestId,
  resolveTool,
  validateInput,
  validateOutput,
} from "../../src/pipeline/index.js";
import type { CallContext, Stage } from "../../src/pipeline/index.js";
import { createCallContext } from "../../src/server/mcp-factory.js";
import { memoryLogger } from "./helpers/memory-logger.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function callContext(): CallContext {
  return createCallContext({
    toolName: "echo",
    rawArguments: {},
    transport: "direct",
    lookup: () => undefined,
    log: silentLogger(),
  });
}

const text = (value: string) => ({ content: [{ type: "text" as const, text: value }] });

const echo = defineTool({
  name: "echo",
  version: "1.0.0",
  description: "Echoes its text and the request id.",
  scopes: [],
  sideEffect: "read",
  input: z.object({ text: z.string() }),
  handler: (args, ctx) => ({ text: args.text, requestId: ctx.requestId }),
});

describe("compose", () => {
  it("runs the stages in order, each around the rest", async () => {
    const order: string[] = [];
    const named = (name: string): Stage =>
      async function (_ctx, next) {
        order.push(`${name}:before`);
        const result = await next();
        order.push(`${name}:after`);
        return result;
      };
    const last: Stage = () => {
      order.push("last");
      return Promise.resolve(text("done"));
    };
    const result = await compose([named("a"), named("b"), last])(callContext());
    assert.deepEqual(result, text("done"));
    assert.deepEqual(order, ["a:before", "b:before", "last", "b:after", "a:after"]);
  });

  it("rejects when a stage calls next() twice, without running the rest twice", async () => {
    let runs = 0;
    const twice: Stage = async (_ctx, next) => {
      await next();
      return next();
    };
    const last: Stage = () => {
      runs += 1;
      return Promise.resolve(text("done"));
    };
    await assert.rejects(compose([twice, last])(callContext()), /Stage 0 called next\(\) twice/);
    assert.equal(runs, 1);
  });

  it("rejects a stage that is not a function with a TypeError", () => {
    const ok: Stage = (_ctx, next) => next();
    assert.throws(() => compose([ok, "validate" as unknown as Stage]), {
      name: "TypeError",
      message: /stage 1 is not a function/,
    });
  });

  it("rejects a call through an empty pipeline", async () => {
    await assert.rejects(compose([])(callContext()), /ended without a stage that executes/);
  });

  it("rejects a call whose last stage calls next()", async () => {
    const pass: Stage = (_ctx, next) => next();
    await assert.rejects(compose([pass])(callContext()), /ended without a stage/);
  });

  it("turns a stage that throws synchronously into a rejection", async () => {
    const boom: Stage = () => {
      throw new Error("sync boom");
    };
    const pipeline = compose([boom]);
    let promise: Promise<unknown> | undefined;
    assert.doesNotThrow(() => {
      promise = pipeline(callContext());
    });
    await assert.rejects(promise!, /sync boom/);
  });
});

describe("default stages", () => {
  it("are in the architecture's order", () => {
    assert.deepEqual(
      defaultStages().map((stage) => stage.name),
      [
        "requestIdStage",
        "mapErrorsStage",
        "resolveToolStage",
        "authorizeStage",
        "rateLimitStage",
        "validateInputStage",
        "idempotencyStage",
        "validateOutputStage",
        "executeStage",
      ],
    );
  });

  it("answer an unknown tool with not_found", async () => {
    const server = createToolServer({
      name: "s",
      version: "1.0.0",
      tools: [echo],
      logger: silentLogger(),
    });
    const result = await server.callTool("nope", {});
    assert.equal(result.isError, true);
    assert.equal((result.structuredContent as { error: { type: string } }).error.type, "not_found");
  });
});

describe("custom stages in createToolServer", () => {
  it("run in the given order and can short-circuit the call", async () => {
    let handlerRan = false;
    const tool = defineTool({
      name: "echo",
      version: "1.0.0",
      description: "Echoes.",
      scopes: [],
      sideEffect: "read",
      input: z.object({}),
      handler: () => {
        handlerRan = true;
        return "from handler";
      },
    });
    const seen: string[] = [];
    const cached: Stage = async function cachedStage(ctx, next) {
      seen.push(ctx.toolName);
      if (ctx.meta?.["cached"] === true) return text("from cache");
      return next();
    };
    const server = createToolServer({
      name: "s",
      version: "1.0.0",
      tools: [tool],
      logger: silentLogger(),
      stages: [
        requestId(),
        mapErrors(),
        resolveTool(),
        cached,
        validateInput(),
        validateOutput(),
        execute(),
      ],
    });
    assert.deepEqual(
      await server.callTool("echo", {}, { meta: { cached: true } }),
      text("from cache"),
    );
    assert.equal(handlerRan, false);
    assert.deepEqual(await server.callTool("echo", {}), text("from handler"));
    assert.equal(handlerRan, true);
    assert.deepEqual(seen, ["echo", "echo"]);
  });

  it("map a custom stage's unexpected error to internal when placed after mapErrors", async () => {
    const broken: Stage = () => Promise.reject(new Error("db password=hunter2"));
    const server = createToolServer({
      name: "s",
      version: "1.0.0",
      tools: [echo],
      logger: silentLogger(),
      stages: [requestId(), mapErrors(), broken, resolveTool(), execute()],
    });
    const result = await server.callTool("echo", { text: "hi" });
    assert.equal((result.structuredContent as { error: { type: string } }).error.type, "internal");
    assert.doesNotMatch(JSON.stringify(result), /hunter2/);
  });
});

describe("requestId stage", () => {
  it("gives each call a unique UUID that the handler sees", async () => {
    const server = createToolServer({
      name: "s",
      version: "1.0.0",
      tools: [echo],
      logger: silentLogger(),
    });
    const ids = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const result = await server.callTool("echo", { text: "hi" });
      const { requestId: id } = result.structuredContent as { requestId: string };
      assert.match(id, UUID);
      ids.add(id);
    }
    assert.equal(ids.size, 5);
  });

  it("uses a custom generator and binds the id and tool to the call's logger", async () => {
    const { log, lines } = memoryLogger();
    let n = 0;
    const logs: Stage = (ctx, next) => {
      ctx.log.info("in the pipeline");
      return next();
    };
    const server = createToolServer({
      name: "s",
      version: "1.0.0",
      tools: [echo],
      logger: log,
      stages: [
        requestId({ generate: () => `req-${++n}` }),
        logs,
        resolveTool(),
        validateInput(),
        execute(),
      ],
    });
    const result = await server.callTool("echo", { text: "hi" });
    assert.deepEqual(result.structuredContent, { text: "hi", requestId: "req-1" });
    const line = lines().find((l) => l["msg"] === "in the pipeline");
    assert.equal(line?.["requestId"], "req-1");
    assert.equal(line?.["tool"], "echo");
  });

  it("rejects a generator that is not a function", () => {
    assert.throws(() => requestId({ generate: "uuid" as unknown as () => string }), TypeError);
  });
});
