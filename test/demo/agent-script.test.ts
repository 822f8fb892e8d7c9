// A scripted agent against the refunds demo: the official SDK client over real MCP
// Streamable HTTP on 127.0.0.1, with real bearer tokens from the dev issuer, making its
// calls through the client kit (`toolgate/client`). The kit does what every careful agent
// must do on each call (one idempotency key per operation, retries of retryable errors
// after `retryAfterMs`, never a blind retry of a write); the agent (`callLikeAnAgent`)
// adds what only an agent can, driven only by the typed error — type, message,
// retryable, details — and by the tool list the server publishes: it asks for missing
// scopes and corrects bad arguments. The tests check what the agent did against what
// really happened: the provider's ledger, its requests, and the orders database.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { Client, StreamableHTTPClientTransport, type Tool } from "@modelcontextprotocol/client";
import { createToolServer, devIssuer, type DevIssuer, type ToolServer } from "../../src/index.js";
import { silentLogger } from "../../src/server/index.js";
import { memoryStore } from "../../src/stores/index.js";
import {
  bearerAuth,
  createToolClient,
  errorForModel,
  type ToolCallError,
  type ToolClient,
} from "../../src/client/index.js";
import { PAYMENTS_SECRET_ENV, refundsBackends } from "../../examples/refunds/backends.js";
import { openRefundsDb, type RefundsDb } from "../../examples/refunds/db.js";
import {
  startPaymentsService,
  type PaymentsService,
} from "../../examples/refunds/payments-service.js";
import { createRefundTools } from "../../examples/refunds/tools.js";

// ---------------------------------------------------------------------------------------
// The agent: an MCP session with the client kit, plus a policy driven by the error contract.
// ---------------------------------------------------------------------------------------

type Args = Record<string, unknown>;

/** A failed call's typed error, as the kit parsed it from the error contract. */
type ContractError = ToolCallError;

/** Insists that an error came from the server's error contract (nothing else is trusted). */
function contractErrorOf(error: ToolCallError): ContractError {
  assert.equal(error.source, "contract", `not a contract error: ${JSON.stringify(error)}`);
  assert.equal(typeof error.type, "string", "error.type");
  assert.ok(error.message.length > 0, "error.message is empty");
  assert.equal(typeof error.retryable, "boolean", "error.retryable");
  if (error.retryAfterMs !== undefined) {
    assert.ok(Number.isFinite(error.retryAfterMs) && error.retryAfterMs >= 0, "retryAfterMs");
  }
  return error;
}

/**
 * An MCP session as an agent host holds one: a bearer token, a connection, and the
 * client kit over it. It counts the `tools/call` requests it actually sends over HTTP,
 * per tool, and the connections it opens (`initialize` requests), so a test can tell
 * how often the agent really called.
 */
class AgentSession {
  readonly sent = new Map<string, number>();
  initializes = 0;
  private client: Client | undefined;
  private kit: ToolClient | undefined;

  private constructor(
    private readonly url: URL,
    private token: string,
  ) {}

  static async open(url: string, token: string): Promise<AgentSession> {
    const session = new AgentSession(new URL(url), token);
    await session.connect();
    return session;
  }

  private async connect(): Promise<void> {
    const client = new Client({ name: "scripted-agent", version: "1.0.0" });
    const counting = async (input: string | URL, init?: RequestInit): Promise<Response> => {
      if (typeof init?.body === "string") {
        for (const message of [JSON.parse(init.body) as unknown].flat()) {
          const { method, params } = message as { method?: string; params?: { name?: string } };
          if (method === "initialize") this.initializes++;
          if (method === "tools/call" && typeof params?.name === "string") {
            this.sent.set(params.name, (this.sent.get(params.name) ?? 0) + 1);
          }
        }
      }
      return fetch(input, init);
    };
    await client.connect(
      new StreamableHTTPClientTransport(this.url, {
        // Read per request: a new token needs no new client, transport or kit.
        authProvider: bearerAuth({ current: () => this.token }),
        fetch: counting,
      }),
    );
    this.client = client;
    // Each operation: up to 6 calls within 10 s, a server's retryAfterMs honoured as given.
    this.kit = createToolClient(client, { retry: { maxAttempts: 6 }, timeoutMs: 10_000 });
  }

  /** The client kit over the connection. */
  get tools(): ToolClient {
    assert.ok(this.kit, "the session is closed");
    return this.kit;
  }

  /**
   * Uses a new token from the next request on: the connection, the kit and its
   * operation ids stay, so a refused operation is resumed under its id.
   */
  reauthorize(token: string): void {
    this.token = token;
  }

  /** The tool as this session sees it, or undefined when the token does not show it. */
  async tool(name: string): Promise<Tool | undefined> {
    return (await this.tools.listTools()).find((t) => t.name === name);
  }

  async close(): Promise<void> {
    await this.client?.close();
    this.client = undefined;
    this.kit = undefined;
  }
}

/** One `tools/call` the agent made (through the kit), and what came back. */
interface Attempt {
  args: Args;
  idempotencyKey: string | undefined;
  startedAt: number;
  error?: ContractError;
}

type Outcome =
  | { ok: true; value: unknown; attempts: Attempt[] }
  | { ok: false; error: ContractError; attempts: Attempt[] };

interface AgentPolicy {
  /**
   * Corrects the arguments after a non-retryable error, from that error alone; undefined
   * when it cannot. A correction is a new operation, so it gets a new idempotency key.
   */
  fix?: (error: ContractError, args: Args) => Args | undefined;
  /** Asks the user (the authorization server) for a token with these scopes. */
  requestScopes?: (scopes: string[]) => Promise<string>;
  /** Operations at most (each one retried by the kit as the contract allows). Default 3. */
  maxOperations?: number;
}

/**
 * Calls a tool the way a careful agent does. Each operation goes through the client kit,
 * which gives it one idempotency key (for tools the list says are not read-only), retries
 * `retryable: true` errors with the SAME arguments and key (after `retryAfterMs`, or a
 * short backoff) and returns the typed error when it stops. Then the agent:
 * - `forbidden` naming `details.requiredScopes`: asks (once) for a token with those
 *   scopes, switches the session to it, and resumes the SAME operation (same key: it did
 *   not run, and the server did not store the refusal);
 * - any other non-retryable error: lets `fix` correct the arguments from the error and
 *   resends as a new operation (new key) if it could, otherwise stops with the error;
 * - a retryable error the kit gave up on (its deadline or attempts ran out): stops.
 */
async function callLikeAnAgent(
  session: AgentSession,
  name: string,
  initial: Args,
  policy: AgentPolicy = {},
): Promise<Outcome> {
  const { maxOperations = 3 } = policy;
  const attempts: Attempt[] = [];
  let args = { ...initial };
  let operationId: string | undefined;
  let reauthorized = false;
  for (let operation = 0; operation < maxOperations; operation++) {
    const outcome = await session.tools.call(
      name,
      args,
      operationId === undefined ? {} : { operationId },
    );
    for (const attempt of outcome.attempts) {
      attempts.push({
        args,
        idempotencyKey: attempt.idempotencyKey,
        startedAt: attempt.startedAt,
        ...(attempt.error ? { error: contractErrorOf(attempt.error) } : {}),
      });
    }
    if (outcome.ok) return { ok: true, value: outcome.value, attempts };
    const error = contractErrorOf(outcome.error);
    if (error.retryable) return { ok: false, error, attempts };

    const scopes = requiredScopesOf(error);
    if (error.type === "forbidden" && scopes && policy.requestScopes && !reauthorized) {
      reauthorized = true; // once: a second refusal is the user's answer
      session.reauthorize(await policy.requestScopes(scopes));
      operationId = outcome.idempotencyKey; // refused before it ran: the same operation
      continue;
    }
    const fixed = policy.fix?.(error, args);
    if (fixed === undefined || JSON.stringify(fixed) === JSON.stringify(args)) {
      return { ok: false, error, attempts };
    }
    args = fixed;
    operationId = undefined; // new arguments: a new operation, a new key
  }
  return { ok: false, error: attempts.at(-1)!.error!, attempts };
}

function requiredScopesOf(error: ContractError): string[] | undefined {
  const scopes: unknown = error.details?.["requiredScopes"];
  if (!Array.isArray(scopes) || scopes.length === 0) return undefined;
  return scopes.every((s): s is string => typeof s === "string") ? scopes : undefined;
}

// --- The agent's fixers: each reads one `invalid_input` issue and nothing else. -------

interface Issue {
  path: string;
  message: string;
  expected?: string;
}

function issuesOf(error: ContractError): Issue[] {
  if (error.type !== "invalid_input") return [];
  const issues = error.details?.["issues"];
  return Array.isArray(issues) ? (issues as Issue[]) : [];
}

/** The top-level argument a JSON Pointer (RFC 6901) names, or undefined for deeper ones. */
function argumentAt(pointer: string): string | undefined {
  const parts = pointer.split("/").slice(1);
  if (!pointer.startsWith("/") || parts.length !== 1) return undefined;
  return parts[0]!.replace(/~1/g, "/").replace(/~0/g, "~");
}

/** Applies the first fix that some issue allows; each fixer maps (issue, current value) to a new value. */
function fixFromIssues(
  ...fixers: ((issue: Issue, value: unknown) => unknown)[]
): (error: ContractError, args: Args) => Args | undefined {
  return (error, args) => {
    for (const issue of issuesOf(error)) {
      const field = argumentAt(issue.path);
      if (field === undefined || !(field in args)) continue;
      for (const fixer of fixers) {
        const value = fixer(issue, args[field]);
        if (value !== undefined) return { ...args, [field]: value };
      }
    }
    return undefined;
  };
}

/**
 * A malformed ID, rewritten to the documented format. From `expected` it takes the
 * pattern (`a string matching ^...$`), the format (`format INV-YYYY-NNNNN`) and its
 * example (`e.g. INV-2024-00042`); it keeps the ID's own number, zero-padded to the
 * format's width, and takes the parts it has no value for (the year) from the example.
 */
function reformatId(issue: Issue, value: unknown): string | undefined {
  if (typeof value !== "string" || !issue.expected) return undefined;
  // Each piece is found on its own, so the wording around them may change.
  const pattern = /matching (\^\S+?\$)/.exec(issue.expected)?.[1];
  const format = /format ([A-Z]+(?:-[A-Z]+)+)/.exec(issue.expected)?.[1];
  const example = /e\.g\. ([A-Za-z0-9]+(?:-[A-Za-z0-9]+)+)/.exec(issue.expected)?.[1];
  if (!pattern || !format || !example) return undefined;
  const matches = new RegExp(pattern);
  const formatParts = format.split("-");
  const exampleParts = example.split("-");
  const number = /(\d+)$/.exec(value)?.[1];
  if (!matches.test(example) || exampleParts.length !== formatParts.length || !number) {
    return undefined;
  }
  const width = formatParts.at(-1)!.length;
  if (number.length > width) return undefined;
  const candidate = [...exampleParts.slice(0, -1), number.padStart(width, "0")].join("-");
  return matches.test(candidate) ? candidate : undefined;
}

/** An amount out of range, clamped to the largest the issue allows (`an integer from 1 to N`). */
function clampToAllowed(issue: Issue, value: unknown): number | undefined {
  const range = /from (-?\d+) to (-?\d+)/.exec(issue.expected ?? "");
  if (typeof value !== "number" || !range) return undefined;
  const [min, max] = [Number(range[1]), Number(range[2])];
  return min <= max ? Math.min(Math.max(value, min), max) : undefined;
}

const fixInput = fixFromIssues(reformatId, clampToAllowed);

// ---------------------------------------------------------------------------------------
// The demo, started in-process as main.ts wires it, with dev-issuer auth.
// ---------------------------------------------------------------------------------------

const CLIENT_SECRET = `cs_${randomBytes(24).toString("base64url")}`;
const USER = "agent-user";

interface Demo {
  db: RefundsDb;
  payments: PaymentsService;
  server: ToolServer;
  issuer: DevIssuer;
  url: string;
  /** A token for this server, as the user's authorization server would issue it. */
  mint(scope: string[]): Promise<string>;
  close(): Promise<void>;
}

async function startDemo(refundTimeoutMs: number): Promise<Demo> {
  const keysDir = mkdtempSync(path.join(tmpdir(), "agent-script-"));
  const db = openRefundsDb(":memory:");
  const payments = await startPaymentsService({ clientSecret: CLIENT_SECRET });
  process.env[PAYMENTS_SECRET_ENV] = CLIENT_SECRET; // read when the credential is made
  const issuer = await devIssuer({ keyFile: path.join(keysDir, "dev-issuer.json") });
  const store = memoryStore();
  const server = createToolServer({
    name: "refunds-agent-test",
    version: "1.0.0",
    tools: createRefundTools({ db, refundTimeoutMs }),
    backends: refundsBackends(payments),
    logger: silentLogger(),
    store,
    auth: issuer.verifier(), // audience: this server's own URL
  });
  const { url } = await server.listen({ port: 0, host: "127.0.0.1" });
  return {
    db,
    payments,
    server,
    issuer,
    url,
    mint: (scope) => issuer.mint({ sub: USER, scope, audience: url, ttlSec: 300 }),
    async close() {
      await server.close();
      await store.close();
      await payments.close();
      db.close();
      rmSync(keysDir, { recursive: true, force: true });
    },
  };
}

const ALL_SCOPES = ["orders:read", "refunds:write"];
const REASON = "Item arrived damaged";

function ledgerFor(payments: PaymentsService, orderId: string) {
  return payments.ledger().filter((e) => e.order_id === orderId);
}

function refundPostsSince(payments: PaymentsService, mark: number) {
  return payments
    .requests()
    .slice(mark)
    .filter((r) => r.method === "POST" && r.path === "/v1/refunds");
}

function okValue<T>(outcome: Outcome): T {
  assert.ok(outcome.ok, `the agent failed: ${JSON.stringify(outcome)}`);
  return outcome.value as T;
}

/** The error the agent gave up with (asserting that it gave up). */
function gaveUpWith(outcome: Outcome): ContractError {
  assert.ok(!outcome.ok, `expected the agent to stop, got ${JSON.stringify(outcome)}`);
  return outcome.error;
}

describe("a scripted agent against the refunds demo (MCP HTTP, bearer tokens)", () => {
  let demo: Demo | undefined;
  let session: AgentSession | undefined;

  /** A fresh demo per test: its own provider, breaker, idempotency store and database. */
  async function start(refundTimeoutMs: number, scope = ALL_SCOPES) {
    demo = await startDemo(refundTimeoutMs);
    session = await AgentSession.open(demo.url, await demo.mint(scope));
    return { demo, session };
  }
  beforeEach(() => {
    demo = undefined;
    session = undefined;
  });
  afterEach(async () => {
    await session?.close();
    await demo?.close();
  });

  describe("bad input, corrected from the error's details", () => {
    it("rewrites a malformed order ID to the format the issue names, then finds the order", async () => {
      const { demo, session } = await start(5_000);
      for (const malformed of ["INV-42", "INV-7"]) {
        const outcome = await callLikeAnAgent(
          session,
          "get_order",
          { order_id: malformed },
          { fix: fixInput },
        );
        const order = okValue<{ id: string; refundable_cents: number }>(outcome);
        assert.equal(outcome.attempts.length, 2, "one bad call, one corrected call");
        const [first, second] = outcome.attempts;
        assert.equal(first!.error!.type, "invalid_input");
        assert.equal(first!.error!.retryable, false);
        const issue = issuesOf(first!.error!)[0]!;
        assert.equal(issue.path, "/order_id");
        assert.match(issue.expected ?? "", /INV-YYYY-NNNNN/);
        // What the agent loop hands back to a model: the field, what it expects, what to do.
        assert.match(
          errorForModel("get_order", first!.error!),
          /^get_order failed: invalid_input\. .*order_id: .*INV-YYYY-NNNNN.*Fix the arguments and call it again\.$/,
        );
        // The corrected ID keeps the caller's number and has the documented format.
        const corrected = second!.args["order_id"] as string;
        assert.match(corrected, /^INV-\d{4}-\d{5}$/);
        assert.equal(Number(corrected.slice(-5)), Number(malformed.replace(/\D/g, "")));
        assert.equal(order.id, corrected);
        assert.equal(order.id, demo.db.getOrder(corrected)?.id, "an order that exists");
      }
      assert.equal(session.sent.get("get_order"), 4);
    });

    it("lowers a refund above the refundable remainder to the maximum the issue states", async () => {
      const { demo, session } = await start(5_000);
      // The agent looks the order up, then (over-)asks for its whole total.
      const order = okValue<{ id: string; total_cents: number; refundable_cents: number }>(
        await callLikeAnAgent(session, "get_order", { order_id: "INV-2024-00006" }),
      );
      const mark = demo.payments.requests().length;
      const outcome = await callLikeAnAgent(
        session,
        "issue_refund",
        { order_id: order.id, amount_cents: order.total_cents, reason: REASON },
        { fix: fixInput },
      );
      const refund = okValue<{ amount_cents: number; status: string }>(outcome);
      assert.equal(outcome.attempts.length, 2);
      const [first, second] = outcome.attempts;
      assert.equal(first!.error!.type, "invalid_input");
      assert.equal(issuesOf(first!.error!)[0]!.path, "/amount_cents");
      // The agent took the maximum from the answer; it is what get_order said was refundable.
      const allowed = order.refundable_cents;
      assert.ok(allowed < order.total_cents, "a partly refunded order");
      assert.equal(second!.args["amount_cents"], allowed);
      assert.match(first!.error!.message, new RegExp(`at most ${allowed}\\b`));
      assert.equal(refund.amount_cents, allowed);
      assert.equal(refund.status, "refunded");
      // The corrected call was a new operation: a new key, and one refund.
      assert.ok(first!.idempotencyKey && second!.idempotencyKey);
      assert.notEqual(first!.idempotencyKey, second!.idempotencyKey);
      const ledger = ledgerFor(demo.payments, order.id);
      assert.equal(ledger.length, 1);
      assert.equal(ledger[0]!.amount_cents, allowed);
      assert.equal(
        refundPostsSince(demo.payments, mark).length,
        1,
        "the rejected call paid nothing",
      );
      const stored = demo.db.getOrder(order.id)!;
      assert.equal(stored.refunded_cents, stored.total_cents);
      assert.equal(session.sent.get("issue_refund"), 2);
    });
  });

  describe("retryable errors, retried with the same idempotency key", () => {
    it("retries a timeout (hung provider) with the same key, and the order is refunded once", async () => {
      const { demo, session } = await start(400);
      const orderId = "INV-2024-00042";
      const refundsBefore = demo.db.countRefunds(orderId);
      const mark = demo.payments.requests().length;
      demo.payments.hangNext();
      const started = Date.now();
      const outcome = await callLikeAnAgent(session, "issue_refund", {
        order_id: orderId,
        amount_cents: 2_500,
        reason: REASON,
      });
      const refund = okValue<{ amount_cents: number }>(outcome);
      assert.ok(Date.now() - started < 8_000);
      assert.equal(refund.amount_cents, 2_500);

      const [first, ...retries] = outcome.attempts;
      assert.equal(first!.error!.type, "timeout");
      assert.equal(first!.error!.retryable, true);
      assert.ok(retries.length >= 1);
      // Every retry reused the first key (a settling first attempt may answer in_progress).
      for (const retry of retries) {
        assert.equal(retry.idempotencyKey, first!.idempotencyKey);
        assert.deepEqual(retry.args, first!.args);
        if (retry.error) assert.equal(retry.error.retryable, true, retry.error.type);
      }
      assert.equal(session.sent.get("issue_refund"), outcome.attempts.length);

      // One refund at the provider, one in the database.
      const ledger = ledgerFor(demo.payments, orderId);
      assert.equal(ledger.length, 1, JSON.stringify(ledger));
      assert.equal(ledger[0]!.amount_cents, 2_500);
      assert.equal(demo.db.countRefunds(orderId), refundsBefore + 1);
      assert.equal(demo.db.getOrder(orderId)!.refunded_cents, 2_500);
      // The hung POST and the one that refunded carried the same Idempotency-Key.
      const posts = refundPostsSince(demo.payments, mark);
      assert.ok(posts.length >= 2);
      assert.ok(posts[0]!.idempotencyKey);
      for (const post of posts) assert.equal(post.idempotencyKey, posts[0]!.idempotencyKey);
    });

    it("backs off per retryAfterMs while the provider answers 503, then refunds once", async () => {
      const { demo, session } = await start(5_000);
      const orderId = "INV-2024-00009";
      const mark = demo.payments.requests().length;
      demo.payments.failNext(503, 3); // every attempt of the backend layer's first call
      const outcome = await callLikeAnAgent(session, "issue_refund", {
        order_id: orderId,
        amount_cents: 1_200,
        reason: REASON,
      });
      const refund = okValue<{ amount_cents: number }>(outcome);
      assert.equal(refund.amount_cents, 1_200);
      assert.equal(outcome.attempts.length, 2);
      const [first, second] = outcome.attempts;
      const error = first!.error!;
      assert.equal(error.type, "unavailable");
      assert.equal(error.retryable, true);
      assert.equal(typeof error.retryAfterMs, "number");
      // It waited as long as it was told to (2 ms of slack: timers count from the event
      // loop's cached clock, which can lag Date.now()), and resent the same operation.
      assert.ok(
        second!.startedAt - first!.startedAt >= error.retryAfterMs! - 2,
        `waited ${second!.startedAt - first!.startedAt} ms, told ${error.retryAfterMs} ms`,
      );
      assert.equal(second!.idempotencyKey, first!.idempotencyKey);
      assert.deepEqual(second!.args, first!.args);

      const posts = refundPostsSince(demo.payments, mark);
      assert.equal(posts.length, 4, "three failed attempts, then the one that refunded");
      for (const post of posts) assert.equal(post.idempotencyKey, posts[0]!.idempotencyKey);
      assert.equal(ledgerFor(demo.payments, orderId).length, 1);
      assert.equal(demo.db.countRefunds(orderId), 1);
      assert.equal(demo.db.getOrder(orderId)!.refunded_cents, 1_200);
    });
  });

  describe("forbidden, with the scopes it needs", () => {
    it("reads the required scopes, gets a token with them, and the refund goes through", async () => {
      const { demo, session } = await start(5_000, ["orders:read"]);
      const orderId = "INV-2024-00005";
      // With orders:read only, the write tool is not even listed.
      assert.equal(await session.tool("issue_refund"), undefined);
      const asked: string[][] = [];
      const outcome = await callLikeAnAgent(
        session,
        "issue_refund",
        { order_id: orderId, amount_cents: 3_000, reason: REASON },
        {
          requestScopes: async (scopes) => {
            asked.push(scopes);
            return demo.mint([...new Set(["orders:read", ...scopes])]);
          },
        },
      );
      const refund = okValue<{ amount_cents: number }>(outcome);
      assert.equal(refund.amount_cents, 3_000);
      const [first, second] = outcome.attempts;
      assert.equal(outcome.attempts.length, 2);
      assert.equal(first!.error!.type, "forbidden");
      assert.equal(first!.error!.retryable, false);
      // It asked for exactly what the answer named, which the message names too.
      assert.equal(asked.length, 1);
      for (const scope of asked[0]!) assert.ok(first!.error!.message.includes(scope), scope);
      assert.deepEqual(asked[0], ["refunds:write"]);
      // The refused call ran nothing and sent no key (the tool was invisible); the call
      // with the new token did, once.
      assert.equal(first!.idempotencyKey, undefined);
      assert.ok(second!.idempotencyKey);
      assert.ok(await session.tool("issue_refund"));
      assert.equal(session.initializes, 1, "the same connection, with the new token");
      assert.equal(ledgerFor(demo.payments, orderId).length, 1);
      assert.equal(demo.db.countRefunds(orderId), 1);
    });

    it("stops at forbidden when nobody can grant the scopes", async () => {
      const { demo, session } = await start(5_000, ["orders:read"]);
      const outcome = await callLikeAnAgent(session, "issue_refund", {
        order_id: "INV-2024-00005",
        amount_cents: 3_000,
        reason: REASON,
      });
      const error = gaveUpWith(outcome);
      assert.equal(error.type, "forbidden");
      assert.match(
        errorForModel("issue_refund", error),
        /needs the permission\(s\): refunds:write\. Nothing was done with this token\. Ask the user to grant the missing permission\(s\); once they have, resume the same operation/,
      );
      assert.equal(outcome.attempts.length, 1);
      assert.equal(session.sent.get("issue_refund"), 1);
      assert.equal(demo.payments.ledger().length, 0);
    });
  });

  describe("non-retryable errors", () => {
    it("calls exactly once for a cancelled order (conflict) and refunds nothing", async () => {
      const { demo, session } = await start(5_000);
      // The agent finds a cancelled order the way it would: by listing.
      const { orders } = okValue<{ orders: { id: string; total_cents: number }[] }>(
        await callLikeAnAgent(session, "list_orders", { status: "cancelled", limit: 1 }),
      );
      const cancelled = orders[0]!;
      const mark = demo.payments.requests().length;
      const outcome = await callLikeAnAgent(
        session,
        "issue_refund",
        { order_id: cancelled.id, amount_cents: cancelled.total_cents, reason: REASON },
        // Everything it could do, offered: none of it applies to a conflict.
        { fix: fixInput, requestScopes: (scopes) => demo.mint(scopes) },
      );
      const error = gaveUpWith(outcome);
      assert.equal(error.type, "conflict");
      assert.equal(error.retryable, false);
      assert.equal(outcome.attempts.length, 1);
      assert.equal(session.sent.get("issue_refund"), 1, "one tools/call on the wire");
      assert.equal(refundPostsSince(demo.payments, mark).length, 0);
      assert.equal(ledgerFor(demo.payments, cancelled.id).length, 0);
      assert.equal(demo.db.countRefunds(cancelled.id), 0);
    });

    it("calls exactly once for an unknown order (not_found), even with a fixer", async () => {
      const { session } = await start(5_000);
      const outcome = await callLikeAnAgent(
        session,
        "get_order",
        { order_id: "INV-2024-99999" },
        { fix: fixInput },
      );
      assert.equal(gaveUpWith(outcome).type, "not_found");
      assert.equal(outcome.attempts.length, 1);
      assert.equal(session.sent.get("get_order"), 1);
    });
  });
});
