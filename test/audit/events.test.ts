// One audit event per call, for every outcome the error contract has, with the fields
// the audit issue promises. Calls go through the real pipeline (server.callTool, and HTTP
// for refusals before any tool); events are read back from an in-memory sink.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, describe, it } from "node:test";
import * as z from "zod";
import {
  createToolServer,
  defineTool,
  notFound,
  rateLimited,
  toolResult,
  unavailable,
  type Principal,
  type ToolServer,
  type ToolServerOptions,
} from "../../src/index.js";
import { silentLogger } from "../../src/server/index.js";
import { ERROR_TYPE_NAMES } from "../../src/errors/index.js";
import { ANONYMOUS_PRINCIPAL } from "../../src/auth/index.js";
import { memoryStore } from "../../src/stores/index.js";
import { memoryAuditSink, type AuditEvent } from "../../src/audit/index.js";
import { startServer } from "../helpers/server.js";
import { rawRequest, MCP_HEADERS } from "../helpers/http.js";

const alice: Principal = Object.freeze({
  issuer: "https://issuer.test",
  subject: "alice",
  tenant: "acme",
  clientId: "agent-1",
  scopes: ["orders:read", "refunds:write"],
  claims: {},
  anonymous: false,
});
const readerOnly: Principal = { ...alice, subject: "bob", scopes: ["orders:read"] };

let slowRelease: (() => void) | undefined;
const tools = [
  defineTool({
    name: "echo",
    version: "1.2.0",
    description: "Echoes a word.",
    input: z.object({ word: z.string().max(10) }),
    scopes: ["orders:read"],
    sideEffect: "read",
    handler: ({ word }) => ({ word }),
  }),
  defineTool({
    name: "lookup",
    version: "1.0.0",
    description: "Fails the way the test asks.",
    input: z.object({ mode: z.enum(["missing", "limited", "down", "crash", "raw", "slow"]) }),
    scopes: [],
    sideEffect: "read",
    timeoutMs: 100,
    handler: async ({ mode }, ctx) => {
      if (mode === "missing") throw notFound("No such order.");
      if (mode === "limited") throw rateLimited("Slow down.", 2_000);
      if (mode === "down") throw unavailable("The database is down.", 1_000);
      if (mode === "crash") throw new Error("boom: secret internals");
      if (mode === "raw")
        return toolResult({ isError: true, content: [{ type: "text", text: "upstream said no" }] });
      await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
      return "late";
    },
  }),
  defineTool({
    name: "pay",
    version: "2.0.0",
    description: "Moves money once per key.",
    input: z.object({
      amount: z.number().int().positive(),
      card: z.string().meta({ sensitive: true }),
    }),
    scopes: ["refunds:write"],
    sideEffect: "write",
    idempotency: { waitMs: 0 },
    handler: async ({ amount }) => {
      if (amount === 999) await new Promise<void>((resolve) => (slowRelease = resolve));
      return { paid: amount };
    },
  }),
];

function serverWithSink(extra: Partial<ToolServerOptions> = {}) {
  const sink = memoryAuditSink();
  const server = createToolServer({
    name: "audit-test",
    version: "1.0.0",
    tools,
    logger: silentLogger(),
    store: memoryStore(),
    audit: { sinks: [sink], flushIntervalMs: 5 },
    auth: { verify: () => Promise.reject(new Error("not used over callTool")) },
    ...extra,
  });
  return { server, sink };
}

/** Calls and returns the one event it produced. */
async function eventOf(
  server: ToolServer,
  sink: ReturnType<typeof memoryAuditSink>,
  name: string,
  args: unknown,
  options: Parameters<ToolServer["callTool"]>[2] = { principal: alice },
): Promise<AuditEvent> {
  const before = sink.events.length;
  await server.callTool(name, args, options);
  const events = await sink.waitFor(before + 1);
  assert.equal(events.length, before + 1, "exactly one event per call");
  return events[before]!;
}

describe("audit events", () => {
  const open: ToolServer[] = [];
  after(() => Promise.all(open.map((s) => s.close())));

  it("records a successful call with identity, tool version, arguments and latency", async () => {
    const { server, sink } = serverWithSink();
    open.push(server);
    const event = await eventOf(server, sink, "echo", { word: "hi" });
    assert.equal(event.outcome, "ok");
    assert.equal(event.tool, "echo");
    assert.equal(event.toolVersion, "1.2.0");
    assert.equal(event.server, "audit-test");
    assert.equal(event.transport, "direct");
    assert.deepEqual(event.principal, {
      issuer: "https://issuer.test",
      subject: "alice",
      tenant: "acme",
      clientId: "agent-1",
      anonymous: false,
    });
    assert.deepEqual(event.arguments, { word: "hi" });
    assert.match(event.requestId, /^[0-9a-f-]{36}$/);
    assert.ok(event.latencyMs >= 0 && event.latencyMs < 5_000);
    assert.ok(Math.abs(Date.parse(event.time) - Date.now()) < 5_000);
    assert.deepEqual(event.backendCalls, []);
    assert.equal(event.idempotency, undefined);
    assert.equal("retryable" in event, false);
  });

  it("records every refusal and failure type with its outcome and retryable flag", async () => {
    const { server, sink } = serverWithSink();
    open.push(server);
    const seen = new Map<string, AuditEvent>();
    const record = async (name: string, args: unknown, principal: Principal = alice) => {
      const event = await eventOf(server, sink, name, args, { principal });
      seen.set(event.outcome, event);
      return event;
    };
    await record("echo", { word: "far too long for it" });
    await record("echo", { word: "x" }, ANONYMOUS_PRINCIPAL);
    await record("pay", { amount: 1, card: "x" }, readerOnly);
    const unknown = await record("no_such_tool", {});
    await record("lookup", { mode: "missing" });
    await record("lookup", { mode: "limited" });
    await record("lookup", { mode: "down" });
    await record("lookup", { mode: "slow" });
    const internal = await record("lookup", { mode: "crash" });
    await record("lookup", { mode: "raw" });
    const key = randomUUID();
    await eventOf(
      server,
      sink,
      "pay",
      { amount: 5, card: "c" },
      {
        principal: alice,
        meta: { "toolgate/idempotency-key": key },
      },
    );
    // conflict: same key, other arguments
    const conflict = await eventOf(
      server,
      sink,
      "pay",
      { amount: 6, card: "c" },
      {
        principal: alice,
        meta: { "toolgate/idempotency-key": key },
      },
    );
    seen.set(conflict.outcome, conflict);
    // in_progress: a duplicate while the first is still running
    const slowKey = randomUUID();
    const first = server.callTool(
      "pay",
      { amount: 999, card: "c" },
      { principal: alice, meta: { "toolgate/idempotency-key": slowKey } },
    );
    while (!slowRelease) await new Promise((r) => setTimeout(r, 5));
    const running = await eventOf(
      server,
      sink,
      "pay",
      { amount: 999, card: "c" },
      {
        principal: alice,
        meta: { "toolgate/idempotency-key": slowKey },
      },
    );
    seen.set(running.outcome, running);
    slowRelease();
    await first;

    for (const type of ERROR_TYPE_NAMES) assert.ok(seen.has(type), `an event with outcome ${type}`);
    assert.ok(seen.has("tool_error"), "an isError result without a type is tool_error, not ok");
    assert.equal(seen.get("invalid_input")!.retryable, false);
    assert.equal(seen.get("rate_limited")!.retryable, true);
    assert.equal(seen.get("timeout")!.retryable, true);
    assert.equal(seen.get("unauthenticated")!.principal.anonymous, true);
    assert.equal(seen.get("forbidden")!.principal.subject, "bob");
    assert.equal(unknown.outcome, "not_found");
    assert.equal(unknown.tool, "no_such_tool");
    assert.equal(unknown.toolVersion, null);
    assert.match(
      internal.incidentId ?? "",
      /^[0-9a-f-]{36}$/,
      "internal events carry the incident id",
    );
    assert.equal(
      JSON.stringify(internal).includes("secret internals"),
      false,
      "no error text from internals",
    );
    assert.equal(seen.get("conflict")!.idempotency, "conflict");
    assert.equal(seen.get("in_progress")!.idempotency, "in_progress");
    assert.ok(seen.get("timeout")!.latencyMs >= 90, "latency covers the wait for the deadline");
  });

  it("records idempotency dispositions: executed, then replayed", async () => {
    const { server, sink } = serverWithSink();
    open.push(server);
    const meta = { "toolgate/idempotency-key": randomUUID() };
    const first = await eventOf(
      server,
      sink,
      "pay",
      { amount: 7, card: "c" },
      { principal: alice, meta },
    );
    const second = await eventOf(
      server,
      sink,
      "pay",
      { amount: 7, card: "c" },
      { principal: alice, meta },
    );
    assert.equal(first.idempotency, "executed");
    assert.equal(first.outcome, "ok");
    assert.equal(second.idempotency, "replayed");
    assert.equal(second.outcome, "ok");
    assert.notEqual(first.requestId, second.requestId);
  });

  it("masks fields marked sensitive in the schema", async () => {
    const { server, sink } = serverWithSink();
    open.push(server);
    const event = await eventOf(
      server,
      sink,
      "pay",
      { amount: 3, card: "tok_live_abc" },
      {
        principal: alice,
        meta: { "toolgate/idempotency-key": randomUUID() },
      },
    );
    assert.deepEqual(event.arguments, { amount: 3, card: "[REDACTED]" });
  });

  it("audit: false records nothing and still serves", async () => {
    const sink = memoryAuditSink();
    const server = createToolServer({
      name: "x",
      version: "1.0.0",
      tools,
      logger: silentLogger(),
      audit: false,
    });
    open.push(server);
    const result = await server.callTool("lookup", { mode: "missing" });
    assert.equal(result.isError, true);
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(sink.events.length, 0);
  });

  it("rejects bad audit options with a TypeError that names the field", () => {
    assert.throws(
      () =>
        createToolServer({ name: "x", version: "1.0.0", tools, audit: { sinks: [{} as never] } }),
      /audit\.sinks\[0\] is not an audit sink/,
    );
    assert.throws(
      () =>
        createToolServer({
          name: "x",
          version: "1.0.0",
          tools,
          audit: { failClosed: "yes" as never },
        }),
      /audit\.failClosed must be a boolean/,
    );
    assert.throws(
      () => createToolServer({ name: "x", version: "1.0.0", tools, audit: { maxBuffered: 0 } }),
      /audit\.maxBuffered must be a positive integer/,
    );
  });
});

describe("audit events for HTTP refusals before any tool", () => {
  it("records a missing, a malformed and a rejected token as unauthenticated, with no tool", async () => {
    const sink = memoryAuditSink();
    const running = await startServer(tools, {
      audit: { sinks: [sink], flushIntervalMs: 5 },
      auth: { verify: () => Promise.reject(new (class extends Error {})("nope")) },
    });
    try {
      const body = JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "tools/call",
        params: { name: "echo", arguments: {} },
      });
      const none = await rawRequest({ port: running.address.port, headers: MCP_HEADERS, body });
      const malformed = await rawRequest({
        port: running.address.port,
        headers: { ...MCP_HEADERS, authorization: "Basic abc" },
        body,
      });
      assert.equal(none.status, 401);
      assert.equal(malformed.status, 400);
      const events = await sink.waitFor(2);
      for (const event of events) {
        assert.equal(event.outcome, "unauthenticated");
        assert.equal(event.tool, null);
        assert.equal(event.transport, "http");
        assert.equal(event.principal.anonymous, true);
        assert.equal(typeof event.reason, "string");
      }
      assert.match(events[1]!.reason!, /Bearer/);
    } finally {
      await running.close();
    }
  });
});
