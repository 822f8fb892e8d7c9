// Compile-time checks of what a handler may return (run by `npm run typecheck`; the
// `@ts-expect-error` lines fail the typecheck if the types ever accept them), plus one
// runtime assertion so the file is a test that can fail.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { CallToolResult } from "@modelcontextprotocol/server";
import * as z from "zod";
import { defineTool, toolResult } from "../../src/index.js";

test("a handler may return its output, an SDK-style CallToolResult or toolResult()", () => {
  const sdkStyle: CallToolResult = { content: [{ type: "text", text: "done" }] };
  const tools = [
    defineTool({
      name: "output",
      version: "1.0.0",
      description: "Returns its declared output.",
      input: z.object({}),
      output: z.object({ total: z.number() }),
      scopes: [],
      sideEffect: "read",
      handler: () => ({ total: 1 }),
    }),
    defineTool({
      name: "sdk_style",
      version: "1.0.0",
      description: "Returns a CallToolResult, as the SDK's examples do.",
      input: z.object({}),
      output: z.object({ total: z.number() }),
      scopes: [],
      sideEffect: "read",
      handler: () => ({ isError: true, content: [{ type: "text" as const, text: "no" }] }),
    }),
    defineTool({
      name: "sdk_untyped",
      version: "1.0.0",
      description: "Returns a CallToolResult from a tool without an output.",
      input: z.object({}),
      scopes: [],
      sideEffect: "read",
      handler: () => Promise.resolve(sdkStyle),
    }),
    defineTool({
      name: "raw",
      version: "1.0.0",
      description: "Returns a hand-built result.",
      input: z.object({}),
      output: z.object({ total: z.number() }),
      scopes: [],
      sideEffect: "read",
      handler: () => toolResult(sdkStyle),
    }),
    defineTool({
      name: "wrong",
      version: "1.0.0",
      description: "Returns neither its output nor a CallToolResult.",
      input: z.object({}),
      output: z.object({ total: z.number() }),
      scopes: [],
      sideEffect: "read",
      // @ts-expect-error: `total` must be a number, and this is no CallToolResult either
      handler: () => ({ total: "one" }),
    }),
    defineTool({
      name: "wrong_block",
      version: "1.0.0",
      description: "Returns a content block of no MCP type.",
      input: z.object({}),
      output: z.object({ total: z.number() }),
      scopes: [],
      sideEffect: "read",
      // @ts-expect-error: "texty" is no content block type
      handler: () => ({ content: [{ type: "texty", text: "no" }] }),
    }),
  ];
  assert.deepEqual(
    tools.map((t) => t.name),
    ["output", "sdk_style", "sdk_untyped", "raw", "wrong", "wrong_block"],
  );
});
