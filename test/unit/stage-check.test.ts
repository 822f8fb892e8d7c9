// Issue 18, defect 4: a custom stage list silently turned idempotency off. A stage list
// must honour what the tools declare, or the server refuses to start naming the tool;
// and the README's recipe (`defaultStages()` spliced around a stage of your own) keeps
// every guarantee, with each stage opening its own (default) store.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as z from "zod";
import {
  createToolServer,
  defineTool,
  type Principal,
  type ToolServerOptions,
} from "../../src/index.js";
import { silentLogger } from "../../src/server/index.js";
import {
  authorize,
  defaultStages,
  execute,
  idempotency,
  mapErrors,
  rateLimit,
  requestId,
  resolveTool,
  validateInput,
  validateOutput,
  type Stage,
} from "../../src/pipeline/index.js";
import { memoryStore } from "../../src/stores/index.js";
import { IDEMPOTENCY_ARGUMENT, REPLAY_META_KEY } from "../../src/client/index.js";
import { readWireError } from "../../src/errors/to-result.js";
import { buildToolServer } from "../../src/server/create-tool-server.js";
import { createToolRegistry } from "../../src/server/tool-registry.js";

function payTool(name = "pay", runs = { count: 0 }) {
  return defineTool({
    name,
    version: "1.0.0",
    description: "Pays an amount; changes state.",
    input: z.object({ amount: z.number() }),
    scopes: [],
    sideEffect: "write",
    handler: ({ amount }) => {
      runs.count += 1;
      return { paid: amount, run: runs.count };
    },
  });
}

const readTool = (name: string, extra: { scopes?: string[]; perPrincipal?: string } = {}) =>
  defineTool({
    name,
    version: "1.0.0",
    description: "Reads something.",
    input: z.object({}),
    scopes: extra.scopes ?? [],
    sideEffect: "read",
    ...(extra.perPrincipal ? { rateLimit: { perPrincipal: extra.perPrincipal } } : {}),
    handler: () => "ok",
  });

/** The README's recipe: a stage of your own between resolveTool and authorize. */
function readmeRecipe(seen: string[], options: Parameters<typeof defaultStages>[0] = {}) {
  const myStage: Stage = function myStage(ctx, next) {
    seen.push(ctx.toolName);
    return next();
  };
  return [...defaultStages(options).slice(0, 3), myStage, ...defaultStages(options).slice(3)];
}

const server = (options: Omit<ToolServerOptions, "name" | "version" | "logger">) =>
  createToolServer({ name: "stage-check", version: "1.0.0", logger: silentLogger(), ...options });

/** The stages of the default order without the idempotency stage. */
const withoutIdempotency = (): Stage[] => [
  requestId(),
  mapErrors(),
  resolveTool(),
  authorize({ requireAuthentication: false }),
  validateInput(),
  validateOutput(),
  execute(),
];

const alice: Principal = {
  issuer: "https://issuer.test",
  subject: "alice",
  scopes: ["orders:read"],
  claims: {},
  anonymous: false,
};
const verifier = { verify: () => Promise.resolve(alice) };

describe("the README's stage recipe keeps what the tools declare", () => {
  it("a write tool called 3 times with one key runs once (the default store, opened by the stage)", async () => {
    const runs = { count: 0 };
    const seen: string[] = [];
    const s = server({ tools: [payTool("pay", runs)], stages: readmeRecipe(seen) });
    const key = `op-${Date.now()}-${Math.random()}`;
    const results = [];
    for (let i = 0; i < 3; i++)
      results.push(await s.callTool("pay", { amount: 5, [IDEMPOTENCY_ARGUMENT]: key }));
    assert.equal(runs.count, 1, "the handler ran once for one key");
    assert.deepEqual(
      results.map((r) => r.structuredContent),
      [1, 2, 3].map(() => ({ paid: 5, run: 1 })),
    );
    assert.equal(results[0]?._meta?.[REPLAY_META_KEY], undefined);
    assert.equal(results[1]?._meta?.[REPLAY_META_KEY], true);
    assert.equal(results[2]?._meta?.[REPLAY_META_KEY], true);
    assert.deepEqual(seen, ["pay", "pay", "pay"], "the custom stage ran on every call");
    await s.close();
  });

  it("a write tool without a key is refused before it runs", async () => {
    const runs = { count: 0 };
    const s = server({ tools: [payTool("pay", runs)], stages: readmeRecipe([]) });
    const result = await s.callTool("pay", { amount: 5 });
    assert.equal(readWireError(result)?.type, "invalid_input");
    assert.equal(runs.count, 0);
    await s.close();
  });

  it("a tool's own rate limit is counted", async () => {
    const s = server({
      tools: [readTool("limited", { perPrincipal: "1/min" })],
      stages: readmeRecipe([]),
    });
    const who = { ...alice, subject: `rl-${Date.now()}-${Math.random()}` };
    assert.equal((await s.callTool("limited", {}, { principal: who })).isError, undefined);
    assert.equal(
      readWireError(await s.callTool("limited", {}, { principal: who }))?.type,
      "rate_limited",
    );
    await s.close();
  });

  it("with auth, scopes are enforced when the list says so", async () => {
    const s = server({
      tools: [readTool("secret", { scopes: ["secrets:read"] })],
      auth: verifier,
      stages: readmeRecipe([], { requireAuthentication: true }),
    });
    const refused = await s.callTool("secret", {}, { principal: alice });
    assert.equal(readWireError(refused)?.type, "forbidden");
    await s.close();
  });
});

describe("a stage list that cannot honour a tool refuses to start, naming it", () => {
  it("a write tool without the idempotency stage", () => {
    assert.throws(
      () => server({ tools: [payTool("refund"), readTool("look")], stages: withoutIdempotency() }),
      (error: unknown) => {
        assert.ok(error instanceof TypeError);
        assert.match(error.message, /Write tool 'refund' declares idempotency/);
        assert.match(error.message, /Pass defaultStages\(\), or add idempotency\(\{ store \}\)/);
        assert.doesNotMatch(error.message, /'look'/);
        return true;
      },
    );
  });

  it("every write tool is named", () => {
    assert.throws(
      () => server({ tools: [payTool("a"), payTool("b")], stages: withoutIdempotency() }),
      /Write tools 'a', 'b' declare idempotency/,
    );
  });

  it("an idempotency stage after execute() never runs, so it does not count", () => {
    assert.throws(
      () =>
        server({
          tools: [payTool()],
          stages: [...withoutIdempotency(), idempotency({ store: memoryStore() })],
        }),
      /Write tool 'pay' declares idempotency/,
    );
  });

  it("two idempotency stages", () => {
    const stages = defaultStages({ store: memoryStore() });
    stages.splice(5, 0, idempotency({ store: memoryStore() }));
    assert.throws(() => server({ tools: [payTool()], stages }), /2 idempotency stages/);
  });

  it("validateOutput before idempotency, for a write tool with an output schema", () => {
    const receipt = defineTool({
      name: "refund",
      version: "1.0.0",
      description: "Refunds an order; changes state.",
      input: z.object({ orderId: z.string() }),
      output: z.object({ refunded: z.boolean() }),
      scopes: [],
      sideEffect: "write",
      handler: () => ({ refunded: true }),
    });
    const store = memoryStore();
    const misordered: Stage[] = [
      requestId(),
      mapErrors(),
      resolveTool(),
      authorize({ requireAuthentication: false }),
      validateInput(),
      validateOutput(),
      idempotency({ store }),
      execute(),
    ];
    assert.throws(
      () => server({ tools: [receipt], stages: misordered }),
      /Write tool 'refund' declares an output schema, but the stage list runs validateOutput\(\) before idempotency\(\)/,
    );
    // The same list in the default order starts, and so does the misordered one for a write
    // tool without an output schema (nothing late could be stored unchecked).
    const ordered = [...misordered];
    ordered.splice(5, 2, idempotency({ store }), validateOutput());
    assert.doesNotThrow(() => server({ tools: [receipt], stages: ordered }));
    assert.doesNotThrow(() => server({ tools: [payTool()], stages: misordered }));
  });

  it("scopes under auth without an authorize stage that enforces them", () => {
    const scoped = readTool("secret", { scopes: ["secrets:read"] });
    for (const stages of [defaultStages(), withoutIdempotency().filter((_, i) => i !== 3)]) {
      assert.throws(
        () => server({ tools: [scoped], auth: verifier, stages }),
        /Tool 'secret' declares scopes and the server verifies callers \(auth\), but no stage before execute\(\) enforces them\. Pass defaultStages\(\{ requireAuthentication: true \}\)/,
      );
    }
    // Without auth, scopes are not enforced by design (every caller is anonymous).
    assert.doesNotThrow(() => server({ tools: [scoped], stages: defaultStages() }));
  });

  it("a tool's rate limit without the rate-limit stage", () => {
    assert.throws(
      () =>
        server({
          tools: [readTool("limited", { perPrincipal: "5/min" })],
          stages: withoutIdempotency(),
        }),
      /Tool 'limited' declares rate limits, but the stage list has no rateLimit stage/,
    );
    assert.doesNotThrow(() =>
      server({
        tools: [readTool("limited", { perPrincipal: "5/min" })],
        stages: [
          ...withoutIdempotency().slice(0, 4),
          rateLimit(),
          ...withoutIdempotency().slice(4),
        ],
      }),
    );
  });

  it("no execute() stage", () => {
    assert.throws(
      () => server({ tools: [readTool("look")], stages: withoutIdempotency().slice(0, -1) }),
      /no execute\(\) stage, so no tool would ever run/,
    );
  });

  it("server options that configure the default stages, with a list of your own", () => {
    assert.throws(
      () => server({ tools: [payTool()], stages: defaultStages(), store: memoryStore() }),
      /store configures the default stages only; with your own stages, give it to them: defaultStages\(\{ store \}\)/,
    );
    assert.throws(
      () =>
        server({
          tools: [readTool("look")],
          stages: defaultStages(),
          rateLimit: { perTool: "5/s" },
        }),
      /rateLimit configures the default stages only/,
    );
  });

  it("stages of your own (unmarked functions) are fine", () => {
    const mine: Stage = (_ctx, next) => next();
    assert.doesNotThrow(() =>
      server({ tools: [payTool(), readTool("look")], stages: [mine, ...defaultStages(), mine] }),
    );
  });

  it("the gateway's list must have the stages before its tools exist", async () => {
    const internals = {
      registry: createToolRegistry([]),
      guard: ((_ctx, next) => next()) as Stage,
      mayWrite: true,
      mayRateLimit: true,
    };
    const options = { name: "gw", version: "1.0.0", tools: [], logger: silentLogger() };
    assert.throws(
      () => buildToolServer({ ...options, stages: withoutIdempotency() }, internals),
      /The gateway's write tools \(they come with its upstreams\) declare idempotency.*The gateway's tools \(they come with its upstreams\) declare rate limits/,
    );
    // Its default list has both.
    await buildToolServer(options, internals).close();
  });
});
