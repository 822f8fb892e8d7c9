// The client kit against a real toolgate server over MCP Streamable HTTP on 127.0.0.1
// (official SDK client, memory store). Every request goes through a small HTTP proxy that
// records each tools/call as it left the client and can cut a connection after the
// server has answered, so a test can check what was sent, how often, with which key,
// and how often the server really applied the operation.
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, beforeEach, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import * as z from "zod";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import {
  createToolServer,
  defineTool,
  invalidInput,
  unavailable,
  type ToolServer,
} from "../../src/index.js";
import { silentLogger } from "../../src/server/index.js";
import { memoryStore, type IdempotencyStore } from "../../src/stores/index.js";
import {
  IDEMPOTENCY_ARGUMENT,
  IDEMPOTENCY_META_KEY,
  createToolClient,
  errorForModel,
  type ToolCallResult,
  type ToolClientOptions,
} from "../../src/client/index.js";
import { CLIENT_MODES, type ClientMode } from "../helpers/server.js";

// --- The server: a ledger whose writes are counted where they really happen. ----------

interface Applied {
  account: string;
  amount: number;
}

const applied: Applied[] = [];
/** How long the next `record_payment` handlers take (ms), in order; then 0. */
const delays: number[] = [];
/** `get_balance` answers `unavailable` this many more times. */
let balanceFailures = 0;

const recordPayment = defineTool({
  name: "record_payment",
  version: "1.0.0",
  sideEffect: "write",
  scopes: [],
  description: "Record a payment to an account.",
  input: z.object({ account: z.string().min(1), amount: z.number().int().min(1).max(1_000) }),
  timeoutMs: 400,
  handler: async ({ account, amount }) => {
    // Ignores its signal on purpose: the write completes after the caller was told `timeout`.
    await sleep(delays.shift() ?? 0);
    if (account === "closed") throw invalidInput("Account 'closed' is closed.");
    applied.push({ account, amount });
    return { account, amount, entry: applied.length };
  },
});

const slowPayment = defineTool({
  name: "slow_payment",
  version: "1.0.0",
  sideEffect: "write",
  scopes: [],
  description: "Record a payment; takes its time (longer than the client waits).",
  input: z.object({ account: z.string(), amount: z.number().int().min(1) }),
  timeoutMs: 5_000,
  handler: async ({ account, amount }) => {
    await sleep(delays.shift() ?? 0);
    applied.push({ account, amount });
    return { account, amount, entry: applied.length };
  },
});

const limitedNote = defineTool({
  name: "add_note",
  version: "1.0.0",
  sideEffect: "write",
  scopes: [],
  description: "Add a note to an account (one per 600 ms).",
  input: z.object({ account: z.string(), text: z.string() }),
  rateLimit: { perPrincipal: { limit: 1, windowMs: 600 } },
  handler: ({ account, text }) => {
    applied.push({ account, amount: text.length });
    return { ok: true };
  },
});

const slowLimited = defineTool({
  name: "add_slow_note",
  version: "1.0.0",
  sideEffect: "write",
  scopes: [],
  description: "Add a note (one per 30 s).",
  input: z.object({ text: z.string() }),
  rateLimit: { perPrincipal: { limit: 1, windowMs: 30_000 } },
  handler: () => ({ ok: true }),
});

const getBalance = defineTool({
  name: "get_balance",
  version: "1.0.0",
  sideEffect: "read",
  scopes: [],
  description: "The balance of an account.",
  input: z.object({ account: z.string() }),
  handler: ({ account }) => {
    if (balanceFailures > 0) {
      balanceFailures--;
      throw unavailable("The ledger database is restarting.", 50);
    }
    const balance = applied.filter((a) => a.account === account).reduce((s, a) => s + a.amount, 0);
    return { account, balance };
  },
});

// A write without idempotency keys (a legacy tool the author marked not idempotent).
const legacyTransfer = defineTool({
  name: "legacy_transfer",
  version: "1.0.0",
  sideEffect: "write",
  scopes: [],
  idempotency: false,
  description: "Transfer money (no idempotency keys).",
  input: z.object({ account: z.string(), amount: z.number().int().min(1) }),
  handler: ({ account, amount }) => {
    applied.push({ account, amount });
    return { account, amount };
  },
});

const TOOLS = [recordPayment, slowPayment, limitedNote, slowLimited, getBalance, legacyTransfer];

// --- The proxy: records tools/call requests, cuts connections on demand. -----------------

interface SentCall {
  name: string;
  arguments: Record<string, unknown>;
  meta: Record<string, unknown>;
}

type Cut = "before-headers" | "mid-body";

interface Proxy {
  url: URL;
  sent: SentCall[];
  /** Cuts the answer to the next tools/call of `tool`, after the server has answered it. */
  cutNext(tool: string, how: Cut): void;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "content-length",
  "content-encoding",
  "host",
]);

async function startProxy(target: URL): Promise<Proxy> {
  const sent: SentCall[] = [];
  const cuts = new Map<string, Cut>();
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    let cut: Cut | undefined;
    if (req.method === "POST" && body.length > 0) {
      const message = JSON.parse(body.toString("utf8")) as {
        method?: string;
        params?: {
          name?: string;
          arguments?: Record<string, unknown>;
          _meta?: Record<string, unknown>;
        };
      };
      if (message.method === "tools/call" && typeof message.params?.name === "string") {
        const name = message.params.name;
        sent.push({
          name,
          arguments: message.params.arguments ?? {},
          meta: message.params._meta ?? {},
        });
        cut = cuts.get(name);
        cuts.delete(name);
      }
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (!HOP_BY_HOP.has(name) && typeof value === "string") headers[name] = value;
    }
    const answer = await fetch(new URL(req.url ?? "/", target), {
      method: req.method ?? "GET",
      headers,
      ...(body.length > 0 ? { body } : {}),
    });
    const text = await answer.text(); // the server has answered: the operation ran
    if (cut === "before-headers") return void req.socket.destroy();
    const out: Record<string, string> = {};
    answer.headers.forEach((value, name) => {
      if (!HOP_BY_HOP.has(name)) out[name] = value;
    });
    res.writeHead(answer.status, out);
    if (cut === "mid-body") {
      res.write(text.slice(0, Math.floor(text.length / 2)));
      await sleep(20);
      return void req.socket.destroy();
    }
    res.end(text);
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: new URL(`http://127.0.0.1:${port}/mcp`),
    sent,
    cutNext: (tool, how) => void cuts.set(tool, how),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

// --- Fixture ----------------------------------------------------------------------------

let store: IdempotencyStore;
let server: ToolServer;
let proxy: Proxy;
const clients: Client[] = [];

async function connect(mode: ClientMode = "legacy") {
  const client = new Client(
    { name: "kit-test", version: "1.0.0" },
    { versionNegotiation: { mode } },
  );
  await client.connect(new StreamableHTTPClientTransport(proxy.url));
  clients.push(client);
  return client;
}

async function kit(options: ToolClientOptions = {}, mode: ClientMode = "legacy") {
  return createToolClient(await connect(mode), { random: () => 0.5, ...options });
}

const appliedTo = (account: string) => applied.filter((a) => a.account === account);
const sentTo = (name: string) => proxy.sent.filter((c) => c.name === name);

function okValue<T>(outcome: ToolCallResult): T {
  assert.ok(outcome.ok, `expected success, got ${JSON.stringify(outcome)}`);
  return outcome.value as T;
}

function failed(outcome: ToolCallResult) {
  assert.ok(!outcome.ok, `expected a failure, got ${JSON.stringify(outcome)}`);
  return outcome.error;
}

/** Every attempt of the operation carried the same key in _meta, and none in the arguments. */
function assertOneKey(calls: SentCall[], key: string | undefined) {
  assert.ok(key, "the operation has a key");
  for (const call of calls) {
    assert.equal(call.meta[IDEMPOTENCY_META_KEY], key);
    assert.equal(IDEMPOTENCY_ARGUMENT in call.arguments, false);
  }
}

before(async () => {
  store = memoryStore();
  server = createToolServer({
    name: "kit-ledger",
    version: "1.0.0",
    tools: TOOLS,
    store,
    logger: silentLogger(),
    audit: false,
  });
  const { url } = await server.listen({ port: 0, host: "127.0.0.1" });
  proxy = await startProxy(new URL(url));
});

beforeEach(() => {
  proxy.sent.length = 0;
  delays.length = 0;
  balanceFailures = 0;
});

after(async () => {
  for (const client of clients) await client.close();
  await proxy?.close();
  await server?.close();
  await store?.close();
});

describe("createToolClient against a toolgate server over HTTP", () => {
  for (const mode of CLIENT_MODES) {
    describe(`${mode} client`, () => {
      it("retries a write that timed out on the server with the same key; it is applied once", async () => {
        const tools = await kit({}, mode);
        const account = `timeout-${mode}`;
        delays.push(900); // past the tool's 400 ms deadline; it completes later
        const outcome = await tools.call("record_payment", { account, amount: 25 });
        const value = okValue<{ amount: number }>(outcome);
        assert.equal(value.amount, 25);
        assert.equal(outcome.ok && outcome.replayed, true, "the retry got the stored result");
        const [first, ...retries] = outcome.attempts;
        assert.equal(first!.error?.type, "timeout");
        assert.equal(first!.error?.retryable, true);
        assert.ok(retries.length >= 1);
        assert.equal(appliedTo(account).length, 1, "applied once");
        assert.equal(sentTo("record_payment").length, outcome.attempts.length);
        assertOneKey(sentTo("record_payment"), outcome.idempotencyKey);
        for (const attempt of outcome.attempts) {
          assert.equal(attempt.idempotencyKey, outcome.idempotencyKey);
        }
      });

      it("retries a write whose connection was killed before the answer; it replays", async () => {
        const tools = await kit({}, mode);
        const account = `killed-${mode}`;
        proxy.cutNext("record_payment", "before-headers");
        const outcome = await tools.call("record_payment", { account, amount: 40 });
        assert.equal(okValue<{ amount: number }>(outcome).amount, 40);
        assert.equal(outcome.ok && outcome.replayed, true);
        assert.equal(outcome.attempts.length, 2);
        const error = outcome.attempts[0]!.error!;
        assert.equal(error.source, "transport");
        assert.equal(error.type, "unavailable");
        assert.equal(error.applied, "unknown");
        assert.equal(appliedTo(account).length, 1, "the server ran it once");
        assert.equal(sentTo("record_payment").length, 2);
        assertOneKey(sentTo("record_payment"), outcome.idempotencyKey);
      });
    });
  }

  it("retries a write whose answer was cut mid-body, after the attempt timeout; it replays", async () => {
    const tools = await kit({ attemptTimeoutMs: 700 });
    proxy.cutNext("record_payment", "mid-body");
    const outcome = await tools.call("record_payment", { account: "cut-body", amount: 7 });
    assert.equal(okValue<{ amount: number }>(outcome).amount, 7);
    assert.equal(outcome.ok && outcome.replayed, true);
    assert.equal(outcome.attempts.length, 2);
    assert.equal(outcome.attempts[0]!.error?.type, "timeout");
    assert.equal(outcome.attempts[0]!.error?.source, "transport");
    assert.equal(appliedTo("cut-body").length, 1);
    assertOneKey(sentTo("record_payment"), outcome.idempotencyKey);
  });

  it("retries a write the client gave up waiting for; the server dedupes and replays", async () => {
    const tools = await kit({ attemptTimeoutMs: 300 });
    delays.push(800);
    const outcome = await tools.call("slow_payment", { account: "client-timeout", amount: 3 });
    assert.equal(okValue<{ amount: number }>(outcome).amount, 3);
    assert.equal(outcome.attempts[0]!.error?.type, "timeout");
    assert.equal(outcome.attempts[0]!.error?.applied, "unknown");
    assert.equal(appliedTo("client-timeout").length, 1);
    assertOneKey(sentTo("slow_payment"), outcome.idempotencyKey);
  });

  it("waits retryAfterMs after rate_limited, then succeeds", async () => {
    const tools = await kit();
    okValue(await tools.call("add_note", { account: "rl", text: "first" }));
    const outcome = await tools.call("add_note", { account: "rl", text: "second" });
    okValue(outcome);
    assert.equal(outcome.attempts.length, 2);
    const [first, second] = outcome.attempts;
    assert.equal(first!.error?.type, "rate_limited");
    const told = first!.error.retryAfterMs!;
    assert.ok(told > 0, "the server named a wait");
    const waited = second!.startedAt - first!.startedAt;
    assert.ok(waited >= told, `waited ${waited} ms, told ${told} ms`);
    assert.equal(appliedTo("rl").length, 2, "one note per operation");
    assertOneKey(sentTo("add_note").slice(1), outcome.idempotencyKey);
  });

  it("does not start a wait that would pass the deadline: returns the last error at once", async () => {
    const tools = await kit({ timeoutMs: 2_000 });
    okValue(await tools.call("add_slow_note", { text: "first" }));
    const started = Date.now();
    const outcome = await tools.call("add_slow_note", { text: "second" });
    const error = failed(outcome);
    assert.equal(error.type, "rate_limited");
    assert.equal(error.retryable, true);
    assert.ok(error.retryAfterMs! > 2_000);
    assert.equal(outcome.attempts.length, 1);
    assert.ok(Date.now() - started < 1_000, "did not wait");
    assert.match(
      errorForModel("add_slow_note", error),
      /safe to retry with the same operation after \d+ s/,
    );
  });

  it("does not retry invalid_input, and says which argument to fix", async () => {
    const tools = await kit();
    const outcome = await tools.call("record_payment", { account: "bad", amount: 5_000 });
    const error = failed(outcome);
    assert.equal(error.type, "invalid_input");
    assert.equal(error.retryable, false);
    assert.equal(error.source, "contract");
    const issues = error.details?.["issues"] as { path: string }[];
    assert.deepEqual(
      issues.map((i) => i.path),
      ["/amount"],
    );
    assert.equal(outcome.attempts.length, 1);
    assert.equal(sentTo("record_payment").length, 1);
    assert.equal(appliedTo("bad").length, 0);
    const text = errorForModel("record_payment", error);
    assert.match(text, /^record_payment failed: invalid_input\./);
    assert.match(text, /amount: /);
    assert.match(text, /Fix the arguments and call it again\.$/);
  });

  it("does not retry a definitive handler error, and replays it for the same operation", async () => {
    const tools = await kit();
    const first = await tools.call("record_payment", { account: "closed", amount: 1 });
    assert.equal(failed(first).type, "invalid_input");
    assert.equal(first.attempts.length, 1);
    // The same operation again (its key as operationId): the server replays the answer.
    const again = await tools.call(
      "record_payment",
      { account: "closed", amount: 1 },
      { operationId: first.idempotencyKey! },
    );
    assert.equal(failed(again).type, "invalid_input");
    assert.equal(again.idempotencyKey, first.idempotencyKey);
    assertOneKey(sentTo("record_payment"), first.idempotencyKey);
  });

  it("resumes an operation by operationId: the second call replays, nothing applied twice", async () => {
    const tools = await kit();
    const operationId = "op-resume-0001";
    const first = await tools.call("record_payment", { account: "op", amount: 9 }, { operationId });
    assert.equal(first.ok && first.replayed, false);
    assert.equal(first.idempotencyKey, operationId);
    const second = await tools.call(
      "record_payment",
      { account: "op", amount: 9 },
      { operationId },
    );
    assert.equal(second.ok && second.replayed, true);
    assert.equal(appliedTo("op").length, 1);
    assertOneKey(sentTo("record_payment"), operationId);
  });

  it("retries read-only calls without keys (a retryable error, then a killed connection)", async () => {
    const tools = await kit();
    balanceFailures = 1;
    const outcome = await tools.call("get_balance", { account: "nobody" });
    assert.deepEqual(okValue(outcome), { account: "nobody", balance: 0 });
    assert.equal(outcome.attempts.length, 2);
    assert.equal(outcome.attempts[0]!.error?.type, "unavailable");
    proxy.cutNext("get_balance", "before-headers");
    const again = await tools.call("get_balance", { account: "nobody" });
    okValue(again);
    assert.equal(again.attempts.length, 2);
    assert.equal(again.attempts[0]!.error?.source, "transport");
    for (const result of [outcome, again]) {
      assert.equal(result.idempotencyKey, undefined);
      for (const attempt of result.attempts) assert.equal(attempt.idempotencyKey, undefined);
    }
    assert.equal(sentTo("get_balance").length, 4);
    for (const call of sentTo("get_balance")) {
      assert.equal(IDEMPOTENCY_META_KEY in call.meta, false);
      assert.equal(IDEMPOTENCY_ARGUMENT in call.arguments, false);
    }
  });

  it("never retries a write without idempotency after a killed connection", async () => {
    const tools = await kit();
    const policy = await tools.policyOf("legacy_transfer");
    assert.equal(policy.retrySafe, false);
    proxy.cutNext("legacy_transfer", "before-headers");
    const outcome = await tools.call("legacy_transfer", { account: "legacy", amount: 5 });
    const error = failed(outcome);
    assert.equal(error.type, "unavailable");
    assert.equal(error.retryable, false, "calling again could apply it twice");
    assert.equal(error.applied, "unknown");
    assert.equal(outcome.attempts.length, 1);
    assert.equal(sentTo("legacy_transfer").length, 1);
    assert.equal(appliedTo("legacy").length, 1, "it did run: the answer was lost");
    assert.match(errorForModel("legacy_transfer", error), /may or may not have taken effect/);
  });

  it("reads the tool list once, and again for a tool it does not know", async () => {
    const client = await connect();
    let lists = 0;
    const tools = createToolClient({
      callTool: (params, options) => client.callTool(params, options),
      listTools: (params, options) => {
        lists++;
        return client.listTools(params, options);
      },
      get transport() {
        return client.transport;
      },
    });
    const policy = await tools.policyOf("record_payment");
    assert.deepEqual(
      [policy.toolgate, policy.readOnly, policy.sendsKey, policy.keyArgument, policy.retrySafe],
      [true, false, true, false, true],
    );
    assert.equal((await tools.policyOf("get_balance")).readOnly, true);
    assert.equal(lists, 1);
    const outcome = await tools.call("no_such_tool", {});
    assert.equal(lists, 2, "an unknown name makes it list again");
    const error = failed(outcome);
    assert.equal(error.type, "not_found");
    assert.equal(outcome.attempts.length, 1);
    assert.equal(outcome.idempotencyKey, undefined, "no key for a tool it cannot see");
  });

  it("stops at the caller's AbortSignal, in flight and during a wait", async () => {
    const tools = await kit();
    // In flight: the handler takes 2 s.
    delays.push(2_000);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("user pressed stop")), 200);
    let started = Date.now();
    const inFlight = await tools.call(
      "slow_payment",
      { account: "aborted", amount: 1 },
      { signal: controller.signal },
    );
    assert.equal(failed(inFlight).type, "cancelled");
    assert.match(inFlight.ok ? "" : inFlight.error.message, /user pressed stop/);
    assert.ok(Date.now() - started < 1_500);
    assert.equal(inFlight.attempts.length, 1);

    // During a wait: the budget is spent, so the kit would wait about 30 s.
    await tools.call("add_slow_note", { text: "spend the budget" }, { timeoutMs: 1_000 });
    const waiting = new AbortController();
    setTimeout(() => waiting.abort(), 200);
    started = Date.now();
    const outcome = await tools.call(
      "add_slow_note",
      { text: "later" },
      { signal: waiting.signal, timeoutMs: 60_000 },
    );
    assert.equal(failed(outcome).type, "cancelled");
    assert.equal(outcome.attempts.length, 1);
    assert.equal(outcome.attempts[0]!.error?.type, "rate_limited");
    assert.ok(Date.now() - started < 1_500);
  });
});
