// The stateless fast path (src/server/fast-call.ts) must answer a 2025-era tools/call
// exactly as the SDK's handler does. A progress token sends the same call through the
// SDK, so every case is asked both ways over a real socket and the answers compared.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as z from "zod";
import {
  createToolServer,
  defineTool,
  invalidInput,
  toolResult,
  type ToolServer,
} from "../../src/index.js";
import { silentLogger } from "../../src/server/index.js";

const tools = [
  defineTool({
    name: "echo",
    version: "1.0.0",
    description: "Echoes.",
    input: z.object({ message: z.string().max(10) }),
    scopes: [],
    sideEffect: "read",
    handler: ({ message }) => message,
  }),
  defineTool({
    name: "structured",
    version: "1.0.0",
    description: "Structured.",
    input: z.object({}),
    output: z.object({ n: z.number() }),
    scopes: [],
    sideEffect: "read",
    handler: () => ({ n: 7 }),
  }),
  defineTool({
    name: "list",
    version: "1.0.0",
    description: "A non-object structured result.",
    input: z.object({}),
    scopes: [],
    sideEffect: "read",
    handler: () => toolResult({ content: [], structuredContent: [1, 2] as unknown }),
  }),
  defineTool({
    name: "refuse",
    version: "1.0.0",
    description: "Refuses.",
    input: z.object({}),
    scopes: [],
    sideEffect: "read",
    handler: () => {
      throw invalidInput("No.");
    },
  }),
];

let server: ToolServer;
let url: string;
before(async () => {
  server = createToolServer({
    name: "fast",
    version: "1.0.0",
    tools,
    audit: false,
    logger: silentLogger(),
  });
  ({ url } = await server.listen({ port: 0 }));
});
after(() => server.close());

async function call(params: Record<string, unknown>, id: number | string) {
  const response = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": "2025-11-25",
    },
    body: JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params }),
  });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "text/event-stream");
  assert.equal(response.headers.get("cache-control"), "no-cache, no-transform");
  const events = (await response.text())
    .split("\n\n")
    .filter(Boolean)
    .map((block) => {
      assert.match(block, /^event: message\ndata: /);
      return JSON.parse(block.slice(block.indexOf("data: ") + 6)) as Record<string, unknown>;
    });
  return events;
}

describe("stateless tools/call: the fast path answers as the SDK does", () => {
  const cases: [string, Record<string, unknown>][] = [
    ["text result", { name: "echo", arguments: { message: "hi" } }],
    ["structured result", { name: "structured", arguments: {} }],
    ["non-object structured content", { name: "list", arguments: {} }],
    ["typed error", { name: "refuse", arguments: {} }],
    ["invalid arguments", { name: "echo", arguments: { message: "far too long" } }],
    ["unknown tool", { name: "nope", arguments: {} }],
    ["omitted arguments", { name: "structured" }],
    ["caller _meta", { name: "echo", arguments: { message: "m" }, _meta: { trace: "x" } }],
  ];
  for (const [label, params] of cases) {
    it(label, async () => {
      const fast = await call(params, 41);
      const viaSdk = await call(
        { ...params, _meta: { ...(params["_meta"] as object), progressToken: "p" } },
        41,
      );
      assert.equal(fast.length, 1);
      assert.deepEqual(fast, viaSdk);
      assert.equal(fast[0]!["id"], 41);
    });
  }

  it("keeps string ids", async () => {
    const [event] = await call({ name: "echo", arguments: { message: "s" } }, "req-1");
    assert.equal(event!["id"], "req-1");
    assert.deepEqual(event!["result"], { content: [{ type: "text", text: "s" }] });
  });
});
