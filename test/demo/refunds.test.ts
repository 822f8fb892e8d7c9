// The refunds demo end to end: the three tools over real MCP Streamable HTTP with the
// official SDK client, the fake payments provider, and `main.ts` as a child process.
import assert from "node:assert/strict";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import {
  Client,
  StreamableHTTPClientTransport,
  type CallToolResult,
} from "@modelcontextprotocol/client";
import { readWireError } from "../../src/errors/to-result.js";
import { expectToolError } from "../helpers/server.js";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { createToolServer, devIssuer, type FieldIssue } from "../../src/index.js";
import { silentLogger } from "../../src/server/index.js";
import { memoryStore } from "../../src/stores/index.js";
import { PAYMENTS_SECRET_ENV, refundsBackends } from "../../examples/refunds/backends.js";
import { openRefundsDb, type RefundsDb } from "../../examples/refunds/db.js";
import {
  startPaymentsService,
  type PaymentsService,
} from "../../examples/refunds/payments-service.js";
import { createRefundTools } from "../../examples/refunds/tools.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const MCP_JSON = {
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
};

/** Runs `toolgate token ...` exactly as the banner prints it and returns the token. */
async function mintLikeCli(command: string): Promise<string> {
  const args = [...command.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], {
    cwd: root,
  });
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
  const [code] = (await once(child, "exit")) as [number | null];
  assert.equal(code, 0, `toolgate ${command} failed`);
  return out.trim();
}
const MAIN = "examples/refunds/main.ts";

/** The payments client secret, as a deployment would set it: in the environment. */
const CLIENT_SECRET = `cs_${randomBytes(24).toString("base64url")}`;

/**
 * The demo as main.ts wires it: the fake provider started with the client secret, the
 * same secret in the environment for the `payments` backend's credential, and the tools.
 */
async function startDemo(refundTimeoutMs: number) {
  const db = openRefundsDb(":memory:");
  const payments = await startPaymentsService({ clientSecret: CLIENT_SECRET });
  process.env[PAYMENTS_SECRET_ENV] = CLIENT_SECRET; // read when the credential is made
  const tools = createRefundTools({ db, refundTimeoutMs });
  const server = createToolServer({
    name: "refunds-test",
    version: "1.0.0",
    tools,
    backends: refundsBackends(payments),
    logger: silentLogger(),
    store: memoryStore(),
  });
  const { url } = await server.listen({ port: 0, host: "127.0.0.1" });
  const client = await connect(url);
  // Each refund is a new operation, so each gets a new idempotency key.
  const refund = (order_id: string, amount_cents: number, idempotency_key: string = randomUUID()) =>
    client.callTool({
      name: "issue_refund",
      arguments: { order_id, amount_cents, reason: "Item arrived damaged", idempotency_key },
    });
  async function close() {
    await client.close();
    await server.close();
    await payments.close();
    db.close();
  }
  return { db, payments, tools, client, refund, close };
}

async function connect(url: string, token?: string): Promise<Client> {
  const client = new Client({ name: "t", version: "1" });
  const requestInit = token ? { headers: { authorization: `Bearer ${token}` } } : {};
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit }));
  return client;
}

/** The typed error of a failed call, as the error contract shapes it. */
interface SeenError {
  type: string;
  message: string;
  retryable: boolean;
  retryAfterMs?: number;
  details?: { issues?: FieldIssue[]; providerStatus?: number };
}

/** The typed error of a failed call (asserting that it failed). */
function errorOf(result: {
  isError?: boolean | undefined;
  structuredContent?: unknown;
}): SeenError {
  assert.equal(result.isError, true, `expected a failed call, got ${JSON.stringify(result)}`);
  return expectToolError(result, readWireError(result as CallToolResult)?.type ?? "(untyped)");
}

describe("refunds demo over MCP HTTP", () => {
  let db: RefundsDb;
  let payments: PaymentsService;
  let client: Client;
  let demo: Awaited<ReturnType<typeof startDemo>>;
  const call = (name: string, args: Record<string, unknown>) =>
    client.callTool({ name, arguments: args });

  before(async () => {
    demo = await startDemo(300);
    ({ db, payments, client } = demo);
  });
  after(() => demo?.close());

  it("lists the three tools with scopes-appropriate annotations", async () => {
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), ["get_order", "issue_refund", "list_orders"]);
    const refund = tools.find((t) => t.name === "issue_refund")!;
    assert.equal(refund.annotations?.readOnlyHint, false);
    assert.equal(refund.annotations?.idempotentHint, true);
    assert.match(
      JSON.stringify(tools.find((t) => t.name === "get_order")!.inputSchema),
      /INV-YYYY-NNNNN/,
    );
  });

  describe("get_order", () => {
    it("returns the order as stored", async () => {
      const result = await call("get_order", { order_id: "INV-2024-00001" });
      assert.equal(result.isError, undefined);
      const row = db.getOrder("INV-2024-00001")!;
      assert.deepEqual(result.structuredContent, { ...row, refundable_cents: row.total_cents });
    });

    it("rejects a malformed ID with the expected format", async () => {
      const error = errorOf(await call("get_order", { order_id: "INV-99" }));
      assert.equal(error.type, "invalid_input");
      assert.equal(error.retryable, false);
      assert.match(error.message, /INV-YYYY-NNNNN/);
      const issue = error.details!.issues![0]!;
      assert.equal(issue.path, "/order_id");
      assert.match(issue.expected ?? "", /INV-YYYY-NNNNN/);
    });

    it("answers not_found for an unknown, well-formed ID with the article's message", async () => {
      const error = errorOf(await call("get_order", { order_id: "INV-2024-99999" }));
      assert.deepEqual(error, {
        type: "not_found",
        message: "No order matches ID 'INV-2024-99999'. Confirm the ID format (INV-YYYY-NNNNN).",
        retryable: false,
      });
    });
  });

  describe("list_orders", () => {
    const ids = (result: { structuredContent?: unknown }) =>
      (result.structuredContent as { orders: { id: string }[] }).orders.map((o) => o.id);

    it("filters by customer, newest first", async () => {
      assert.deepEqual(ids(await call("list_orders", { customer: "acme" })), [
        "INV-2024-00004",
        "INV-2024-00003",
        "INV-2024-00002",
        "INV-2024-00001",
      ]);
    });

    it("filters by status and by both", async () => {
      assert.deepEqual(ids(await call("list_orders", { status: "cancelled" })), [
        "INV-2024-00008",
        "INV-2024-00004",
      ]);
      const both = await call("list_orders", { customer: "globex", status: "shipped" });
      assert.deepEqual(ids(both), ["INV-2024-00007", "INV-2024-00006"]);
    });

    it("defaults the limit to 20 and honours a given one", async () => {
      assert.equal(ids(await call("list_orders", {})).length, 12);
      assert.equal(ids(await call("list_orders", { limit: 2 })).length, 2);
    });

    it("rejects limits outside 1-100", async () => {
      for (const limit of [0, 101]) {
        const error = errorOf(await call("list_orders", { limit }));
        assert.equal(error.type, "invalid_input");
        assert.equal(error.details!.issues![0]!.path, "/limit");
      }
      const error = errorOf(await call("list_orders", { status: "lost" }));
      assert.equal(error.details!.issues![0]!.path, "/status");
    });
  });

  describe("issue_refund", () => {
    const refund = (order_id: string, amount_cents: number) => demo.refund(order_id, amount_cents);
    const ledgerFor = (orderId: string) => payments.ledger().filter((e) => e.order_id === orderId);

    it("refunds through the provider and records it", async () => {
      const result = await refund("INV-2024-00005", 5_000);
      assert.equal(result.isError, undefined, JSON.stringify(result));
      const out = result.structuredContent as Record<string, unknown>;
      assert.match(String(out["refund_id"]), /^rf_/);
      assert.deepEqual(
        { ...out, refund_id: "x" },
        {
          refund_id: "x",
          order_id: "INV-2024-00005",
          amount_cents: 5_000,
          refunded_total_cents: 5_000,
          status: "paid",
        },
      );
      const ledger = ledgerFor("INV-2024-00005");
      assert.equal(ledger.length, 1);
      assert.equal(ledger[0]!.amount_cents, 5_000);
      assert.equal(ledger[0]!.reason, "Item arrived damaged");
      assert.equal(db.getOrder("INV-2024-00005")!.refunded_cents, 5_000);
      assert.equal(db.countRefunds("INV-2024-00005"), 1);
    });

    it("marks the order refunded once the whole total is refunded", async () => {
      const result = await refund("INV-2024-00005", 20_000);
      assert.equal((result.structuredContent as { status: string }).status, "refunded");
      assert.equal(db.getOrder("INV-2024-00005")!.status, "refunded");
      const again = errorOf(await refund("INV-2024-00005", 1));
      assert.equal(again.type, "conflict");
      assert.match(again.message, /already fully refunded/);
    });

    it("rejects more than the refundable remainder at /amount_cents", async () => {
      const error = errorOf(await refund("INV-2024-00006", 9_000)); // 9 999 total, 2 500 refunded
      assert.equal(error.type, "invalid_input");
      assert.match(error.message, /at most 7499/);
      assert.deepEqual(error.details!.issues, [
        {
          path: "/amount_cents",
          message: "exceeds the refundable remainder of 7499",
          expected: "an integer from 1 to 7499",
        },
      ]);
      assert.equal(ledgerFor("INV-2024-00006").length, 0);
    });

    it("rejects bad amounts and unknown orders before calling the provider", async () => {
      for (const amount of [0, -5, 1.5]) {
        const error = errorOf(await refund("INV-2024-00009", amount));
        assert.equal(error.type, "invalid_input");
        assert.equal(error.details!.issues![0]!.path, "/amount_cents");
      }
      assert.equal(errorOf(await refund("INV-2024-77777", 100)).type, "not_found");
      assert.equal(ledgerFor("INV-2024-00009").length, 0);
    });

    it("answers conflict for a cancelled order, saying why", async () => {
      const error = errorOf(await refund("INV-2024-00004", 100));
      assert.equal(error.type, "conflict");
      assert.equal(error.retryable, false);
      assert.match(error.message, /cancelled/);
      assert.equal(ledgerFor("INV-2024-00004").length, 0);
    });

    it("maps a provider 4xx to conflict", async () => {
      payments.failNext(422);
      const error = errorOf(await refund("INV-2024-00011", 600));
      assert.equal(error.type, "conflict");
      assert.equal(error.details!.providerStatus, 422);
      assert.equal(db.getOrder("INV-2024-00011")!.refunded_cents, 0);
    });

    it("answers timeout when the provider hangs past the deadline", async () => {
      const before = db.countRefunds();
      payments.hangNext();
      const started = Date.now();
      const error = errorOf(await refund("INV-2024-00042", 100));
      assert.equal(error.type, "timeout");
      assert.equal(error.retryable, true);
      assert.ok(Date.now() - started < 3_000);
      assert.equal(db.countRefunds(), before);
      // The provider still works afterwards: the hung request was aborted, not leaked.
      assert.equal((await refund("INV-2024-00042", 100)).isError, undefined);
    });

    it("never refunds more than was paid under concurrent calls", async () => {
      const results = await Promise.all([
        refund("INV-2024-00002", 3_000),
        refund("INV-2024-00002", 3_000),
      ]);
      assert.deepEqual(results.map((r) => r.isError === true).sort(), [false, true]);
      assert.equal(errorOf(results.find((r) => r.isError)!).type, "invalid_input");
      assert.equal(ledgerFor("INV-2024-00002").length, 1);
      assert.equal(db.getOrder("INV-2024-00002")!.refunded_cents, 3_000);
    });
  });
});

describe("issue_refund through the payments backend", () => {
  // A deadline long enough for the layer's retries (backoff with jitter, ~0.3 s at most).
  let demo: Awaited<ReturnType<typeof startDemo>>;
  before(async () => {
    demo = await startDemo(5_000);
  });
  after(() => demo?.close());

  /** What the provider saw from here on: its refund requests, in order. */
  function refundRequestsSince(mark: number) {
    return demo.payments
      .requests()
      .slice(mark)
      .filter((r) => r.method === "POST" && r.path === "/v1/refunds");
  }
  const ledgerFor = (orderId: string) =>
    demo.payments.ledger().filter((e) => e.order_id === orderId);

  it("declares the backend on issue_refund only, narrowed to refunds:write", () => {
    const uses = Object.fromEntries(
      demo.tools.map((t) => [t.name, Object.fromEntries(t.backends)]),
    );
    assert.deepEqual(uses, {
      get_order: {},
      list_orders: {},
      issue_refund: { payments: { scope: ["refunds:write"] } },
    });
  });

  it("retries a single provider 503 with the same Idempotency-Key and refunds once", async () => {
    const mark = demo.payments.requests().length;
    demo.payments.failNext(503, 1);
    const result = await demo.refund("INV-2024-00001", 500);
    assert.equal(result.isError, undefined, JSON.stringify(result));
    const attempts = refundRequestsSince(mark);
    assert.equal(attempts.length, 2, "the 503, then the retry");
    assert.ok(attempts[0]!.idempotencyKey, "a keyed POST: safe to retry");
    assert.equal(attempts[1]!.idempotencyKey, attempts[0]!.idempotencyKey);
    assert.equal(ledgerFor("INV-2024-00001").length, 1);
    assert.equal(demo.db.countRefunds("INV-2024-00001"), 1);
    assert.equal(demo.db.getOrder("INV-2024-00001")!.refunded_cents, 500);
  });

  it("answers unavailable (retryable) when every attempt gets a 503, and records nothing", async () => {
    const mark = demo.payments.requests().length;
    demo.payments.failNext(503, 3);
    const error = errorOf(await demo.refund("INV-2024-00011", 600));
    assert.equal(error.type, "unavailable");
    assert.equal(error.retryable, true);
    assert.equal(refundRequestsSince(mark).length, 3, "three attempts, then it gives up");
    assert.equal(demo.db.countRefunds("INV-2024-00011"), 0);
    assert.equal(demo.db.getOrder("INV-2024-00011")!.refunded_cents, 0);
    assert.equal(ledgerFor("INV-2024-00011").length, 0);
  });

  it("answers rate_limited for a provider 429, without retrying it", async () => {
    const mark = demo.payments.requests().length;
    demo.payments.failNext(429);
    const error = errorOf(await demo.refund("INV-2024-00011", 600));
    assert.equal(error.type, "rate_limited");
    assert.equal(error.retryable, true);
    assert.equal(refundRequestsSince(mark).length, 1);
    assert.equal(demo.db.countRefunds("INV-2024-00011"), 0);
  });

  it("answers internal when the provider refuses our credential (401 after a fresh token, 403)", async () => {
    const tokensBefore = demo.payments.issued().length;
    const mark = demo.payments.requests().length;
    demo.payments.failNext(401, 2);
    const unauthorized = errorOf(await demo.refund("INV-2024-00011", 600));
    assert.equal(unauthorized.type, "internal");
    assert.equal(unauthorized.retryable, false);
    const attempts = refundRequestsSince(mark);
    assert.equal(attempts.length, 2, "one retry with a fresh token");
    assert.notEqual(attempts[1]!.authorization, attempts[0]!.authorization);
    assert.equal(demo.payments.issued().length, tokensBefore + 1);

    demo.payments.failNext(403);
    assert.equal(errorOf(await demo.refund("INV-2024-00011", 600)).type, "internal");
    assert.equal(demo.db.countRefunds("INV-2024-00011"), 0);
    // Still working afterwards.
    assert.equal((await demo.refund("INV-2024-00011", 600)).isError, undefined);
  });

  it("refunds with a token whose scope is exactly refunds:write", async () => {
    const mark = demo.payments.requests().length;
    assert.equal((await demo.refund("INV-2024-00009", 700)).isError, undefined);
    const scopeOf = new Map(demo.payments.issued().map((t) => [t.token, t.scope]));
    const [post] = refundRequestsSince(mark);
    const token = /^Bearer (\S+)$/.exec(post!.authorization ?? "")?.[1];
    assert.deepEqual(scopeOf.get(token!), ["refunds:write"]);
    // And no token with more was ever asked for: the read tools use no backend at all.
    assert.ok(demo.payments.issued().length >= 1);
    for (const issued of demo.payments.issued()) assert.deepEqual(issued.scope, ["refunds:write"]);
  });

  it("never sends the provider's admin key, and the client secret only to the token endpoint", async () => {
    await demo.client.callTool({ name: "get_order", arguments: { order_id: "INV-2024-00001" } });
    const seen = demo.payments.requests();
    assert.ok(seen.length > 0);
    assert.ok(!JSON.stringify(seen).includes(demo.payments.apiKey));
    for (const request of seen) {
      if (request.path === "/oauth/token") {
        assert.match(request.authorization ?? "", /^Basic /);
      } else {
        assert.equal(request.path, "/v1/refunds");
        assert.match(request.authorization ?? "", /^Bearer at_/);
      }
    }
  });
});

describe("fake payments provider", () => {
  let payments: PaymentsService;
  before(async () => {
    payments = await startPaymentsService({ clientSecret: CLIENT_SECRET });
  });
  after(() => payments?.close());

  const post = (headers: Record<string, string>, body: unknown) =>
    fetch(`${payments.url}/v1/refunds`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    });
  const body = { order_id: "INV-2024-00001", amount_cents: 100, reason: "r" };
  /** A token request as RFC 6749 has it: form body, HTTP Basic client authentication. */
  const tokenRequest = (
    form: Record<string, string>,
    secret = CLIENT_SECRET,
    id = "refunds-demo",
  ) =>
    fetch(payments.tokenUrl, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        authorization: `Basic ${Buffer.from(`${id}:${encodeURIComponent(secret)}`).toString("base64")}`,
      },
      body: new URLSearchParams(form).toString(),
    });
  async function tokenFor(scope?: string): Promise<string> {
    const response = await tokenRequest({
      grant_type: "client_credentials",
      ...(scope === undefined ? {} : { scope }),
    });
    assert.equal(response.status, 200);
    return ((await response.json()) as { access_token: string }).access_token;
  }

  it("needs a token or its admin key, replays an Idempotency-Key, and lists its ledger", async () => {
    assert.equal((await post({}, body)).status, 401);
    assert.equal((await post({ authorization: "Bearer wrong" }, body)).status, 401);
    const auth = { authorization: `Bearer ${payments.apiKey}`, "idempotency-key": "k1" };
    const first = await post(auth, body);
    assert.equal(first.status, 201);
    const created = (await first.json()) as { id: string; status: string; amount_cents: number };
    assert.match(created.id, /^re_/);
    assert.deepEqual({ ...created, id: "" }, { id: "", status: "succeeded", amount_cents: 100 });
    const replay = await post(auth, body);
    assert.equal(replay.status, 201);
    assert.equal(((await replay.json()) as { id: string }).id, created.id);
    assert.equal((await post(auth, { ...body, amount_cents: 200 })).status, 409);
    const listed = await fetch(`${payments.url}/v1/refunds`, { headers: auth });
    assert.equal(((await listed.json()) as { data: unknown[] }).data.length, 1);
    assert.equal(payments.ledger().length, 1);
    const other = await startPaymentsService({ clientSecret: CLIENT_SECRET });
    await other.close();
    assert.notEqual(payments.apiKey, other.apiKey);
  });

  it("issues scoped client-credentials tokens (RFC 6749 §4.4)", async () => {
    assert.equal(payments.tokenUrl, `${payments.url}/oauth/token`);
    assert.equal(payments.clientId, "refunds-demo");
    const response = await tokenRequest({ grant_type: "client_credentials" });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("cache-control"), "no-store");
    const issued = (await response.json()) as Record<string, unknown>;
    assert.match(String(issued["access_token"]), /^at_/);
    assert.deepEqual(
      { ...issued, access_token: "" },
      {
        access_token: "",
        token_type: "Bearer",
        expires_in: 3600,
        scope: "refunds:read refunds:write",
      },
    );
    const narrow = await tokenRequest({ grant_type: "client_credentials", scope: "refunds:write" });
    const { access_token, scope } = (await narrow.json()) as Record<string, string>;
    assert.equal(scope, "refunds:write");
    assert.deepEqual(payments.issued().find((t) => t.token === access_token)?.scope, [
      "refunds:write",
    ]);
  });

  it("answers token endpoint errors as RFC 6749 JSON, echoing no secret", async () => {
    const grant = { grant_type: "client_credentials" };
    const expect = async (response: Response, status: number, code: string) => {
      assert.equal(response.status, status);
      const text = await response.text();
      assert.equal((JSON.parse(text) as { error: string }).error, code);
      assert.ok(!text.includes(CLIENT_SECRET) && !text.includes("wrong-secret"));
      return response;
    };
    const bad = await expect(await tokenRequest(grant, "wrong-secret"), 401, "invalid_client");
    assert.match(bad.headers.get("www-authenticate") ?? "", /^Basic /);
    await expect(await tokenRequest(grant, CLIENT_SECRET, "someone-else"), 401, "invalid_client");
    const anonymous = await fetch(payments.tokenUrl, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(grant).toString(),
    });
    await expect(anonymous, 401, "invalid_client");
    await expect(await tokenRequest({ grant_type: "password" }), 400, "unsupported_grant_type");
    await expect(
      await tokenRequest({ ...grant, scope: "refunds:read refunds:admin" }),
      400,
      "invalid_scope",
    );
  });

  it("lets a refunds:read token list but not refund, and a refunds:write token the reverse", async () => {
    const read = await tokenFor("refunds:read");
    const refused = await post({ authorization: `Bearer ${read}` }, body);
    assert.equal(refused.status, 403);
    assert.equal(
      ((await refused.json()) as { error: { code: string } }).error.code,
      "insufficient_scope",
    );
    assert.match(refused.headers.get("www-authenticate") ?? "", /error="insufficient_scope"/);
    const list = (token: string) =>
      fetch(`${payments.url}/v1/refunds`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal((await list(read)).status, 200);

    const write = await tokenFor("refunds:write");
    assert.equal((await post({ authorization: `Bearer ${write}` }, body)).status, 201);
    assert.equal((await list(write)).status, 403);
  });

  it("needs a client secret to start", async () => {
    await assert.rejects(startPaymentsService({ clientSecret: "" }), TypeError);
  });
});

describe("orders database", () => {
  it("creates its folder, seeds once, and survives a reopen", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "refunds-db-"));
    try {
      const file = path.join(dir, "nested", "refunds.sqlite");
      const db = openRefundsDb(file);
      assert.equal(db.path, file);
      db.recordRefund({
        id: "rf_1",
        order_id: "INV-2024-00001",
        amount_cents: 1,
        reason: "r",
        payment_ref: "re_1",
      });
      db.close();
      const reopened = openRefundsDb(file);
      assert.equal(reopened.listOrders({ limit: 100 }).length, 12);
      assert.equal(reopened.getOrder("INV-2024-00001")!.refunded_cents, 1);
      reopened.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("names the fix when the native module is missing", () => {
    assert.throws(
      () => openRefundsDb(":memory:", { nativeBinding: "/nonexistent/better_sqlite3" }),
      {
        message:
          "better-sqlite3's native module is not built; run `npm rebuild better-sqlite3` (needs python3, make, g++)",
      },
    );
  });
});

describe("main.ts as a process", () => {
  // Each run gets its own dev issuer keys, so the demo never touches the repo's .toolgate/.
  const keysDir = mkdtempSync(path.join(tmpdir(), "refunds-keys-"));
  const keyFile = path.join(keysDir, "dev-issuer.json");
  after(() => rmSync(keysDir, { recursive: true, force: true }));

  function start(args: string[]): ChildProcessWithoutNullStreams {
    return spawn(process.execPath, ["--import", "tsx", MAIN, "--keys", keyFile, ...args], {
      cwd: root,
      env: { ...process.env, PORT: "" },
    });
  }
  function exited(child: ChildProcessWithoutNullStreams) {
    return new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once("exit", (code, signal) => resolve({ code, signal })),
    );
  }
  function collect(stream: NodeJS.ReadableStream): { text: string } {
    const out = { text: "" };
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => (out.text += chunk));
    return out;
  }

  it("prints a banner whose URL and curl example work, and exits 0 on SIGTERM", async () => {
    const child = start(["--port", "0", "--db", ":memory:"]);
    const stdout = collect(child.stdout);
    const stderr = collect(child.stderr);
    const done = exited(child);
    try {
      const deadline = Date.now() + 20_000;
      while (!/Press Ctrl\+C/.test(stdout.text)) {
        assert.ok(Date.now() < deadline, `no banner; stderr: ${stderr.text}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const url = /MCP endpoint:\s+(\S+)/.exec(stdout.text)![1]!;
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
      assert.match(stdout.text, /npx @modelcontextprotocol\/inspector --cli/);

      // Authenticated by default: no token, no call.
      const anonymous = await fetch(url, { method: "POST", headers: MCP_JSON, body: "{}" });
      assert.equal(anonymous.status, 401);
      assert.match(anonymous.headers.get("www-authenticate") ?? "", /resource_metadata=/);

      // The token command, as printed, mints a token for this server (the audience the
      // server recorded in the key file).
      const command = /TOKEN=\$\(npx toolgate (token [^)]+)\)/.exec(stdout.text)![1]!;
      assert.match(command, new RegExp(`--key-file ${keyFile}`));
      const token = await mintLikeCli(command);

      const client = await connect(url, token);
      const result = await client.callTool({
        name: "get_order",
        arguments: { order_id: "INV-2024-00001" },
      });
      assert.equal((result.structuredContent as { id: string }).id, "INV-2024-00001");
      await client.close();

      // The curl example, exactly as printed (headers and body), answers the call.
      const headers = Object.fromEntries(
        [...stdout.text.matchAll(/-H ['"]([^:]+): ([^'"]+)['"]/g)].map((m) => [
          m[1]!,
          m[2]!.replace("$TOKEN", token),
        ]),
      );
      const body = /-d '([^']+)'/.exec(stdout.text)![1]!;
      const response = await fetch(url, { method: "POST", headers, body });
      assert.equal(response.status, 200);
      assert.match(await response.text(), /"structuredContent":\{"id":"INV-2024-00001"/);
    } finally {
      child.kill("SIGTERM");
    }
    assert.deepEqual(await done, { code: 0, signal: null });
  });

  it("serves stdio with a clean stdout, authenticated by TOOLGATE_TOKEN", async () => {
    const issuer = await devIssuer({ keyFile });
    const token = await issuer.mint({
      sub: "alice",
      scope: "orders:read",
      audience: issuer.audience ?? "http://127.0.0.1:3000/mcp",
    });
    const client = new Client({ name: "t", version: "1" });
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: ["--import", "tsx", MAIN, "--keys", keyFile, "--stdio", "--db", ":memory:"],
      cwd: root,
      env: { ...(process.env as Record<string, string>), TOOLGATE_TOKEN: token },
      stderr: "pipe",
    });
    await client.connect(transport);
    try {
      const error = errorOf(
        await client.callTool({ name: "get_order", arguments: { order_id: "INV-99" } }),
      );
      assert.equal(error.type, "invalid_input");
    } finally {
      await client.close();
    }
  });

  for (const args of [
    ["--port", "abc"],
    ["--bogus"],
    ["--port", "70000"],
    ["stray"],
    ["--audit", "bogus"],
    ["--stdio", "--audit", "stdout"],
  ]) {
    it(`exits 2 with usage and no stack trace for ${args.join(" ")}`, async () => {
      const child = start(args);
      const stdout = collect(child.stdout);
      const stderr = collect(child.stderr);
      assert.deepEqual(await exited(child), { code: 2, signal: null });
      assert.match(stderr.text, /^error: /);
      assert.match(stderr.text, /Usage:/);
      assert.doesNotMatch(stderr.text, /\n\s+at /);
      assert.equal(stdout.text, "");
    });
  }
});
