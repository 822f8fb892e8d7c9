// Issue 18, defect 14: outcomes that depend on who calls rather than on the operation
// (`forbidden`, `unauthenticated`) are never stored under the idempotency key. After the
// agent gets the missing scope, resuming the same operation with the same key runs it.
// Over real HTTP with real tokens (a dev issuer) and the SDK v2 client.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { CallToolResult } from "@modelcontextprotocol/client";
import type { CallToolResult as ToolResult } from "@modelcontextprotocol/server";
import * as z from "zod";
import {
  defineTool,
  devIssuer,
  forbidden,
  unauthenticated,
  type DevIssuer,
  type ToolContext,
} from "../../src/index.js";
import { toErrorResult } from "../../src/errors/index.js";
import { memoryStore } from "../../src/stores/index.js";
import { memoryAuditSink, type MemoryAuditSink } from "../../src/audit/index.js";
import { IDEMPOTENCY_ARGUMENT, REPLAY_META_KEY } from "../../src/client/index.js";
import { readWireError } from "../../src/errors/to-result.js";
import { connectClientWithHeaders, startServer, type RunningServer } from "../helpers/server.js";

const BASE = "refunds:write";
const LARGE = "refunds:large";
const runs: Record<string, number> = {};

/** A write tool whose handler refuses, its own way, callers without the `refunds:large` scope. */
function largeRefund(name: string, refuse: () => ToolResult) {
  return defineTool({
    name,
    version: "1.0.0",
    description: "Refunds a large amount; needs refunds:large, checked by the handler.",
    input: z.object({ amount: z.number() }),
    scopes: [BASE],
    sideEffect: "write",
    handler: ({ amount }, ctx: ToolContext) => {
      if (!ctx.principal.scopes.includes(LARGE)) return refuse();
      runs[name] = (runs[name] ?? 0) + 1;
      return { refunded: amount };
    },
  });
}

const tools = [
  largeRefund("thrown_forbidden", () => {
    throw forbidden("Large refunds need the refunds:large scope. Ask the user to grant it.", [
      LARGE,
    ]);
  }),
  largeRefund("thrown_unauthenticated", () => {
    throw unauthenticated("Large refunds need a fresh sign-in with refunds:large.");
  }),
  largeRefund("returned_forbidden", () =>
    toErrorResult(forbidden("Large refunds need the refunds:large scope.", [LARGE])),
  ),
];

let dir: string;
let issuer: DevIssuer;
let running: RunningServer;
let sink: MemoryAuditSink;
before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "toolgate-credential-outcomes-"));
  issuer = await devIssuer({ keyFile: path.join(dir, "dev-issuer.json"), env: {} });
  sink = memoryAuditSink();
  running = await startServer(tools, {
    auth: issuer.verifier(),
    store: memoryStore(),
    audit: { sinks: [sink], flushIntervalMs: 1 },
  });
});
after(async () => {
  await running?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** One call as alice, with a token carrying `scope`. */
async function callAs(scope: string, name: string, key: string): Promise<CallToolResult> {
  const token = await issuer.mint({ sub: "alice", scope, audience: running.url.href });
  const conn = await connectClientWithHeaders(running.url, "legacy", {
    Authorization: `Bearer ${token}`,
  });
  try {
    return await conn.client.callTool({
      name,
      arguments: { amount: 90_000, [IDEMPOTENCY_ARGUMENT]: key },
    });
  } finally {
    await conn.close();
  }
}

describe("a refusal that depends on the caller is not stored under the key", () => {
  for (const [name, type] of [
    ["thrown_forbidden", "forbidden"],
    ["thrown_unauthenticated", "unauthenticated"],
    ["returned_forbidden", "forbidden"],
  ] as const) {
    test(`${name}: refused without the scope, then run with it under the same key`, async () => {
      const key = `resume-${name}`;
      const refused = await callAs(BASE, name, key);
      assert.equal(readWireError(refused)?.type, type, JSON.stringify(refused));
      assert.equal(runs[name] ?? 0, 0);

      // The agent got the scope and resumes the same operation with the same key.
      const resumed = await callAs(`${BASE} ${LARGE}`, name, key);
      assert.notEqual(resumed.isError, true, JSON.stringify(resumed));
      assert.deepEqual(resumed.structuredContent, { refunded: 90_000 });
      assert.equal(resumed._meta?.[REPLAY_META_KEY], undefined, "ran, not a replay");
      assert.equal(runs[name], 1);

      // From then on the success is what the key replays.
      const replayed = await callAs(`${BASE} ${LARGE}`, name, key);
      assert.equal(replayed._meta?.[REPLAY_META_KEY], true);
      assert.equal(runs[name], 1);

      // Audit events are written after the answer: wait for this tool's three (bounded).
      const ofTool = () => sink.events.filter((e) => e.tool === name);
      while (ofTool().length < 3) await sink.waitFor(sink.events.length + 1);
      const events = ofTool();
      assert.deepEqual(
        events.map((e) => [e.outcome, e.idempotency]),
        [
          [type, "executed"],
          ["ok", "executed"],
          ["ok", "replayed"],
        ],
      );
    });
  }
});
