// The idempotency stage end to end (design page idempotency.md, test plan lines 1, 2, 3,
// 5, 6, 11, 13, 14, and where the key comes from): a real toolgate server on 127.0.0.1
// with a memory store behind a counting wrapper, the official SDK client in both protocol
// eras, and plain fetch for the `Idempotency-Key` header.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import * as z from "zod";
import type { CallToolResult, Tool } from "@modelcontextprotocol/client";
import {
  createToolServer,
  defineTool,
  notFound,
  unavailable,
  type ToolContext,
} from "../../src/index.js";
import { silentLogger } from "../../src/server/index.js";
import {
  authorize,
  execute,
  idempotency,
  mapErrors,
  requestId,
  resolveTool,
  validateInput,
  validateOutput,
} from "../../src/pipeline/index.js";
import { StoreUnavailable, memoryStore, type IdempotencyStore } from "../../src/stores/index.js";
import { IDEMPOTENCY_ARGUMENT } from "../../src/client/index.js";
import {
  CLIENT_MODES,
  assertNoLeak,
  connectClient,
  connectClientWithHeaders,
  expectToolError,
  startServer,
  type ConnectedClient,
  type RunningServer,
} from "../helpers/server.js";
import {
  SpyStore,
  bearer,
  expectFresh,
  expectReplayOf,
  isReplay,
  metaKey,
  rawCall,
  twoPrincipalVerifier,
  type RawCallParams,
} from "./helpers.js";

/** One execution of a handler, as the handler saw it. */
interface Run {
  tool: string;
  account: string;
  /** A deep copy of the arguments the handler received, taken before it ran. */
  args: Record<string, unknown>;
  /** `ctx.idempotencyKey` */
  derivedKey: string | undefined;
  subject: string;
}

const runs: Run[] = [];
const runsOf = (account: string, tool?: string) =>
  runs.filter((r) => r.account === account && (tool === undefined || r.tool === tool));

function record(tool: string, args: { account: string }, ctx: ToolContext): Run {
  const run: Run = {
    tool,
    account: args.account,
    args: structuredClone(args),
    derivedKey: ctx.idempotencyKey,
    subject: ctx.principal.subject,
  };
  runs.push(run);
  return run;
}

const payInput = z.object({
  account: z.string(),
  amount: z.number(),
  memo: z.object({ a: z.number(), b: z.number() }).optional(),
});

const pay = defineTool({
  name: "pay",
  version: "1.0.0",
  description: "Pays an amount into an account.",
  input: payInput,
  scopes: [],
  sideEffect: "write",
  handler: (args, ctx) => {
    const run = record("pay", args, ctx);
    return {
      payment: `PAY-${runs.length}-${randomUUID()}`,
      account: args.account,
      amount: args.amount,
      by: run.subject,
    };
  },
});

const refund = defineTool({
  name: "refund",
  version: "1.0.0",
  description: "Refunds an amount to an account.",
  input: payInput,
  scopes: [],
  sideEffect: "write",
  handler: (args, ctx) => {
    record("refund", args, ctx);
    return { refund: `REF-${runs.length}-${randomUUID()}`, account: args.account };
  },
});

/** Fails with a transient error on its first execution per account, then succeeds. */
const flaky = defineTool({
  name: "flaky_charge",
  version: "1.0.0",
  description: "Charges an account; the provider is down on the first attempt.",
  input: z.object({ account: z.string() }),
  scopes: [],
  sideEffect: "write",
  handler: (args, ctx) => {
    record("flaky_charge", args, ctx);
    if (runsOf(args.account, "flaky_charge").length === 1) {
      throw unavailable("The payment provider is down. Retry with the same key.", 50);
    }
    return { charged: args.account, attempt: runsOf(args.account, "flaky_charge").length };
  },
});

/** A definitive error: the order does not exist, and never will for this operation. */
const cancelOrder = defineTool({
  name: "cancel_order",
  version: "1.0.0",
  description: "Cancels an order.",
  input: z.object({ account: z.string() }),
  scopes: [],
  sideEffect: "write",
  handler: (args, ctx) => {
    record("cancel_order", args, ctx);
    throw notFound(`No open order for account ${args.account}. Check the account id.`);
  },
});

/** Changes the arguments it was given, as a careless handler might. */
const mutate = defineTool({
  name: "normalize_and_store",
  version: "1.0.0",
  description: "Stores a record after normalizing it in place.",
  input: z.object({ account: z.string(), amount: z.number(), tags: z.array(z.string()) }),
  scopes: [],
  sideEffect: "write",
  handler: (args, ctx) => {
    record("normalize_and_store", args, ctx);
    args.amount = -1;
    args.tags.push("mutated");
    return { stored: args.account, run: runs.length };
  },
});

const balance = defineTool({
  name: "balance",
  version: "1.0.0",
  description: "Returns an account's balance.",
  input: z.object({ account: z.string() }),
  scopes: [],
  sideEffect: "read",
  handler: (args) => ({ account: args.account, balance: 100 }),
});

/** A naturally idempotent write: no keys. */
const logEvent = defineTool({
  name: "log_event",
  version: "1.0.0",
  description: "Appends an event to the log.",
  input: z.object({ account: z.string() }),
  scopes: [],
  sideEffect: "write",
  idempotency: false,
  handler: (args, ctx) => {
    record("log_event", args, ctx);
    return { logged: runsOf(args.account, "log_event").length };
  },
});

/** A legacy write whose callers send no key yet. */
const legacyWrite = defineTool({
  name: "legacy_write",
  version: "1.0.0",
  description: "A write whose callers do not send keys yet.",
  input: z.object({ account: z.string() }),
  scopes: [],
  sideEffect: "write",
  idempotency: { required: false },
  handler: (args, ctx) => {
    record("legacy_write", args, ctx);
    return { written: runsOf(args.account, "legacy_write").length };
  },
});

const TOOLS = [pay, refund, flaky, cancelOrder, mutate, balance, logEvent, legacyWrite];

let spy: SpyStore;
let running: RunningServer;

before(async () => {
  spy = new SpyStore();
  running = await startServer(TOOLS, { store: spy, auth: { verifier: twoPrincipalVerifier } });
});
after(async () => {
  await running?.close();
  await spy?.close();
});

const newAccount = () => `acct-${randomUUID()}`;
const newKey = () => `key-${randomUUID()}`;

function expectInvalidInput(result: CallToolResult): {
  message: string;
  issues: { path: string }[];
} {
  const error = expectToolError(result, "invalid_input");
  assert.equal(error.retryable, false);
  const issues = (error.details?.["issues"] ?? []) as { path: string }[];
  return { message: error.message, issues };
}

for (const mode of CLIENT_MODES) {
  describe(`idempotent write tools, ${mode} client`, () => {
    let alice: ConnectedClient;
    let bob: ConnectedClient;

    before(async () => {
      alice = await connectClientWithHeaders(running.url, mode, bearer("alice"));
      bob = await connectClientWithHeaders(running.url, mode, bearer("bob"));
    });
    after(async () => {
      await alice?.close();
      await bob?.close();
    });

    /** A call through the SDK client, with the key in the argument unless told otherwise. */
    async function call(
      client: ConnectedClient,
      name: string,
      args: Record<string, unknown>,
      meta?: Record<string, unknown>,
    ): Promise<CallToolResult> {
      const result = await client.client.callTool({
        name,
        arguments: args,
        ...(meta ? { _meta: meta } : {}),
      });
      assertNoLeak(result);
      return result;
    }

    describe("replay (plan 1, 2)", () => {
      test("a new key runs once; the same call again replays byte-identical, flagged", async () => {
        const account = newAccount();
        const args = { account, amount: 42, [IDEMPOTENCY_ARGUMENT]: newKey() };
        const first = await call(alice, "pay", args);
        const content = expectFresh(first);
        assert.equal(content["account"], account);
        const second = await call(alice, "pay", args);
        expectReplayOf(second, first);
        const third = await call(alice, "pay", args);
        expectReplayOf(third, first);
        assert.equal(runsOf(account).length, 1, "the handler ran once");
      });

      test("reordered argument keys have the same fingerprint: replay", async () => {
        const account = newAccount();
        const key = newKey();
        const first = await call(alice, "pay", {
          account,
          amount: 7,
          memo: { a: 1, b: 2 },
          [IDEMPOTENCY_ARGUMENT]: key,
        });
        expectFresh(first);
        const reordered = await call(alice, "pay", {
          [IDEMPOTENCY_ARGUMENT]: key,
          memo: { b: 2, a: 1 },
          amount: 7,
          account,
        });
        expectReplayOf(reordered, first);
        assert.equal(runsOf(account).length, 1);
      });

      test("a changed argument with the same key is a conflict; the original still replays", async () => {
        const account = newAccount();
        const key = newKey();
        const original = { account, amount: 10, [IDEMPOTENCY_ARGUMENT]: key };
        const first = await call(alice, "pay", original);
        expectFresh(first);
        const changed = await call(alice, "pay", { ...original, amount: 11 });
        const error = expectToolError(changed, "conflict");
        assert.equal(error.retryable, false);
        assert.match(error.message, /already used/i);
        assert.match(error.message, /different arguments/i);
        assert.ok(!isReplay(changed), "a conflict is not a replay");
        const again = await call(alice, "pay", original);
        expectReplayOf(again, first);
        assert.equal(runsOf(account).length, 1, "neither the conflict nor the replay ran it");
      });
    });

    describe("scope (plan 3)", () => {
      test("two principals, same key and payload: two executions, each replays only its own", async () => {
        const account = newAccount();
        const args = { account, amount: 5, [IDEMPOTENCY_ARGUMENT]: newKey() };
        const forAlice = await call(alice, "pay", args);
        const forBob = await call(bob, "pay", args);
        assert.equal(expectFresh(forAlice)["by"], "alice");
        assert.equal(expectFresh(forBob)["by"], "bob", "bob's call ran, it did not replay alice's");
        assert.notDeepEqual(forAlice.structuredContent, forBob.structuredContent);
        expectReplayOf(await call(alice, "pay", args), forAlice);
        expectReplayOf(await call(bob, "pay", args), forBob);
        assert.deepEqual(
          runsOf(account).map((r) => r.subject),
          ["alice", "bob"],
        );
      });

      test("the same key on two tools is two operations", async () => {
        const account = newAccount();
        const args = { account, amount: 5, [IDEMPOTENCY_ARGUMENT]: newKey() };
        const paid = await call(alice, "pay", args);
        const refunded = await call(alice, "refund", args);
        expectFresh(paid);
        assert.match(String(expectFresh(refunded)["refund"]), /^REF-/);
        expectReplayOf(await call(alice, "refund", args), refunded);
        expectReplayOf(await call(alice, "pay", args), paid);
        assert.deepEqual(
          runsOf(account).map((r) => r.tool),
          ["pay", "refund"],
        );
      });
    });

    describe("outcome policy (plan 5)", () => {
      test("a transient error releases the claim: a retry with the same key runs and succeeds", async () => {
        const account = newAccount();
        const args = { account, [IDEMPOTENCY_ARGUMENT]: newKey() };
        const failed = await call(alice, "flaky_charge", args);
        const error = expectToolError(failed, "unavailable");
        assert.equal(error.retryable, true);
        assert.ok(!isReplay(failed));
        const retried = await call(alice, "flaky_charge", args);
        assert.deepEqual(expectFresh(retried), { charged: account, attempt: 2 });
        expectReplayOf(await call(alice, "flaky_charge", args), retried);
        assert.equal(runsOf(account).length, 2, "ran on the first call and on the retry only");
      });

      test("a definitive error (not_found) is stored and replayed", async () => {
        const account = newAccount();
        const args = { account, [IDEMPOTENCY_ARGUMENT]: newKey() };
        const first = await call(alice, "cancel_order", args);
        const error = expectToolError(first, "not_found");
        assert.equal(error.retryable, false);
        assert.ok(!isReplay(first));
        const second = await call(alice, "cancel_order", args);
        expectToolError(second, "not_found");
        expectReplayOf(second, first);
        assert.equal(runsOf(account).length, 1, "the handler did not run again");
      });
    });

    describe("store failures (plan 6, 11)", () => {
      for (const how of ["reject", "false"] as const) {
        test(`persisting fails (complete ${how === "reject" ? "rejects" : "returns false"}): unavailable, never the result`, async () => {
          const account = newAccount();
          spy.completeFails = how;
          let result: CallToolResult;
          try {
            result = await call(alice, "pay", {
              account,
              amount: 1,
              [IDEMPOTENCY_ARGUMENT]: newKey(),
            });
          } finally {
            spy.completeFails = undefined;
          }
          const error = expectToolError(result, "unavailable");
          assert.equal(error.retryable, true);
          assert.match(error.message, /same idempotency key/);
          assert.equal(runsOf(account).length, 1, "the handler ran once");
          const text = JSON.stringify(result);
          assert.ok(!text.includes("PAY-"), `the unpersisted result leaked: ${text}`);
          assert.ok(!text.includes(account), `the unpersisted result leaked: ${text}`);
          assertNoLeak(result, "lost its connection");
        });
      }

      test("store down: unavailable (retryable), the handler never runs, read tools still work", async () => {
        const account = newAccount();
        const args = { account, amount: 1, [IDEMPOTENCY_ARGUMENT]: newKey() };
        spy.failClaimWith = new StoreUnavailable("ECONNREFUSED 10.0.0.9:6379");
        let result: CallToolResult;
        let read: CallToolResult;
        try {
          result = await call(alice, "pay", args);
          read = await call(alice, "balance", { account });
        } finally {
          spy.failClaimWith = undefined;
        }
        const error = expectToolError(result, "unavailable");
        assert.equal(error.retryable, true);
        assertNoLeak(result, "ECONNREFUSED", "10.0.0.9");
        assert.equal(runsOf(account).length, 0, "the handler was never called");
        assert.deepEqual(read.structuredContent, { account, balance: 100 });
        // Once the store is back, the same key runs the operation.
        expectFresh(await call(alice, "pay", args));
        assert.equal(runsOf(account).length, 1);
      });
    });

    describe("keys (plan 13)", () => {
      test("a write call without a key is invalid_input at /idempotency_key; no store call", async () => {
        const account = newAccount();
        // A call's first store operation is its claim; counting claims (not every operation)
        // ignores background saves that an earlier test's failed store is still retrying.
        const before = spy.calls.claim;
        const result = await call(alice, "pay", { account, amount: 1 });
        const { message, issues } = expectInvalidInput(result);
        assert.ok(
          issues.some((i) => i.path === `/${IDEMPOTENCY_ARGUMENT}`),
          JSON.stringify(issues),
        );
        assert.match(message, /idempotency key/);
        assert.match(message, /same value when retrying/);
        assert.equal(spy.calls.claim, before, "the store was not called");
        assert.equal(runsOf(account).length, 0);
      });

      const BAD_KEYS: readonly [string, unknown][] = [
        ["256 characters", "k".repeat(256)],
        ["non-ASCII", "ключ"],
        ["empty", ""],
        ["a control character", "line\nbreak"],
      ];
      for (const [what, bad] of BAD_KEYS) {
        test(`a key that is ${what} is invalid_input, in the argument and in _meta; no store call`, async () => {
          const account = newAccount();
          const before = spy.calls.claim;
          const inArgument = await call(alice, "pay", {
            account,
            amount: 1,
            [IDEMPOTENCY_ARGUMENT]: bad,
          });
          const { issues } = expectInvalidInput(inArgument);
          assert.ok(
            issues.some((i) => i.path === `/${IDEMPOTENCY_ARGUMENT}`),
            JSON.stringify(issues),
          );
          const inMeta = await call(alice, "pay", { account, amount: 1 }, metaKey(bad));
          assert.match(expectInvalidInput(inMeta).message, /1-255 printable ASCII/);
          assert.equal(spy.calls.claim, before, "the store was not called");
          assert.equal(runsOf(account).length, 0);
        });
      }

      test("a key in _meta that is not a string is invalid_input; no store call", async () => {
        const before = spy.calls.claim;
        const result = await call(alice, "pay", { account: newAccount(), amount: 1 }, metaKey(42));
        expectInvalidInput(result);
        assert.equal(spy.calls.claim, before);
      });

      test("a 255-character key is accepted (the boundary)", async () => {
        const account = newAccount();
        const unique = newKey();
        const key = unique + "~".repeat(255 - unique.length);
        assert.equal(key.length, 255);
        const args = { account, amount: 1, [IDEMPOTENCY_ARGUMENT]: key };
        const first = await call(alice, "pay", args);
        expectFresh(first);
        expectReplayOf(await call(alice, "pay", args), first);
      });

      test("two different keys (_meta and argument) are invalid_input; no store call", async () => {
        const account = newAccount();
        const before = spy.calls.claim;
        const result = await call(
          alice,
          "pay",
          { account, amount: 1, [IDEMPOTENCY_ARGUMENT]: newKey() },
          metaKey(newKey()),
        );
        assert.match(expectInvalidInput(result).message, /two different idempotency keys/);
        assert.equal(spy.calls.claim, before);
        assert.equal(runsOf(account).length, 0);
      });

      test("the same key in _meta and in the argument is accepted, and is one operation", async () => {
        const account = newAccount();
        const key = newKey();
        const args = { account, amount: 1 };
        const both = await call(
          alice,
          "pay",
          { ...args, [IDEMPOTENCY_ARGUMENT]: key },
          metaKey(key),
        );
        expectFresh(both);
        expectReplayOf(await call(alice, "pay", args, metaKey(key)), both);
        expectReplayOf(await call(alice, "pay", { ...args, [IDEMPOTENCY_ARGUMENT]: key }), both);
        assert.equal(runsOf(account).length, 1);
      });

      test("the key in _meta alone is enough, and the argument stays optional in the schema", async () => {
        const account = newAccount();
        const key = newKey();
        const first = await call(alice, "pay", { account, amount: 3 }, metaKey(key));
        expectFresh(first);
        expectReplayOf(await call(alice, "pay", { account, amount: 3 }, metaKey(key)), first);
        assert.equal(runsOf(account).length, 1);
      });
    });

    describe("the handler's view (plan 14, rule 10)", () => {
      test("a handler that mutates its arguments: the record keeps the original fingerprint", async () => {
        const account = newAccount();
        const key = newKey();
        const original = { account, amount: 5, tags: ["a"], [IDEMPOTENCY_ARGUMENT]: key };
        const first = await call(alice, "normalize_and_store", original);
        expectFresh(first);
        // The repeat with what the caller sent replays...
        expectReplayOf(await call(alice, "normalize_and_store", original), first);
        // ...and what the handler turned the arguments into is a different operation.
        const asMutated = {
          account,
          amount: -1,
          tags: ["a", "mutated"],
          [IDEMPOTENCY_ARGUMENT]: key,
        };
        expectToolError(await call(alice, "normalize_and_store", asMutated), "conflict");
        assert.equal(runsOf(account).length, 1);
      });

      test("ctx.idempotencyKey: stable across a retry, unique per key and principal, never the raw key", async () => {
        const account = newAccount();
        const key = newKey();
        const args = { account, [IDEMPOTENCY_ARGUMENT]: key };
        expectToolError(await call(alice, "flaky_charge", args), "unavailable");
        expectFresh(await call(alice, "flaky_charge", args));
        const [failedRun, retryRun] = runsOf(account, "flaky_charge");
        assert.ok(failedRun?.derivedKey, "the handler got a derived key");
        assert.equal(retryRun?.derivedKey, failedRun.derivedKey, "stable across the retry");
        assert.notEqual(failedRun.derivedKey, key);
        assert.ok(
          !failedRun.derivedKey.includes(key),
          "the derived key does not reveal the raw key",
        );

        const otherAccount = newAccount();
        await call(alice, "flaky_charge", {
          account: otherAccount,
          [IDEMPOTENCY_ARGUMENT]: newKey(),
        });
        const otherKeyRun = runsOf(otherAccount, "flaky_charge")[0];
        assert.notEqual(
          otherKeyRun?.derivedKey,
          failedRun.derivedKey,
          "another key, another derived key",
        );

        await call(bob, "flaky_charge", args);
        const bobRun = runs.find((r) => r.account === account && r.subject === "bob");
        assert.ok(bobRun?.derivedKey);
        assert.notEqual(
          bobRun.derivedKey,
          failedRun.derivedKey,
          "another principal, another derived key",
        );

        // Same principal and key on another tool: another operation, another derived key.
        await call(alice, "pay", { account, amount: 1, [IDEMPOTENCY_ARGUMENT]: key });
        const payRun = runsOf(account, "pay")[0];
        assert.ok(payRun?.derivedKey);
        assert.notEqual(
          payRun.derivedKey,
          failedRun.derivedKey,
          "another tool, another derived key",
        );
      });

      test("the handler's arguments never contain idempotency_key", async () => {
        const account = newAccount();
        const key = newKey();
        await call(alice, "pay", { account, amount: 2, [IDEMPOTENCY_ARGUMENT]: key });
        await call(alice, "refund", { account, amount: 2 }, metaKey(key));
        await call(
          alice,
          "normalize_and_store",
          { account, amount: 2, tags: [], [IDEMPOTENCY_ARGUMENT]: key },
          metaKey(key),
        );
        const seen = runsOf(account);
        assert.equal(seen.length, 3);
        for (const run of seen) {
          assert.ok(
            !(IDEMPOTENCY_ARGUMENT in run.args),
            `${run.tool} saw ${JSON.stringify(run.args)}`,
          );
        }
        assert.deepEqual(Object.keys(seen[0]!.args).sort(), ["account", "amount"]);
      });
    });

    describe("tools/list and opting out", () => {
      let tools: Tool[];
      const byName = (name: string): Tool => {
        const tool = tools.find((t) => t.name === name);
        assert.ok(tool, `${name} is not listed`);
        return tool;
      };
      before(async () => {
        ({ tools } = await alice.client.listTools());
      });

      test("a write tool publishes a required idempotency_key that tells the model to reuse it", () => {
        const schema = byName("pay").inputSchema as {
          properties: Record<string, { type?: string; description?: string }>;
          required?: string[];
        };
        const property = schema.properties[IDEMPOTENCY_ARGUMENT];
        assert.ok(property, "idempotency_key is in the input schema");
        assert.equal(property.type, "string");
        // The schema is the contract: a call without a key is refused (issue 18, defect 12).
        assert.ok((schema.required ?? []).includes(IDEMPOTENCY_ARGUMENT), "it is required");
        const legacy = byName("legacy_write").inputSchema as { required?: string[] };
        assert.ok(
          !(legacy.required ?? []).includes(IDEMPOTENCY_ARGUMENT),
          "optional: required: false",
        );
        const description = property.description ?? "";
        assert.match(description, /\bSAME\b/i, description);
        assert.match(description, /retry/i, description);
        assert.match(description, /new/i, description);
        assert.doesNotMatch(description, /unique per request/i);
        assert.equal(byName("pay").annotations?.idempotentHint, true);
        assert.equal(byName("legacy_write").annotations?.idempotentHint, true);
      });

      test("read tools and idempotency: false tools have no key argument", () => {
        for (const name of ["balance", "log_event"]) {
          const schema = byName(name).inputSchema as { properties?: Record<string, unknown> };
          assert.ok(!(IDEMPOTENCY_ARGUMENT in (schema.properties ?? {})), name);
        }
        assert.equal(byName("log_event").annotations?.idempotentHint, false);
      });

      test("idempotency: false runs every time without a key, and touches no store", async () => {
        const account = newAccount();
        const before = spy.calls.claim;
        assert.deepEqual(expectFresh(await call(alice, "log_event", { account })), { logged: 1 });
        assert.deepEqual(expectFresh(await call(alice, "log_event", { account })), { logged: 2 });
        assert.equal(spy.calls.claim, before);
        assert.equal(runsOf(account).length, 2);
      });

      test("idempotency: { required: false } runs without a key, each call executing", async () => {
        const account = newAccount();
        assert.deepEqual(expectFresh(await call(alice, "legacy_write", { account })), {
          written: 1,
        });
        assert.deepEqual(expectFresh(await call(alice, "legacy_write", { account })), {
          written: 2,
        });
        assert.equal(runsOf(account).length, 2);
        assert.notEqual(runsOf(account)[0]?.derivedKey, runsOf(account)[1]?.derivedKey);
        // A caller that does send a key is still deduplicated.
        const args = { account, [IDEMPOTENCY_ARGUMENT]: newKey() };
        const keyed = await call(alice, "legacy_write", args);
        expectReplayOf(await call(alice, "legacy_write", args), keyed);
        assert.equal(runsOf(account).length, 3);
      });
    });
  });
}

describe("the Idempotency-Key HTTP header (raw fetch)", () => {
  const post = (params: RawCallParams, headers: Record<string, string> = {}) =>
    rawCall(running.url, params, { ...bearer("alice"), ...headers });

  test("a key in the header runs once and replays; the same key in _meta or the argument is the same operation", async () => {
    const account = newAccount();
    const key = newKey();
    const args = { account, amount: 9 };
    const first = await post({ name: "pay", arguments: args }, { "idempotency-key": key });
    expectFresh(first);
    expectReplayOf(await post({ name: "pay", arguments: args }, { "Idempotency-Key": key }), first);
    expectReplayOf(
      await post({ name: "pay", arguments: { ...args, [IDEMPOTENCY_ARGUMENT]: key } }),
      first,
    );
    expectReplayOf(await post({ name: "pay", arguments: args, _meta: metaKey(key) }), first);
    assert.equal(runsOf(account).length, 1);
  });

  test("every source alone addresses the same record, whichever ran first (meta > header > argument)", async () => {
    // Two different keys in one call are refused, so precedence can only show as: each
    // source alone names the same operation, and sources that agree are one key.
    const account = newAccount();
    const key = newKey();
    const args = { account, amount: 4 };
    const viaMeta = await post({ name: "pay", arguments: args, _meta: metaKey(key) });
    expectFresh(viaMeta);
    const allThree = await post(
      { name: "pay", arguments: { ...args, [IDEMPOTENCY_ARGUMENT]: key }, _meta: metaKey(key) },
      { "idempotency-key": key },
    );
    expectReplayOf(allThree, viaMeta);
    expectReplayOf(
      await post({ name: "pay", arguments: args }, { "idempotency-key": key }),
      viaMeta,
    );
    assert.equal(runsOf(account).length, 1);
  });

  test("conflicting sources are invalid_input and are named in precedence order", async () => {
    const before = spy.calls.claim;
    const account = newAccount();
    const result = await post(
      {
        name: "pay",
        arguments: { account, amount: 1, [IDEMPOTENCY_ARGUMENT]: "c" },
        _meta: metaKey("a"),
      },
      { "idempotency-key": "b" },
    );
    const { message } = expectInvalidInput(result);
    const at = (needle: string) => {
      const index = message.indexOf(needle);
      assert.ok(index >= 0, `${needle} not in ${message}`);
      return index;
    };
    assert.ok(at("_meta") < at("Idempotency-Key header"), message);
    assert.ok(at("Idempotency-Key header") < at("argument"), message);
    assert.equal(spy.calls.claim, before);
    assert.equal(runsOf(account).length, 0);
  });

  const PAIRS: readonly [string, RawCallParams["_meta"], Record<string, unknown>][] = [
    ["header + argument", undefined, { [IDEMPOTENCY_ARGUMENT]: "arg-key" }],
    ["header + _meta", metaKey("meta-key"), {}],
  ];
  for (const [what, meta, extra] of PAIRS) {
    test(`two different keys (${what}) are invalid_input; no store call`, async () => {
      const before = spy.calls.claim;
      const account = newAccount();
      const result = await post(
        {
          name: "pay",
          arguments: { account, amount: 1, ...extra },
          ...(meta ? { _meta: meta } : {}),
        },
        { "idempotency-key": "header-key" },
      );
      assert.match(expectInvalidInput(result).message, /two different idempotency keys/);
      assert.equal(spy.calls.claim, before);
      assert.equal(runsOf(account).length, 0);
    });
  }

  test("the same key in the header and the argument is accepted", async () => {
    const account = newAccount();
    const key = newKey();
    const result = await post(
      { name: "pay", arguments: { account, amount: 1, [IDEMPOTENCY_ARGUMENT]: key } },
      { "idempotency-key": key },
    );
    expectFresh(result);
    assert.equal(runsOf(account).length, 1);
  });

  const BAD_HEADERS: readonly [string, string][] = [
    ["256 characters", "h".repeat(256)],
    ["empty", ""],
    // fetch sends header values as bytes: Latin-1 is the most a header can carry.
    ["not ASCII (Latin-1)", "caf\u00e9"],
  ];
  for (const [what, bad] of BAD_HEADERS) {
    test(`a header key that is ${what} is invalid_input; no store call`, async () => {
      const before = spy.calls.claim;
      const account = newAccount();
      const result = await post(
        { name: "pay", arguments: { account, amount: 1 } },
        { "idempotency-key": bad },
      );
      expectInvalidInput(result);
      assert.equal(spy.calls.claim, before);
      assert.equal(runsOf(account).length, 0);
    });
  }

  test("a key sent as the IETF draft's sf-string (quoted) is the same key as the bare value", async () => {
    const account = newAccount();
    const key = newKey();
    const args = { account, amount: 1 };
    const quoted = await post({ name: "pay", arguments: args }, { "idempotency-key": `"${key}"` });
    expectFresh(quoted);
    expectReplayOf(
      await post({ name: "pay", arguments: { ...args, [IDEMPOTENCY_ARGUMENT]: key } }),
      quoted,
    );
  });
});

describe("a store that cannot be opened yet (idempotency({ store: opener }))", () => {
  let server: ReturnType<typeof createToolServer> | undefined;
  let client: ConnectedClient | undefined;
  let opens = 0;
  let executions = 0;

  before(async () => {
    const opened = memoryStore();
    // The first open fails (e.g. the database is still starting); later opens succeed.
    const opener = (): Promise<IdempotencyStore> => {
      opens += 1;
      return opens === 1
        ? Promise.reject(new StoreUnavailable("database is starting up"))
        : Promise.resolve(opened);
    };
    const tool = defineTool({
      name: "pay",
      version: "1.0.0",
      description: "Pays.",
      input: z.object({ amount: z.number() }),
      scopes: [],
      sideEffect: "write",
      handler: (args) => {
        executions += 1;
        return { paid: args.amount };
      },
    });
    server = createToolServer({
      name: "opener",
      version: "1.0.0",
      tools: [tool],
      logger: silentLogger(),
      stages: [
        requestId(),
        mapErrors(),
        resolveTool(),
        authorize({ requireAuthentication: false }),
        validateInput(),
        idempotency({ store: opener }),
        validateOutput(),
        execute(),
      ],
    });
    const address = await server.listen({ port: 0, host: "127.0.0.1" });
    client = await connectClient(new URL(address.url), "legacy");
  });
  after(async () => {
    await client?.close();
    await server?.close();
  });

  test("the first call fails closed: unavailable, retryable, nothing runs", async () => {
    const result = await client!.client.callTool({
      name: "pay",
      arguments: { amount: 1, [IDEMPOTENCY_ARGUMENT]: "first" },
    });
    assert.equal(expectToolError(result, "unavailable").retryable, true);
    assert.equal(executions, 0);
  });

  test("once the store can be opened, a retry with the same key runs (retryable means it)", async () => {
    const result = await client!.client.callTool({
      name: "pay",
      arguments: { amount: 1, [IDEMPOTENCY_ARGUMENT]: "first" },
    });
    assert.deepEqual(expectFresh(result), { paid: 1 });
    assert.equal(executions, 1);
    assert.ok(opens >= 2, "the store was opened again");
  });
});
