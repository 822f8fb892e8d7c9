// Issue 18, defect 12, at the definition: the published input schema of a write tool lists
// `idempotency_key` in `required` (when the key is required and an argument), while the
// arguments are validated without it there: the key may come by `_meta` or header, and the
// idempotency stage refuses a call with no key from any source. The gateway's write tools
// get the same (src/gateway/gateway-tool.ts).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Tool } from "@modelcontextprotocol/client";
import { defineTool } from "../../src/index.js";
import { IDEMPOTENCY_ARGUMENT } from "../../src/client/index.js";
import { buildGatewayTool } from "../../src/gateway/gateway-tool.js";
import type { ToolDefinition } from "../../src/index.js";

const input = {
  type: "object",
  properties: { sku: { type: "string" } },
  required: ["sku"],
} as const;

const define = (idempotency?: { required?: boolean; argument?: boolean }) =>
  defineTool({
    name: "put_item",
    version: "1.0.0",
    description: "Stores an item; changes state.",
    input,
    scopes: [],
    sideEffect: "write",
    ...(idempotency ? { idempotency } : {}),
    handler: () => "ok",
  });

const required = (tool: ToolDefinition) => tool.inputSchema["required"];

describe("defineTool", () => {
  it("publishes idempotency_key as required, and validates a call without it", () => {
    const tool = define();
    assert.deepEqual(required(tool), ["sku", IDEMPOTENCY_ARGUMENT]);
    assert.deepEqual(tool.parseInput({ sku: "A-1" }), { ok: true, value: { sku: "A-1" } });
    assert.deepEqual(tool.parseInput({ sku: "A-1", [IDEMPOTENCY_ARGUMENT]: "k" }), {
      ok: true,
      value: { sku: "A-1" },
    });
    // The rest of the schema still binds.
    assert.equal(tool.parseInput({ [IDEMPOTENCY_ARGUMENT]: "k" }).ok, false);
  });

  it("does not when the key is optional or not an argument", () => {
    assert.deepEqual(required(define({ required: false })), ["sku"]);
    assert.deepEqual(required(define({ argument: false })), ["sku"]);
  });

  it("leaves the caller's schema object as it was", () => {
    assert.deepEqual(input.required, ["sku"]);
  });
});

describe("the gateway's write tools", () => {
  const entry = (inputSchema: Record<string, unknown>): Tool =>
    ({ name: "put_item", inputSchema }) as Tool;
  const build = (inputSchema: Record<string, unknown>) => {
    const outcome = buildGatewayTool({
      prefix: "up",
      entry: entry(inputSchema),
      policy: {},
      timeoutMs: undefined,
      handler: () => "ok",
      version: "1.0.0",
    });
    assert.ok(outcome.ok, outcome.ok ? "" : outcome.reason);
    return outcome.tool;
  };

  it("publish idempotency_key as required and validate a call without it", () => {
    const tool = build({ ...input, required: [...input.required] });
    assert.deepEqual(required(tool), ["sku", IDEMPOTENCY_ARGUMENT]);
    assert.equal(tool.parseInput({ sku: "A-1" }).ok, true);
  });

  it("replace a toolgate upstream's own key argument, listed once", () => {
    const tool = build({
      type: "object",
      properties: { sku: { type: "string" }, [IDEMPOTENCY_ARGUMENT]: { type: "string" } },
      required: ["sku", IDEMPOTENCY_ARGUMENT],
    });
    assert.deepEqual(required(tool), ["sku", IDEMPOTENCY_ARGUMENT]);
    assert.equal(tool.parseInput({ sku: "A-1" }).ok, true);
  });

  it("of an upstream schema without `required`", () => {
    const tool = build({ type: "object", properties: { sku: { type: "string" } } });
    assert.deepEqual(required(tool), [IDEMPOTENCY_ARGUMENT]);
    assert.equal(tool.parseInput({}).ok, true);
  });
});
