import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { diffLocks } from "../../src/contract/diff.js";
import type { ContractLock, ToolContract } from "../../src/contract/types.js";
import { wordDiff } from "../../src/contract/word-diff.js";

/** Fields to override; `undefined` removes an optional field. */
type Overrides = { [K in keyof ToolContract]?: ToolContract[K] | undefined };

function contract(name: string, overrides: Overrides = {}): ToolContract {
  const tool: Record<string, unknown> = {
    name,
    version: "1.0.0",
    description: "Refund part of an order.",
    inputSchema: {
      type: "object",
      properties: {
        orderId: { type: "string" },
        amount_cents: { type: "integer", minimum: 1, maximum: 100000 },
      },
      required: ["orderId", "amount_cents"],
      additionalProperties: false,
    },
    annotations: { readOnlyHint: false, destructiveHint: false },
    scopes: ["refunds:write"],
    sideEffect: "write",
    ...overrides,
  };
  for (const key of Object.keys(tool)) if (tool[key] === undefined) delete tool[key];
  return tool as unknown as ToolContract;
}

function lock(...tools: ToolContract[]): ContractLock {
  return { lockfileVersion: 1, tools: Object.fromEntries(tools.map((t) => [t.name, t])) };
}

/** diffLocks for one tool changed by `overrides`. */
function change(overrides: Overrides, base: Overrides = {}) {
  return diffLocks(
    lock(contract("issue_refund", base)),
    lock(contract("issue_refund", { ...base, ...overrides })),
  );
}

describe("diffLocks", () => {
  it("reports nothing for identical locks", () => {
    const report = diffLocks(
      lock(contract("a"), contract("b")),
      lock(contract("a"), contract("b")),
    );
    assert.deepEqual(report, { changes: [], versionNotBumped: [] });
  });

  it("a removed tool is breaking, an added one compatible", () => {
    const other = { inputSchema: { type: "object", properties: {}, additionalProperties: false } };
    const report = diffLocks(lock(contract("old_tool")), lock(contract("new_tool", other)));
    assert.deepEqual(
      report.changes.map((c) => [c.tool, c.kind, c.path]),
      [
        ["new_tool", "compatible", "tool"],
        ["old_tool", "breaking", "tool"],
      ],
    );
    const removed = report.changes.find((c) => c.tool === "old_tool")!;
    assert.match(removed.message, /removed or renamed/);
    assert.doesNotMatch(removed.message, /likely a rename/);
    assert.deepEqual(report.versionNotBumped, []);
  });

  it("mentions a likely rename when a new tool has an identical input schema", () => {
    const report = diffLocks(lock(contract("refund")), lock(contract("issue_refund")));
    const removed = report.changes.find((c) => c.tool === "refund")!;
    assert.equal(removed.kind, "breaking");
    assert.match(removed.message, /removed or renamed/);
    assert.match(removed.message, /"issue_refund" has an identical input schema.*likely a rename/);
    const added = report.changes.find((c) => c.tool === "issue_refund")!;
    assert.equal(added.kind, "compatible");
    assert.match(added.message, /likely a rename/);
  });

  it("a version change alone is not a change", () => {
    const report = change({ version: "1.1.0" });
    assert.deepEqual(report, { changes: [], versionNotBumped: [] });
  });

  it("lists tools whose contract changed while the version stayed the same", () => {
    const before = lock(contract("a"), contract("b"), contract("c"));
    const after = lock(
      contract("a", { description: "Refund all of an order." }),
      contract("b", { description: "Refund all of an order.", version: "1.0.1" }),
      contract("c"),
    );
    const report = diffLocks(before, after);
    assert.deepEqual(report.versionNotBumped, ["a"]);
    assert.deepEqual(
      report.changes.map((c) => c.tool),
      ["a", "b"],
    );
  });

  it("a description change is behavioural, with a word diff, and asks for evals", () => {
    const [c, ...rest] = change({ description: "Refund all of an order." }).changes;
    assert.equal(rest.length, 0);
    assert.equal(c!.kind, "behavioural");
    assert.equal(c!.path, "description");
    assert.equal(c!.wordDiff, "Refund [-part-] {+all+} of an order.");
    assert.match(c!.message, /re-run your evals$/);
  });

  it("a title added or changed is behavioural, with a word diff", () => {
    const added = change({ title: "Issue refund" }).changes[0]!;
    assert.equal(added.kind, "behavioural");
    assert.equal(added.path, "title");
    assert.equal(added.wordDiff, "{+Issue refund+}");
    assert.match(added.message, /re-run your evals$/);
    const changed = change({ title: "Issue a refund" }, { title: "Issue refund" }).changes[0]!;
    assert.equal(changed.wordDiff, "Issue {+a+} refund");
  });

  it("scopes: added is breaking, removed is compatible", () => {
    const added = change({ scopes: ["refunds:write", "orders:read"] }).changes;
    assert.deepEqual(
      added.map((c) => [c.kind, c.path]),
      [["breaking", "scopes"]],
    );
    assert.match(added[0]!.message, /orders:read/);
    const removed = change({ scopes: [] }).changes;
    assert.deepEqual(
      removed.map((c) => [c.kind, c.path]),
      [["compatible", "scopes"]],
    );
    const both = change({ scopes: ["refunds:admin"] }).changes;
    assert.deepEqual(
      both.map((c) => c.kind),
      ["breaking", "compatible"],
    );
  });

  it("sideEffect: read -> write is breaking, write -> read behavioural", () => {
    const toWrite = change({ sideEffect: "write" }, { sideEffect: "read" }).changes;
    assert.deepEqual(
      toWrite.map((c) => [c.kind, c.path]),
      [["breaking", "sideEffect"]],
    );
    const toRead = change({ sideEffect: "read" }).changes;
    assert.deepEqual(
      toRead.map((c) => [c.kind, c.path]),
      [["behavioural", "sideEffect"]],
    );
  });

  it("annotations: read -> write and non-destructive -> destructive are breaking", () => {
    const readOnly = { annotations: { readOnlyHint: true } };
    const noLonger = change({ annotations: { readOnlyHint: false } }, readOnly).changes[0]!;
    assert.deepEqual([noLonger.kind, noLonger.path], ["breaking", "annotations.readOnlyHint"]);
    // Dropping the hint means false (MCP's default): also read -> write.
    const dropped = change({ annotations: {} }, readOnly).changes[0]!;
    assert.equal(dropped.kind, "breaking");

    const destructive = change({ annotations: { readOnlyHint: false, destructiveHint: true } })
      .changes[0]!;
    assert.deepEqual(
      [destructive.kind, destructive.path],
      ["breaking", "annotations.destructiveHint"],
    );
    // destructiveHint defaults to true: removing `false` makes the tool destructive.
    assert.equal(change({ annotations: { readOnlyHint: false } }).changes[0]!.kind, "breaking");
  });

  it("annotations: other changes are behavioural", () => {
    const toReadOnly = change({ annotations: { readOnlyHint: true, destructiveHint: false } });
    assert.deepEqual(
      toReadOnly.changes.map((c) => [c.kind, c.path]),
      [["behavioural", "annotations.readOnlyHint"]],
    );
    const idempotent = change({
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
    }).changes;
    assert.deepEqual(
      idempotent.map((c) => [c.kind, c.path]),
      [["behavioural", "annotations.idempotentHint"]],
    );
    const title = change({
      annotations: { readOnlyHint: false, destructiveHint: false, title: "Refund" },
    }).changes[0]!;
    assert.equal(title.kind, "behavioural");
    assert.equal(title.wordDiff, "{+Refund+}");
  });

  it("deprecation added, changed or withdrawn is behavioural", () => {
    const deprecated = { since: "1.1.0", useInstead: "issue_refund_v2" };
    const added = change({ deprecated }).changes;
    assert.deepEqual(
      added.map((c) => [c.kind, c.path]),
      [["behavioural", "deprecated"]],
    );
    assert.match(added[0]!.message, /since 1\.1\.0.*issue_refund_v2/);
    const changed = change(
      { deprecated: { ...deprecated, removeAfter: "2026-01-01" } },
      { deprecated },
    );
    assert.equal(changed.changes[0]!.kind, "behavioural");
    assert.match(changed.changes[0]!.message, /2026-01-01/);
    const withdrawn = change({ deprecated: undefined }, { deprecated }).changes;
    assert.equal(withdrawn[0]!.kind, "behavioural");
    // The same deprecation with keys in another order is not a change.
    assert.deepEqual(
      change({ deprecated: { useInstead: "issue_refund_v2", since: "1.1.0" } }, { deprecated })
        .changes,
      [],
    );
  });

  it("input schema changes come from diffSchemas with an input prefix", () => {
    const inputSchema = contract("x").inputSchema;
    const props = inputSchema["properties"] as Record<string, object>;
    const report = change({
      inputSchema: {
        ...inputSchema,
        properties: { ...props, amount_cents: { type: "integer", minimum: 1, maximum: 50000 } },
      },
    });
    assert.deepEqual(report.changes, [
      {
        tool: "issue_refund",
        kind: "breaking",
        path: "input/amount_cents",
        message:
          "input/amount_cents: maximum lowered from 100000 to 50000 (callers sending 50001-100000 now fail)",
      },
    ]);
    assert.deepEqual(report.versionNotBumped, ["issue_refund"]);
  });

  it("output schema: added is compatible, removed breaking, changes via diffSchemas", () => {
    const outputSchema = {
      type: "object",
      properties: { refundId: { type: "string" }, status: { enum: ["pending", "done"] } },
      required: ["refundId", "status"],
      additionalProperties: false,
    };
    assert.deepEqual(
      change({ outputSchema }).changes.map((c) => [c.kind, c.path]),
      [["compatible", "output"]],
    );
    assert.deepEqual(
      change({ outputSchema: undefined }, { outputSchema }).changes.map((c) => [c.kind, c.path]),
      [["breaking", "output"]],
    );
    const widened = {
      ...outputSchema,
      properties: { ...outputSchema.properties, status: { enum: ["pending", "done", "failed"] } },
    };
    assert.deepEqual(
      change({ outputSchema: widened }, { outputSchema }).changes.map((c) => [c.kind, c.path]),
      [["breaking", "output/status"]],
    );
  });

  it("output schema: a new field on a closed object is breaking unless tolerantReader", () => {
    const outputSchema = {
      type: "object",
      properties: { refundId: { type: "string" } },
      required: ["refundId"],
      additionalProperties: false,
    };
    const withNote = {
      ...outputSchema,
      properties: { ...outputSchema.properties, note: { type: "string" } },
    };
    const before = lock(contract("issue_refund", { outputSchema }));
    const after = lock(contract("issue_refund", { outputSchema: withNote, version: "1.1.0" }));
    assert.deepEqual(
      diffLocks(before, after).changes.map((c) => [c.kind, c.path]),
      [["breaking", "output/note"]],
    );
    assert.deepEqual(
      diffLocks(before, after, { tolerantReader: true }).changes.map((c) => [c.kind, c.path]),
      [["compatible", "output/note"]],
    );
  });

  it("schema description changes carry their word diff", () => {
    const s = (description: string) => ({
      type: "object",
      properties: { reason: { type: "string", description } },
      additionalProperties: false,
    });
    const [c] = change(
      { inputSchema: s("Why the customer is unhappy") },
      { inputSchema: s("Why the customer wants it") },
    ).changes;
    assert.equal(c!.kind, "behavioural");
    assert.equal(c!.path, "input/reason");
    assert.equal(c!.wordDiff, "Why the customer [-wants it-] {+is unhappy+}");
  });

  it("orders changes by tool name, then path, then severity", () => {
    const before = lock(
      contract("b_tool", { sideEffect: "read" }),
      contract("a_tool"),
      contract("c_tool"),
    );
    const after = lock(
      contract("b_tool", {
        sideEffect: "write",
        description: "Changed.",
        scopes: ["orders:read"],
      }),
      contract("a_tool", { title: "A" }),
      contract("c_tool", {
        inputSchema: {
          type: "object",
          properties: {
            orderId: { type: "string" },
            note: { type: "string" },
            amount_cents: { type: "integer", minimum: 1, maximum: 100000 },
          },
          required: ["orderId"],
          additionalProperties: false,
        },
      }),
    );
    const report = diffLocks(before, after);
    assert.deepEqual(
      report.changes.map((c) => [c.tool, c.path, c.kind]),
      [
        ["a_tool", "title", "behavioural"],
        ["b_tool", "description", "behavioural"],
        ["b_tool", "scopes", "breaking"],
        ["b_tool", "scopes", "compatible"],
        ["b_tool", "sideEffect", "breaking"],
        ["c_tool", "input/amount_cents", "compatible"],
        ["c_tool", "input/note", "compatible"],
      ],
    );
    assert.deepEqual(report.versionNotBumped, ["a_tool", "b_tool", "c_tool"]);
    // Same result whatever order the lock lists tools in.
    const reversed = diffLocks(
      { lockfileVersion: 1, tools: Object.fromEntries(Object.entries(before.tools).reverse()) },
      { lockfileVersion: 1, tools: Object.fromEntries(Object.entries(after.tools).reverse()) },
    );
    assert.deepEqual(reversed, report);
  });

  it("handles tool names that are Object.prototype keys", () => {
    const report = diffLocks(lock(), lock(contract("constructor")));
    assert.deepEqual(
      report.changes.map((c) => [c.tool, c.kind]),
      [["constructor", "compatible"]],
    );
  });
});

describe("wordDiff", () => {
  it("marks removed and added words like git --word-diff=plain", () => {
    assert.equal(
      wordDiff("Refund part of an order", "Refund all of an order"),
      "Refund [-part-] {+all+} of an order",
    );
    assert.equal(wordDiff("a b c", "a b c"), "a b c");
    assert.equal(wordDiff("", "new text"), "{+new text+}");
    assert.equal(wordDiff("old text", ""), "[-old text-]");
    assert.equal(wordDiff("a  b\n c", "a b c"), "a b c");
    assert.equal(
      wordDiff("one two three four", "one three four five"),
      "one [-two-] three four {+five+}",
    );
  });

  it("falls back to a whole replacement for long texts, with bounded work", () => {
    const before = Array.from({ length: 5000 }, (_, i) => `w${i}`).join(" ");
    const after = Array.from({ length: 5000 }, (_, i) => `v${i}`).join(" ");
    const started = performance.now();
    const diff = wordDiff(`same ${before} end`, `same ${after} end`);
    assert.ok(performance.now() - started < 1000);
    assert.ok(diff.startsWith("same [-w0 w1"));
    assert.ok(diff.endsWith("v4999+} end"));
    assert.equal(wordDiff("x a y", "x b y", { maxTokens: 0 }), "x [-a-] {+b+} y");
  });
});
