// Deprecated tools: still callable, but the model reads a notice in the description,
// clients find it in _meta["toolgate/deprecated"], every call logs a warning naming who
// still calls it, and listDeprecated: false hides them from tools/list.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as z from "zod";
import { contractFromListing, contractOf } from "../../src/contract/snapshot.js";
import {
  createToolServer,
  defineTool,
  type Principal,
  type ToolDefinition,
} from "../../src/index.js";
import { silentLogger } from "../../src/server/index.js";
import { connectClient, startServer, type RunningServer } from "../helpers/server.js";
import { memoryLogger } from "../unit/helpers/memory-logger.js";

const NOTICE =
  "\n\nDEPRECATED since 1.4.0: use issue_refund_v2 instead. It may be removed after 2027-03-01.";

function refundTool(deprecated?: Parameters<typeof defineTool>[0]["deprecated"]): ToolDefinition {
  return defineTool({
    name: "issue_refund",
    version: "1.4.0",
    description: "Refunds an order.",
    input: z.object({ order_id: z.string() }),
    scopes: [],
    sideEffect: "read", // no idempotency store needed for this suite
    ...(deprecated === undefined ? {} : { deprecated }),
    handler: ({ order_id }) => ({ refunded: order_id }),
  });
}

const oldTool = refundTool({
  since: "1.4.0",
  useInstead: "issue_refund_v2",
  removeAfter: "2027-03-01",
});
const newTool = defineTool({
  name: "issue_refund_v2",
  version: "2.0.0",
  description: "Refunds part of an order.",
  input: z.object({ order_id: z.string(), amount_cents: z.number().int() }),
  scopes: [],
  sideEffect: "read",
  handler: ({ order_id }) => ({ refunded: order_id }),
});

describe("defineTool({ deprecated })", () => {
  test("appends the notice to the description and keeps the deprecation", () => {
    assert.equal(oldTool.description, `Refunds an order.${NOTICE}`);
    assert.deepEqual(oldTool.deprecated, {
      since: "1.4.0",
      useInstead: "issue_refund_v2",
      removeAfter: "2027-03-01",
    });
    assert.ok(Object.isFrozen(oldTool.deprecated));
  });

  test("shorter notices without useInstead or removeAfter", () => {
    assert.equal(
      refundTool({ since: "2026-11-01" }).description,
      "Refunds an order.\n\nDEPRECATED since 2026-11-01.",
    );
    assert.equal(
      refundTool({ since: "1.4.0", removeAfter: "2027-03-01" }).description,
      "Refunds an order.\n\nDEPRECATED since 1.4.0. It may be removed after 2027-03-01.",
    );
  });

  test("a tool that is not deprecated is unchanged", () => {
    const tool = refundTool();
    assert.equal(tool.description, "Refunds an order.");
    assert.equal(tool.deprecated, undefined);
  });

  test("bad deprecations are TypeErrors at definition time", () => {
    const cases: [unknown, RegExp][] = [
      [{}, /deprecated\.since is required/],
      [{ since: "  " }, /deprecated\.since is required/],
      ["1.4.0", /deprecated must be an object/],
      [{ since: "1.4.0", removeAfter: "next year" }, /removeAfter must be an ISO date/],
      [{ since: "1.4.0", removeAfter: "2027-02-30" }, /removeAfter must be an ISO date/],
      [{ since: "1.4.0", useInstead: "not a name!" }, /useInstead must be a tool name/],
      [{ since: "1.4.0", useInstead: "issue_refund" }, /names the tool itself/],
      [{ since: "1.4.0", replacement: "x" }, /unknown option 'replacement'/],
    ];
    for (const [deprecated, message] of cases) {
      assert.throws(
        () => refundTool(deprecated as { since: string }),
        (err: unknown) => err instanceof TypeError && message.test(err.message),
        JSON.stringify(deprecated),
      );
    }
  });

  test("the contract includes the deprecation", () => {
    const contract = contractOf(oldTool);
    assert.deepEqual(contract.deprecated, oldTool.deprecated);
    assert.equal(contract.description, oldTool.description);
    assert.equal("deprecated" in contractOf(newTool), false);
  });
});

describe("a deprecated tool on a server", () => {
  let running: RunningServer;
  before(async () => {
    running = await startServer([oldTool, newTool]);
  });
  after(() => running.close());

  test("tools/list carries the notice and _meta['toolgate/deprecated'] (not annotations)", async () => {
    const client = await connectClient(running.url, "legacy");
    try {
      const { tools } = await client.client.listTools();
      const listed = tools.find((t) => t.name === "issue_refund");
      assert.ok(listed);
      assert.equal(listed.description, `Refunds an order.${NOTICE}`);
      assert.deepEqual(listed._meta?.["toolgate/deprecated"], {
        since: "1.4.0",
        useInstead: "issue_refund_v2",
        removeAfter: "2027-03-01",
      });
      // The SDK's ToolAnnotations schema strips unknown keys, so toolgate uses _meta only.
      assert.equal("deprecated" in (listed.annotations ?? {}), false);
      const other = tools.find((t) => t.name === "issue_refund_v2");
      assert.equal(other?._meta?.["toolgate/deprecated"], undefined);
      // What a snapshot over HTTP records is what the definition says.
      assert.deepEqual(contractFromListing(listed), contractOf(oldTool));
    } finally {
      await client.close();
    }
  });
});

describe("calls of a deprecated tool", () => {
  const alice: Principal = {
    issuer: "https://issuer.test",
    subject: "alice",
    scopes: [],
    claims: {},
    anonymous: false,
  };

  test("each call logs one warning with the tool, the subject and useInstead", async () => {
    const { log, lines } = memoryLogger();
    const server = createToolServer({
      name: "deprecation",
      version: "1.0.0",
      tools: [oldTool, newTool],
      logger: log,
      audit: false,
    });
    try {
      const result = await server.callTool(
        "issue_refund",
        { order_id: "A-1" },
        { principal: alice },
      );
      assert.notEqual(result.isError, true);
      assert.deepEqual(result.structuredContent, { refunded: "A-1" });
      await server.callTool("issue_refund", { order_id: "A-2" });
      await server.callTool("issue_refund_v2", { order_id: "A-3", amount_cents: 5 });
      const warnings = lines().filter((line) => line["msg"] === "call of deprecated tool");
      assert.equal(warnings.length, 2, "once per call, and only for the deprecated tool");
      const [first, second] = warnings;
      assert.equal(first?.["level"], 40, "warn");
      assert.equal(first?.["tool"], "issue_refund");
      assert.equal(first?.["subject"], "alice");
      assert.equal(first?.["useInstead"], "issue_refund_v2");
      assert.equal(first?.["since"], "1.4.0");
      assert.equal(typeof first?.["requestId"], "string", "on the call's logger");
      assert.equal(second?.["subject"], "anonymous");
    } finally {
      await server.close();
    }
  });

  test("listDeprecated: false hides it from tools/list, and it stays callable", async () => {
    const running = await startServer([oldTool, newTool], { listDeprecated: false });
    const client = await connectClient(running.url, "legacy");
    try {
      const { tools } = await client.client.listTools();
      assert.deepEqual(
        tools.map((t) => t.name),
        ["issue_refund_v2"],
      );
      const result = await client.client.callTool({
        name: "issue_refund",
        arguments: { order_id: "A-9" },
      });
      assert.notEqual(result.isError, true);
      assert.deepEqual(result.structuredContent, { refunded: "A-9" });
      assert.equal(running.server.tools.length, 2, "the server still has both");
    } finally {
      await client.close();
      await running.close();
    }
  });

  test("listDeprecated must be a boolean", () => {
    assert.throws(
      () =>
        createToolServer({
          name: "x",
          version: "1.0.0",
          tools: [oldTool],
          logger: silentLogger(),
          listDeprecated: "no" as unknown as boolean,
        }),
      /listDeprecated must be true or false/,
    );
  });
});
