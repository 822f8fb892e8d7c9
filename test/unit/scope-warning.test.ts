// A server whose tools declare scopes but that has no auth enforces none of them: it says
// so once, at startup, in its log (naming the tools and the fix), and not on every call.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as z from "zod";
import { createToolServer, defineTool, type ToolDefinition } from "../../src/index.js";
import { memoryLogger } from "./helpers/memory-logger.js";

const tool = (name: string, scopes: string[]): ToolDefinition =>
  defineTool({
    name,
    version: "1.0.0",
    sideEffect: "read",
    scopes,
    description: `Reads ${name}.`,
    input: z.object({}),
    handler: () => "ok",
  });

const isScopeWarning = (line: Record<string, unknown>) =>
  /scopes are not enforced/.test(String(line["msg"]));

describe("the unenforced-scopes warning", () => {
  it("is logged once, naming the scoped tools and how to turn auth on", async () => {
    const { log, lines } = memoryLogger();
    const server = createToolServer({
      name: "t",
      version: "1.0.0",
      tools: [tool("get_order", ["orders:read"]), tool("ping", []), tool("list", ["a", "b"])],
      logger: log,
      audit: false,
      metrics: false,
    });
    try {
      await server.callTool("get_order", {});
      await server.callTool("get_order", {});
      const warnings = lines().filter(isScopeWarning);
      assert.equal(warnings.length, 1, JSON.stringify(lines()));
      assert.equal(warnings[0]!["level"], 40, "warn");
      assert.deepEqual(warnings[0]!["tools"], ["get_order", "list"]);
      assert.match(String(warnings[0]!["msg"]), /get_order, list declare scopes/);
      assert.match(String(warnings[0]!["msg"]), /auth: jwtVerifier/);
    } finally {
      await server.close();
    }
  });

  for (const [name, options] of [
    ["auth is on", { auth: { verify: () => Promise.reject(new Error("unused")) } }],
    ["no tool declares scopes", { tools: [tool("ping", [])] }],
  ] as const) {
    it(`is not logged when ${name}`, async () => {
      const { log, lines } = memoryLogger();
      const server = createToolServer({
        name: "t",
        version: "1.0.0",
        tools: [tool("get_order", ["orders:read"])],
        logger: log,
        audit: false,
        metrics: false,
        ...options,
      });
      await server.close();
      assert.deepEqual(lines().filter(isScopeWarning), []);
    });
  }
});
