// The JSON Schema resolver and walker shared by the audit redactor and the contract differ.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  resolveLocalRef,
  SchemaRefs,
  walkInPlace,
  type SchemaObject,
} from "../../src/schema/walk.js";

describe("resolveLocalRef", () => {
  const root = {
    $defs: {
      Secret: { type: "string" },
      "with/slash~tilde": { const: 1 },
      "with space": { const: 2 },
      "100%": { const: 3 },
    },
    definitions: { Old: { type: "integer" } },
    prefixItems: [{ const: "a" }, { const: "b" }],
  };

  it("resolves #, $defs, definitions and JSON-pointer escapes", () => {
    assert.equal(resolveLocalRef(root, "#"), root);
    assert.equal(resolveLocalRef(root, "#/$defs/Secret"), root.$defs.Secret);
    assert.equal(resolveLocalRef(root, "#/definitions/Old"), root.definitions.Old);
    assert.equal(
      resolveLocalRef(root, "#/$defs/with~1slash~0tilde"),
      root.$defs["with/slash~tilde"],
    );
    assert.equal(resolveLocalRef(root, "#/$defs/with%20space"), root.$defs["with space"]);
    // Not valid %-encoding: the segment is taken as it is written.
    assert.equal(resolveLocalRef(root, "#/$defs/100%"), root.$defs["100%"]);
  });

  it("indexes arrays by position only", () => {
    assert.equal(resolveLocalRef(root, "#/prefixItems/1"), root.prefixItems[1]);
    assert.equal(resolveLocalRef(root, "#/prefixItems/2"), undefined);
    assert.equal(resolveLocalRef(root, "#/prefixItems/length"), undefined);
  });

  it("gives undefined for a missing definition, a remote reference or an anchor", () => {
    assert.equal(resolveLocalRef(root, "#/$defs/Missing"), undefined);
    assert.equal(resolveLocalRef(root, "#/$defs/Secret/type/x"), undefined);
    assert.equal(resolveLocalRef(root, "#/$defs/toString"), undefined);
    assert.equal(resolveLocalRef(root, "https://example.com/s.json#/$defs/Secret"), undefined);
    assert.equal(resolveLocalRef(root, "#Secret"), undefined);
  });
});

describe("SchemaRefs.follow", () => {
  // A tree: a node's children are nodes.
  const root = {
    $ref: "#/$defs/Node",
    $defs: {
      Node: { type: "object", properties: { children: { items: { $ref: "#/$defs/Node" } } } },
    },
  };

  it("follows a recursive $ref once per path, then stops", () => {
    const refs = new SchemaRefs(root);
    const first = refs.follow("#/$defs/Node");
    assert.ok(first);
    assert.equal(first.target, root.$defs.Node);
    assert.deepEqual(first.stack, ["#/$defs/Node"]);
    // The same reference met again inside its own expansion: a cycle, not followed.
    assert.equal(refs.follow("#/$defs/Node", first.stack), undefined);
    // The same reference in a sibling branch (not on its stack) is followed.
    assert.ok(refs.follow("#/$defs/Node", ["#/$defs/Other"]));
  });

  it("gives undefined for a missing definition and for a non-string $ref", () => {
    const refs = new SchemaRefs(root);
    assert.equal(refs.follow("#/$defs/Missing"), undefined);
    assert.equal(refs.follow(42), undefined);
  });

  it("resolves each reference once and keeps the answer", () => {
    const defs: Record<string, unknown> = { A: { const: 1 } };
    const refs = new SchemaRefs({ $defs: defs });
    const before = refs.resolve("#/$defs/A");
    defs["A"] = { const: 2 };
    assert.equal(refs.resolve("#/$defs/A"), before);
  });
});

describe("walkInPlace", () => {
  const visited = (starts: unknown[], refs: SchemaRefs, limit = 100): SchemaObject[] => {
    const out: SchemaObject[] = [];
    walkInPlace(starts, refs, limit, (schema) => {
      out.push(schema);
    });
    return out;
  };

  it("visits references and every in-place applicator, not property subschemas", () => {
    const root: SchemaObject = {
      allOf: [{ title: "all" }],
      anyOf: [{ title: "any" }],
      oneOf: [{ title: "one" }],
      if: { title: "if" },
      then: { title: "then" },
      else: { title: "else" },
      dependentSchemas: { x: { title: "dependent" } },
      $ref: "#/$defs/Ref",
      $dynamicRef: "#/$defs/Dynamic",
      properties: { p: { title: "property" } },
      items: { title: "items" },
      $defs: { Ref: { title: "ref" }, Dynamic: { title: "dynamic" } },
    };
    const titles = visited([root], new SchemaRefs(root)).map((s) => s["title"]);
    assert.deepEqual(
      [...titles].sort(),
      ["all", "any", "dependent", "dynamic", "else", "if", "one", "ref", "then", undefined].sort(),
    );
  });

  it("ends on a reference cycle, visiting each schema once", () => {
    const root: SchemaObject = {
      $ref: "#/$defs/A",
      $defs: { A: { allOf: [{ $ref: "#/$defs/B" }] }, B: { anyOf: [{ $ref: "#/$defs/A" }] } },
    };
    const out = visited([root], new SchemaRefs(root));
    // root, A, A's allOf item, B, B's anyOf item
    assert.equal(out.length, 5);
    assert.equal(new Set(out).size, 5);
  });

  it("skips a reference to a missing definition", () => {
    const root: SchemaObject = { allOf: [{ $ref: "#/$defs/Missing" }, { title: "kept" }] };
    const out = visited([root], new SchemaRefs(root));
    assert.deepEqual(
      out.map((s) => s["title"]),
      [undefined, "kept", undefined],
    );
  });

  it("stops when the visitor says so, and at the limit", () => {
    const root: SchemaObject = { allOf: [{ title: "a" }, { sensitive: true }, { title: "b" }] };
    const refs = new SchemaRefs(root);
    let seen = 0;
    const stopped = walkInPlace([root], refs, 100, (schema) => {
      seen++;
      return schema["sensitive"] === true;
    });
    assert.equal(stopped, true);
    assert.ok(seen < 4);
    assert.equal(
      walkInPlace([root], refs, 100, () => false),
      false,
    );
    const chain: SchemaObject = { title: "0" };
    let tail = chain;
    for (let i = 1; i < 50; i++) {
      const next: SchemaObject = { title: String(i) };
      tail["allOf"] = [next];
      tail = next;
    }
    assert.equal(visited([chain], new SchemaRefs(chain), 10).length, 10);
  });
});
