// Property: whenever the contract check calls a schema change anything but breaking, no
// value crosses the boundary Ajv draws between the published schemas (inputs: valid
// before and invalid after; outputs: valid after and invalid before). Schema pairs are
// random object schemas and random edits of one (a property added, removed or retyped,
// `required` toggled, extra properties opened or closed, an if/then added or removed).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Ajv2020 } from "ajv/dist/2020.js";
import fc from "fast-check";
import { diffSchemas, mostSevere } from "../../src/contract/schema-diff.js";
import { toJsonSchema, type JsonSchema } from "../../src/validation/json-schema.js";

const ajv = new Ajv2020({ strict: false });
const NAMES = ["a", "b", "c"] as const;

const leaf: fc.Arbitrary<JsonSchema> = fc.constantFrom<JsonSchema>(
  { type: "string" },
  { type: "integer" },
  { type: "number" },
  { type: ["string", "null"] },
  {},
  { type: "string", pattern: "^[ab]+$" },
  { type: "string", pattern: "^[abc]+$" },
  { type: "string", pattern: "a" },
  { enum: ["a", "b"] },
  { enum: ["a"] },
  { type: "string", not: { const: "a" } },
  { type: "integer", maximum: 2 },
  { type: "integer", minimum: 1 },
);
const EXTRAS: (JsonSchema | boolean | undefined)[] = [undefined, true, false, { type: "string" }];
const CONDITIONS: JsonSchema[] = [
  { if: { properties: { a: { const: "a" } }, required: ["a"] }, then: { required: ["b"] } },
  // `then` evaluates an undeclared property: unevaluatedProperties depends on it.
  { if: { properties: { a: { const: "a" } }, required: ["a"] }, then: { properties: { d: {} } } },
];

function objectSchema(child: fc.Arbitrary<JsonSchema>): fc.Arbitrary<JsonSchema> {
  return fc
    .record({
      properties: fc.dictionary(fc.constantFrom(...NAMES), child, { maxKeys: 3 }),
      required: fc.uniqueArray(fc.constantFrom(...NAMES), { maxLength: 2 }),
      extra: fc.constantFrom(...EXTRAS),
      condition: fc.option(fc.constantFrom(...CONDITIONS), { nil: undefined }),
    })
    .map(({ properties, required, extra, condition }) => ({
      type: "object",
      properties,
      required,
      ...(extra === undefined ? {} : { additionalProperties: extra }),
      ...structuredClone(condition ?? {}),
    }));
}

const schema = objectSchema(fc.oneof({ weight: 4, arbitrary: leaf }, objectSchema(leaf)));

/** One random edit of an object schema. */
function edited(x: JsonSchema): fc.Arbitrary<JsonSchema> {
  return fc
    .tuple(fc.nat(7), fc.constantFrom(...NAMES), leaf, fc.constantFrom(...EXTRAS))
    .map(([edit, name, child, extra]) => {
      const y = structuredClone(x) as {
        properties: Record<string, JsonSchema>;
        required: string[];
        [key: string]: unknown;
      };
      const prop = y.properties[name];
      if (edit === 0) y.properties[name] = child;
      else if (edit === 1) delete y.properties[name];
      else if (edit === 2) {
        y.required = y.required.includes(name)
          ? y.required.filter((n) => n !== name)
          : [...y.required, name];
      } else if (edit === 3) {
        if (extra === undefined) delete y["additionalProperties"];
        else y["additionalProperties"] = extra;
      } else if (edit === 4) {
        delete y["if"];
        delete y["then"];
      } else if (edit === 5) Object.assign(y, structuredClone(CONDITIONS[0]));
      else if (edit === 6 && prop) y.properties[name] = { ...prop, ...child };
      else if (edit === 7 && prop) {
        const { type: _type, ...untyped } = prop;
        y.properties[name] = untyped;
      }
      return y;
    });
}

const pair: fc.Arbitrary<[JsonSchema, JsonSchema]> = fc.oneof(
  fc.tuple(schema, schema),
  schema.chain((x) =>
    fc.tuple(
      fc.constant(x),
      edited(x).chain((y) => fc.oneof(fc.constant(y), edited(y))),
    ),
  ),
);
const member = fc.oneof(
  fc.constantFrom<unknown>("a", "b", "ab", "c", "", 0, 1, 2, 3, 1.5, null, true, {}, { a: "a" }),
);
const value = fc.dictionary(fc.constantFrom("a", "b", "c", "d"), member, { maxKeys: 4 });

describe("set inclusion: no value crosses a change not called breaking", () => {
  for (const side of ["input", "output"] as const) {
    it(`${side} schemas`, () => {
      fc.assert(
        fc.property(pair, fc.array(value, { minLength: 30, maxLength: 30 }), ([x, y], values) => {
          const before = toJsonSchema(x, side, "before");
          const after = toJsonSchema(y, side, "after");
          const changes = diffSchemas(before, after, side);
          if (mostSevere(changes) === "breaking") return;
          const [from, to] = side === "input" ? [before, after] : [after, before];
          const validFrom = ajv.compile(from);
          const validTo = ajv.compile(to);
          for (const v of values) {
            assert.ok(
              !validFrom(v) || validTo(v),
              `${JSON.stringify(v)} crosses, yet: ${JSON.stringify(changes)}`,
            );
          }
        }),
        { numRuns: Number(process.env.FC_RUNS ?? 300) },
      );
    });
  }
});
