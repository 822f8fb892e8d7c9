// Issue 18, defect 5: a handler that returns a CallToolResult the way the SDK's examples
// do (`{ content: [...] }`, `{ isError: true, content: [...] }`) gets it passed through,
// not wrapped as `structuredContent`; an `isError` one is an error outcome (audited as
// such, stored or released per the idempotency outcome policy). In process; the same over
// HTTP with the SDK client is test/e2e/sdk-results.test.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CallToolResult } from "@modelcontextprotocol/server";
import * as z from "zod";
import { createToolServer, defineTool, unavailable, type ToolDefinition } from "../../src/index.js";
import { silentLogger } from "../../src/server/index.js";
import { toErrorResult } from "../../src/errors/index.js";
import { memoryStore } from "../../src/stores/index.js";
import { memoryAuditSink } from "../../src/audit/index.js";
import { IDEMPOTENCY_ARGUMENT, REPLAY_META_KEY } from "../../src/client/index.js";
import { readWireError } from "../../src/errors/to-result.js";

const TEXT = { content: [{ type: "text" as const, text: "Refund issued." }] };
const DECLINED = "The card was declined.";
const FAILED = { isError: true, content: [{ type: "text" as const, text: DECLINED }] };

function tool(name: string, result: () => unknown, extra: { output?: z.ZodType } = {}) {
  return defineTool({
    name,
    version: "1.0.0",
    description: "Returns what the test gives it.",
    input: z.object({}),
    ...(extra.output ? { output: extra.output } : {}),
    scopes: [],
    sideEffect: "read",
    handler: () => result() as never,
  });
}

function serve(tools: ToolDefinition[]) {
  const sink = memoryAuditSink();
  const server = createToolServer({
    name: "sdk-results",
    version: "1.0.0",
    tools,
    logger: silentLogger(),
    store: memoryStore(),
    audit: { sinks: [sink], flushIntervalMs: 1 },
  });
  return { server, sink };
}

const total = z.object({ total: z.number() });

describe("a CallToolResult returned by a handler", () => {
  it("passes through as it is: content, no structuredContent made of it", async () => {
    const { server } = serve([tool("text", () => TEXT)]);
    assert.deepEqual(await server.callTool("text"), TEXT);
    await server.close();
  });

  it("with isError: an error outcome, as returned, audited as tool_error", async () => {
    const { server, sink } = serve([tool("fails", () => FAILED)]);
    const result = await server.callTool("fails");
    assert.deepEqual(result, FAILED);
    const [event] = await sink.waitFor(1);
    assert.equal(event?.tool, "fails");
    assert.equal(event?.outcome, "tool_error");
    await server.close();
  });

  it("other content blocks (image, resource_link, resource) pass too", async () => {
    const blocks: CallToolResult = {
      content: [
        { type: "image", data: "aGk=", mimeType: "image/png" },
        { type: "resource_link", uri: "file:///tmp/report.csv", name: "report.csv" },
        { type: "resource", resource: { uri: "file:///tmp/a.txt", text: "a" } },
      ],
      _meta: { "example/trace": "t-1" },
    };
    const { server } = serve([tool("blocks", () => blocks)]);
    assert.deepEqual(await server.callTool("blocks"), blocks);
    await server.close();
  });

  it("of a tool with an output: an isError result is not turned into internal and carries no structuredContent", async () => {
    const { server } = serve([
      tool("typed_fails", () => ({ ...FAILED, structuredContent: { total: "n/a" } }), {
        output: total,
      }),
    ]);
    const result = await server.callTool("typed_fails");
    assert.equal(result.isError, true);
    assert.equal(result.structuredContent, undefined);
    assert.equal(readWireError(result), undefined, "no typed error was made up");
    assert.ok(result.content.some((b) => b.type === "text" && b.text === DECLINED));
    await server.close();
  });

  it("of a tool with an output: structuredContent is validated as before", async () => {
    const { server } = serve([
      tool("good", () => ({ ...TEXT, structuredContent: { total: 3 } }), { output: total }),
      tool("bad", () => ({ ...TEXT, structuredContent: { total: "3" } }), { output: total }),
      tool("missing", () => TEXT, { output: total }),
    ]);
    assert.deepEqual(await server.callTool("good"), { ...TEXT, structuredContent: { total: 3 } });
    assert.equal(readWireError(await server.callTool("bad"))?.type, "internal");
    assert.equal(readWireError(await server.callTool("missing"))?.type, "internal");
    await server.close();
  });

  it("anything else keeps the old rules: an object is structuredContent", async () => {
    const cases: Record<string, unknown> = {
      extra_key: { ...TEXT, total: 1 },
      not_array: { content: "Refund issued." },
      bad_block: { content: [{ type: "text" }] },
      unknown_block: { content: [{ type: "texty", text: "x" }] },
    };
    const { server } = serve(Object.entries(cases).map(([name, value]) => tool(name, () => value)));
    for (const [name, value] of Object.entries(cases)) {
      const result = await server.callTool(name);
      assert.equal(result.isError, undefined, name);
      assert.deepEqual(result.structuredContent, value, name);
    }
    await server.close();
  });
});

describe("a write tool returning an isError result", () => {
  function writeServer(result: () => unknown) {
    const runs = { count: 0 };
    const refund = defineTool({
      name: "refund",
      version: "1.0.0",
      description: "Refunds; changes state.",
      input: z.object({ amount: z.number() }),
      scopes: [],
      sideEffect: "write",
      handler: () => {
        runs.count += 1;
        return result() as never;
      },
    });
    return { runs, ...serve([refund]) };
  }
  const call = (key: string) => ({ amount: 5, [IDEMPOTENCY_ARGUMENT]: key });

  it("untyped: the caller sees isError, audited tool_error, and a retry with the key replays it", async () => {
    const { server, sink, runs } = writeServer(() => FAILED);
    const first = await server.callTool("refund", call("k-1"));
    assert.equal(first.isError, true);
    assert.deepEqual(first.content, FAILED.content);
    const again = await server.callTool("refund", call("k-1"));
    assert.equal(runs.count, 1, "stored: the handler did not run again");
    assert.deepEqual(again, { ...FAILED, _meta: { [REPLAY_META_KEY]: true } });
    const events = await sink.waitFor(2);
    assert.deepEqual(
      events.map((e) => [e.outcome, e.idempotency]),
      [
        ["tool_error", "executed"],
        ["tool_error", "replayed"],
      ],
    );
    await server.close();
  });

  it("carrying a retryable typed error: the claim is released, a retry runs again", async () => {
    const { server, runs } = writeServer(() =>
      toErrorResult(unavailable("The payments provider is down. Retry shortly.", 500)),
    );
    const first = await server.callTool("refund", call("k-2"));
    assert.equal(readWireError(first)?.type, "unavailable");
    assert.equal(readWireError(first)?.retryable, true);
    const again = await server.callTool("refund", call("k-2"));
    assert.equal(runs.count, 2, "not stored: the retry ran");
    assert.equal(again._meta?.[REPLAY_META_KEY], undefined);
    await server.close();
  });
});
