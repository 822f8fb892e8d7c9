// Spans through @opentelemetry/api, recorded here with the SDK's in-memory exporter: one
// SERVER span per call whose parent is the trace context the client sent in _meta, a
// CLIENT span per backend call, and the trace context sent on to a real HTTP backend.
import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { propagation, trace, SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import * as z from "zod";
import { defineTool, notFound } from "../../src/index.js";
import { memoryAuditSink } from "../../src/audit/index.js";
import { connectClient, startServer, type RunningServer } from "../helpers/server.js";

const exporter = new InMemorySpanExporter();
const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_SPAN = "00f067aa0ba902b7";

describe("tracing", () => {
  const seenByBackend: IncomingHttpHeaders[] = [];
  const backend = createServer((req, res) => {
    seenByBackend.push(req.headers);
    res.writeHead(req.url === "/fail" ? 503 : 200, { "content-type": "application/json" });
    res.end("{}");
  });
  let backendUrl = "";
  let running: RunningServer;
  const sink = memoryAuditSink();

  before(async () => {
    trace.setGlobalTracerProvider(
      new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
    );
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    await new Promise<void>((resolve) => backend.listen(0, "127.0.0.1", resolve));
    backendUrl = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;
    const fetchOrder = defineTool({
      name: "fetch_order",
      version: "1.0.0",
      description: "Reads an order from the backend.",
      input: z.object({ path: z.enum(["/ok", "/fail", "/missing"]) }),
      scopes: [],
      sideEffect: "read",
      handler: async ({ path }, ctx) => {
        if (path === "/missing") throw notFound("No such order.");
        const response = await ctx.backendCall("orders-api", (init) =>
          fetch(backendUrl + path, { headers: init.headers, signal: init.signal }),
        );
        return { status: response.status };
      },
    });
    running = await startServer([fetchOrder], { audit: { sinks: [sink], flushIntervalMs: 5 } });
  });
  after(async () => {
    await running.close();
    await new Promise((resolve) => backend.close(resolve));
    trace.disable();
    propagation.disable();
  });

  it("parents the call span on _meta.traceparent and propagates to the backend", async () => {
    exporter.reset();
    const conn = await connectClient(running.url, "legacy");
    const { client } = conn;
    try {
      const result = await client.callTool({
        name: "fetch_order",
        arguments: { path: "/ok" },
        _meta: { traceparent: `00-${TRACE_ID}-${PARENT_SPAN}-01` },
      });
      assert.equal(result.isError, undefined);
    } finally {
      await conn.close();
    }
    const spans = exporter.getFinishedSpans();
    const server = spans.find((s) => s.name === "tools/call fetch_order");
    const backendSpan = spans.find((s) => s.name === "orders-api");
    assert.ok(server, "a server span named after the tool");
    assert.ok(backendSpan, "a client span for the backend call");
    assert.equal(server.kind, SpanKind.SERVER);
    assert.equal(server.spanContext().traceId, TRACE_ID);
    assert.equal(server.parentSpanContext?.spanId, PARENT_SPAN);
    assert.equal(server.attributes["mcp.method.name"], "tools/call");
    assert.equal(server.attributes["gen_ai.tool.name"], "fetch_order");
    assert.equal(server.attributes["network.transport"], "tcp");
    assert.equal(backendSpan.kind, SpanKind.CLIENT);
    assert.equal(backendSpan.parentSpanContext?.spanId, server.spanContext().spanId);
    assert.equal(backendSpan.attributes["http.response.status_code"], 200);
    const header = seenByBackend.at(-1)?.traceparent;
    assert.equal(
      header,
      `00-${TRACE_ID}-${backendSpan.spanContext().spanId}-01`,
      "the backend got the client span's context",
    );

    const event = (await sink.waitFor(1)).find(
      (e) => e.tool === "fetch_order" && e.traceId === TRACE_ID,
    );
    assert.ok(event, "the audit event carries the trace id");
    assert.equal(event.backendCalls.length, 1);
    assert.equal(event.backendCalls[0]!.name, "orders-api");
    assert.equal(event.backendCalls[0]!.status, 200);
    assert.ok(event.backendCalls[0]!.ms >= 0);
  });

  it("marks failed calls and failing backends as errors with error.type", async () => {
    exporter.reset();
    const conn = await connectClient(running.url, "auto");
    const { client } = conn;
    try {
      await client.callTool({ name: "fetch_order", arguments: { path: "/fail" } });
      await client.callTool({ name: "fetch_order", arguments: { path: "/missing" } });
    } finally {
      await conn.close();
    }
    const spans = exporter.getFinishedSpans();
    const backendSpan = spans.find((s) => s.name === "orders-api");
    assert.equal(backendSpan?.status.code, SpanStatusCode.ERROR);
    assert.equal(backendSpan?.attributes["error.type"], "503");
    const failed = spans.filter((s) => s.name === "tools/call fetch_order");
    assert.equal(failed.length, 2);
    const missing = failed.find((s) => s.attributes["error.type"] === "not_found");
    assert.ok(missing, "a typed failure sets error.type to its type");
    assert.equal(missing.status.code, SpanStatusCode.ERROR);
    // Without a traceparent the call starts its own trace.
    assert.notEqual(missing.spanContext().traceId, TRACE_ID);
  });

  it("names spans of unknown tools without the requested name (bounded span names)", async () => {
    exporter.reset();
    const conn = await connectClient(running.url, "legacy");
    const { client } = conn;
    try {
      await client.callTool({ name: "invented_name_123", arguments: {} });
    } finally {
      await conn.close();
    }
    const span = exporter
      .getFinishedSpans()
      .find((s) => s.attributes["gen_ai.tool.name"] === "invented_name_123");
    assert.equal(span?.name, "tools/call");
    assert.equal(span?.attributes["error.type"], "not_found");
  });
});
