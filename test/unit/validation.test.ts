import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as z from "zod";
import { createToolServer, defineTool } from "../../src/index.js";
import { silentLogger } from "../../src/server/index.js";
import type { FieldIssue } from "../../src/index.js";

function tool(
  input: Parameters<typeof defineTool>[0]["input"],
  handler: () => string = () => "ok",
) {
  return defineTool({
    name: "place_order",
    version: "1.0.0",
    description: "Places an order.",
    scopes: [],
    sideEffect: "write",
    input,
    handler,
  });
}

/** The issues of a rejected input; fails the test if the input was accepted. */
function issuesOf(t: ReturnType<typeof tool>, raw: unknown): FieldIssue[] {
  const outcome = t.parseInput(raw);
  assert.equal(outcome.ok, false, `expected ${JSON.stringify(raw)} to be rejected`);
  return outcome.ok ? [] : outcome.issues;
}

function issueAt(issues: FieldIssue[], path: string): FieldIssue {
  const issue = issues.find((i) => i.path === path);
  assert.ok(issue, `no issue at ${path}; got ${JSON.stringify(issues)}`);
  return issue;
}

const order = tool({
  type: "object",
  properties: {
    orderId: { type: "string", pattern: "^INV-\\d{4}-\\d{5}$", description: "INV-YYYY-NNNNN" },
    color: { enum: ["red", "blue"] },
    email: { type: "string", format: "email" },
    at: { type: "string", format: "date-time" },
    items: {
      type: "array",
      items: {
        type: "object",
        properties: {
          sku: { type: "string" },
          qty: { type: "integer", minimum: 1, description: "How many units, at least 1" },
        },
        required: ["sku", "qty"],
      },
    },
  },
  required: ["orderId", "items"],
});

describe("parseInput field issues", () => {
  it("accepts a valid value", () => {
    const value = {
      orderId: "INV-2024-00001",
      color: "red",
      email: "a@example.com",
      at: "2024-05-01T12:00:00Z",
      items: [{ sku: "A", qty: 1 }],
    };
    assert.deepEqual(order.parseInput(value), { ok: true, value });
  });

  it("reports JSON Pointer paths into nested arrays and objects, every bad field", () => {
    const issues = issuesOf(order, {
      orderId: "INV-2024-00001",
      items: [{ sku: "A", qty: 1 }, { sku: "B", qty: 2 }, { sku: "C", qty: 0 }, { sku: 5 }],
      color: "green",
    });
    assert.deepEqual(issues.map((i) => i.path).sort(), [
      "/color",
      "/items/2/qty",
      "/items/3/qty",
      "/items/3/sku",
    ]);
    assert.match(issueAt(issues, "/items/2/qty").message, />= 1/);
  });

  it("points a missing property at its own path and describes it", () => {
    const issues = issuesOf(order, { items: [{ sku: "A" }] });
    assert.deepEqual(issueAt(issues, "/orderId"), {
      path: "/orderId",
      message: "is required",
      expected: "INV-YYYY-NNNNN",
    });
    assert.equal(issueAt(issues, "/items/0/qty").expected, "How many units, at least 1");
  });

  it("gives pattern errors the pattern and the description", () => {
    const issue = issueAt(issuesOf(order, { orderId: "99", items: [] }), "/orderId");
    assert.match(issue.expected ?? "", /\^INV-\\d\{4\}-\\d\{5\}\$/);
    assert.match(issue.expected ?? "", /INV-YYYY-NNNNN/);
  });

  it("lists the allowed values of an enum", () => {
    const issue = issueAt(
      issuesOf(order, { orderId: "INV-2024-00001", items: [], color: "x" }),
      "/color",
    );
    assert.match(issue.message, /"red", "blue"/);
    assert.match(issue.expected ?? "", /"red", "blue"/);
  });

  it("reports type errors with the expected type", () => {
    const issues = issuesOf(order, { orderId: 7, items: "many" });
    assert.deepEqual(issueAt(issues, "/orderId"), {
      path: "/orderId",
      message: "must be a string",
      expected: "string",
    });
    assert.equal(issueAt(issues, "/items").message, "must be an array");
  });

  it("checks formats (email, date-time)", () => {
    const issues = issuesOf(order, {
      orderId: "INV-2024-00001",
      items: [],
      email: "not-an-email",
      at: "yesterday",
    });
    assert.equal(issueAt(issues, "/email").expected, "email");
    assert.equal(issueAt(issues, "/at").expected, "date-time");
  });

  it("rejects unknown properties at every level", () => {
    const issues = issuesOf(order, {
      orderId: "INV-2024-00001",
      items: [{ sku: "A", qty: 1, discount: 100 }],
      admin: true,
    });
    assert.deepEqual(issues.map((i) => i.path).sort(), ["/admin", "/items/0/discount"]);
    assert.match(issueAt(issues, "/admin").message, /not an allowed property/);
  });

  it("escapes '~' and '/' in property names (RFC 6901)", () => {
    const t = tool({
      type: "object",
      properties: { "a/b~c": { type: "string", pattern: "^x+$", description: "only xs" } },
    });
    const issue = issueAt(issuesOf(t, { "a/b~c": "y", "x~/y": 1 }), "/a~1b~0c");
    assert.match(issue.expected ?? "", /only xs/);
    issueAt(issuesOf(t, { "x~/y": 1 }), "/x~0~1y");
  });

  for (const raw of [null, [], "text", 42, true]) {
    it(`rejects ${JSON.stringify(raw)} as the whole arguments without throwing`, () => {
      assert.deepEqual(issuesOf(order, raw), [
        { path: "", message: "must be an object", expected: "object" },
      ]);
    });
  }
});

describe("parseInput with zod", () => {
  const refined = tool(
    z
      .object({ password: z.string(), confirm: z.string() })
      .refine((v) => v.password === v.confirm, {
        message: "must equal password",
        path: ["confirm"],
      }),
  );

  it("applies refinements that JSON Schema cannot express, with a path", () => {
    assert.deepEqual(issuesOf(refined, { password: "a", confirm: "b" }), [
      { path: "/confirm", message: "must equal password" },
    ]);
    assert.equal(refined.parseInput({ password: "a", confirm: "a" }).ok, true);
  });

  it("checks JSON Schema first, so a wrong type never reaches the refinement", () => {
    assert.deepEqual(
      issuesOf(refined, { password: 1, confirm: "b" }).map((i) => i.path),
      ["/password"],
    );
  });

  it("hands the handler zod's output: defaults filled, transforms applied", async () => {
    let received: unknown;
    const t = defineTool({
      name: "count",
      version: "1.0.0",
      description: "Counts.",
      scopes: [],
      sideEffect: "read",
      input: z.object({ qty: z.number().default(5), word: z.string().transform((s) => s.length) }),
      handler: (args) => {
        received = args;
        return "ok";
      },
    });
    assert.deepEqual(t.parseInput({ word: "abc" }), { ok: true, value: { qty: 5, word: 3 } });
    const server = createToolServer({
      name: "s",
      version: "1.0.0",
      tools: [t],
      logger: silentLogger(),
    });
    const result = await server.callTool("count", { word: "hello" });
    assert.equal(result.isError, undefined);
    assert.deepEqual(received, { qty: 5, word: 5 });
  });

  // Known src bug: Ajv runs with useDefaults, which writes defaults into the caller's object,
  // so CallContext.rawArguments is no longer "exactly as the client sent them".
  it("does not modify the caller's arguments", () => {
    const t = tool(z.object({ qty: z.number().default(5) }));
    const raw = {};
    assert.equal(t.parseInput(raw).ok, true);
    assert.deepEqual(raw, {});
  });
});

describe("validateInput stage", () => {
  it("answers bad arguments with invalid_input listing every field", async () => {
    let ran = false;
    const t = tool(
      {
        type: "object",
        properties: { orderId: { type: "string" }, qty: { type: "integer", minimum: 1 } },
        required: ["orderId", "qty"],
      },
      () => {
        ran = true;
        return "ok";
      },
    );
    const server = createToolServer({
      name: "s",
      version: "1.0.0",
      tools: [t],
      logger: silentLogger(),
    });
    const result = await server.callTool("place_order", { qty: 0, extra: 1 });
    assert.equal(ran, false, "the handler never sees invalid arguments");
    assert.equal(result.isError, true);
    const error = (result.structuredContent as { error: Record<string, unknown> }).error;
    assert.equal(error["type"], "invalid_input");
    assert.equal(error["retryable"], false);
    const issues = (error["details"] as { issues: FieldIssue[] }).issues;
    assert.deepEqual(issues.map((i) => i.path).sort(), ["/extra", "/orderId", "/qty"]);
    for (const path of ["/extra", "/orderId", "/qty"]) {
      assert.ok(String(error["message"]).includes(path), `message names ${path}`);
    }
    assert.match(String(error["message"]), /place_order/);
  });

  it("validates missing arguments as an empty object", async () => {
    const t = tool({
      type: "object",
      properties: { orderId: { type: "string" } },
      required: ["orderId"],
    });
    const server = createToolServer({
      name: "s",
      version: "1.0.0",
      tools: [t],
      logger: silentLogger(),
    });
    const result = await server.callTool("place_order");
    const error = (
      result.structuredContent as { error: { type: string; details: { issues: FieldIssue[] } } }
    ).error;
    assert.equal(error.type, "invalid_input");
    assert.deepEqual(
      error.details.issues.map((i) => i.path),
      ["/orderId"],
    );
  });
});
