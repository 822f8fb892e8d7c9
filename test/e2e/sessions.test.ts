// Optional stateful sessions (`http: { sessions: true }`): 2025-era clients get an
// Mcp-Session-Id and keep it across requests; 2026-era clients stay stateless on the
// same server.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { SECRET, createFixtureTools, type FixtureToolSet } from "../fixtures/tools.js";
import { MCP_HEADERS, jsonRpc, parseOne, rawRequest, toolsCall } from "../helpers/http.js";
import { dig, digString } from "../helpers/json.js";
import {
  EXPECTED_PROTOCOL,
  assertNoLeak,
  connectClient,
  expectToolError,
  cancelWaitingCall,
  startServer,
  type ConnectedClient,
  type RunningServer,
} from "../helpers/server.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe("HTTP sessions", () => {
  let running: RunningServer;
  let port: number;
  let fixtures: FixtureToolSet;
  const clients: ConnectedClient[] = [];

  async function connect(mode: "legacy" | "auto"): Promise<ConnectedClient> {
    const conn = await connectClient(running.url, mode);
    clients.push(conn);
    return conn;
  }

  before(async () => {
    fixtures = createFixtureTools();
    running = await startServer(fixtures.tools, { http: { sessions: true } });
    port = running.address.port;
  });

  after(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await running?.close();
  });

  test("a legacy client gets a session id and calls tools across requests", async () => {
    const conn = await connect("legacy");
    assert.equal(conn.client.getNegotiatedProtocolVersion(), EXPECTED_PROTOCOL.legacy);
    const sessionId = conn.transport.sessionId;
    assert.ok(sessionId, "legacy client has an Mcp-Session-Id");
    assert.match(sessionId, UUID);

    const { tools } = await conn.client.listTools();
    assert.ok(tools.some((t) => t.name === "echo"));
    for (let i = 0; i < 5; i++) {
      const result = await conn.client.callTool({
        name: "echo",
        arguments: { text: `r${i}`, n: i },
      });
      assert.deepEqual(result.structuredContent, { echoed: `r${i}`, n: i });
    }
    const failed = await conn.client.callTool({ name: "explode", arguments: {} });
    assertNoLeak(failed, SECRET);
    assert.match(expectToolError(failed, "internal").incidentId ?? "", UUID);
    const timedOut = await conn.client.callTool({ name: "slow", arguments: {} });
    expectToolError(timedOut, "timeout");
    assert.equal(conn.transport.sessionId, sessionId, "the same session throughout");
  });

  test("cancelling a call (notifications/cancelled) aborts its handler within the session", async () => {
    const conn = await connect("legacy");
    const { outcome, aborted } = await cancelWaitingCall(
      conn.client,
      fixtures.probes.events,
      "session-cancel",
    );
    assert.ok(outcome instanceof Error);
    assert.deepEqual((await aborted).slice(1), ["CancelledByClient"]);
    // The session survives the cancellation.
    const result = await conn.client.callTool({ name: "echo", arguments: { text: "next" } });
    assert.deepEqual(result.structuredContent, { echoed: "next", n: null });
  });

  test("two legacy clients get different sessions", async () => {
    const a = await connect("legacy");
    const b = await connect("legacy");
    assert.ok(a.transport.sessionId && b.transport.sessionId);
    assert.notEqual(a.transport.sessionId, b.transport.sessionId);
    const [ra, rb] = await Promise.all([
      a.client.callTool({ name: "echo", arguments: { text: "a" } }),
      b.client.callTool({ name: "echo", arguments: { text: "b" } }),
    ]);
    assert.deepEqual(ra.structuredContent, { echoed: "a", n: null });
    assert.deepEqual(rb.structuredContent, { echoed: "b", n: null });
  });

  test("the session id works for raw requests too", async () => {
    const conn = await connect("legacy");
    const sessionId = conn.transport.sessionId!;
    const res = await rawRequest({
      port,
      headers: { ...MCP_HEADERS, "mcp-session-id": sessionId },
      body: toolsCall("echo", { text: "raw" }, 9),
    });
    assert.equal(res.status, 200, res.body);
    assert.deepEqual(dig(parseOne(res), "result", "structuredContent"), { echoed: "raw", n: null });
  });

  test("an unknown session id is 404 (POST and GET)", async () => {
    const res = await rawRequest({
      port,
      headers: { ...MCP_HEADERS, "mcp-session-id": "00000000-0000-4000-8000-000000000000" },
      body: jsonRpc("tools/list", {}, 1),
    });
    assert.equal(res.status, 404, res.body);
    assertNoLeak(res.body);
    const body: unknown = JSON.parse(res.body);
    assert.equal(dig(body, "error", "code"), -32600);
    assert.match(digString(body, "error", "message"), /Session not found/);

    const get = await rawRequest({
      port,
      method: "GET",
      headers: { accept: "text/event-stream", "mcp-session-id": "nope" },
    });
    assert.equal(get.status, 404, get.body);
  });

  test("a terminated session (DELETE) is gone: 404 afterwards", async () => {
    const conn = await connect("legacy");
    const sessionId = conn.transport.sessionId!;
    await conn.transport.terminateSession();
    const res = await rawRequest({
      port,
      headers: { ...MCP_HEADERS, "mcp-session-id": sessionId },
      body: jsonRpc("tools/list", {}, 1),
    });
    assert.equal(res.status, 404, res.body);
  });

  test("a legacy request without a session id (other than initialize) is 400", async () => {
    const res = await rawRequest({
      port,
      headers: MCP_HEADERS,
      body: toolsCall("echo", { text: "x" }),
    });
    assert.equal(res.status, 400, res.body);
    assert.match(digString(JSON.parse(res.body), "error", "message"), /Mcp-Session-Id/);
    for (const method of ["GET", "DELETE"]) {
      const other = await rawRequest({ port, method, headers: { accept: "text/event-stream" } });
      assert.equal(other.status, 400, `${method}: ${other.body}`);
    }
  });

  test("a modern (auto) client still works statelessly on the same server", async () => {
    const conn = await connect("auto");
    assert.equal(conn.client.getNegotiatedProtocolVersion(), EXPECTED_PROTOCOL.auto);
    assert.equal(conn.transport.sessionId, undefined);
    const result = await conn.client.callTool({ name: "echo", arguments: { text: "modern" } });
    assert.deepEqual(result.structuredContent, { echoed: "modern", n: null });
    const failed = await conn.client.callTool({ name: "delete_order", arguments: { id: "x" } });
    assertNoLeak(failed, SECRET);
    assert.deepEqual(expectToolError(failed, "forbidden").details, {
      requiredScopes: ["orders:delete", "admin"],
    });
  });

  test("legacy and modern clients interleave on one server", async () => {
    const legacy = await connect("legacy");
    const modern = await connect("auto");
    const calls = Array.from({ length: 10 }, (_, i) =>
      (i % 2 === 0 ? legacy : modern).client.callTool({
        name: "echo",
        arguments: { text: `i${i}` },
      }),
    );
    const results = await Promise.all(calls);
    results.forEach((r, i) => assert.deepEqual(r.structuredContent, { echoed: `i${i}`, n: null }));
  });
});

describe("HTTP sessions: limits", () => {
  let running: RunningServer;
  const clients: ConnectedClient[] = [];

  before(async () => {
    running = await startServer(createFixtureTools().tools, {
      http: { sessions: { maxSessions: 1 } },
    });
  });

  after(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await running?.close();
  });

  test("new sessions beyond maxSessions are refused with 503 and Retry-After", async () => {
    clients.push(await connectClient(running.url, "legacy"));
    const res = await rawRequest({
      port: running.address.port,
      headers: MCP_HEADERS,
      body: jsonRpc(
        "initialize",
        {
          protocolVersion: "2025-11-25",
          capabilities: {},
          clientInfo: { name: "raw", version: "1" },
        },
        0,
      ),
    });
    assert.equal(res.status, 503, res.body);
    assert.equal(res.headers["retry-after"], "5");
    // A modern client does not need a session and is still served.
    const modern = await connectClient(running.url, "auto");
    clients.push(modern);
    const result = await modern.client.callTool({ name: "echo", arguments: { text: "m" } });
    assert.deepEqual(result.structuredContent, { echoed: "m", n: null });
  });
});

describe("HTTP sessions: idle timeout", () => {
  let running: RunningServer;
  const clients: ConnectedClient[] = [];

  before(async () => {
    running = await startServer(createFixtureTools().tools, {
      http: { sessions: { idleTimeoutMs: 100 } },
    });
  });

  after(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await running?.close();
  });

  test("an idle session is closed; its id then gets 404", async () => {
    const conn = await connectClient(running.url, "legacy");
    clients.push(conn);
    const sessionId = conn.transport.sessionId!;
    // Poll (bounded) until the sweeper has closed the session. Each poll that still
    // finds the session refreshes it, so polls are spaced wider than the idle timeout.
    const deadline = Date.now() + 10_000;
    let status = 0;
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      const res = await rawRequest({
        port: running.address.port,
        headers: { ...MCP_HEADERS, "mcp-session-id": sessionId },
        body: jsonRpc("tools/list", {}, 1),
      });
      status = res.status;
      if (status === 404) break;
      assert.equal(status, 200, res.body);
    }
    assert.equal(status, 404, "the idle session was never closed");
  });
});
