import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as z from "zod";
import { defineTool } from "../../src/index.js";

const handler = () => "ok";

/** A valid read tool; each test overrides one option. */
function spec(overrides: Record<string, unknown> = {}) {
  return {
    name: "get_order",
    version: "1.0.0",
    description: "Looks up one order by its ID.",
    scopes: ["orders:read"],
    sideEffect: "read",
    input: z.object({ orderId: z.string() }),
    handler,
    ...overrides,
  } as Parameters<typeof defineTool>[0];
}

describe("defineTool option checks", () => {
  it("accepts a valid definition", () => {
    const tool = defineTool(spec());
    assert.equal(tool.name, "get_order");
    assert.equal(tool.version, "1.0.0");
    assert.deepEqual(tool.scopes, ["orders:read"]);
  });

  const bad: [string, Record<string, unknown>, RegExp][] = [
    ["a name with a space", { name: "get order" }, /name must be 1-128 characters/],
    ["a name with a slash", { name: "orders/get" }, /name must be 1-128 characters/],
    ["an empty name", { name: "" }, /name must be 1-128 characters/],
    ["a name of 129 characters", { name: "a".repeat(129) }, /name must be 1-128 characters/],
    ["a non-string name", { name: 42 }, /name must be/],
    ["a non-semver version", { version: "1.0" }, /version must be a semantic version/],
    ["a 'v'-prefixed version", { version: "v1.0.0" }, /version must be a semantic version/],
    ["an empty description", { description: "" }, /description is required/],
    ["a blank description", { description: "   " }, /description is required/],
    ["a bad sideEffect", { sideEffect: "delete" }, /sideEffect must be "read" or "write"/],
    ["a missing sideEffect", { sideEffect: undefined }, /sideEffect must be/],
    ["a scope with a space", { scopes: ["orders read"] }, /scopes must be an array/],
    ["scopes as a string", { scopes: "orders:read" }, /scopes must be an array/],
    ["missing scopes", { scopes: undefined }, /scopes must be an array/],
    ["timeoutMs 0", { timeoutMs: 0 }, /timeoutMs must be a positive integer/],
    ["a negative timeoutMs", { timeoutMs: -5 }, /timeoutMs must be a positive integer/],
    ["a fractional timeoutMs", { timeoutMs: 1.5 }, /timeoutMs must be a positive integer/],
    ["a timeoutMs past setTimeout's limit", { timeoutMs: 2 ** 31 }, /timeoutMs must be/],
    ["a non-function handler", { handler: "run" }, /handler must be a function/],
    ["a zod string as input", { input: z.string() }, /input must describe an object/],
    [
      "a JSON schema string as input",
      { input: { type: "string" } },
      /input must describe an object/,
    ],
    ["an array as input", { input: [] }, /input must be a zod schema or a JSON Schema object/],
    [
      "zod that JSON Schema cannot express",
      { input: z.object({ at: z.date() }) },
      /cannot be expressed/,
    ],
    [
      "an invalid JSON Schema",
      { input: { type: "object", minProperties: "x" } },
      /not a valid JSON Schema/,
    ],
    [
      "readOnlyHint in annotations",
      { annotations: { readOnlyHint: true } },
      /readOnlyHint is derived/,
    ],
  ];
  for (const [label, override, message] of bad) {
    it(`rejects ${label} with a TypeError`, () => {
      assert.throws(
        () => defineTool(spec(override)),
        (error: unknown) => {
          assert.ok(error instanceof TypeError, `expected a TypeError, got ${String(error)}`);
          assert.match(error.message, message);
          return true;
        },
      );
    });
  }

  it("names the tool in its messages", () => {
    assert.throws(() => defineTool(spec({ name: "refund", version: "one" })), /Tool 'refund'/);
  });

  it("accepts names of exactly 128 characters and prerelease versions", () => {
    assert.equal(defineTool(spec({ name: "a".repeat(128) })).name.length, 128);
    assert.equal(
      defineTool(spec({ version: "2.1.0-beta.1+build.5" })).version,
      "2.1.0-beta.1+build.5",
    );
  });
});

describe("defineTool annotations", () => {
  it("derives readOnlyHint true for a read tool", () => {
    const tool = defineTool(spec({ title: "Get order" }));
    assert.deepEqual(tool.annotations, { readOnlyHint: true, title: "Get order" });
  });

  it("marks a write tool destructive and idempotent (keys are on by default)", () => {
    const tool = defineTool(spec({ sideEffect: "write" }));
    assert.deepEqual(tool.annotations, {
      readOnlyHint: false,
      destructiveHint: true,
      idempotentHint: true,
    });
  });

  it("marks a write tool without idempotency keys non-idempotent", () => {
    const tool = defineTool(spec({ sideEffect: "write", idempotency: false }));
    assert.deepEqual(tool.annotations, {
      readOnlyHint: false,
      destructiveHint: true,
      idempotentHint: false,
    });
  });

  it("keeps the author's hints for a write tool", () => {
    const tool = defineTool(
      spec({
        sideEffect: "write",
        annotations: { destructiveHint: false, idempotentHint: true, openWorldHint: false },
      }),
    );
    assert.deepEqual(tool.annotations, {
      readOnlyHint: false,
      destructiveHint: false,
      idempotentHint: true,
      openWorldHint: false,
    });
  });
});

describe("defineTool immutability", () => {
  it("freezes the definition, its annotations, scopes and schemas", () => {
    const tool = defineTool(
      spec({ output: { type: "object", properties: { n: { type: "number" } } } }),
    );
    for (const value of [
      tool,
      tool.annotations,
      tool.scopes,
      tool.inputSchema,
      tool.outputSchema,
    ]) {
      assert.equal(Object.isFrozen(value), true);
    }
    assert.equal(
      Object.isFrozen((tool.inputSchema["properties"] as Record<string, object>)["orderId"]),
      true,
    );
    assert.throws(() => {
      (tool as { name: string }).name = "other";
    }, TypeError);
  });

  it("copies the scopes and the JSON Schema it was given", () => {
    const scopes = ["orders:read"];
    const input = { type: "object", properties: { orderId: { type: "string" } } };
    const tool = defineTool(spec({ scopes, input }));
    scopes.push("admin");
    assert.deepEqual(tool.scopes, ["orders:read"]);
    assert.equal("additionalProperties" in input, false, "the author's schema is not modified");
  });
});

describe("defineTool schema conversion", () => {
  it("converts zod input to a closed JSON Schema object", () => {
    const tool = defineTool(
      spec({ input: z.object({ orderId: z.string().describe("INV-YYYY-NNNNN") }) }),
    );
    assert.deepEqual(tool.inputSchema, {
      type: "object",
      properties: { orderId: { type: "string", description: "INV-YYYY-NNNNN" } },
      required: ["orderId"],
      additionalProperties: false,
    });
  });

  it("closes plain JSON Schema objects at every level", () => {
    const input = {
      type: "object",
      properties: {
        address: { type: "object", properties: { city: { type: "string" } } },
        lines: {
          type: "array",
          items: { type: "object", properties: { sku: { type: "string" } } },
        },
      },
    };
    interface Node {
      additionalProperties?: unknown;
      properties: Record<string, Node>;
      items: Node;
    }
    const schema = defineTool(spec({ input })).inputSchema as unknown as Node;
    assert.equal(schema.additionalProperties, false);
    assert.equal(schema.properties["address"]?.additionalProperties, false);
    assert.equal(schema.properties["lines"]?.items.additionalProperties, false);
  });

  it("keeps an explicit additionalProperties", () => {
    const open = defineTool(spec({ input: { type: "object", additionalProperties: true } }));
    assert.equal(open.inputSchema["additionalProperties"], true);
    assert.deepEqual(open.parseInput({ anything: 1 }), { ok: true, value: { anything: 1 } });

    const typed = defineTool(
      spec({ input: { type: "object", additionalProperties: { type: "number" } } }),
    );
    assert.deepEqual(typed.inputSchema["additionalProperties"], { type: "number" });
    assert.equal(typed.parseInput({ a: 1 }).ok, true);
    assert.equal(typed.parseInput({ a: "x" }).ok, false);
  });

  it("leaves allOf branches open and closes their parent with unevaluatedProperties", () => {
    const input = {
      type: "object",
      allOf: [
        { type: "object", properties: { a: { type: "string" } }, required: ["a"] },
        { type: "object", properties: { b: { type: "number" } } },
      ],
    };
    const tool = defineTool(spec({ input }));
    const schema = tool.inputSchema as { allOf: Record<string, unknown>[] } & Record<
      string,
      unknown
    >;
    assert.equal(schema["unevaluatedProperties"], false);
    assert.equal("additionalProperties" in schema, false);
    for (const branch of schema.allOf) assert.equal("additionalProperties" in branch, false);

    assert.deepEqual(tool.parseInput({ a: "x", b: 2 }), { ok: true, value: { a: "x", b: 2 } });
    const unknown = tool.parseInput({ a: "x", b: 2, c: true });
    assert.equal(unknown.ok, false);
    assert.deepEqual(!unknown.ok && unknown.issues.map((i) => i.path), ["/c"]);
  });

  it("converts a zod output schema with the same closing rule", () => {
    const tool = defineTool(spec({ output: z.object({ total: z.number() }) }));
    assert.equal(tool.outputSchema?.["additionalProperties"], false);
    assert.equal(tool.checkOutput?.({ total: 1 }).ok, true);
    assert.equal(tool.checkOutput?.({ total: 1, secret: "x" }).ok, false);
  });

  // Known src bug (closeObjects in src/validation/json-schema.ts): in-place applicators other
  // than allOf (if/then/else, anyOf/oneOf, $ref targets) are closed with additionalProperties:
  // false, so they reject the parent's properties. These tests fail until that is fixed.
  it("applies an if/then constraint even when the instance has other properties", () => {
    const input = {
      type: "object",
      properties: { kind: { type: "string" }, amount: { type: "number" } },
      if: { properties: { kind: { const: "refund" } }, required: ["kind"] },
      then: { properties: { amount: { maximum: 100 } } },
    };
    const tool = defineTool(spec({ input }));
    assert.equal(tool.parseInput({ kind: "refund", amount: 50 }).ok, true);
    assert.equal(
      tool.parseInput({ kind: "refund", amount: 5000 }).ok,
      false,
      "then: amount <= 100",
    );
  });

  it("accepts props from two allOf branches that are $refs to $defs", () => {
    const input = {
      type: "object",
      allOf: [{ $ref: "#/$defs/A" }, { $ref: "#/$defs/B" }],
      $defs: {
        A: { type: "object", properties: { a: { type: "string" } } },
        B: { type: "object", properties: { b: { type: "string" } } },
      },
    };
    const tool = defineTool(spec({ input }));
    assert.deepEqual(tool.parseInput({ a: "x", b: "y" }), { ok: true, value: { a: "x", b: "y" } });
    assert.equal(tool.parseInput({ a: "x", c: "y" }).ok, false);
  });
});
