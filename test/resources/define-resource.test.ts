// defineResource / defineResourceTemplate check every option once, at startup: a bad
// definition is a TypeError naming the field. So are bad `resources` and
// `resourceTemplates` options of createToolServer (wrong type, duplicates).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  createToolServer,
  defineResource,
  defineResourceTemplate,
  type ResourceSpec,
  type ResourceTemplateSpec,
} from "../../src/index.js";
import { silentLogger } from "../../src/server/index.js";
import { toContents } from "../../src/resources/define-resource.js";

const read = () => "x";
const base: ResourceSpec = { uri: "test://a", name: "a", read };
const baseTemplate: ResourceTemplateSpec = {
  uriTemplate: "test://t/{id}",
  name: "t",
  read: () => "x",
};

function rejects(build: () => unknown, message: RegExp): void {
  assert.throws(build, (error: unknown) => {
    assert.ok(error instanceof TypeError, `not a TypeError: ${String(error)}`);
    assert.match(error.message, message);
    return true;
  });
}

describe("defineResource", () => {
  test("a valid definition, frozen, with its resources/list entry", () => {
    const resource = defineResource({
      ...base,
      title: "A",
      description: "The A resource.",
      mimeType: "text/plain; charset=utf-8",
      annotations: { audience: ["user"], priority: 0.5, lastModified: "2026-01-01T00:00:00Z" },
      size: 12,
      scopes: ["a:read", "a:read"],
      timeoutMs: 1000,
    });
    assert.ok(Object.isFrozen(resource));
    assert.deepEqual(resource.scopes, ["a:read"]);
    assert.deepEqual(resource.listing, {
      uri: "test://a",
      name: "a",
      title: "A",
      description: "The A resource.",
      mimeType: "text/plain; charset=utf-8",
      annotations: { audience: ["user"], priority: 0.5, lastModified: "2026-01-01T00:00:00Z" },
      size: 12,
      _meta: { "toolgate/scopes": ["a:read"] },
    });
  });

  const bad: [string, Record<string, unknown>, RegExp][] = [
    ["no uri", { uri: undefined }, /Resource 'undefined': uri must be an absolute URI/],
    ["relative uri", { uri: "files/a.txt" }, /uri must be an absolute URI/],
    ["uri with spaces", { uri: "test://a b" }, /uri must be an absolute URI/],
    ["template uri", { uri: "test://a/{id}" }, /use defineResourceTemplate/],
    ["no name", { name: "" }, /Resource 'test:\/\/a': name is required/],
    ["title", { title: 1 }, /title must be a string/],
    ["description", { description: {} }, /description must be a string/],
    ["mimeType", { mimeType: "text" }, /mimeType must be a MIME type/],
    ["scopes", { scopes: "a:read" }, /scopes must be an array of scope names/],
    ["scope with a space", { scopes: ["a read"] }, /scopes must be an array/],
    ["timeoutMs", { timeoutMs: 0 }, /timeoutMs must be a positive integer/],
    ["size", { size: -1 }, /size must be a non-negative integer/],
    ["read", { read: "x" }, /read must be a function/],
    ["typo", { mimetype: "text/plain" }, /unknown option 'mimetype'/],
    ["annotations", { annotations: [] }, /annotations must be an object/],
    ["audience", { annotations: { audience: ["bot"] } }, /annotations.audience must be/],
    ["priority", { annotations: { priority: 2 } }, /annotations.priority must be/],
    ["lastModified", { annotations: { lastModified: "yesterday" } }, /lastModified must be/],
    ["annotation typo", { annotations: { prio: 1 } }, /annotations: unknown option 'prio'/],
  ];
  for (const [what, change, message] of bad) {
    test(`rejects ${what}`, () => {
      rejects(() => defineResource({ ...base, ...change }), message);
    });
  }

  test("rejects a non-object", () => {
    rejects(() => defineResource(null as unknown as ResourceSpec), /expects an options object/);
  });
});

describe("defineResourceTemplate", () => {
  test("a valid template knows its variables and matches URIs", () => {
    const template = defineResourceTemplate({
      ...baseTemplate,
      uriTemplate: "test://t/{id}/{+path}",
      complete: { id: () => ["1"] },
    });
    assert.deepEqual(template.variableNames, ["id", "path"]);
    assert.deepEqual(template.match("test://t/7/a/b"), { id: "7", path: "a/b" });
    assert.equal(template.match("test://other/7"), null);
    assert.deepEqual(template.listing, {
      uriTemplate: "test://t/{id}/{+path}",
      name: "t",
      _meta: { "toolgate/scopes": [] },
    });
  });

  const bad: [string, Record<string, unknown>, RegExp][] = [
    ["no uriTemplate", { uriTemplate: "" }, /uriTemplate must be an RFC 6570 URI template/],
    ["invalid template", { uriTemplate: "test://{id" }, /uriTemplate is not a valid URI template/],
    ["no variables", { uriTemplate: "test://fixed" }, /has no \{variables\}; use defineResource/],
    ["no name", { name: undefined }, /Resource template 'test:\/\/t\/\{id\}': name is required/],
    ["read", { read: undefined }, /read must be a function/],
    ["complete type", { complete: [] }, /complete must be an object of functions/],
    [
      "complete key",
      { complete: { nope: () => [] } },
      /complete.nope names no variable \(variables: id\)/,
    ],
    ["complete value", { complete: { id: "1" } }, /complete.id must be a function/],
    ["typo", { uri: "test://x" }, /unknown option 'uri'/],
  ];
  for (const [what, change, message] of bad) {
    test(`rejects ${what}`, () => {
      rejects(() => defineResourceTemplate({ ...baseTemplate, ...change }), message);
    });
  }
});

describe("createToolServer: resources and resourceTemplates", () => {
  const create = (options: Record<string, unknown>) =>
    createToolServer({
      name: "s",
      version: "1.0.0",
      tools: [],
      logger: silentLogger(),
      audit: false,
      ...options,
    });

  test("rejects what is not an array of definitions", () => {
    rejects(() => create({ resources: {} }), /resources must be an array of defineResource/);
    rejects(
      () => create({ resources: [{ uri: "test://a", name: "a", read }] }),
      /resources\[0\] was not built with defineResource/,
    );
    rejects(
      () => create({ resourceTemplates: [defineResource(base)] }),
      /resourceTemplates\[0\] was not built with defineResourceTemplate/,
    );
  });

  test("rejects duplicate URIs and URI templates", () => {
    rejects(
      () => create({ resources: [defineResource(base), defineResource({ ...base, name: "b" })] }),
      /Two resources have the URI 'test:\/\/a'/,
    );
    rejects(
      () =>
        create({
          resourceTemplates: [
            defineResourceTemplate(baseTemplate),
            defineResourceTemplate(baseTemplate),
          ],
        }),
      /Two resource templates have the URI template 'test:\/\/t\/\{id\}'/,
    );
  });
});

describe("toContents", () => {
  test("the single forms get the URI and a MIME type", () => {
    assert.deepEqual(toContents("hi", "test://a", undefined), [
      { uri: "test://a", mimeType: "text/plain", text: "hi" },
    ]);
    assert.deepEqual(toContents(new Uint8Array([0, 1, 2]), "test://a", undefined), [
      { uri: "test://a", mimeType: "application/octet-stream", blob: "AAEC" },
    ]);
    assert.deepEqual(toContents({ blob: "AAEC", mimeType: "image/png" }, "test://a", "x/y"), [
      { uri: "test://a", mimeType: "image/png", blob: "AAEC" },
    ]);
  });

  test("malformed values are TypeErrors (answered as internal errors)", () => {
    for (const value of [
      undefined,
      42,
      { text: "a", blob: "AAEC" },
      { blob: "not base64!" },
      [],
      [{ uri: "test://a" }],
      [{ text: "no uri" }],
      [{ uri: "test://a", blob: "%%%" }],
    ]) {
      assert.throws(
        () => toContents(value, "test://a", undefined),
        TypeError,
        JSON.stringify(value),
      );
    }
  });
});
