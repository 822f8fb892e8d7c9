// The client kit against a server that is not toolgate: the reference
// `@modelcontextprotocol/server-everything` (SDK v1) over stdio, as a child process. Its
// tools publish only MCP annotations (no toolgate `_meta`, no error contract). The
// transport is wrapped so a test sees every tools/call that left and can lose the answer
// to one (the server ran it; the client never hears back).
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import path from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import { Client } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import type { JSONRPCMessage, Transport, TransportSendOptions } from "@modelcontextprotocol/client";
import {
  IDEMPOTENCY_META_KEY,
  createToolClient,
  errorForModel,
  type ToolCallResult,
  type ToolClient,
} from "../../src/client/index.js";

const require = createRequire(import.meta.url);
const EVERYTHING = path.join(
  path.dirname(require.resolve("@modelcontextprotocol/server-everything/package.json")),
  "dist",
  "index.js",
);

interface SentCall {
  id: string | number;
  name: string;
  meta: Record<string, unknown>;
}

/** Delegates to a real transport; records tools/call requests; can drop chosen answers. */
class WatchedTransport implements Transport {
  readonly sent: SentCall[] = [];
  private readonly dropFor = new Set<string>();
  private readonly dropIds = new Set<string | number>();
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: Transport["onmessage"];

  constructor(private readonly inner: Transport) {}

  /** The answer to the next tools/call of `tool` is lost (the server still runs it). */
  dropNextAnswer(tool: string): void {
    this.dropFor.add(tool);
  }

  async start(): Promise<void> {
    this.inner.onclose = () => this.onclose?.();
    this.inner.onerror = (error) => this.onerror?.(error);
    this.inner.onmessage = (message, extra) => {
      const id = (message as { id?: string | number }).id;
      if (id !== undefined && !("method" in message) && this.dropIds.delete(id)) return;
      this.onmessage?.(message, extra);
    };
    await this.inner.start();
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    const m = message as {
      id?: string | number;
      method?: string;
      params?: { name?: string; _meta?: Record<string, unknown> };
    };
    if (m.method === "tools/call" && m.id !== undefined && typeof m.params?.name === "string") {
      this.sent.push({ id: m.id, name: m.params.name, meta: m.params._meta ?? {} });
      if (this.dropFor.delete(m.params.name)) this.dropIds.add(m.id);
    }
    await this.inner.send(message, options);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  setProtocolVersion(version: string): void {
    this.inner.setProtocolVersion?.(version);
  }

  get sessionId(): string | undefined {
    return this.inner.sessionId;
  }
}

let client: Client;
let transport: WatchedTransport;
let tools: ToolClient;

const sentTo = (name: string) => transport.sent.filter((c) => c.name === name);

function failed(outcome: ToolCallResult) {
  assert.ok(!outcome.ok, `expected a failure, got ${JSON.stringify(outcome)}`);
  return outcome.error;
}

before(async () => {
  transport = new WatchedTransport(
    new StdioClientTransport({
      command: process.execPath,
      args: [EVERYTHING, "stdio"],
      stderr: "ignore",
    }),
  );
  client = new Client({ name: "kit-foreign-test", version: "1.0.0" });
  await client.connect(transport, { timeout: 20_000 });
  tools = createToolClient(client, {
    attemptTimeoutMs: 500,
    timeoutMs: 10_000,
    retry: { maxAttempts: 3, maxDelayMs: 100 },
  });
});

beforeEach(() => {
  transport.sent.length = 0;
});

after(async () => {
  await client?.close();
});

describe("createToolClient against @modelcontextprotocol/server-everything over stdio", () => {
  it("reads its annotations: read-only tools get no key, writes are not retry-safe", async () => {
    const echo = await tools.policyOf("echo");
    assert.deepEqual(
      [echo.toolgate, echo.readOnly, echo.sendsKey, echo.retrySafe],
      [false, true, false, true],
    );
    const toggle = await tools.policyOf("toggle-simulated-logging");
    assert.deepEqual(
      [toggle.toolgate, toggle.readOnly, toggle.sendsKey, toggle.keyArgument, toggle.retrySafe],
      [false, false, true, false, false],
    );
  });

  it("calls a read-only tool without a key and returns its text", async () => {
    const outcome = await tools.call("echo", { message: "hello" });
    assert.ok(outcome.ok, JSON.stringify(outcome));
    assert.match(String(outcome.value), /hello/);
    assert.equal(outcome.replayed, false);
    assert.equal(outcome.idempotencyKey, undefined);
    assert.equal(sentTo("echo").length, 1);
    assert.equal(IDEMPOTENCY_META_KEY in sentTo("echo")[0]!.meta, false);
  });

  it("retries a read-only call whose answer was lost, without a key", async () => {
    transport.dropNextAnswer("get-sum");
    const outcome = await tools.call("get-sum", { a: 2, b: 3 });
    assert.ok(outcome.ok, JSON.stringify(outcome));
    assert.match(String(outcome.value), /5/);
    assert.equal(outcome.attempts.length, 2);
    assert.equal(outcome.attempts[0]!.error?.type, "timeout");
    assert.equal(outcome.attempts[0]!.error?.source, "transport");
    assert.equal(sentTo("get-sum").length, 2);
    for (const call of sentTo("get-sum")) assert.equal(IDEMPOTENCY_META_KEY in call.meta, false);
  });

  it("never retries an unkeyed write whose answer was lost (it had run)", async () => {
    transport.dropNextAnswer("toggle-simulated-logging");
    const outcome = await tools.call("toggle-simulated-logging", {});
    const error = failed(outcome);
    assert.equal(error.type, "timeout");
    assert.equal(error.source, "transport");
    assert.equal(error.retryable, false, "calling again could apply it twice");
    assert.equal(error.applied, "unknown");
    assert.equal(outcome.attempts.length, 1);
    assert.equal(sentTo("toggle-simulated-logging").length, 1, "one tools/call on the wire");
    // The kit sent a key (a host-level hint), but this server does not honour it.
    assert.ok(outcome.idempotencyKey);
    assert.equal(
      sentTo("toggle-simulated-logging")[0]!.meta[IDEMPOTENCY_META_KEY],
      outcome.idempotencyKey,
    );
    const text = errorForModel("toggle-simulated-logging", error);
    assert.match(
      text,
      /^toggle-simulated-logging failed \(timeout\)\. .*may or may not have taken effect\. Do not call it again blindly/,
    );
    assert.equal(text.split("may or may not").length, 2, "said once");

    // It had run: toggling again turns the simulated logging back off. A blind retry
    // would have done exactly that to the caller.
    const again = await tools.call("toggle-simulated-logging", {});
    assert.ok(again.ok, JSON.stringify(again));
    assert.match(String(again.value), /^Stopped simulated logging/);
  });

  it("maps a plain isError result to tool_error, not retried", async () => {
    const outcome = await tools.call("echo", { message: 42 });
    const error = failed(outcome);
    assert.equal(error.type, "tool_error");
    assert.equal(error.source, "tool");
    assert.equal(error.retryable, false);
    assert.match(error.message, /message/);
    assert.equal(outcome.attempts.length, 1);
    assert.equal(sentTo("echo").length, 1);
    assert.match(errorForModel("echo", error), /^echo reported an error: /);
  });

  it("calls a tool it cannot see as an unkeyed write: once, without a key", async () => {
    const outcome = await tools.call("no-such-tool", {});
    const error = failed(outcome);
    // This server answers an unknown tool with an isError result (-32602 in its text).
    assert.equal(error.type, "tool_error");
    assert.match(error.message, /not found/);
    assert.equal(outcome.attempts.length, 1);
    assert.equal(outcome.idempotencyKey, undefined);
    assert.equal(IDEMPOTENCY_META_KEY in sentTo("no-such-tool")[0]!.meta, false);
  });
});
