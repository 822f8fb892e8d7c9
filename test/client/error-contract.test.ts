// The client kit reads the error contract where a toolgate server now puts it: an error
// of a tool with an `outputSchema` carries no `structuredContent` (the SDK v1 client and
// the Inspector validate it against the schema and throw, typescript-sdk #1943), so the
// typed error travels in `_meta["toolgate/error"]` and in the text. A real toolgate server
// over Streamable HTTP on 127.0.0.1, and both official SDK clients wrapped by the kit.
import assert from "node:assert/strict";
import { EventEmitter, once } from "node:events";
import { after, before, describe, it } from "node:test";
import * as z from "zod";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { Client as ClientV1 } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport as TransportV1 } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { defineTool, notFound, toolResult } from "../../src/index.js";
import { memoryStore } from "../../src/stores/index.js";
import {
  ERROR_META_KEY,
  createToolClient,
  type ToolCallResult,
  type ToolClient,
  type ToolClientOptions,
} from "../../src/client/index.js";
import { startServer, type RunningServer } from "../helpers/server.js";

const ORDER = z.object({ id: z.string(), total_cents: z.number().int() });
const MISSING = "No order matches ID 'INV-2024-99999'. Confirm the ID (format INV-YYYY-NNNNN).";

const findOrder = defineTool({
  name: "find_order",
  version: "1.0.0",
  sideEffect: "read",
  scopes: [],
  description: "Find an order by ID.",
  input: z.object({ order_id: z.string() }),
  output: ORDER,
  handler: ({ order_id }) => {
    if (order_id !== "INV-2024-00001") throw notFound(MISSING);
    return { id: order_id, total_cents: 4_200 };
  },
});

let cancels = 0;
// A write with an output schema: its definitive error is stored and replayed.
const cancelOrder = defineTool({
  name: "cancel_order",
  version: "1.0.0",
  sideEffect: "write",
  scopes: [],
  description: "Cancel an order.",
  input: z.object({ order_id: z.string() }),
  output: ORDER,
  handler: ({ order_id }) => {
    cancels++;
    throw notFound(`No order matches ID '${order_id}'.`);
  },
});

// A failed result whose `_meta` and text disagree (as a proxy that rewrote one would
// leave it): the contract's first place, `_meta`, wins.
const disagreeing = defineTool({
  name: "disagreeing",
  version: "1.0.0",
  sideEffect: "read",
  scopes: [],
  description: "Fails with different errors in _meta and in the text.",
  input: z.object({}),
  output: ORDER,
  handler: () =>
    toolResult({
      isError: true,
      content: [
        {
          type: "text",
          text: JSON.stringify({
            error: { type: "conflict", message: "From the text.", retryable: false },
          }),
        },
      ],
      _meta: {
        [ERROR_META_KEY]: { type: "not_found", message: "From _meta.", retryable: false },
      },
    }),
});

// Announces each call it starts, then waits for its abort signal (a cancel or its deadline).
const started = new EventEmitter();
const waitForCancel = defineTool({
  name: "wait_for_cancel",
  version: "1.0.0",
  sideEffect: "read",
  scopes: [],
  description: "Waits until the call is cancelled.",
  input: z.object({}),
  output: ORDER,
  timeoutMs: 3_000,
  handler: async (_args, ctx) => {
    started.emit("call");
    await once(ctx.signal, "abort");
    throw notFound("Cancelled.");
  },
});

let server: RunningServer;
const closers: (() => Promise<void>)[] = [];

before(async () => {
  const store = memoryStore();
  server = await startServer([findOrder, cancelOrder, disagreeing, waitForCancel], {
    store,
    audit: false,
  });
  closers.push(() => store.close());
});

after(async () => {
  for (const close of closers.reverse()) await close();
  await server?.close();
});

async function kitOverV2(options: ToolClientOptions = {}): Promise<ToolClient> {
  const client = new Client({ name: "kit-v2", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(server.url));
  closers.push(() => client.close());
  return createToolClient(client, { random: () => 0.5, ...options });
}

async function kitOverV1(options: ToolClientOptions = {}): Promise<ToolClient> {
  const client = new ClientV1({ name: "kit-v1", version: "1.0.0" });
  await client.connect(new TransportV1(server.url));
  closers.push(() => client.close());
  return createToolClient(client, { random: () => 0.5, ...options });
}

function failure(outcome: ToolCallResult) {
  assert.ok(!outcome.ok, `expected a failure, got ${JSON.stringify(outcome)}`);
  return outcome;
}

for (const [sdk, kit] of [
  ["SDK v2 client", kitOverV2],
  ["SDK v1 client", kitOverV1],
] as const) {
  describe(`the kit over the ${sdk}, tools with an outputSchema`, () => {
    it("reports a handler's notFound as not_found, with its message, not retryable", async () => {
      const tools = await kit();
      const outcome = failure(await tools.call("find_order", { order_id: "INV-2024-99999" }));
      assert.deepEqual(
        {
          type: outcome.error.type,
          message: outcome.error.message,
          retryable: outcome.error.retryable,
          source: outcome.error.source,
        },
        { type: "not_found", message: MISSING, retryable: false, source: "contract" },
      );
      assert.equal(outcome.attempts.length, 1);
      // What the server sent: the error in _meta and the text, no structuredContent.
      assert.equal(outcome.result?.structuredContent, undefined);
      assert.equal(
        (outcome.result?._meta?.[ERROR_META_KEY] as { type?: string }).type,
        "not_found",
      );
    });

    it("reads the structured value of a success (validated against the outputSchema)", async () => {
      const tools = await kit();
      const outcome = await tools.call("find_order", { order_id: "INV-2024-00001" });
      assert.ok(outcome.ok, JSON.stringify(outcome));
      assert.deepEqual(outcome.value, { id: "INV-2024-00001", total_cents: 4_200 });
    });

    it("hands the SDK its request options: the caller's signal cancels the call", async () => {
      const tools = await kit();
      const controller = new AbortController();
      started.once("call", () => controller.abort(new Error("user pressed stop")));
      const outcome = failure(
        await tools.call("wait_for_cancel", {}, { signal: controller.signal, timeoutMs: 20_000 }),
      );
      assert.equal(outcome.error.type, "cancelled");
      assert.match(outcome.error.message, /user pressed stop/);
      assert.deepEqual(
        outcome.attempts.map((a) => a.error?.type),
        ["cancelled"],
      );
    });

    it("hands the SDK its request options: an attempt past attemptTimeoutMs is a transport timeout, retried (read)", async () => {
      const tools = await kit({ attemptTimeoutMs: 300, timeoutMs: 2_000 });
      const outcome = failure(await tools.call("wait_for_cancel", {}));
      assert.equal(outcome.error.type, "timeout");
      const [first] = outcome.attempts;
      assert.deepEqual(
        [first?.error?.type, first?.error?.source, first?.error?.applied],
        ["timeout", "transport", "unknown"],
      );
      assert.ok(outcome.attempts.length >= 2, "a read is retried after a timeout");
    });

    it("prefers _meta when _meta and the text disagree", async () => {
      const tools = await kit();
      const outcome = failure(await tools.call("disagreeing", {}));
      assert.equal(outcome.error.type, "not_found");
      assert.equal(outcome.error.message, "From _meta.");
    });

    it("reads a replayed definitive error of a keyed write, once, flagged replayed", async () => {
      const tools = await kit();
      const before = cancels;
      const first = failure(await tools.call("cancel_order", { order_id: "INV-2024-00077" }));
      assert.equal(first.error.type, "not_found");
      assert.equal(first.replayed, false);
      assert.ok(first.idempotencyKey, "a keyed write");
      const again = failure(
        await tools.call(
          "cancel_order",
          { order_id: "INV-2024-00077" },
          { operationId: first.idempotencyKey },
        ),
      );
      assert.equal(again.error.type, "not_found");
      assert.equal(again.replayed, true);
      assert.equal(again.attempts.length, 1);
      assert.equal(cancels - before, 1, "the handler ran once");
    });
  });
}
