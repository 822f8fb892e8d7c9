// LazyAbort: an AbortController whose signal exists only once read. And the reason it
// exists: a tools/call whose handler never reads a signal creates none, in process and on
// the HTTP fast path (on Node 20 every AbortSignal costs ~1 KB of old-generation memory).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as z from "zod";
import {
  LazyAbort,
  cancellationOf,
  signalSourceOf,
  withLazySignal,
} from "../../src/util/lazy-abort.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createToolServer, defineTool, devIssuer } from "../../src/index.js";
import { silentLogger } from "../../src/server/index.js";
import { MCP_HEADERS, parseOne, rawRequest, toolsCall } from "../helpers/http.js";
import { dig } from "../helpers/json.js";
import { countAbortControllers } from "../helpers/abort-count.js";

describe("LazyAbort", () => {
  it("gives one signal, aborted with the reason of the first abort", () => {
    const abort = new LazyAbort();
    const signal = abort.signal;
    assert.equal(abort.signal, signal);
    let events = 0;
    signal.addEventListener("abort", () => events++);
    abort.abort(new Error("first"));
    abort.abort(new Error("second"));
    assert.equal(events, 1);
    assert.equal(signal.aborted, true);
    assert.equal((signal.reason as Error).message, "first");
    assert.equal((abort.reason as Error).message, "first");
  });

  it("a signal read after the abort is already aborted, with the reason", () => {
    const abort = new LazyAbort();
    const reason = new Error("gone");
    abort.abort(reason);
    assert.equal(abort.aborted, true);
    assert.equal(abort.signal.aborted, true);
    assert.equal(abort.signal.reason, reason);
  });

  it("defaults the reason to an AbortError, as AbortController does", () => {
    const abort = new LazyAbort();
    abort.abort();
    assert.equal((abort.reason as DOMException).name, "AbortError");
    assert.equal((abort.signal.reason as DOMException).name, "AbortError");
  });

  it("runs onAbort listeners once, at once when already aborted, not after removal", () => {
    const abort = new LazyAbort();
    const calls: string[] = [];
    abort.onAbort(() => calls.push("a"));
    const off = abort.onAbort(() => calls.push("removed"));
    off();
    abort.abort();
    abort.abort();
    abort.onAbort(() => calls.push("late"));
    assert.deepEqual(calls, ["a", "late"]);
  });

  it("withLazySignal: an enumerable signal that spreads and is created on first read", () => {
    const abort = new LazyAbort();
    const target = withLazySignal({ a: 1 }, abort);
    assert.ok(Object.keys(target).includes("signal"));
    const copy = { ...target };
    assert.equal(copy.signal, abort.signal);
    abort.abort();
    assert.equal(target.signal.aborted, true);
  });

  it("cancellationOf adapts an AbortSignal", () => {
    const controller = new AbortController();
    const cancellation = cancellationOf(controller.signal);
    const calls: string[] = [];
    cancellation.onAbort(() => calls.push("a"));
    cancellation.onAbort(() => calls.push("removed"))();
    assert.equal(cancellation.aborted, false);
    controller.abort("why");
    assert.equal(cancellation.aborted, true);
    assert.equal(cancellation.reason, "why");
    cancellation.onAbort(() => calls.push("late"));
    assert.deepEqual(calls, ["a", "late"]);
    assert.equal(cancellation.signal, controller.signal);
  });

  it("signalSourceOf: a withLazySignal value's LazyAbort (no signal made), else its signal's", () => {
    const abort = new LazyAbort();
    const source = signalSourceOf(withLazySignal({ a: 1 }, abort));
    assert.equal(source, abort);
    const controller = new AbortController();
    const other = signalSourceOf({ signal: controller.signal });
    assert.equal(other.signal, controller.signal);
    controller.abort("why");
    assert.equal(other.aborted, true);
    assert.equal(other.reason, "why");
  });
});

describe("a call whose handler reads no signal creates none", () => {
  const counted = countAbortControllers();

  const tools = [
    defineTool({
      name: "echo",
      version: "1.0.0",
      description: "Returns its message.",
      input: z.object({ message: z.string() }),
      scopes: [],
      sideEffect: "read",
      handler: ({ message }) => message,
    }),
    defineTool({
      name: "echo_async",
      version: "1.0.0",
      description: "Returns its message later.",
      input: z.object({ message: z.string() }),
      scopes: [],
      sideEffect: "read",
      handler: async ({ message }) => {
        await new Promise((resolve) => setImmediate(resolve));
        return message;
      },
    }),
    defineTool({
      name: "uses_signal",
      version: "1.0.0",
      description: "Reads its signal.",
      input: z.object({}),
      scopes: [],
      sideEffect: "read",
      handler: (_args, ctx) => String(ctx.signal.aborted),
    }),
  ];

  it("in process, sync and async handlers; a handler that reads its signal gets one", async () => {
    const server = createToolServer({ name: "t", version: "1.0.0", tools, logger: silentLogger() });
    try {
      await server.callTool("echo", { message: "warm" }); // lazily built parts, once
      counted.reset();
      for (const name of ["echo", "echo_async"]) {
        const result = await server.callTool(name, { message: "hi" });
        assert.notEqual(result.isError, true, JSON.stringify(result));
      }
      assert.equal(counted.created, 0);
      assert.equal(dig(await server.callTool("uses_signal", {}), "content", 0, "text"), "false");
      assert.equal(counted.created, 1);
    } finally {
      await server.close();
    }
  });

  it("on the HTTP fast path", async () => {
    const server = createToolServer({ name: "t", version: "1.0.0", tools, logger: silentLogger() });
    const { port } = await server.listen({ port: 0, host: "127.0.0.1" });
    try {
      const call = (name: string) =>
        rawRequest({ port, headers: MCP_HEADERS, body: toolsCall(name, { message: "hi" }) });
      await call("echo");
      counted.reset();
      for (const name of ["echo", "echo_async"]) {
        const response = await call(name);
        assert.equal(response.status, 200);
        assert.equal(dig(parseOne(response), "result", "content", 0, "text"), "hi");
      }
      assert.equal(counted.created, 0);
    } finally {
      await server.close();
    }
  });

  // Every token is new to the verifier's cache: each is verified, bounded by a deadline,
  // and cancellable. On Node 20 a signal per verification was ~1 KB of old-generation
  // memory per call with many distinct users (the 100,000-principal soak).
  it("on the HTTP fast path with a JWT verifier, when every token misses its cache", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "lazy-abort-"));
    const issuer = await devIssuer({ keyFile: path.join(dir, "dev-issuer.json"), env: {} });
    const server = createToolServer({
      name: "t",
      version: "1.0.0",
      tools,
      logger: silentLogger(),
      auth: issuer.verifier(),
      audit: false,
    });
    const { port, url } = await server.listen({ port: 0, host: "127.0.0.1" });
    try {
      const call = async (sub: string) => {
        const token = await issuer.mint({ sub, audience: url });
        return rawRequest({
          port,
          headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` },
          body: toolsCall("echo", { message: "hi" }),
        });
      };
      await call("warm");
      counted.reset();
      for (const sub of ["alice", "bob", "carol"]) {
        const response = await call(sub);
        assert.equal(response.status, 200);
        assert.equal(dig(parseOne(response), "result", "content", 0, "text"), "hi");
      }
      assert.equal(counted.created, 0);
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
