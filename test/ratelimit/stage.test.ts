// The rate-limit stage through a real toolgate server (in-process calls through the whole
// pipeline): budgets per caller and per tool, the server's and the tool's own, the
// `rate_limited` error, no store traffic when no budget applies, and failing open when
// the store is down.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pino } from "pino";
import * as z from "zod";
import {
  createToolServer,
  defineTool,
  type Principal,
  type ToolDefinition,
} from "../../src/index.js";
import { silentLogger, type Logger } from "../../src/server/index.js";
import {
  authorize,
  execute,
  mapErrors,
  requestId,
  rateLimit,
  resolveTool,
  validateInput,
  validateOutput,
} from "../../src/pipeline/index.js";
import { memoryStore } from "../../src/stores/index.js";
import { resolveRateLimits, type RateLimitOptions } from "../../src/tool/rate-limit-options.js";
import { keyOf } from "../../src/ratelimit/stage.js";
import type {
  RateLimitInput,
  RateLimitOutcome,
  RateLimitStore,
} from "../../src/ratelimit/store.js";
import { expectToolError } from "../helpers/server.js";

const T0 = 1_700_000_000_000;

const principal = (subject: string, issuer = "https://issuer.test"): Principal => ({
  issuer,
  subject,
  scopes: [],
  claims: { sub: subject },
  anonymous: false,
});
const alice = principal("alice");
const bob = principal("bob");

/** A tool that counts its runs; `rateLimit` is its own budget. */
function tool(name: string, runs: string[], rate?: RateLimitOptions): ToolDefinition {
  return defineTool({
    name,
    version: "1.0.0",
    description: `Test tool ${name}.`,
    input: z.object({}),
    scopes: [],
    sideEffect: "read",
    ...(rate ? { rateLimit: rate } : {}),
    handler: (_args, ctx) => {
      runs.push(`${name}:${ctx.principal.subject}`);
      return { ok: true };
    },
  });
}

/** The real memory store behind a counter; `fail` makes consume reject (the store is down). */
class SpyStore implements RateLimitStore {
  readonly inner = memoryStore();
  readonly inputs: RateLimitInput[] = [];
  fail: Error | undefined;
  consume(input: RateLimitInput): Promise<RateLimitOutcome> {
    this.inputs.push(input);
    if (this.fail) return Promise.reject(this.fail);
    return this.inner.consume(input);
  }
}

interface Setup {
  server?: RateLimitOptions;
  tools: ToolDefinition[];
  store?: RateLimitStore | (() => Promise<RateLimitStore>);
  logger?: Logger;
}

/** A server whose pipeline has the stage after authorize, with a fake clock. */
function serve(setup: Setup) {
  const clock = { now: T0 };
  const store = setup.store ?? new SpyStore();
  const server = createToolServer({
    name: "ratelimit-test",
    version: "0.0.1",
    tools: setup.tools,
    logger: setup.logger ?? silentLogger(),
    audit: false,
    metrics: false,
    stages: [
      requestId(),
      mapErrors(),
      resolveTool(),
      authorize({ requireAuthentication: false }),
      rateLimit({
        ...(setup.server ? { server: resolveRateLimits(setup.server, "test")! } : {}),
        store,
        now: () => clock.now,
      }),
      validateInput(),
      validateOutput(),
      execute(),
    ],
  });
  const call = (name: string, who: Principal = alice) =>
    server.callTool(name, {}, { principal: who });
  return { server, clock, store, call };
}

const ok = (result: { isError?: boolean | undefined }) =>
  assert.notEqual(result.isError, true, `expected success: ${JSON.stringify(result)}`);

describe("rateLimit stage", () => {
  it("a server per-principal budget is per caller, across tools", async () => {
    const runs: string[] = [];
    const { call, clock } = serve({
      server: { perPrincipal: "2/min" },
      tools: [tool("a", runs), tool("b", runs)],
    });
    ok(await call("a", alice));
    ok(await call("b", alice));
    const refused = expectToolError(await call("a", alice), "rate_limited");
    assert.equal(refused.retryable, true);
    assert.equal(refused.retryAfterMs, 30_000);
    assert.equal(
      refused.message,
      "You have used your budget of 2/min calls to this server. Retry in 30 s.",
    );
    // Bob has his own budget; the same subject at another issuer is another caller.
    ok(await call("a", bob));
    ok(await call("b", bob));
    ok(await call("a", principal("alice", "https://other-issuer.test")));
    expectToolError(await call("b", bob), "rate_limited");
    assert.deepEqual(runs, ["a:alice", "b:alice", "a:bob", "b:bob", "a:alice"]);
    // One interval later, one more call each.
    clock.now += 29_999;
    expectToolError(await call("a", alice), "rate_limited");
    clock.now += 1;
    ok(await call("a", alice));
    expectToolError(await call("a", alice), "rate_limited");
  });

  it("a server per-tool budget is shared by all callers of that tool, each tool its own", async () => {
    const runs: string[] = [];
    const { call } = serve({
      server: { perTool: "3/min" },
      tools: [tool("search", runs), tool("other", runs)],
    });
    ok(await call("search", alice));
    ok(await call("search", bob));
    ok(await call("search", alice));
    const refused = expectToolError(await call("search", bob), "rate_limited");
    assert.equal(refused.retryAfterMs, 20_000);
    assert.equal(
      refused.message,
      "The budget of 3/min calls to search, shared by all callers, is used up. Retry in 20 s.",
    );
    ok(await call("other", bob));
    assert.equal(runs.filter((r) => r.startsWith("search:")).length, 3);
  });

  it("a tool's own budgets: per caller of that tool, and its total", async () => {
    const runs: string[] = [];
    const { call, clock } = serve({
      tools: [
        tool("issue_refund", runs, { perPrincipal: "1/s", perTool: "3/min" }),
        tool("free", runs),
      ],
    });
    ok(await call("issue_refund", alice));
    const mine = expectToolError(await call("issue_refund", alice), "rate_limited");
    assert.equal(mine.retryAfterMs, 1_000);
    assert.equal(
      mine.message,
      "You have used your budget of 1/s calls to issue_refund. Retry in 1 s.",
    );
    ok(await call("free", alice));
    ok(await call("issue_refund", bob));
    clock.now += 1_000;
    ok(await call("issue_refund", alice));
    // Three refunds ran (alice, bob, alice; alice's refused call did not count toward the
    // total): the tool's total of 3/min is used up for everyone.
    clock.now += 5_000;
    const total = expectToolError(await call("issue_refund", bob), "rate_limited");
    assert.match(total.message, /^The budget of 3\/min calls to issue_refund, shared by all/);
    assert.equal(total.retryAfterMs, 20_000 - 6_000);
    assert.equal(runs.filter((r) => r.startsWith("issue_refund:")).length, 3);
  });

  it("several budgets refuse: retryAfterMs is the longest wait, and the message names that budget", async () => {
    const runs: string[] = [];
    const { call } = serve({
      server: { perPrincipal: "2/min" },
      tools: [tool("t", runs, { perPrincipal: "1/s" })],
    });
    ok(await call("t"));
    // Only the tool's 1/s refuses: 1 s.
    const first = expectToolError(await call("t"), "rate_limited");
    assert.equal(first.retryAfterMs, 1_000);
    assert.match(first.message, /budget of 1\/s calls to t\./);
    // The refused call still used the server budget consumed with it; now both refuse.
    const second = expectToolError(await call("t"), "rate_limited");
    assert.equal(second.retryAfterMs, 30_000);
    assert.match(second.message, /budget of 2\/min calls to this server/);
  });

  it("a caller over its own budget does not use up the budget shared with others", async () => {
    const runs: string[] = [];
    const { call } = serve({
      server: { perPrincipal: "1/min", perTool: "2/min" },
      tools: [tool("t", runs)],
    });
    ok(await call("t", alice));
    for (let i = 0; i < 10; i += 1) {
      const refused = expectToolError(await call("t", alice), "rate_limited");
      assert.match(refused.message, /to this server/);
    }
    ok(await call("t", bob));
    const carol = expectToolError(await call("t", principal("carol")), "rate_limited");
    assert.match(carol.message, /shared by all callers/);
    assert.deepEqual(runs, ["t:alice", "t:bob"]);
  });

  it("retryAfterMs is whole ms, rounded up; rates given as { limit, windowMs } read well", async () => {
    const runs: string[] = [];
    const { call } = serve({
      server: { perPrincipal: "7/min", perTool: { limit: 100, windowMs: 1_500 } },
      tools: [tool("t", runs)],
    });
    for (let i = 0; i < 7; i += 1) ok(await call("t"));
    const refused = expectToolError(await call("t"), "rate_limited");
    assert.equal(refused.retryAfterMs, 8_572); // 60 000 / 7 = 8571.43
    assert.equal(refused.message.endsWith("Retry in 9 s."), true, refused.message);

    const { call: call2 } = serve({
      server: { perTool: { limit: 2, windowMs: 1_500 } },
      tools: [tool("t", runs)],
    });
    ok(await call2("t"));
    ok(await call2("t"));
    const short = expectToolError(await call2("t"), "rate_limited");
    assert.equal(short.retryAfterMs, 750);
    assert.equal(
      short.message,
      "The budget of 2 calls per 1500 ms to t, shared by all callers, is used up. Retry in 750 ms.",
    );
  });

  it("keys: rl: and 22 base64url characters, one per bucket kind, nothing readable", async () => {
    const runs: string[] = [];
    const store = new SpyStore();
    const { call } = serve({
      server: { perPrincipal: "10/min", perTool: "10/min" },
      tools: [tool("t", runs, { perPrincipal: "10/min", perTool: "10/min" })],
      store,
    });
    ok(await call("t", alice));
    ok(await call("t", bob));
    // Per call: the caller's buckets (server's, tool's), then the shared ones.
    const [a, b] = [store.inputs.slice(0, 4), store.inputs.slice(4)];
    for (const input of store.inputs) {
      assert.match(input.key, /^rl:[A-Za-z0-9_-]{22}$/);
      assert.ok(!input.key.includes("alice") && !input.key.includes("bob"));
      assert.equal(input.now, T0);
      assert.deepEqual([input.limit, input.windowMs], [10, 60_000]);
    }
    assert.equal(new Set(a.map((i) => i.key)).size, 4, "four buckets, four keys");
    // The per-tool buckets are shared by alice and bob; the per-principal ones are not.
    assert.deepEqual(
      a.map((i, n) => i.key === b[n]!.key),
      [false, false, true, true],
    );
    assert.notEqual(keyOf("tool/tool", ["t"]), keyOf("server/tool", ["t"]));
    assert.notEqual(keyOf("k", ["ab", "c"]), keyOf("k", ["a", "bc"]));
  });

  it("no budget applies: next() runs and the store is neither opened nor called", async () => {
    const runs: string[] = [];
    let opens = 0;
    const store = new SpyStore();
    const { call } = serve({
      tools: [tool("t", runs)],
      store: () => {
        opens += 1;
        return Promise.resolve(store);
      },
    });
    for (let i = 0; i < 5; i += 1) ok(await call("t"));
    assert.equal(opens, 0);
    assert.equal(store.inputs.length, 0);
    assert.equal(runs.length, 5);
  });

  it("a refused call does not reach later stages: the handler does not run", async () => {
    const runs: string[] = [];
    const { call } = serve({ tools: [tool("t", runs, { perPrincipal: "1/min" })] });
    ok(await call("t"));
    for (let i = 0; i < 3; i += 1) expectToolError(await call("t"), "rate_limited");
    assert.deepEqual(runs, ["t:alice"]);
  });

  it("the store fails: calls go through (fail open), with one warning per 10 s", async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino(
      { level: "warn" },
      { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
    );
    const runs: string[] = [];
    const store = new SpyStore();
    store.fail = new Error("simulated: connection refused");
    const { call } = serve({
      server: { perPrincipal: "1/min" },
      tools: [tool("t", runs)],
      store,
      logger,
    });
    for (let i = 0; i < 5; i += 1) ok(await call("t"));
    assert.equal(runs.length, 5);
    assert.equal(store.inputs.length, 5, "the store is tried on every call");
    const warnings = lines.filter((l) => String(l["msg"]).includes("rate-limit store"));
    assert.equal(warnings.length, 1, JSON.stringify(lines));
    assert.match(String(warnings[0]!["msg"]), /let through/);
    // Back up: budgets are counted again.
    store.fail = undefined;
    ok(await call("t"));
    expectToolError(await call("t"), "rate_limited");
  });

  it("a store that fails to open: fail open, and it is opened again on a later call", async () => {
    const runs: string[] = [];
    let opens = 0;
    const store = new SpyStore();
    const { call } = serve({
      server: { perPrincipal: "1/min" },
      tools: [tool("t", runs)],
      store: () => {
        opens += 1;
        return opens === 1
          ? Promise.reject(new Error("simulated: cannot connect"))
          : Promise.resolve(store);
      },
    });
    ok(await call("t"));
    assert.equal(opens, 1);
    ok(await call("t"));
    expectToolError(await call("t"), "rate_limited");
    assert.equal(opens, 2, "opened once it worked, then kept");
    assert.equal(runs.length, 2);
  });

  it("checks its options when built", () => {
    const store = new SpyStore();
    assert.throws(() => rateLimit(null as never), TypeError);
    assert.throws(() => rateLimit({ store: {} as never }), /store must be a RateLimitStore/);
    assert.throws(() => rateLimit({ store, now: 5 as never }), /now must be a function/);
    assert.throws(
      () => rateLimit({ store, server: { perPrincipal: "lots" } }),
      /rateLimit: server\.perPrincipal must be a rate such as "60\/min"/,
    );
    assert.throws(() => rateLimit({ store, server: "60/min" as never }), /must be an object/);
    // Without a store, the stage counts in the SQLite default store (opened on first use).
    assert.doesNotThrow(() => rateLimit());
    assert.doesNotThrow(() => rateLimit({ server: { perPrincipal: "60/min" } }));
    assert.doesNotThrow(() => rateLimit({ store }));
    assert.doesNotThrow(() => rateLimit({ store: () => Promise.resolve(store) }));
  });

  it("the server's rateLimit option puts the stage after authorize, counting in the server's store", async () => {
    const runs: string[] = [];
    const server = createToolServer({
      name: "ratelimit-option",
      version: "0.0.1",
      tools: [tool("t", runs), tool("own", runs, { perPrincipal: "1/min" })],
      store: memoryStore(),
      rateLimit: { perPrincipal: "3/min" },
      logger: silentLogger(),
      audit: false,
      metrics: false,
    });
    const call = (name: string, who: Principal) => server.callTool(name, {}, { principal: who });
    ok(await call("t", alice));
    ok(await call("own", alice));
    expectToolError(await call("own", alice), "rate_limited");
    expectToolError(await call("t", alice), "rate_limited");
    ok(await call("t", bob));
    assert.deepEqual(runs, ["t:alice", "own:alice", "t:bob"]);
    await server.close();
  });
});
