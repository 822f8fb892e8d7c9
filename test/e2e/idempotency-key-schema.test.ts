// Issue 18, defect 12: `idempotency_key` is in the published `required` list of write tools
// whose key is required and an argument (the schema is the contract), while the server
// still takes the key from `_meta["toolgate/idempotency-key"]` or the `Idempotency-Key`
// header instead (the client kit sends it in `_meta` only). Over real HTTP, SDK v2 client.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Tool } from "@modelcontextprotocol/client";
import * as z from "zod";
import { defineTool } from "../../src/index.js";
import { memoryStore } from "../../src/stores/index.js";
import { IDEMPOTENCY_ARGUMENT, IDEMPOTENCY_META_KEY } from "../../src/client/index.js";
import { readWireError } from "../../src/errors/to-result.js";
import {
  CLIENT_MODES,
  connectClient,
  connectClientWithHeaders,
  startServer,
  type ConnectedClient,
  type RunningServer,
} from "../helpers/server.js";

const runs: Record<string, number> = {};
const write = (name: string, idempotency?: { required?: boolean; argument?: boolean }) =>
  defineTool({
    name,
    version: "1.0.0",
    description: "Pays an amount; changes state.",
    input: z.object({ amount: z.number() }),
    scopes: [],
    sideEffect: "write",
    ...(idempotency ? { idempotency } : {}),
    handler: ({ amount }) => {
      runs[name] = (runs[name] ?? 0) + 1;
      return { paid: amount };
    },
  });

const tools = [
  write("pay"),
  write("pay_legacy", { required: false }),
  write("pay_meta_only", { argument: false }),
  defineTool({
    name: "look",
    version: "1.0.0",
    description: "Reads an amount.",
    input: z.object({ amount: z.number() }),
    scopes: [],
    sideEffect: "read",
    handler: ({ amount }) => ({ amount }),
  }),
];

const requiredOf = (tool: Tool | undefined) =>
  (tool?.inputSchema as { required?: string[] } | undefined)?.required ?? [];
const propertiesOf = (tool: Tool | undefined) =>
  Object.keys((tool?.inputSchema as { properties?: object } | undefined)?.properties ?? {});

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

    test("tools/list: idempotency_key is required for write tools that require a key argument", async () => {
      const { tools: listed } = await conn.client.listTools();
      const byName = new Map(listed.map((t) => [t.name, t]));
      assert.deepEqual(requiredOf(byName.get("pay")), ["amount", IDEMPOTENCY_ARGUMENT]);
      // Published but optional: a call without a key gets a fresh one.
      assert.deepEqual(requiredOf(byName.get("pay_legacy")), ["amount"]);
      assert.ok(propertiesOf(byName.get("pay_legacy")).includes(IDEMPOTENCY_ARGUMENT));
      // Not an argument at all: the key comes by _meta or header.
      assert.deepEqual(requiredOf(byName.get("pay_meta_only")), ["amount"]);
      assert.ok(!propertiesOf(byName.get("pay_meta_only")).includes(IDEMPOTENCY_ARGUMENT));
      assert.deepEqual(requiredOf(byName.get("look")), ["amount"]);
      assert.ok(!propertiesOf(byName.get("look")).includes(IDEMPOTENCY_ARGUMENT));
    });

    test("a call with the key only in _meta runs (once per key)", async () => {
      const before = runs["pay"] ?? 0;
      const call = () =>
        conn.client.callTool({
          name: "pay",
          arguments: { amount: 7 },
          _meta: { [IDEMPOTENCY_META_KEY]: `meta-${mode}` },
        });
      const first = await call();
      const again = await call();
      assert.notEqual(first.isError, true, JSON.stringify(first));
      assert.deepEqual(first.structuredContent, { paid: 7 });
      assert.deepEqual(again.structuredContent, { paid: 7 });
      assert.equal((runs["pay"] ?? 0) - before, 1);
    });

    test("a call with no key anywhere is invalid_input at /idempotency_key, and nothing runs", async () => {
      const before = runs["pay"] ?? 0;
      const result = await conn.client.callTool({
        name: "pay",
        arguments: { amount: 7 },
      });
      const error = readWireError(result);
      assert.equal(error?.type, "invalid_input");
      const issues = error?.details?.["issues"] as { path: string }[] | undefined;
      assert.deepEqual(
        issues?.map((i) => i.path),
        [`/${IDEMPOTENCY_ARGUMENT}`],
      );
      assert.equal(runs["pay"] ?? 0, before);
    });
  });
}

test("a call with the key only in the Idempotency-Key header runs", async () => {
  const conn = await connectClientWithHeaders(running.url, "legacy", {
    "Idempotency-Key": "header-key-1",
  });
  try {
    const before = runs["pay"] ?? 0;
    const result = await conn.client.callTool({
      name: "pay",
      arguments: { amount: 9 },
    });
    assert.notEqual(result.isError, true, JSON.stringify(result));
    assert.equal((runs["pay"] ?? 0) - before, 1);
  } finally {
    await conn.close();
  }
});
