import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { diffSchemas, mostSevere } from "../../src/contract/schema-diff.js";
import type { JsonSchema } from "../../src/validation/json-schema.js";
import { schemaPairs } from "./fixtures/schema-pairs.js";

const KINDS = new Set(["breaking", "behavioural", "compatible"]);

describe("diffSchemas: fixture pairs", () => {
  it("has at least 40 cases with unique names", () => {
    assert.ok(schemaPairs.length >= 40, `${schemaPairs.length} cases`);
    assert.equal(new Set(schemaPairs.map((c) => c.name)).size, schemaPairs.length);
  });

  for (const pair of schemaPairs) {
    it(`${pair.name} -> ${pair.expect}`, () => {
      const changes = diffSchemas(pair.before, pair.after, pair.direction);
      const dump = JSON.stringify(changes, null, 2);
      assert.equal(mostSevere(changes) ?? "none", pair.expect, dump);
      if (pair.pathIncludes !== undefined) {
        const worst = changes.filter((c) => c.kind === pair.expect);
        assert.ok(
          worst.some((c) => c.path.includes(pair.pathIncludes!)),
          `no ${pair.expect} change at a path including ${pair.pathIncludes}: ${dump}`,
        );
      }
      for (const change of changes) {
        assert.ok(change.message.startsWith(pair.direction), change.message);
        assert.ok(change.path === "" || change.path.startsWith("/"), change.path);
      }
    });
  }

  it("is symmetric in the obvious way: swapping before and after swaps narrowing and widening", () => {
    const narrow = { type: "object", properties: { n: { type: "number" } } };
    const wide = { type: "object", properties: { n: { type: "integer" } } };
    assert.equal(mostSevere(diffSchemas(narrow, wide, "input")), "breaking");
    assert.equal(mostSevere(diffSchemas(wide, narrow, "input")), "compatible");
    assert.equal(mostSevere(diffSchemas(narrow, wide, "output")), "compatible");
    assert.equal(mostSevere(diffSchemas(wide, narrow, "output")), "breaking");
  });
});

describe("diffSchemas: messages", () => {
  const amount = (maximum: number) => ({
    type: "object",
    properties: { amount_cents: { type: "integer", minimum: 1, maximum } },
    additionalProperties: false,
  });

  it("explains a lowered maximum with the range that now fails", () => {
    const [change, ...rest] = diffSchemas(amount(100000), amount(50000), "input");
    assert.equal(rest.length, 0);
    assert.deepEqual(change, {
      kind: "breaking",
      path: "/amount_cents",
      message:
        "input/amount_cents: maximum lowered from 100000 to 50000 (callers sending 50001-100000 now fail)",
    });
  });

  it("gives a word diff for description changes", () => {
    const s = (description: string) => ({
      type: "object",
      properties: { reason: { type: "string", description } },
    });
    const [change] = diffSchemas(
      s("Refund part of an order"),
      s("Refund all of an order"),
      "input",
    );
    assert.equal(change!.kind, "behavioural");
    assert.equal(change!.wordDiff, "Refund [-part-] {+all+} of an order");
    assert.match(change!.message, /^input\/reason: description changed/);
  });

  it("says when something could not be proven compatible", () => {
    const s = (not: JsonSchema) => ({ type: "object", properties: { a: { not } } });
    const [change] = diffSchemas(s({ type: "string" }), s({ type: "number" }), "input");
    assert.equal(change!.kind, "breaking");
    assert.match(change!.message, /could not be proven compatible/);
  });

  it("uses /* for array items and additional properties and escapes pointer segments", () => {
    const s = (required: string[]) => ({
      type: "object",
      properties: {
        "a/b": {
          type: "array",
          items: { type: "object", properties: { "x~y": { type: "string" } }, required },
        },
      },
    });
    const changes = diffSchemas(s([]), s(["x~y"]), "input");
    assert.deepEqual(
      changes.map((c) => c.path),
      ["/a~1b/*/x~0y"],
    );
  });

  it("reports output fields that are no longer always present", () => {
    const s = (required: string[]) => ({
      type: "object",
      properties: { total: { type: "integer" } },
      required,
    });
    const [change] = diffSchemas(s(["total"]), s([]), "output");
    assert.equal(change!.kind, "breaking");
    assert.match(change!.message, /^output\/total: .*no longer always present/);
  });

  it("terminates on a schema that refers to itself directly", () => {
    const s = {
      type: "object",
      properties: { a: { $ref: "#/$defs/A" } },
      $defs: { A: { $ref: "#/$defs/A" } },
    };
    assert.deepEqual(diffSchemas(s, structuredClone(s), "input"), []);
    const t = { type: "object", properties: { a: { $ref: "#" } } };
    assert.deepEqual(diffSchemas(t, structuredClone(t), "input"), []);
    const u = structuredClone(t);
    (u.properties as Record<string, unknown>)["b"] = { type: "string" };
    assert.equal(mostSevere(diffSchemas(t, u, "output")), "compatible");
  });
});

// --- property: a schema never differs from itself --------------------------------------

const KEYS = ["a", "b", "c"];

const leaf: fc.Arbitrary<JsonSchema> = fc.oneof(
  fc.record(
    {
      type: fc.constantFrom("string", "number", "integer", "boolean", "null"),
      minLength: fc.nat(5),
      maximum: fc.integer({ min: -5, max: 100 }),
      pattern: fc.constantFrom("^a", "b$", "[0-9]+"),
      format: fc.constantFrom("email", "uri"),
      description: fc.string({ maxLength: 12 }),
      default: fc.jsonValue({ maxDepth: 1 }),
    },
    { requiredKeys: ["type"] },
  ),
  fc.record({
    enum: fc.uniqueArray(fc.oneof(fc.string({ maxLength: 3 }), fc.integer(), fc.constant(null)), {
      minLength: 1,
      maxLength: 4,
    }),
  }),
  fc.record({ const: fc.jsonValue({ maxDepth: 1 }) }),
  fc.record({ type: fc.constant(["string", "null"]) }),
  fc.constant({ $ref: "#/$defs/A" }),
  fc.constant({ $ref: "#/$defs/B" }),
  fc.constant({}),
);

const { schema } = fc.letrec<{ schema: JsonSchema }>((tie) => ({
  schema: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leaf,
    fc
      .record(
        {
          properties: fc.dictionary(fc.constantFrom(...KEYS), tie("schema"), { maxKeys: 3 }),
          required: fc.uniqueArray(fc.constantFrom(...KEYS), { maxLength: 3 }),
          additionalProperties: fc.oneof(fc.boolean(), tie("schema")),
          minProperties: fc.nat(3),
        },
        { requiredKeys: ["properties"] },
      )
      .map((s) => ({ type: "object", ...s })),
    fc
      .record(
        {
          items: tie("schema"),
          prefixItems: fc.array(tie("schema"), { maxLength: 2 }),
          maxItems: fc.nat(5),
          uniqueItems: fc.boolean(),
        },
        { requiredKeys: [] },
      )
      .map((s) => ({ type: "array", ...s })),
    fc.record({ anyOf: fc.array(tie("schema"), { minLength: 1, maxLength: 3 }) }),
    fc.record({ oneOf: fc.array(tie("schema"), { minLength: 1, maxLength: 3 }) }),
    fc.record({
      allOf: fc.array(tie("schema"), { minLength: 1, maxLength: 3 }),
      unevaluatedProperties: fc.boolean(),
    }),
    fc.record({ not: tie("schema") }),
    fc.record({ if: tie("schema"), then: tie("schema") }),
  ),
}));

/** A root object with $defs (A may refer to itself, B to A), as tool schemas look. */
const rootSchema: fc.Arbitrary<JsonSchema> = fc
  .record({ body: schema, a: schema, b: schema })
  .map(({ body, a, b }) => ({
    type: "object",
    properties: { body, tree: { type: "object", properties: { self: { $ref: "#/$defs/A" } } } },
    $defs: { A: a, B: { allOf: [b, { $ref: "#/$defs/A" }] } },
  }));

/** The same schema with every object's keys in reverse order. */
function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .reverse()
      .map(([k, v]) => [k, reverseKeys(v)]),
  );
}

describe("diffSchemas: properties", () => {
  it("diffSchemas(x, x) is [] for random schemas", () => {
    fc.assert(
      fc.property(rootSchema, fc.constantFrom("input", "output"), (x, direction) => {
        assert.deepEqual(diffSchemas(x, structuredClone(x), direction), []);
        assert.deepEqual(diffSchemas(x, reverseKeys(x) as JsonSchema, direction), []);
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 300) },
    );
  });

  it("never throws and only reports known kinds for random pairs", () => {
    fc.assert(
      fc.property(rootSchema, rootSchema, fc.constantFrom("input", "output"), (x, y, direction) => {
        for (const change of diffSchemas(x, y, direction)) {
          assert.ok(KINDS.has(change.kind));
          assert.ok(change.message.startsWith(direction));
        }
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 200) },
    );
  });
});
