// A result that arrives after the deadline (the caller already got `timeout`) travels out
// with the timeout error (src/pipeline/late-outcome.ts): validateOutput checks it like any
// result, and the idempotency stage stores it only when it passes, so a retry replays the
// real result, or runs again when the late result had the wrong shape.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as z from "zod";
import { createToolServer, defineTool } from "../../src/index.js";
import { silentLogger } from "../../src/server/index.js";
import { readWireError } from "../../src/errors/to-result.js";
import { REPLAY_META_KEY } from "../../src/idempotency/key.js";
import { IDEMPOTENCY_ARGUMENT } from "../../src/tool/idempotency-options.js";
import { memoryStore } from "../../src/stores/memory-store.js";

function slowRefund(shape: "right" | "wrong") {
  let settle = () => undefined as void;
  const runs = { count: 0, settled: new Promise<void>((resolve) => (settle = resolve)) };
  const tool = defineTool({
    name: `refund_${shape}`,
    version: "1.0.0",
    description: "Refunds an order; the bank cannot be interrupted.",
    input: z.object({ orderId: z.string() }),
    output: z.object({ refunded: z.boolean() }),
    scopes: [],
    sideEffect: "write",
    timeoutMs: 50,
    handler: async () => {
      runs.count += 1;
      await new Promise((resolve) => setTimeout(resolve, 150)); // ignores its signal
      queueMicrotask(settle);
      return (shape === "right" ? { refunded: true } : { refunded: "yes" }) as {
        refunded: boolean;
      };
    },
  });
  return { tool, runs };
}

async function twoCalls(shape: "right" | "wrong") {
  const { tool, runs } = slowRefund(shape);
  const server = createToolServer({
    name: "late",
    version: "1.0.0",
    tools: [tool],
    store: memoryStore(),
    audit: false,
    metrics: false,
    logger: silentLogger(),
  });
  try {
    const args = { orderId: "o-1", [IDEMPOTENCY_ARGUMENT]: `key-${shape}` };
    const first = await server.callTool(tool.name, args);
    assert.equal(readWireError(first)?.type, "timeout");
    await runs.settled;
    // The store write (or the release) follows the handler: until it lands, a retry is
    // answered in_progress. Retry as a client would, for up to 5 s.
    let retry = await server.callTool(tool.name, args);
    for (let i = 0; i < 100 && readWireError(retry)?.type === "in_progress"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      retry = await server.callTool(tool.name, args);
    }
    return { retry, runs: runs.count };
  } finally {
    await server.close();
  }
}

describe("a late result of an idempotent write tool with an output schema", () => {
  it("is stored when it matches the schema: the retry replays it, the handler ran once", async () => {
    const { retry, runs } = await twoCalls("right");
    assert.equal(runs, 1);
    assert.deepEqual(retry.structuredContent, { refunded: true });
    assert.equal(retry._meta?.[REPLAY_META_KEY] !== undefined, true, JSON.stringify(retry));
  });

  it("is not stored when it does not: the claim is released and the retry runs again", async () => {
    const { retry, runs } = await twoCalls("wrong");
    assert.equal(runs, 2, "the retry ran the handler again instead of replaying bad data");
    // The retry is late again, and answered timeout: never the wrong shape.
    assert.equal(readWireError(retry)?.type, "timeout");
  });
});
