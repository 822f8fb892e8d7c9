// issue_refund under retries, end to end: the refunds demo's tools over real MCP
// Streamable HTTP (official SDK client), a memory idempotency store and the fake payments
// provider, whose ledger records the Idempotency-Key each refund arrived with.
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  Client,
  StreamableHTTPClientTransport,
  type CallToolResult,
} from "@modelcontextprotocol/client";
import { readWireError } from "../../src/errors/to-result.js";
import { expectToolError } from "../helpers/server.js";
import { createToolServer, type FieldIssue, type ToolServer } from "../../src/index.js";
import { silentLogger } from "../../src/server/index.js";
import { ANONYMOUS_PRINCIPAL } from "../../src/auth/index.js";
import { memoryStore, type IdempotencyStore } from "../../src/stores/index.js";
import { REPLAY_META_KEY } from "../../src/client/index.js";
import { derivedKeyOf, scopeOf } from "../../src/idempotency/key.js";
import {
  PAYMENTS_SECRET_ENV,
  refundsBackends,
  type PaymentsEndpoints,
} from "../../examples/refunds/backends.js";
import { openRefundsDb } from "../../examples/refunds/db.js";
import {
  startPaymentsService,
  type PaymentsService,
} from "../../examples/refunds/payments-service.js";
import { createRefundTools } from "../../examples/refunds/tools.js";

const REFUND_TIMEOUT_MS = 300;
/** The payments client secret: the fake provider's, and in the environment for the backend. */
const CLIENT_SECRET = `cs_${randomBytes(24).toString("base64url")}`;

interface CallResult {
  isError?: boolean | undefined;
  structuredContent?: unknown;
  _meta?: Record<string, unknown> | undefined;
}

interface SeenError {
  type: string;
  message: string;
  retryable: boolean;
  retryAfterMs?: number;
  details?: { issues?: FieldIssue[] };
}

function errorOf(result: CallResult): SeenError {
  assert.equal(result.isError, true, `expected a failed call, got ${JSON.stringify(result)}`);
  return expectToolError(result, readWireError(result as CallToolResult)?.type ?? "(untyped)");
}

function refundOf(result: CallResult): { refund_id: string; amount_cents: number } {
  assert.notEqual(result.isError, true, `expected a refund, got ${JSON.stringify(result)}`);
  return result.structuredContent as { refund_id: string; amount_cents: number };
}

const isReplay = (result: CallResult) => result._meta?.[REPLAY_META_KEY] === true;

/** What toolgate hands the handler (and the provider) for this caller key: no auth, so anonymous. */
const derivedKey = (key: string) => derivedKeyOf(scopeOf(ANONYMOUS_PRINCIPAL, "issue_refund", key));

/** The demo's tools behind a toolgate server, reached by an SDK client. */
async function startDemo(payments: PaymentsEndpoints) {
  const db = openRefundsDb(":memory:");
  const store: IdempotencyStore = memoryStore();
  process.env[PAYMENTS_SECRET_ENV] = CLIENT_SECRET; // read when the credential is made
  const server: ToolServer = createToolServer({
    name: "refunds-idempotency-test",
    version: "1.0.0",
    tools: createRefundTools({ db, refundTimeoutMs: REFUND_TIMEOUT_MS }),
    backends: refundsBackends(payments),
    logger: silentLogger(),
    store,
  });
  const { url } = await server.listen({ port: 0, host: "127.0.0.1" });
  const client = new Client({ name: "t", version: "1" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  const refund = (order_id: string, amount_cents: number, idempotency_key?: string) =>
    client.callTool({
      name: "issue_refund",
      arguments: {
        order_id,
        amount_cents,
        reason: "Item arrived damaged",
        ...(idempotency_key === undefined ? {} : { idempotency_key }),
      },
    }) as Promise<CallResult>;
  /** Retries with the same key while the first attempt is still settling (`in_progress`). */
  async function retryUntilSettled(order_id: string, amount_cents: number, key: string) {
    for (let attempt = 0; ; attempt++) {
      const result = await refund(order_id, amount_cents, key);
      if (attempt === 20 || !result.isError || errorOf(result).type !== "in_progress") {
        return result;
      }
      await sleep(Math.min(errorOf(result).retryAfterMs ?? 100, 200));
    }
  }
  async function close() {
    await client.close();
    await server.close();
    await store.close();
    db.close();
  }
  return { db, refund, retryUntilSettled, close };
}

describe("issue_refund is idempotent (refunds demo over MCP HTTP)", () => {
  let payments: PaymentsService;
  let demo: Awaited<ReturnType<typeof startDemo>>;

  before(async () => {
    payments = await startPaymentsService({ clientSecret: CLIENT_SECRET });
    demo = await startDemo(payments);
  });
  after(async () => {
    await demo?.close();
    await payments?.close();
  });

  it("refunds once for two calls with the same key; the second is a flagged replay", async () => {
    const key = randomUUID();
    const first = await demo.refund("INV-2024-00005", 5_000, key);
    const second = await demo.refund("INV-2024-00005", 5_000, key);
    assert.equal(refundOf(first).amount_cents, 5_000);
    assert.equal(isReplay(first), false);
    assert.equal(isReplay(second), true);
    assert.deepEqual(second.structuredContent, first.structuredContent);

    const ledger = ledgerFor(payments, "INV-2024-00005");
    assert.equal(ledger.length, 1);
    assert.equal(demo.db.countRefunds("INV-2024-00005"), 1);
    assert.equal(demo.db.getOrder("INV-2024-00005")!.refunded_cents, 5_000);
    // The provider got toolgate's derived key, not the caller's raw one.
    assert.equal(ledger[0]!.idempotency_key, derivedKey(key));
    assert.notEqual(ledger[0]!.idempotency_key, key);
    assert.ok(!ledger[0]!.idempotency_key.includes(key));
  });

  it("refunds again for a new key, with a different provider key", async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    refundOf(await demo.refund("INV-2024-00009", 1_000, a));
    refundOf(await demo.refund("INV-2024-00009", 1_000, b));
    const ledger = ledgerFor(payments, "INV-2024-00009");
    assert.deepEqual(
      ledger.map((e) => e.idempotency_key),
      [derivedKey(a), derivedKey(b)],
    );
    assert.equal(demo.db.countRefunds("INV-2024-00009"), 2);
    assert.equal(demo.db.getOrder("INV-2024-00009")!.refunded_cents, 2_000);
  });

  it("answers conflict when a key is reused with another amount, and refunds nothing more", async () => {
    const key = randomUUID();
    refundOf(await demo.refund("INV-2024-00001", 1_000, key));
    const error = errorOf(await demo.refund("INV-2024-00001", 2_000, key));
    assert.equal(error.type, "conflict");
    assert.equal(error.retryable, false);
    assert.match(error.message, /different arguments/);
    assert.equal(ledgerFor(payments, "INV-2024-00001").length, 1);
    assert.equal(demo.db.getOrder("INV-2024-00001")!.refunded_cents, 1_000);
  });

  it("refuses a call without a key at /idempotency_key before anything runs", async () => {
    const ledgerBefore = payments.ledger().length;
    const refundsBefore = demo.db.countRefunds();
    const error = errorOf(await demo.refund("INV-2024-00011", 600));
    assert.equal(error.type, "invalid_input");
    assert.deepEqual(
      error.details!.issues!.map((i) => i.path),
      ["/idempotency_key"],
    );
    assert.equal(payments.ledger().length, ledgerBefore);
    assert.equal(demo.db.countRefunds(), refundsBefore);
  });

  it("refunds once for concurrent duplicates with the same key", async () => {
    const key = randomUUID();
    const results = await Promise.all([
      demo.refund("INV-2024-00007", 250, key),
      demo.refund("INV-2024-00007", 250, key),
    ]);
    assert.deepEqual(results.map(isReplay).sort(), [false, true]);
    assert.equal(refundOf(results[0]).refund_id, refundOf(results[1]).refund_id);
    assert.equal(ledgerFor(payments, "INV-2024-00007").length, 1);
    assert.equal(demo.db.countRefunds("INV-2024-00007"), 1);
  });

  it("answers timeout when the provider hangs, and a retry with the same key refunds once", async () => {
    const key = randomUUID();
    payments.hangNext();
    const started = Date.now();
    const error = errorOf(await demo.refund("INV-2024-00042", 700, key));
    assert.equal(error.type, "timeout");
    assert.equal(error.retryable, true);
    assert.match(error.message, /same idempotency key/);
    assert.ok(Date.now() - started < 3_000);

    const final = await demo.retryUntilSettled("INV-2024-00042", 700, key);
    const ledger = ledgerFor(payments, "INV-2024-00042");
    assert.ok(ledger.length <= 1, JSON.stringify(ledger));
    if (final.isError) {
      assert.equal(errorOf(final).type, "in_progress");
    } else {
      assert.equal(refundOf(final).amount_cents, 700);
      assert.equal(ledger.length, 1);
      assert.equal(ledger[0]!.idempotency_key, derivedKey(key));
      assert.equal(demo.db.countRefunds("INV-2024-00042"), 1);
    }
    // Once settled, the same key only replays.
    const again = await demo.refund("INV-2024-00042", 700, key);
    if (!final.isError) assert.equal(isReplay(again), true);
    assert.ok(ledgerFor(payments, "INV-2024-00042").length <= 1);
  });
});

/**
 * A provider that takes the money but answers after the deadline: a proxy in front of
 * the fake provider forwards each request at once and holds the answer back for `delayMs`.
 */
async function startSlowProxy(target: string, delayMs: () => number) {
  const proxy: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const headers = Object.fromEntries(
        Object.entries(req.headers).filter(([name]) => name !== "host" && name !== "connection"),
      ) as Record<string, string>;
      void fetch(new URL(req.url ?? "/", target), {
        method: req.method ?? "GET",
        headers,
        ...(req.method === "POST" ? { body: Buffer.concat(chunks) } : {}),
      })
        .then(async (answer) => {
          const body = await answer.text();
          await sleep(delayMs());
          if (res.destroyed) return; // the caller gave up
          res.writeHead(answer.status, { "content-type": "application/json" });
          res.end(body);
        })
        .catch(() => res.destroy());
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  const { port } = proxy.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        proxy.close(() => resolve());
        proxy.closeAllConnections();
      }),
  };
}

describe("issue_refund when the provider refunds but answers after the deadline", () => {
  let payments: PaymentsService;
  let proxy: Awaited<ReturnType<typeof startSlowProxy>>;
  let demo: Awaited<ReturnType<typeof startDemo>>;
  let slow = false;

  before(async () => {
    payments = await startPaymentsService({ clientSecret: CLIENT_SECRET });
    proxy = await startSlowProxy(payments.url, () => (slow ? REFUND_TIMEOUT_MS * 2 : 0));
    // Refunds go through the proxy; tokens come straight from the provider.
    demo = await startDemo({
      url: proxy.url,
      tokenUrl: payments.tokenUrl,
      clientId: payments.clientId,
    });
  });
  after(async () => {
    await demo?.close();
    await proxy?.close();
    await payments?.close();
  });

  it("answers timeout, and the retry with the same key gets the provider's first refund", async () => {
    const key = randomUUID();
    slow = true;
    const error = errorOf(await demo.refund("INV-2024-00005", 4_200, key));
    assert.equal(error.type, "timeout");
    // The money moved at the provider, although the caller was told `timeout`.
    await sleep(REFUND_TIMEOUT_MS * 3);
    const ledger = ledgerFor(payments, "INV-2024-00005");
    assert.equal(ledger.length, 1);
    assert.equal(ledger[0]!.idempotency_key, derivedKey(key));

    slow = false;
    const final = await demo.retryUntilSettled("INV-2024-00005", 4_200, key);
    // The retry sent the same derived key, so the provider replayed instead of refunding twice.
    assert.equal(ledgerFor(payments, "INV-2024-00005").length, 1);
    assert.equal(refundOf(final).amount_cents, 4_200);
    assert.equal(demo.db.countRefunds("INV-2024-00005"), 1);
    assert.equal(demo.db.getOrder("INV-2024-00005")!.refunded_cents, 4_200);
    assert.equal(isReplay(await demo.refund("INV-2024-00005", 4_200, key)), true);
  });
});

function ledgerFor(payments: PaymentsService, orderId: string) {
  return payments.ledger().filter((e) => e.order_id === orderId);
}
