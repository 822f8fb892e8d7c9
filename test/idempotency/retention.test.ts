// Retention with a fake clock (design page idempotency.md, rule 8 and test plan line 12):
// a custom pipeline hands the idempotency stage `now: () => clock`, and the test moves the
// clock across the boundary. Real server on 127.0.0.1, official SDK client.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import { after, before, describe, test } from "node:test";
import * as z from "zod";
import { createToolServer, defineTool, type ToolServer } from "../../src/index.js";
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
import { IDEMPOTENCY_ARGUMENT } from "../../src/client/index.js";
import {
  CLIENT_MODES,
  connectClient,
  expectToolError,
  nextEvent,
  withTimeout,
  type ConnectedClient,
} from "../helpers/server.js";
import { SpyStore, expectFresh, expectReplayOf, gate, type Gate } from "./helpers.js";

const T0 = Date.UTC(2030, 0, 1);
let clock = T0;

const executions = new Map<string, number>();
const events = new EventEmitter();
const gates = new Map<string, Gate>();
const gateFor = (account: string): Gate => {
  let g = gates.get(account);
  if (!g) gates.set(account, (g = gate()));
  return g;
};
const runsOf = (account: string) => executions.get(account) ?? 0;
const count = (account: string) => {
  const n = runsOf(account) + 1;
  executions.set(account, n);
  events.emit("started", account, n);
  return n;
};

const input = z.object({ account: z.string(), amount: z.number() });

const keep60 = defineTool({
  name: "renew_subscription",
  version: "1.0.0",
  description: "Renews a subscription.",
  input,
  scopes: [],
  sideEffect: "write",
  idempotency: { retentionSec: 60 },
  handler: (args) => ({ renewed: args.account, execution: count(args.account), id: randomUUID() }),
});

const keepDefault = defineTool({
  name: "renew_default",
  version: "1.0.0",
  description: "Renews a subscription (default retention).",
  input,
  scopes: [],
  sideEffect: "write",
  handler: (args) => ({ renewed: args.account, execution: count(args.account), id: randomUUID() }),
});

/** Kept 10 s only, and held by the test: runs longer than its retention. */
const shortKeepHeld = defineTool({
  name: "short_keep_held",
  version: "1.0.0",
  description: "A write with a short retention that takes long.",
  input,
  scopes: [],
  sideEffect: "write",
  idempotency: { retentionSec: 10, waitMs: 0 },
  handler: async (args) => {
    const n = count(args.account);
    await gateFor(args.account).promise;
    return { done: args.account, execution: n };
  },
});

/** Held by the test; duplicates wait up to 300 ms for it. */
const held = defineTool({
  name: "held",
  version: "1.0.0",
  description: "A write that finishes when the test lets it.",
  input,
  scopes: [],
  sideEffect: "write",
  idempotency: { waitMs: 300 },
  handler: async (args) => {
    const n = count(args.account);
    await gateFor(args.account).promise;
    return { done: args.account, execution: n };
  },
});

let spy: SpyStore;
let server: ToolServer;
let url: URL;

before(async () => {
  spy = new SpyStore();
  server = createToolServer({
    name: "retention",
    version: "1.0.0",
    tools: [keep60, keepDefault, shortKeepHeld, held],
    logger: silentLogger(),
    stages: [
      requestId(),
      mapErrors(),
      resolveTool(),
      authorize({ requireAuthentication: false }),
      validateInput(),
      idempotency({ store: spy, now: () => clock }),
      validateOutput(),
      execute(),
    ],
  });
  url = new URL((await server.listen({ port: 0, host: "127.0.0.1" })).url);
});
after(async () => {
  for (const g of gates.values()) g.open();
  await server?.close();
  await spy?.close();
});

const newAccount = () => `acct-${randomUUID()}`;
const newKey = () => `key-${randomUUID()}`;

for (const mode of CLIENT_MODES) {
  describe(`retention boundary with a fake clock (plan 12), ${mode} client`, () => {
    let conn: ConnectedClient;
    before(async () => {
      conn = await connectClient(url, mode);
    });
    after(async () => {
      await conn?.close();
    });
    const call = async (name: string, args: Record<string, unknown>) =>
      await conn.client.callTool({ name, arguments: args });

    test("retentionSec: 60: replayed at completedAt + 59 999 ms, run anew at + 60 000 ms", async () => {
      const account = newAccount();
      const key = newKey();
      const args = { account, amount: 10, [IDEMPOTENCY_ARGUMENT]: key };
      clock = T0;
      const first = await call("renew_subscription", args);
      assert.equal(expectFresh(first)["execution"], 1);
      const completedAt = spy.completions.at(-1)?.now;
      assert.equal(completedAt, T0, "completed at the fake clock's time");

      clock = T0 + 59_999;
      expectReplayOf(await call("renew_subscription", args), first);
      // Still live: the key still belongs to the first operation.
      const other = { ...args, amount: 11 };
      expectToolError(await call("renew_subscription", other), "conflict");
      assert.equal(runsOf(account), 1);

      clock = T0 + 60_000;
      const renewed = await call("renew_subscription", args);
      assert.equal(expectFresh(renewed)["execution"], 2, "runs anew once retention has ended");
      assert.notDeepEqual(renewed.structuredContent, first.structuredContent);
      // The new record is the one replayed from now on.
      expectReplayOf(await call("renew_subscription", args), renewed);
      assert.equal(runsOf(account), 2);
    });

    test("after retention the key is free for other arguments", async () => {
      const account = newAccount();
      const key = newKey();
      clock = T0;
      expectFresh(
        await call("renew_subscription", { account, amount: 1, [IDEMPOTENCY_ARGUMENT]: key }),
      );
      clock = T0 + 60_000;
      const reused = await call("renew_subscription", {
        account,
        amount: 2,
        [IDEMPOTENCY_ARGUMENT]: key,
      });
      assert.equal(expectFresh(reused)["execution"], 2);
    });

    test("the default retention is 24 h", async () => {
      const account = newAccount();
      const args = { account, amount: 3, [IDEMPOTENCY_ARGUMENT]: newKey() };
      clock = T0;
      const first = await call("renew_default", args);
      expectFresh(first);
      clock = T0 + 86_400_000 - 1;
      expectReplayOf(await call("renew_default", args), first);
      clock = T0 + 86_400_000;
      assert.equal(expectFresh(await call("renew_default", args))["execution"], 2);
    });
  });
}

describe("the fake clock and running operations", () => {
  let conn: ConnectedClient;
  before(async () => {
    conn = await connectClient(url, "legacy");
  });
  after(async () => {
    await conn?.close();
  });

  test("a record still running past its retention keeps its claim until the lease ends", async () => {
    const account = newAccount();
    const args = { account, amount: 5, [IDEMPOTENCY_ARGUMENT]: newKey() };
    clock = T0;
    const firstStarted = nextEvent(events, "started", (a, n) => a === account && n === 1);
    const first = conn.client.callTool({ name: "short_keep_held", arguments: args });
    await firstStarted;

    clock = T0 + 10_000; // past retention, well inside the 60 s lease
    const secondStarted = nextEvent(events, "started", (a, n) => a === account && n === 2);
    secondStarted.catch(() => undefined);
    const duplicate = conn.client.callTool({ name: "short_keep_held", arguments: args });
    // Correct: the duplicate answers in_progress. The bug: it starts a second execution.
    await Promise.race([duplicate, secondStarted]);
    gateFor(account).open();
    const [owner, dup] = await Promise.all([first, duplicate]);

    assert.equal(runsOf(account), 1, "a duplicate during the lease must not run");
    expectToolError(dup, "in_progress");
    assert.deepEqual(expectFresh(owner), { done: account, execution: 1 });
  });

  // The wait for a running duplicate is about real time (waitMs, the call's deadline); the
  // injected clock is only about record times, so a clock far off either way must not
  // change how long a duplicate waits.

  test("with a frozen clock in the past, a duplicate still stops waiting after waitMs", async () => {
    const account = newAccount();
    const args = { account, amount: 6, [IDEMPOTENCY_ARGUMENT]: newKey() };
    clock = Date.UTC(2020, 0, 1);
    const started = nextEvent(events, "started", (a) => a === account);
    const owner = conn.client.callTool({ name: "held", arguments: args });
    await started;
    const controller = new AbortController();
    const duplicate = conn.client.callTool(
      { name: "held", arguments: args },
      { signal: controller.signal },
    );
    duplicate.catch(() => undefined);
    try {
      // waitMs is 300: the answer is due long before 2 s.
      const answer = await withTimeout(duplicate, 2_000, "the duplicate");
      expectToolError(answer, "in_progress");
    } finally {
      controller.abort();
      gateFor(account).open();
      await owner;
      clock = T0;
    }
    assert.equal(runsOf(account), 1);
  });

  test("with a frozen clock in the future, a duplicate still waits for the owner and replays", async () => {
    const account = newAccount();
    const args = { account, amount: 7, [IDEMPOTENCY_ARGUMENT]: newKey() };
    clock = T0; // 2030: ahead of real time
    const started = nextEvent(events, "started", (a) => a === account);
    const owner = conn.client.callTool({ name: "held", arguments: args });
    await started;
    // The duplicate finds the running record; then the owner finishes within its 300 ms wait.
    const found = nextEvent(
      spy.events,
      "claim",
      (input, outcome) =>
        (outcome as { kind: string }).kind === "existing" &&
        (input as { now: number }).now === clock,
    );
    const duplicate = conn.client.callTool({ name: "held", arguments: args });
    try {
      await found;
      gateFor(account).open();
      const [first, dup] = await Promise.all([owner, duplicate]);
      expectFresh(first);
      expectReplayOf(dup, first);
    } finally {
      gateFor(account).open();
    }
    assert.equal(runsOf(account), 1);
  });
});
