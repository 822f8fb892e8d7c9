// /metrics scraped over a real socket after real calls (SDK client over HTTP): call
// counts by tool and outcome, latency histogram, replays, refusals, audit sink gauges.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import * as z from "zod";
import { Registry } from "prom-client";
import { createToolServer, defineTool, rateLimited } from "../../src/index.js";
import { memoryStore } from "../../src/stores/index.js";
import { memoryAuditSink } from "../../src/audit/index.js";
import { connectClient, startServer } from "../helpers/server.js";
import { rawRequest } from "../helpers/http.js";

const tools = [
  defineTool({
    name: "add",
    version: "1.0.0",
    description: "Adds.",
    input: z.object({ a: z.number(), b: z.number() }),
    scopes: [],
    sideEffect: "read",
    handler: ({ a, b }) => {
      if (a < 0) throw rateLimited("Too fast.", 1000);
      return { sum: a + b };
    },
  }),
  defineTool({
    name: "save",
    version: "1.0.0",
    description: "Saves.",
    input: z.object({ v: z.string() }),
    scopes: [],
    sideEffect: "write",
    handler: ({ v }) => ({ saved: v }),
  }),
];

/** The value of one sample line, e.g. toolgate_tool_calls_total{tool="add",outcome="ok"}. */
function sample(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const match = /^([^{\s]+)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = Object.fromEntries(
      [...(match[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(match[3]);
  }
  return undefined;
}

describe("metrics", () => {
  it("serves Prometheus text at /metrics with calls by tool and outcome, latency, replays", async () => {
    const running = await startServer(tools, {
      store: memoryStore(),
      audit: { sinks: [memoryAuditSink()] },
    });
    const conn = await connectClient(running.url, "auto");
    const { client } = conn;
    try {
      await client.callTool({ name: "add", arguments: { a: 1, b: 2 } });
      await client.callTool({ name: "add", arguments: { a: 2, b: 2 } });
      await client.callTool({ name: "add", arguments: { a: "x", b: 2 } });
      await client.callTool({ name: "add", arguments: { a: -1, b: 2 } });
      await client.callTool({ name: "nope_" + randomUUID(), arguments: {} });
      const key = randomUUID();
      for (let i = 0; i < 3; i++) {
        await client.callTool({
          name: "save",
          arguments: { v: "x" },
          _meta: { "toolgate/idempotency-key": key },
        });
      }
    } finally {
      await conn.close();
    }
    const response = await rawRequest({
      port: running.address.port,
      method: "GET",
      path: "/metrics",
    });
    await running.close();
    assert.equal(response.status, 200);
    assert.match(String(response.headers["content-type"]), /^text\/plain/);
    const text = response.body;
    assert.equal(sample(text, "toolgate_tool_calls_total", { tool: "add", outcome: "ok" }), 2);
    assert.equal(
      sample(text, "toolgate_tool_calls_total", { tool: "add", outcome: "invalid_input" }),
      1,
    );
    assert.equal(
      sample(text, "toolgate_tool_calls_total", { tool: "add", outcome: "rate_limited" }),
      1,
    );
    assert.equal(
      sample(text, "toolgate_tool_calls_total", { tool: "(unknown)", outcome: "not_found" }),
      1,
    );
    assert.equal(text.includes("nope_"), false, "invented tool names never become labels");
    assert.equal(sample(text, "toolgate_rate_limited_total", { tool: "add" }), 1);
    assert.equal(sample(text, "toolgate_idempotent_replays_total", { tool: "save" }), 2);
    assert.equal(sample(text, "toolgate_tool_call_duration_seconds_count", { tool: "add" }), 4);
    assert.equal(
      sample(text, "toolgate_tool_call_duration_seconds_bucket", { tool: "add", le: "+Inf" }),
      4,
    );
    assert.equal(sample(text, "toolgate_audit_sink_healthy", { sink: "memory" }), 1);
    assert.equal(
      sample(text, "toolgate_audit_buffered_events", { sink: "memory" }) !== undefined,
      true,
    );
    assert.ok(sample(text, "process_cpu_user_seconds_total") !== undefined, "process metrics");
  });

  it("counts HTTP auth refusals and serves /metrics without a token", async () => {
    const running = await startServer(tools, {
      audit: { sinks: [memoryAuditSink()] },
      auth: { verify: () => Promise.reject(new Error("no")) },
    });
    try {
      const mcp = await rawRequest({
        port: running.address.port,
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
        },
        body: "{}",
      });
      assert.equal(mcp.status, 401);
      const metrics = await rawRequest({
        port: running.address.port,
        method: "GET",
        path: "/metrics",
      });
      assert.equal(metrics.status, 200);
      assert.equal(sample(metrics.body, "toolgate_http_auth_refusals_total", { status: "401" }), 1);
      const evil = await rawRequest({
        port: running.address.port,
        method: "GET",
        path: "/metrics",
        headers: { host: "evil.example" },
      });
      assert.equal(evil.status, 403, "DNS-rebinding protection covers /metrics too");
    } finally {
      await running.close();
    }
  });

  it("metrics: false serves no endpoint; a custom path and registry are honoured", async () => {
    const off = await startServer(tools, { metrics: false, audit: false });
    const registry = new Registry();
    const custom = await startServer(tools, {
      metrics: { path: "/internal/metrics", registry, processMetrics: false },
      audit: false,
    });
    try {
      const none = await rawRequest({ port: off.address.port, method: "GET", path: "/metrics" });
      assert.equal(none.status, 404);
      await custom.server.callTool("add", { a: 1, b: 1 });
      const moved = await rawRequest({
        port: custom.address.port,
        method: "GET",
        path: "/internal/metrics",
      });
      assert.equal(moved.status, 200);
      assert.equal(
        sample(moved.body, "toolgate_tool_calls_total", { tool: "add", outcome: "ok" }),
        1,
      );
      assert.equal(sample(moved.body, "process_cpu_user_seconds_total"), undefined);
      assert.match(await registry.metrics(), /toolgate_tool_calls_total/);
    } finally {
      await off.close();
      await custom.close();
    }
    assert.throws(
      () => createToolServer({ name: "x", version: "1.0.0", tools, metrics: { path: "/mcp" } }),
      /metrics\.path must differ from http\.path/,
    );
    assert.throws(
      () => createToolServer({ name: "x", version: "1.0.0", tools, metrics: { path: "metrics" } }),
      /metrics\.path must be a string starting with '\/'/,
    );
  });
});
