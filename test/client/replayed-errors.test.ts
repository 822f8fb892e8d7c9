// A failed result flagged as a replay (`_meta["toolgate/idempotent-replay"]`) is the stored
// outcome of the operation: the same key gets the same answer again, so the kit reports it
// with `replayed: true` and never retries it, whatever its `retryable` says. An older
// server stored retryable errors too (an agent harness saw the kit retry one five times);
// a tool that returns such a result by hand stands in for it here. A real toolgate server
// over Streamable HTTP on 127.0.0.1, the SDK v2 client, every tools/call counted on the wire.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as z from "zod";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { conflict, defineTool, toolResult } from "../../src/index.js";
import { memoryStore } from "../../src/stores/index.js";
import {
  ERROR_META_KEY,
  REPLAY_META_KEY,
  createToolClient,
  errorForModel,
  type ToolCallResult,
  type ToolClient,
} from "../../src/client/index.js";
import { startServer, type RunningServer } from "../helpers/server.js";
import { httpRecorder, type HttpRecorder } from "./http-recorder.js";

const runs = { transfer: 0, oldServer: 0 };

const transfer = defineTool({
  name: "transfer",
  version: "1.0.0",
  sideEffect: "write",
  scopes: [],
  description: "Transfer money between accounts.",
  input: z.object({ from: z.string(), to: z.string(), amount: z.number().int().min(1) }),
  handler: ({ from }) => {
    runs.transfer++;
    throw conflict(`Account '${from}' is frozen.`);
  },
});

// What an older toolgate server replayed: a stored `unavailable` (retryable: true).
const STORED_UNAVAILABLE = {
  type: "unavailable",
  message: "The ledger was unavailable.",
  retryable: true,
  retryAfterMs: 5,
};
const oldServerReplay = defineTool({
  name: "old_server_replay",
  version: "1.0.0",
  sideEffect: "write",
  scopes: [],
  description: "Answers with a replayed retryable error, as an older server did.",
  input: z.object({ note: z.string() }),
  handler: () => {
    runs.oldServer++;
    return toolResult({
      isError: true,
      content: [{ type: "text", text: JSON.stringify({ error: STORED_UNAVAILABLE }) }],
      _meta: { [ERROR_META_KEY]: STORED_UNAVAILABLE, [REPLAY_META_KEY]: true },
    });
  },
});

let server: RunningServer;
let recorder: HttpRecorder;
let tools: ToolClient;
let client: Client;
const store = memoryStore();

before(async () => {
  server = await startServer([transfer, oldServerReplay], { store, audit: false });
  recorder = httpRecorder();
  client = new Client({ name: "kit-replay", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(server.url, { fetch: recorder.fetch }));
  // Generous retries: anything the kit would retry, it would retry several times.
  tools = createToolClient(client, {
    retry: { maxAttempts: 5, initialDelayMs: 1, maxDelayMs: 5 },
    random: () => 0.5,
  });
});

after(async () => {
  await client?.close();
  await server?.close();
  await store.close();
});

function failure(outcome: ToolCallResult) {
  assert.ok(!outcome.ok, `expected a failure, got ${JSON.stringify(outcome)}`);
  return outcome;
}

describe("replayed failed results", () => {
  it("reports a stored definitive error as replayed, after one attempt", async () => {
    const args = { from: "acct-frozen", to: "acct-2", amount: 10 };
    const first = failure(await tools.call("transfer", args));
    assert.equal(first.error.type, "conflict");
    assert.equal(first.replayed, false);
    const sentBefore = recorder.toolCalls("transfer").length;
    const again = failure(
      await tools.call("transfer", args, { operationId: first.idempotencyKey! }),
    );
    assert.equal(again.error.type, "conflict");
    assert.equal(again.error.message, first.error.message);
    assert.equal(again.replayed, true);
    assert.equal(again.attempts.length, 1);
    assert.equal(recorder.toolCalls("transfer").length - sentBefore, 1);
    assert.equal(runs.transfer, 1, "the handler ran once; the second answer was the stored one");
  });

  it("never retries a replayed error, even one stored as retryable (an older server)", async () => {
    const outcome = failure(await tools.call("old_server_replay", { note: "x" }));
    assert.equal(recorder.toolCalls("old_server_replay").length, 1, "one tools/call on the wire");
    assert.equal(outcome.attempts.length, 1);
    assert.equal(runs.oldServer, 1);
    assert.equal(outcome.replayed, true);
    assert.equal(outcome.error.type, "unavailable");
    assert.equal(outcome.error.source, "contract");
    // The kit's verdict: the same operation gets the same answer, so retrying cannot help.
    assert.equal(outcome.error.retryable, false);
    assert.doesNotMatch(errorForModel("old_server_replay", outcome.error), /safe to retry/);
  });
});
