// What the README's "a tool in a few lines" example answers, as the page promises: the
// order, a typed not_found, a typed invalid_input. Shared by the test that runs the block
// from this checkout (readme.test.ts) and the one that runs it from the packed package
// installed in an empty folder (test/packaging/pack.test.ts).
import assert from "node:assert/strict";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";

export async function assertReadmeExampleAnswers(url: string, clientName: string): Promise<void> {
  const client = new Client({ name: clientName, version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  try {
    const ok = await client.callTool({
      name: "get_order",
      arguments: { order_id: "INV-2024-00042" },
    });
    assert.deepEqual(ok.structuredContent, { id: "INV-2024-00042", status: "paid" });
    for (const [orderId, type] of [
      ["INV-2024-00043", "not_found"],
      ["INV-99", "invalid_input"],
    ] as const) {
      const failed = await client.callTool({ name: "get_order", arguments: { order_id: orderId } });
      assert.equal(failed.isError, true, `${orderId} fails`);
      const { error } = failed.structuredContent as { error: { type: string } };
      assert.equal(error.type, type, `${orderId} fails as ${type}`);
    }
  } finally {
    await client.close();
  }
}
