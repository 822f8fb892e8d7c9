// The contract check follows set inclusion, and every verdict here is checked with Ajv
// (draft 2020-12) against the schemas as toolgate publishes them (toJsonSchema closes
// every object that says nothing about extra properties):
// - INPUT: compatible iff every value valid under the old schema is valid under the new
//   one (deployed models keep sending old-shaped arguments);
// - OUTPUT: compatible iff every value valid under the new schema was valid under the old
//   one (deployed clients validate results against the old published schema).
// A breaking case carries a witness that crosses the boundary; a compatible case carries
// sample values that must not. Cases marked `issue18` are the 3 missed breaking changes
// and the 4 false alarms of issue 18, defect 16.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Ajv2020 } from "ajv/dist/2020.js";
import * as formatsModule from "ajv-formats";
import { diffSchemas, mostSevere } from "../../src/contract/schema-diff.js";
import type { ChangeKind } from "../../src/contract/types.js";
import { toJsonSchema, type JsonSchema } from "../../src/validation/json-schema.js";
import { witnessCases, type WitnessCase } from "./fixtures/witness-cases.js";

const addFormats = ((formatsModule as { default?: unknown }).default ?? formatsModule) as (
  ajv: Ajv2020,
) => Ajv2020;
// No useDefaults (it would change the values under test); otherwise as toolgate validates.
const ajv = addFormats(new Ajv2020({ strict: false, allErrors: true, coerceTypes: false }));

function valid(schema: JsonSchema, value: unknown): boolean {
  return ajv.validate(schema, structuredClone(value));
}

function published(schema: JsonSchema, side: "input" | "output"): JsonSchema {
  return toJsonSchema(schema, side, `witness ${side}`);
}

describe("set inclusion, checked with Ajv witnesses", () => {
  it("has the 7 cases named in issue 18 and at least 40 in all, with unique names", () => {
    assert.equal(witnessCases.filter((c) => c.issue18).length, 7);
    assert.ok(witnessCases.length >= 40, `${witnessCases.length} cases`);
    assert.equal(new Set(witnessCases.map(title)).size, witnessCases.length);
  });

  for (const c of witnessCases) {
    it(`${title(c)} -> ${c.expect}`, () => {
      const before = published(c.before, c.side);
      const after = published(c.after, c.side);
      const changes = diffSchemas(before, after, c.side, { tolerantReader: c.tolerantReader });
      const dump = JSON.stringify(changes, null, 2);
      assert.equal(mostSevere(changes) ?? "none", c.expect, dump);

      // Input: old values must stay valid. Output: new values must have been valid.
      const [from, to] = c.side === "input" ? [before, after] : [after, before];
      if (c.witness !== undefined) {
        assert.ok(valid(from, c.witness), `the witness must be valid under the ${fromName(c)}`);
        assert.ok(!valid(to, c.witness), `the witness must be invalid under the ${toName(c)}`);
      }
      if (c.expect === "breaking" || c.tolerantReader) {
        assert.ok(c.witness !== undefined, "a breaking case needs a witness");
      } else {
        assert.ok((c.samples?.length ?? 0) >= 2, "a compatible case needs samples");
        for (const sample of c.samples ?? []) {
          const shown = JSON.stringify(sample);
          assert.ok(valid(from, sample), `sample ${shown} must be valid under the ${fromName(c)}`);
          assert.ok(valid(to, sample), `sample ${shown} crosses: invalid under the ${toName(c)}`);
        }
      }
    });
  }
});

function title(c: WitnessCase): string {
  return `${c.side}: ${c.name}${c.tolerantReader ? " (tolerantReader)" : ""}`;
}

function fromName(c: { side: "input" | "output" }): string {
  return c.side === "input" ? "old schema" : "new schema";
}

function toName(c: { side: "input" | "output" }): string {
  return c.side === "input" ? "new schema" : "old schema";
}

describe("conservative where inclusion is not decided cheaply", () => {
  const pattern = (p: string): JsonSchema =>
    published({ type: "object", properties: { id: { type: "string", pattern: p } } }, "input");

  it("an equivalent pattern it cannot prove is breaking, and the message says so", () => {
    // Same language ("ab" repeated), written differently: not proven, so not compatible.
    const changes = diffSchemas(pattern("^(ab)+$"), pattern("^a(ba)*b$"), "input");
    assert.equal(mostSevere(changes), "breaking");
    assert.match(changes[0]!.message, /could not be proven/);
  });

  it("a pattern with lookaround or backreferences is never proven", () => {
    for (const [old, now] of [
      ["^a", "^(?=a)"],
      ["^(a)\\1$", "^(a)\\1$|^b$"],
    ] as const) {
      const changes = diffSchemas(pattern(old), pattern(now), "input");
      assert.equal(mostSevere(changes), "breaking", `${old} -> ${now}`);
    }
  });

  it("tolerantReader must be a boolean", () => {
    const s = pattern("^a");
    assert.throws(
      () => diffSchemas(s, s, "output", { tolerantReader: "yes" as unknown as boolean }),
      { name: "TypeError", message: /tolerantReader must be a boolean/ },
    );
  });

  it("tolerantReader changes nothing for inputs", () => {
    for (const c of witnessCases.filter((w) => w.side === "input")) {
      const before = published(c.before, "input");
      const after = published(c.after, "input");
      const kind = (tolerantReader: boolean): ChangeKind | undefined =>
        mostSevere(diffSchemas(before, after, "input", { tolerantReader }));
      assert.equal(kind(true), kind(false), c.name);
    }
  });
});
