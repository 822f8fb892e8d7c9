// httpBackend against real local HTTP servers: deadlines (hang, slow body), the circuit
// breaker (opens, refuses without calling, half-opens, recovers), 429, connection refused,
// retries only for safe or keyed requests, the derived Idempotency-Key downstream, 404
// mapping on request, and least privilege (undeclared backends, paths off the base URL).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, describe, it } from "node:test";
import * as z from "zod";
import {
  createToolServer,
  defineTool,
  httpBackend,
  type BackendDefinition,
  type ToolDefinition,
} from "../../src/index.js";
import { silentLogger } from "../../src/server/index.js";
import { memoryStore } from "../../src/stores/index.js";
import { memoryAuditSink } from "../../src/audit/index.js";

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
}

/** A backend whose behaviour the test sets per request; it records what it received. */
async function fakeBackend(
  handler: (req: IncomingMessage, res: ServerResponse, n: number) => void,
) {
  const seen: Seen[] = [];
  const closedSockets: number[] = [];
  const server: Server = createServer((req, res) => {
    seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
    req.socket.once("close", () => closedSockets.push(seen.length));
    handler(req, res, seen.length);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/api/`,
    port,
    seen,
    closedSockets,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const errorOf = (result: { structuredContent?: unknown }) =>
  (
    result.structuredContent as {
      error: { type: string; retryable: boolean; retryAfterMs?: number; message: string };
    }
  ).error;

/** A read tool that GETs `path` (or POSTs when asked) from the backend and returns status and body. */
function caller(name: string, timeoutMs = 2_000): ToolDefinition {
  return defineTool({
    name,
    version: "1.0.0",
    description: "Calls the backend.",
    input: z.object({
      path: z.string(),
      method: z.string().optional(),
      notFound: z.boolean().optional(),
    }),
    scopes: [],
    sideEffect: "read",
    backends: ["api"],
    timeoutMs,
    handler: async ({ path, method, notFound }, ctx) => {
      const response = await ctx.backend("api").fetch(path, {
        method: method ?? "GET",
        ...(notFound ? { notFound: "No such thing." } : {}),
      });
      return { status: response.status, body: await response.text() };
    },
  });
}

function serverWith(
  backend: BackendDefinition,
  tools: ToolDefinition[] = [caller("call_api")],
  sink = memoryAuditSink(),
) {
  const server = createToolServer({
    name: "backends",
    version: "1.0.0",
    tools,
    logger: silentLogger(),
    store: memoryStore(),
    audit: { sinks: [sink], flushIntervalMs: 5 },
    backends: { api: backend },
  });
  return { server, sink };
}

describe("httpBackend", () => {
  const cleanup: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanup) await c();
  });

  it("ends a hung request at the call's deadline, closes the socket and leaves no timer", async () => {
    const backend = await fakeBackend(() => undefined); // never answers
    cleanup.push(backend.close);
    const hung = caller("hung", 300);
    const { server } = serverWith(
      httpBackend({ baseUrl: backend.url, timeoutMs: 60_000, retry: false }),
      [hung],
    );
    cleanup.push(() => server.close());
    const timersBefore = process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    const started = Date.now();
    const result = await server.callTool("hung", { path: "slow" });
    const elapsed = Date.now() - started;
    assert.equal(errorOf(result).type, "timeout");
    assert.ok(elapsed >= 280 && elapsed < 1_500, `answered at the deadline (${elapsed} ms)`);
    const end = Date.now() + 2_000;
    while (backend.closedSockets.length === 0 && Date.now() < end)
      await new Promise((r) => setTimeout(r, 10));
    assert.equal(backend.closedSockets.length, 1, "the request's socket was closed");
    const timersAfter = process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    assert.ok(
      timersAfter <= timersBefore,
      `no timer left behind (${timersBefore} -> ${timersAfter})`,
    );
  });

  it("answers timeout when the backend's own timeout passes first", async () => {
    const backend = await fakeBackend(() => undefined);
    cleanup.push(backend.close);
    const { server } = serverWith(
      httpBackend({ baseUrl: backend.url, timeoutMs: 150, retry: false }),
    );
    cleanup.push(() => server.close());
    const started = Date.now();
    const error = errorOf(await server.callTool("call_api", { path: "x" }));
    assert.equal(error.type, "timeout");
    assert.match(error.message, /api service did not answer within 150 ms/);
    assert.ok(Date.now() - started < 1_500);
  });

  it("bounds a slow body: headers arrive, the body stalls, the call times out", async () => {
    const backend = await fakeBackend((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("partial"); // and never ends
    });
    cleanup.push(backend.close);
    const { server } = serverWith(
      httpBackend({ baseUrl: backend.url, timeoutMs: 200, retry: false }),
    );
    cleanup.push(() => server.close());
    const result = await server.callTool("call_api", { path: "x" });
    assert.equal(errorOf(result).type, "timeout");
  });

  it("opens the breaker after consecutive 500s, refuses without calling, then recovers half-open", async () => {
    let healthy = false;
    const backend = await fakeBackend((_req, res) => {
      res.writeHead(healthy ? 200 : 500).end(healthy ? "fine" : "broken");
    });
    cleanup.push(backend.close);
    const { server } = serverWith(
      httpBackend({
        baseUrl: backend.url,
        retry: false,
        breaker: { consecutiveFailures: 3, halfOpenAfterMs: 300 },
      }),
    );
    cleanup.push(() => server.close());
    for (let i = 0; i < 3; i++) {
      const error = errorOf(await server.callTool("call_api", { path: "x" }));
      assert.equal(error.type, "unavailable");
      assert.equal(error.retryable, true);
    }
    assert.equal(backend.seen.length, 3);
    const open = errorOf(await server.callTool("call_api", { path: "x" }));
    assert.equal(open.type, "unavailable");
    assert.match(open.message, /paused/);
    assert.ok(open.retryAfterMs! > 0 && open.retryAfterMs! <= 300);
    assert.equal(backend.seen.length, 3, "an open breaker makes no call");
    const metrics = await server.metrics.render();
    assert.match(metrics.body, /toolgate_backend_breaker_state\{backend="api"\} 2/);
    healthy = true;
    await new Promise((r) => setTimeout(r, 350));
    const ok = await server.callTool("call_api", { path: "x" });
    assert.equal(ok.isError, undefined, "the half-open trial succeeded");
    assert.match(
      (await server.metrics.render()).body,
      /toolgate_backend_breaker_state\{backend="api"\} 0/,
    );
  });

  it("maps 429 to rate_limited with the backend's Retry-After, without retrying", async () => {
    const backend = await fakeBackend((_req, res) =>
      res.writeHead(429, { "retry-after": "7" }).end(),
    );
    cleanup.push(backend.close);
    const { server } = serverWith(httpBackend({ baseUrl: backend.url }));
    cleanup.push(() => server.close());
    const error = errorOf(await server.callTool("call_api", { path: "x" }));
    assert.equal(error.type, "rate_limited");
    assert.equal(error.retryAfterMs, 7_000);
    assert.equal(backend.seen.length, 1);
  });

  it("maps connection refused to unavailable after retrying the GET", async () => {
    const backend = await fakeBackend(() => undefined);
    await backend.close(); // nothing listens on the port now
    const { server, sink } = serverWith(
      httpBackend({
        baseUrl: backend.url,
        retry: { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 20 },
        breaker: false,
      }),
    );
    cleanup.push(() => server.close());
    const error = errorOf(await server.callTool("call_api", { path: "x" }));
    assert.equal(error.type, "unavailable");
    assert.match(error.message, /cannot be reached/);
    const [event] = await sink.waitFor(1);
    assert.equal(event!.backendCalls.length, 3, "three attempts, each audited");
    assert.ok(event!.backendCalls.every((c) => c.status === "error"));
  });

  it("retries GETs and keyed writes, never an unkeyed POST; sends the derived Idempotency-Key", async () => {
    let failures = 0;
    const backend = await fakeBackend((_req, res) => {
      if (failures > 0) {
        failures--;
        return void res.writeHead(503).end();
      }
      res.writeHead(200).end("ok");
    });
    cleanup.push(backend.close);
    let keySeenByHandler: string | undefined;
    const write = defineTool({
      name: "write_api",
      version: "1.0.0",
      description: "POSTs with the operation's key.",
      input: z.object({}),
      scopes: [],
      sideEffect: "write",
      backends: ["api"],
      handler: async (_args, ctx) => {
        keySeenByHandler = ctx.idempotencyKey;
        const response = await ctx.backend("api").fetch("things", { method: "POST", body: "{}" });
        return { status: response.status };
      },
    });
    const { server } = serverWith(
      httpBackend({
        baseUrl: backend.url,
        retry: { maxAttempts: 3, initialDelayMs: 5, maxDelayMs: 10 },
        breaker: false,
      }),
      [caller("call_api"), write],
    );
    cleanup.push(() => server.close());

    failures = 2;
    assert.equal(
      (await server.callTool("call_api", { path: "x" })).isError,
      undefined,
      "GET retried to success",
    );
    assert.equal(backend.seen.length, 3);

    failures = 2;
    const result = await server.callTool("write_api", { idempotency_key: randomUUID() });
    assert.equal(result.isError, undefined, "keyed POST retried to success");
    const posts = backend.seen.slice(3);
    assert.equal(posts.length, 3);
    assert.ok(keySeenByHandler);
    assert.ok(
      posts.every((p) => p.headers["idempotency-key"] === keySeenByHandler),
      "same derived key on every attempt",
    );

    failures = 2;
    const unkeyed = errorOf(await server.callTool("call_api", { path: "x", method: "POST" }));
    assert.equal(unkeyed.type, "unavailable");
    assert.equal(backend.seen.length, 7, "an unkeyed POST is sent once");
    assert.equal(backend.seen[6]!.headers["idempotency-key"], undefined);
  });

  it("maps 404 to not_found only when the request asks, and returns other 4xx to the handler", async () => {
    const backend = await fakeBackend((_req, res) => res.writeHead(404).end("missing"));
    cleanup.push(backend.close);
    const { server } = serverWith(httpBackend({ baseUrl: backend.url }));
    cleanup.push(() => server.close());
    const mapped = errorOf(await server.callTool("call_api", { path: "x", notFound: true }));
    assert.deepEqual([mapped.type, mapped.message], ["not_found", "No such thing."]);
    const raw = await server.callTool("call_api", { path: "x" });
    assert.deepEqual(raw.structuredContent, { status: 404, body: "missing" });
  });

  it("keeps handlers to their declared backends and their base URL", async () => {
    const backend = await fakeBackend((_req, res) => res.writeHead(200).end("ok"));
    cleanup.push(backend.close);
    const sneaky = defineTool({
      name: "sneaky",
      version: "1.0.0",
      description: "Tries what it should not.",
      input: z.object({ what: z.enum(["undeclared", "absolute", "dotdot"]) }),
      scopes: [],
      sideEffect: "read",
      backends: ["api"],
      handler: async ({ what }, ctx) => {
        if (what === "undeclared") await ctx.backend("other").fetch("x");
        if (what === "absolute") await ctx.backend("api").fetch("http://127.0.0.1:1/steal");
        if (what === "dotdot") await ctx.backend("api").fetch("../../outside");
        return "ran";
      },
    });
    const server = createToolServer({
      name: "b",
      version: "1.0.0",
      tools: [sneaky],
      logger: silentLogger(),
      audit: false,
      backends: {
        api: httpBackend({ baseUrl: backend.url }),
        other: httpBackend({ baseUrl: backend.url }),
      },
    });
    cleanup.push(() => server.close());
    for (const what of ["undeclared", "absolute", "dotdot"]) {
      const error = errorOf(await server.callTool("sneaky", { what }));
      assert.equal(error.type, "internal", what);
    }
    assert.equal(backend.seen.length, 0, "no request left");
    assert.throws(
      () =>
        createToolServer({
          name: "b",
          version: "1.0.0",
          tools: [caller("c")],
          audit: false,
          backends: {},
        }),
      /Tool 'c' uses backend 'api', but the server declares no such backend/,
    );
    assert.throws(() => httpBackend({ baseUrl: "ftp://x" }), /http\(s\) URL/);
    assert.throws(() => httpBackend({ baseUrl: "http://u:p@x" }), /must not carry credentials/);
    assert.throws(
      () => httpBackend({ baseUrl: "http://x", timeoutMs: 0 }),
      /timeoutMs must be an integer/,
    );
    assert.throws(
      () => httpBackend({ baseUrl: "http://x", headers: { Authorization: "Bearer x" } }),
      /put secrets in credential/,
    );
  });
});
