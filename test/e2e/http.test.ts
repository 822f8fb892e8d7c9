// End-to-end over real HTTP on 127.0.0.1 with the official SDK client, in both protocol
// eras: "legacy" (2025-11-25, initialize handshake) and "auto" (2026-07-28, stateless).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { CallToolResult, Tool } from "@modelcontextprotocol/client";
import { ERROR_TYPES, ERROR_TYPE_NAMES } from "../../src/errors/index.js";
import {
  ERROR_CASES,
  FORBIDDEN_SCOPES,
  IN_PROGRESS_RETRY_MS,
  RATE_LIMIT_RETRY_MS,
  SECRET,
  SLOW_TIMEOUT_MS,
  UNAVAILABLE_RETRY_MS,
  createFixtureTools,
  type FixtureToolSet,
} from "../fixtures/tools.js";
import {
  CLIENT_MODES,
  EXPECTED_PROTOCOL,
  assertNoLeak,
  cancelWaitingCall,
  connectClient,
  expectToolError,
  startServer,
  type ConnectedClient,
  type RunningServer,
} from "../helpers/server.js";
import { dig } from "../helpers/json.js";

/** Strings of server-side causes that must never reach a client, besides the stack markers. */
const CAUSE_FRAGMENTS = [SECRET, "/srv/app", "10.0.0.5", "ECONNREFUSED", "db.ts"];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Issue {
  path: string;
  message: string;
  expected?: string;
}

function issuesOf(result: CallToolResult): Issue[] {
  const error = expectToolError(result, "invalid_input");
  assert.equal(error.retryable, false);
  const issues = error.details?.["issues"];
  assert.ok(Array.isArray(issues), `details.issues missing in ${JSON.stringify(error)}`);
  for (const issue of issues as Issue[]) {
    assert.match(issue.path, /^\//, `path ${issue.path} must be a JSON Pointer`);
    assert.equal(typeof issue.message, "string");
  }
  return issues as Issue[];
}

function issueAt(issues: Issue[], path: string): Issue {
  const found = issues.find((i) => i.path === path);
  assert.ok(found, `no issue at ${path}; issues: ${JSON.stringify(issues)}`);
  return found;
}

const validShipment = () => ({
  order: {
    id: "ORD-0042",
    items: [
      { sku: "ABC-123", qty: 2, kind: "physical", options: { giftWrap: true } },
      { sku: "XYZ-999", qty: 1, kind: "digital" },
    ],
  },
  priority: "express",
});

test("the fixture tools produce every error type of the registry", () => {
  const produced = new Set<string>(ERROR_CASES.map((c) => c.type));
  assert.deepEqual([...produced].sort(), [...ERROR_TYPE_NAMES].sort());
});

for (const mode of CLIENT_MODES) {
  describe(`HTTP, ${mode} client`, () => {
    let fixtures: FixtureToolSet;
    let running: RunningServer;
    let conn: ConnectedClient;

    before(async () => {
      fixtures = createFixtureTools();
      running = await startServer(fixtures.tools);
      conn = await connectClient(running.url, mode);
    });

    after(async () => {
      await conn?.close();
      await running?.close();
    });

    /** Calls a tool and checks that nothing internal leaks into the result. */
    async function call(name: string, args?: Record<string, unknown>): Promise<CallToolResult> {
      const params = args === undefined ? { name } : { name, arguments: args };
      const result = await conn.client.callTool(params);
      assertNoLeak(result, ...CAUSE_FRAGMENTS);
      return result;
    }

    test(`negotiates ${EXPECTED_PROTOCOL[mode]}`, () => {
      assert.equal(conn.client.getNegotiatedProtocolVersion(), EXPECTED_PROTOCOL[mode]);
      // Stateless serving: no session id is handed out in either era.
      assert.equal(conn.transport.sessionId, undefined);
      assert.equal(conn.client.getServerVersion()?.name, "toolgate-e2e");
    });

    describe("tools/list", () => {
      let tools: Tool[];
      const byName = (name: string): Tool => {
        const tool = tools.find((t) => t.name === name);
        assert.ok(tool, `tool ${name} is not listed`);
        return tool;
      };

      before(async () => {
        ({ tools } = await conn.client.listTools());
        assertNoLeak(tools);
      });

      test("lists every tool by name, in definition order", () => {
        assert.deepEqual(
          tools.map((t) => t.name),
          fixtures.tools.map((t) => t.name),
        );
      });

      test("input schemas are closed objects, at the root and at depth", () => {
        for (const tool of tools) {
          assert.equal(tool.inputSchema.type, "object", tool.name);
          assert.equal(tool.inputSchema["additionalProperties"], false, tool.name);
        }
        const schema = byName("create_shipment").inputSchema;
        const order = dig(schema, "properties", "order");
        assert.equal(dig(order, "additionalProperties"), false);
        const item = dig(order, "properties", "items", "items");
        assert.equal(dig(item, "additionalProperties"), false);
        assert.equal(dig(item, "properties", "options", "additionalProperties"), false);
        assert.deepEqual(dig(item, "properties", "kind", "enum"), ["physical", "digital"]);
        assert.equal(dig(item, "properties", "sku", "pattern"), "^[A-Z]{3}-\\d{3}$");
        assert.deepEqual(dig(item, "required"), ["sku", "qty", "kind"]);
      });

      test("annotations: readOnlyHint is derived from sideEffect", () => {
        for (const def of fixtures.tools) {
          const listed = byName(def.name);
          assert.equal(listed.annotations?.readOnlyHint, def.sideEffect === "read", def.name);
        }
        // Write tools default to destructive and non-idempotent unless the author says otherwise.
        assert.equal(byName("create_shipment").annotations?.destructiveHint, true);
        assert.equal(byName("create_shipment").annotations?.idempotentHint, false);
        assert.equal(byName("reserve_seat").annotations?.idempotentHint, true);
        assert.equal(byName("echo").annotations?.title, "Echo");
        assert.equal(byName("echo").title, "Echo");
      });

      test("_meta carries the toolgate contract facts", () => {
        for (const def of fixtures.tools) {
          const meta = byName(def.name)._meta;
          assert.equal(meta?.["toolgate/version"], def.version, def.name);
          assert.deepEqual(meta?.["toolgate/scopes"], [...def.scopes], def.name);
          assert.equal(meta?.["toolgate/sideEffect"], def.sideEffect, def.name);
        }
        assert.equal(byName("create_shipment")._meta?.["toolgate/version"], "2.0.0");
      });

      test("output schemas are published", () => {
        const out = byName("report_total").outputSchema;
        assert.ok(out);
        assert.equal(dig(out, "type"), "object");
        assert.deepEqual(dig(out, "required"), ["total", "currency"]);
        assert.equal(byName("echo").outputSchema, undefined);
      });
    });

    describe("successful calls", () => {
      test("echo returns structuredContent and the same JSON as text", async () => {
        const result = await call("echo", { text: "hello", n: 3 });
        assert.notEqual(result.isError, true);
        assert.deepEqual(result.structuredContent, { echoed: "hello", n: 3 });
        const first = result.content[0];
        assert.ok(first?.type === "text");
        assert.deepEqual(JSON.parse(first.text), { echoed: "hello", n: 3 });
      });

      test("a valid nested call succeeds", async () => {
        const result = await call("create_shipment", validShipment());
        assert.notEqual(result.isError, true);
        assert.deepEqual(result.structuredContent, {
          shipmentId: "SHP-ORD-0042",
          itemCount: 2,
          priority: "express",
        });
      });

      test("output matching the output schema passes", async () => {
        const result = await call("report_total", { broken: false });
        assert.notEqual(result.isError, true);
        assert.deepEqual(result.structuredContent, { total: 42.5, currency: "EUR" });
      });

      test("many concurrent calls each get their own answer", async () => {
        const texts = Array.from({ length: 25 }, (_, i) => `msg-${i}`);
        const results = await Promise.all(texts.map((text, n) => call("echo", { text, n })));
        results.forEach((result, n) => {
          assert.deepEqual(result.structuredContent, { echoed: texts[n], n });
        });
      });
    });

    describe("every error type reaches the client in the contract's shape", () => {
      for (const c of ERROR_CASES) {
        test(`${c.type} (${c.tool})`, async () => {
          const result = await call(c.tool, { ...c.args });
          const error = expectToolError(result, c.type);
          assert.equal(error.retryable, ERROR_TYPES[c.type].retryable, "retryable per registry");
          // Only the contract's fields, and the optional ones only where they apply.
          const allowed = ["type", "message", "retryable", "retryAfterMs", "details", "incidentId"];
          for (const key of Object.keys(error))
            assert.ok(allowed.includes(key), `extra field ${key}`);
          const waits = ["in_progress", "rate_limited", "unavailable"].includes(c.type);
          assert.equal(typeof error.retryAfterMs, waits ? "number" : "undefined", "retryAfterMs");
          assert.equal(typeof error.incidentId, c.type === "internal" ? "string" : "undefined");
          // The fixture's error tools declare no outputSchema: all three places carry it.
          assert.deepEqual(Object.keys(result).sort(), [
            "_meta",
            "content",
            "isError",
            "structuredContent",
          ]);
          assert.equal(result.content.length, 1, "one text block");
        });
      }

      test("invalid_input raised by the handler keeps its issues", async () => {
        const error = expectToolError(
          await call("validate_coupon", { code: "SPRING-2019" }),
          "invalid_input",
        );
        assert.match(error.message, /Coupon 'SPRING-2019' has expired/);
        assert.deepEqual(error.details, {
          issues: [{ path: "/code", message: "has expired", expected: "an active coupon code" }],
        });
        assert.equal(error.retryAfterMs, undefined);
        assert.equal(error.incidentId, undefined);
      });

      test("not_found says which ID and what a correct one looks like", async () => {
        const error = expectToolError(
          await call("find_order", { id: "INV-2024-00099" }),
          "not_found",
        );
        assert.equal(
          error.message,
          "No order matches ID 'INV-2024-00099'. Confirm the ID format (INV-YYYY-NNNNN).",
        );
        assert.equal(error.retryable, false);
      });

      test("an unknown tool is not_found", async () => {
        const error = expectToolError(await call("no_such_tool", {}), "not_found");
        assert.match(error.message, /No tool is named 'no_such_tool'/);
      });

      test("conflict carries its details", async () => {
        const error = expectToolError(await call("reserve_seat", { seat: "12A" }), "conflict");
        assert.deepEqual(error.details, { currentState: "reserved" });
        assert.equal(error.retryable, false);
      });

      test("forbidden lists details.requiredScopes", async () => {
        const error = expectToolError(
          await call("delete_order", { id: "INV-2024-00001" }),
          "forbidden",
        );
        assert.deepEqual(error.details, { requiredScopes: FORBIDDEN_SCOPES });
        assert.equal(error.retryable, false);
      });

      test("in_progress and rate_limited are retryable with retryAfterMs", async () => {
        const busy = expectToolError(await call("start_export", {}), "in_progress");
        assert.equal(busy.retryable, true);
        assert.equal(busy.retryAfterMs, IN_PROGRESS_RETRY_MS);
        const limited = expectToolError(
          await call("send_email", { to: "a@example.com" }),
          "rate_limited",
        );
        assert.equal(limited.retryable, true);
        assert.equal(limited.retryAfterMs, RATE_LIMIT_RETRY_MS);
      });

      test("unavailable is retryable and its cause stays on the server", async () => {
        const error = expectToolError(await call("query_db", {}), "unavailable");
        assert.equal(error.retryable, true);
        assert.equal(error.retryAfterMs, UNAVAILABLE_RETRY_MS);
        assert.equal(error.message, "The orders database is unavailable. Retry in a few seconds.");
      });

      test("unauthenticated uses the registry's message", async () => {
        const error = expectToolError(await call("whoami", {}), "unauthenticated");
        assert.equal(error.message, ERROR_TYPES.unauthenticated.message);
        assert.equal(error.retryable, false);
      });

      test("internal: generic message and an incident id, no cause", async () => {
        const first = expectToolError(await call("explode", {}), "internal");
        const second = expectToolError(await call("explode", {}), "internal");
        assert.equal(first.message, ERROR_TYPES.internal.message);
        assert.equal(first.retryable, false);
        assert.match(first.incidentId ?? "", UUID);
        assert.notEqual(first.incidentId, second.incidentId, "each incident has its own id");
        assert.equal(first.details, undefined);
      });

      test("output of the wrong shape becomes internal and the data never reaches the client", async () => {
        const result = await call("report_total", { broken: true });
        const error = expectToolError(result, "internal");
        assert.match(error.incidentId ?? "", UUID);
        assert.ok(!JSON.stringify(result).includes("lots"));
      });
    });

    describe("deadlines", () => {
      test("timeout: the handler's signal aborts at the deadline", async () => {
        const startedBefore = fixtures.probes.slowStarted;
        const sawBefore = fixtures.probes.slowSawAbort;
        const t0 = performance.now();
        const result = await call("slow", {});
        const elapsed = performance.now() - t0;
        const error = expectToolError(result, "timeout");
        assert.equal(error.retryable, true);
        assert.match(error.message, new RegExp(`slow did not finish within ${SLOW_TIMEOUT_MS} ms`));
        assert.equal(fixtures.probes.slowStarted, startedBefore + 1);
        assert.equal(fixtures.probes.slowSawAbort, sawBefore + 1, "handler saw signal.aborted");
        assert.equal(fixtures.probes.slowAbortReason, "DeadlineExceeded");
        assert.ok(elapsed >= SLOW_TIMEOUT_MS - 10, `answered after ${elapsed} ms`);
        assert.ok(elapsed < 10_000, `answered after ${elapsed} ms`);
      });

      test("timeout is answered at the deadline even if the handler ignores its signal", async () => {
        const result = await call("slow_ignoring_signal", {});
        const error = expectToolError(result, "timeout");
        assert.equal(error.retryable, true);
        assert.ok(!JSON.stringify(result).includes("too late"));
      });
    });

    describe("cancellation", () => {
      if (mode === "auto") {
        test("aborting a call aborts the handler's signal (the request is dropped)", async () => {
          const { outcome, aborted } = await cancelWaitingCall(
            conn.client,
            fixtures.probes.events,
            "auto-abort",
          );
          assert.ok(outcome instanceof Error, "the aborted call rejects");
          assert.deepEqual((await aborted).slice(1), ["CancelledByClient"]);
        });
      } else {
        // Observed: a 2025-era client cancels with a notifications/cancelled POST, which in
        // stateless serving reaches a fresh server instance, not the running call. The
        // handler is aborted when the client drops the HTTP connection (here: close()), or
        // at its deadline. (With http.sessions the cancellation arrives: sessions.test.ts.)
        test("a cancelled call's handler is aborted when the client goes away", async () => {
          const own = await connectClient(running.url, mode);
          const { outcome, aborted } = await cancelWaitingCall(
            own.client,
            fixtures.probes.events,
            "legacy-abort",
          );
          assert.ok(outcome instanceof Error, "the aborted call rejects at once");
          await own.close();
          assert.deepEqual((await aborted).slice(1), ["CancelledByClient"]);
        });
      }
    });

    describe("malformed and nested arguments", () => {
      test("wrong types deep in arrays point at the exact element", async () => {
        const args = validShipment();
        const items: unknown[] = args.order.items;
        items.push({ sku: "ABC-124", qty: "2", kind: "physical" });
        items.push({ sku: 7, qty: 1, kind: "digital", options: { giftWrap: "yes" } });
        const issues = issuesOf(await call("create_shipment", args));
        assert.equal(issueAt(issues, "/order/items/2/qty").expected, "integer");
        assert.equal(issueAt(issues, "/order/items/3/sku").expected, "string");
        assert.equal(issueAt(issues, "/order/items/3/options/giftWrap").expected, "boolean");
        assert.equal(issues.length, 3, JSON.stringify(issues));
      });

      test("an unknown property at depth is rejected by name", async () => {
        const args = validShipment();
        (args.order.items[0]!.options as Record<string, unknown>)["ribbon"] = "red";
        (args.order as Record<string, unknown>)["a/b~c"] = 1;
        const issues = issuesOf(await call("create_shipment", args));
        assert.match(issueAt(issues, "/order/items/0/options/ribbon").message, /not an allowed/);
        // RFC 6901 escaping: "/" -> "~1", "~" -> "~0".
        issueAt(issues, "/order/a~1b~0c");
        assert.equal(issues.length, 2, JSON.stringify(issues));
      });

      test("a missing required nested field is reported at its path", async () => {
        const args = validShipment();
        delete (args.order.items[1] as Record<string, unknown>)["kind"];
        delete (args.order as Record<string, unknown>)["id"];
        const issues = issuesOf(await call("create_shipment", args));
        assert.equal(issueAt(issues, "/order/items/1/kind").message, "is required");
        assert.equal(issueAt(issues, "/order/id").message, "is required");
        assert.equal(issueAt(issues, "/order/id").expected, "The order ID, ORD-NNNN.");
      });

      test("enum and pattern failures say what is expected", async () => {
        const args = { ...validShipment(), priority: "overnight" };
        args.order.items[0]!.sku = "abc-1";
        args.order.items[1]!.kind = "service";
        const issues = issuesOf(await call("create_shipment", args));
        assert.match(issueAt(issues, "/priority").message, /one of "standard", "express"/);
        assert.match(
          issueAt(issues, "/order/items/0/sku").expected ?? "",
          /\^\[A-Z\]\{3\}-\\d\{3\}\$/,
        );
        assert.match(issueAt(issues, "/order/items/1/kind").message, /"physical", "digital"/);
      });

      test("an empty array where items are required", async () => {
        const args = validShipment();
        args.order.items = [];
        const issues = issuesOf(await call("create_shipment", args));
        issueAt(issues, "/order/items");
      });

      test("arguments omitted entirely are validated as {}", async () => {
        const issues = issuesOf(await call("create_shipment"));
        assert.deepEqual(issues.map((i) => i.path).sort(), ["/order", "/priority"]);
        const echoIssues = issuesOf(await call("echo"));
        assert.deepEqual(
          echoIssues.map((i) => i.path),
          ["/text"],
        );
      });

      test("unknown and mistyped top-level arguments", async () => {
        const issues = issuesOf(await call("echo", { text: 5, n: 1.5, extra: true }));
        assert.deepEqual(issues.map((i) => i.path).sort(), ["/extra", "/n", "/text"]);
      });

      test("the summary message names the first fields and how many more", async () => {
        const error = expectToolError(
          await call("create_shipment", {
            order: { id: 1, items: [{ sku: 1, qty: "x", kind: 3, z: 0 }] },
          }),
          "invalid_input",
        );
        assert.match(error.message, /^Invalid arguments for create_shipment: /);
        assert.match(error.message, /and \d+ more\. Fix these fields and call again\.$/);
      });

      test("the server still answers after bad calls", async () => {
        const result = await call("echo", { text: "still alive" });
        assert.deepEqual(result.structuredContent, { echoed: "still alive", n: null });
      });
    });
  });
}
