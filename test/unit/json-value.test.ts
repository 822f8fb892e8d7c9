import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as z from "zod";
import { createToolServer, defineTool } from "../../src/index.js";
import { silentLogger } from "../../src/server/index.js";
import { IDEMPOTENCY_ARGUMENT } from "../../src/client/index.js";
import { nonJsonIssue } from "../../src/validation/json-value.js";
import { expectToolError } from "../helpers/server.js";
import { MCP_HEADERS, parseOne, rawRequest } from "../helpers/http.js";

describe("nonJsonIssue: what JSON.parse lets through but JSON cannot carry", () => {
  it("names the first non-finite number, lone surrogate or __proto__ key by JSON Pointer", () => {
    const cases: [string, string, RegExp][] = [
      ['{"a":{"b":1e999}}', "/a/b", /finite/],
      ['{"a":[1,-1e999]}', "/a/1", /finite/],
      ['{"note":"x\\ud800y"}', "/note", /surrogate/],
      ['{"x\\udc00":1}', "/x\udc00", /surrogate/],
      ['{"a":{"__proto__":{"polluted":true}}}', "/a/__proto__", /key name/],
      ['{"a/b":{"~":1e999}}', "/a~1b/~0", /finite/],
    ];
    for (const [text, path, message] of cases) {
      const issue = nonJsonIssue(JSON.parse(text));
      assert.equal(issue?.path, path, text);
      assert.match(issue.message, message);
    }
  });

  it("passes plain JSON data, however deep, without recursion", () => {
    assert.equal(nonJsonIssue({ a: [1, "é😀", null, true, { b: -0 }] }), undefined);
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    assert.equal(nonJsonIssue(deep), undefined);
    assert.equal(nonJsonIssue(undefined), undefined);
  });
});

describe("validateInput refuses such arguments as invalid_input, for reads and writes", () => {
  const schema = { type: "object", properties: { n: { type: "number" }, s: { type: "string" } } };
  let runs = 0;
  const tools = [
    defineTool({
      name: "put",
      version: "1.0.0",
      description: "Writes.",
      input: schema,
      scopes: [],
      sideEffect: "write",
      handler: () => ((runs += 1), { ok: true }),
    }),
    defineTool({
      name: "get",
      version: "1.0.0",
      description: "Reads.",
      input: z.object({ s: z.string() }).passthrough(),
      scopes: [],
      sideEffect: "read",
      handler: () => ((runs += 1), { ok: true }),
    }),
  ];
  const server = createToolServer({
    name: "s",
    version: "1.0.0",
    tools,
    logger: silentLogger(),
    audit: false,
  });

  it("never answers internal (the idempotency fingerprint used to throw on them)", async () => {
    const key = { [IDEMPOTENCY_ARGUMENT]: "k-1" };
    for (const [tool, args, pointer] of [
      ["put", { n: Infinity, ...key }, "/n"],
      ["put", { s: "\ud800", ...key }, "/s"],
      ["get", { s: "\udfff" }, "/s"],
      ["get", JSON.parse('{"s":"x","__proto__":{"polluted":1}}') as object, "/__proto__"],
    ] as const) {
      const error = expectToolError(await server.callTool(tool, args), "invalid_input");
      assert.equal(error.retryable, false);
      assert.match(error.message, new RegExp(pointer.replace("/", "\\/")));
    }
    assert.equal(runs, 0);
    assert.equal(({} as Record<string, unknown>)["polluted"], undefined);
  });
});

describe("over HTTP, a __proto__ key is refused on both paths", () => {
  it("fast path: invalid_input; SDK path (the SDK's parser would drop it): 400", async () => {
    let runs = 0;
    const server = createToolServer({
      name: "s",
      version: "1.0.0",
      tools: [
        defineTool({
          name: "get",
          version: "1.0.0",
          description: "Reads.",
          input: { type: "object", additionalProperties: true },
          scopes: [],
          sideEffect: "read",
          handler: () => ((runs += 1), { ok: true }),
        }),
      ],
      logger: silentLogger(),
      audit: false,
    });
    const { port } = await server.listen({ port: 0, host: "127.0.0.1" });
    try {
      const body =
        '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get","arguments":{"__proto__":{"x":1}}}}';
      const fast = await rawRequest({ port, headers: { ...MCP_HEADERS }, body });
      const message = parseOne(fast) as { result: unknown };
      expectToolError(message.result, "invalid_input");
      const { "mcp-protocol-version": _version, ...noVersion } = MCP_HEADERS;
      const sdk = await rawRequest({ port, headers: noVersion, body });
      assert.equal(sdk.status, 400);
      assert.match(sdk.body, /__proto__ is not accepted/);
      assert.equal(runs, 0);
    } finally {
      await server.close();
    }
  });
});
