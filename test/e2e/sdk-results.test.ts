// Issue 18, defect 5, over real HTTP on 127.0.0.1: handlers that return CallToolResults the
// way the SDK's examples do reach the SDK clients as written. The v2 client in both
// protocol eras, and the v1 client (`@modelcontextprotocol/sdk`), which validates
// `structuredContent` against a tool's outputSchema even on `isError` results and throws.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Client as ClientV1 } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport as TransportV1 } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import * as z from "zod";
import { defineTool } from "../../src/index.js";
import { memoryStore } from "../../src/stores/index.js";
import { IDEMPOTENCY_ARGUMENT, REPLAY_META_KEY } from "../../src/client/index.js";
import {
  CLIENT_MODES,
  connectClient,
  startServer,
  type ConnectedClient,
  type RunningServer,
} from "../helpers/server.js";

const TEXT = [{ type: "text" as const, text: "Refund issued." }];
const DECLINED = [{ type: "text" as const, text: "The card was declined." }];
let runs = 0;

const tools = [
  defineTool({
    name: "say",
    version: "1.0.0",
    description: "Returns text content, as the SDK's examples do.",
    input: z.object({}),
    scopes: [],
    sideEffect: "read",
    handler: () => ({ content: TEXT }),
  }),
  defineTool({
    name: "decline",
    version: "1.0.0",
    description: "Returns an isError result, as the SDK's examples do.",
    input: z.object({}),
    scopes: [],
    sideEffect: "read",
    handler: () => ({ isError: true, content: DECLINED }),
  }),
  defineTool({
    name: "decline_typed",
    version: "1.0.0",
    description: "A tool with an output schema that returns an isError result.",
    input: z.object({}),
    output: z.object({ total: z.number() }),
    scopes: [],
    sideEffect: "read",
    handler: () => ({ isError: true, content: DECLINED }),
  }),
  defineTool({
    name: "refund",
    version: "1.0.0",
    description: "Refunds; the provider declines it.",
    input: z.object({ amount: z.number() }),
    scopes: [],
    sideEffect: "write",
    handler: () => {
      runs += 1;
      return { isError: true, content: DECLINED };
    },
  }),
];

let running: RunningServer;
before(async () => {
  running = await startServer(tools, { store: memoryStore(), audit: false });
});
after(async () => {
  await running?.close();
});

for (const mode of CLIENT_MODES) {
  describe(`SDK v2 client, ${mode}`, () => {
    let conn: ConnectedClient;
    before(async () => {
      conn = await connectClient(running.url, mode);
    });
    after(async () => {
      await conn?.close();
    });

    test("{ content } comes back as content, without a structuredContent made of it", async () => {
      const result = await conn.client.callTool({ name: "say", arguments: {} });
      assert.deepEqual(result.content, TEXT);
      assert.equal(result.structuredContent, undefined);
      assert.notEqual(result.isError, true);
    });

    test("{ isError: true, content } comes back as an error", async () => {
      for (const name of ["decline", "decline_typed"]) {
        const result = await conn.client.callTool({ name, arguments: {} });
        assert.equal(result.isError, true, name);
        assert.deepEqual(result.content, DECLINED, name);
        assert.equal(result.structuredContent, undefined, name);
      }
    });

    test("a write tool's isError result is stored: the retry with the key replays it", async () => {
      const before = runs;
      const args = { amount: 5, [IDEMPOTENCY_ARGUMENT]: `decline-${mode}` };
      const first = await conn.client.callTool({ name: "refund", arguments: args });
      const again = await conn.client.callTool({ name: "refund", arguments: args });
      assert.equal(runs - before, 1);
      assert.equal(first.isError, true);
      assert.equal(again.isError, true);
      assert.deepEqual(again.content, DECLINED);
      assert.equal(again._meta?.[REPLAY_META_KEY], true);
    });
  });
}

describe("SDK v1 client", () => {
  let client: ClientV1;
  before(async () => {
    client = new ClientV1({ name: "toolgate-e2e-v1", version: "1.0.0" });
    await client.connect(new TransportV1(running.url));
  });
  after(async () => {
    await client?.close();
  });

  test("an isError result of a tool with an outputSchema reaches it as an error, not a throw", async () => {
    await client.listTools(); // the v1 client validates against the schemas it listed
    const result = await client.callTool({ name: "decline_typed", arguments: {} });
    assert.equal(result.isError, true);
    assert.deepEqual(result.content, DECLINED);
  });

  test("{ content } comes back as content", async () => {
    const result = await client.callTool({ name: "say", arguments: {} });
    assert.deepEqual(result.content, TEXT);
    assert.equal(result.structuredContent, undefined);
  });
});
