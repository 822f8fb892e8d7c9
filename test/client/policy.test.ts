// The client kit's decisions, one at a time, against a scripted stand-in for the SDK
// client (the SDK's own error classes, thrown as the SDK throws them): which failures are
// retried for which tools, how long it waits, where the key goes, what the typed result
// and the text for the model say.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { McpError, ErrorCode } from "@modelcontextprotocol/sdk/types.js";
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import {
  ProtocolError,
  SdkError,
  SdkErrorCode,
  SdkHttpError,
  type CallToolResult,
  type Tool,
} from "@modelcontextprotocol/client";
import {
  ERROR_META_KEY,
  IDEMPOTENCY_ARGUMENT,
  IDEMPOTENCY_META_KEY,
  createToolClient,
  errorForModel,
  errorOfResult,
  policyFrom,
  type ToolCallError,
  type ToolCallResult,
  type ToolClientOptions,
  type SdkV2ClientTarget,
} from "../../src/client/index.js";

type Step = CallToolResult | Error | "hang";

interface SentParams {
  name: string;
  arguments?: Record<string, unknown>;
  _meta?: Record<string, unknown>;
}

/** A stand-in for the SDK client: answers each tools/call with the next scripted step. */
function fakeClient(tools: Tool[], steps: Step[], listing: (Error | Tool[])[] = []) {
  const sent: SentParams[] = [];
  let lists = 0;
  const target = {
    transport: {} as SdkV2ClientTarget["transport"],
    listTools: () => {
      lists++;
      const next = listing.shift() ?? tools;
      return next instanceof Error ? Promise.reject(next) : Promise.resolve({ tools: next });
    },
    callTool: (params: SentParams, options?: { timeout?: number; signal?: AbortSignal }) => {
      sent.push(structuredClone(params));
      const step = steps.shift() ?? ok("done");
      if (step === "hang") {
        // As the SDK does: the request times out after `timeout`, or aborts with the signal.
        return new Promise<CallToolResult>((_, reject) => {
          const timer = setTimeout(
            () => reject(new SdkError(SdkErrorCode.RequestTimeout, "Request timed out")),
            options?.timeout ?? 60_000,
          );
          options?.signal?.addEventListener("abort", () => {
            clearTimeout(timer);
            reject(new SdkError(SdkErrorCode.RequestTimeout, String(options.signal?.reason)));
          });
        });
      }
      return step instanceof Error ? Promise.reject(step) : Promise.resolve(step);
    },
  };
  return {
    target: target as unknown as SdkV2ClientTarget,
    sent,
    lists: () => lists,
  };
}

const ok = (text: string): CallToolResult => ({ content: [{ type: "text", text }] });

function contractResult(error: Record<string, unknown>): CallToolResult {
  const structuredContent = { error };
  return {
    isError: true,
    content: [{ type: "text", text: JSON.stringify(structuredContent) }],
    structuredContent,
  };
}

const tool = (name: string, extra: Partial<Tool> = {}): Tool => ({
  name,
  inputSchema: { type: "object", properties: {} },
  ...extra,
});

const READ = tool("read_thing", { annotations: { readOnlyHint: true } });
const WRITE = tool("write_thing", { annotations: { readOnlyHint: false } });
const TOOLGATE_WRITE = tool("tg_write", {
  inputSchema: { type: "object", properties: { [IDEMPOTENCY_ARGUMENT]: { type: "string" } } },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true },
  _meta: { "toolgate/sideEffect": "write", "toolgate/version": "1.0.0" },
});
const KEY_ARG_WRITE = tool("keyed_elsewhere", {
  inputSchema: { type: "object", properties: { [IDEMPOTENCY_ARGUMENT]: { type: "string" } } },
});
const HINTED_WRITE = tool("hinted", { annotations: { readOnlyHint: false, idempotentHint: true } });
const ALL = [READ, WRITE, TOOLGATE_WRITE, KEY_ARG_WRITE, HINTED_WRITE];

const FAST: ToolClientOptions = { retry: { initialDelayMs: 1, maxDelayMs: 5 }, random: () => 0.5 };

const connectionRefused = () =>
  new TypeError("fetch failed", {
    cause: Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), { code: "ECONNREFUSED" }),
  });
const connectionReset = () =>
  new TypeError("fetch failed", {
    cause: Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" }),
  });
const http = (status: number) =>
  new SdkHttpError(SdkErrorCode.ClientHttpNotImplemented, `Error POSTing to endpoint: ${status}`, {
    status,
  });

function failed(outcome: ToolCallResult): ToolCallError {
  assert.ok(!outcome.ok, `expected a failure, got ${JSON.stringify(outcome)}`);
  return outcome.error;
}

describe("which failures are retried", () => {
  it("retries a connection that could not be opened even for an unkeyed write (nothing was sent)", async () => {
    const fake = fakeClient(ALL, [connectionRefused(), ok("written")]);
    const outcome = await createToolClient(fake.target, FAST).call("write_thing", {});
    assert.ok(outcome.ok);
    assert.equal(outcome.attempts[0]!.error?.applied, "no");
    assert.equal(fake.sent.length, 2);
  });

  it("does not retry a reset connection for an unkeyed write, but does for a keyed one", async () => {
    const unkeyed = fakeClient(ALL, [connectionReset(), ok("written")]);
    const error = failed(await createToolClient(unkeyed.target, FAST).call("write_thing", {}));
    assert.deepEqual(
      [error.type, error.retryable, error.applied],
      ["unavailable", false, "unknown"],
    );
    assert.equal(unkeyed.sent.length, 1);

    const keyed = fakeClient(ALL, [connectionReset(), ok("written")]);
    const outcome = await createToolClient(keyed.target, FAST).call("tg_write", {});
    assert.ok(outcome.ok);
    assert.equal(keyed.sent.length, 2);
    assert.equal(keyed.sent[0]!._meta?.[IDEMPOTENCY_META_KEY], outcome.idempotencyKey);
    assert.equal(keyed.sent[1]!._meta?.[IDEMPOTENCY_META_KEY], outcome.idempotencyKey);
  });

  it("retries HTTP 5xx for reads only, and never 401/403 or JSON-RPC errors", async () => {
    const read = fakeClient(ALL, [http(502), http(503), ok("read")]);
    assert.ok((await createToolClient(read.target, FAST).call("read_thing", {})).ok);
    assert.equal(read.sent.length, 3);

    const write = fakeClient(ALL, [http(503)]);
    assert.equal(
      failed(await createToolClient(write.target, FAST).call("write_thing", {})).retryable,
      false,
    );
    assert.equal(write.sent.length, 1);

    for (const [thrown, type] of [
      [http(401), "unauthenticated"],
      [http(403), "forbidden"],
      [new ProtocolError(-32602, "Tool read_thing not found"), "protocol_error"],
    ] as const) {
      const fake = fakeClient(ALL, [thrown, ok("never")]);
      const error = failed(await createToolClient(fake.target, FAST).call("read_thing", {}));
      assert.equal(error.type, type);
      assert.equal(error.retryable, false);
      assert.equal(fake.sent.length, 1);
    }
  });

  it("re-reads the tool list after a protocol error on a cached tool", async () => {
    const fake = fakeClient(ALL, [ok("x"), new ProtocolError(-32602, "Tool read_thing not found")]);
    const tools = createToolClient(fake.target, FAST);
    assert.ok((await tools.call("read_thing", {})).ok);
    assert.equal(failed(await tools.call("read_thing", {})).details?.["code"], -32602);
    assert.equal(fake.lists(), 1);
    await tools.call("read_thing", {});
    assert.equal(fake.lists(), 2);
  });

  it("retries a retryable contract error only when retry-safe, and rate_limited always", async () => {
    const timeoutError = { type: "timeout", message: "Too slow.", retryable: true };
    const safe = fakeClient(ALL, [contractResult(timeoutError), ok("done")]);
    assert.ok((await createToolClient(safe.target, FAST).call("tg_write", {})).ok);

    const unsafe = fakeClient(ALL, [contractResult(timeoutError), ok("done")]);
    const error = failed(await createToolClient(unsafe.target, FAST).call("write_thing", {}));
    assert.deepEqual([error.type, error.retryable, error.applied], ["timeout", false, "unknown"]);
    assert.equal(unsafe.sent.length, 1);

    const limited = {
      type: "rate_limited",
      message: "Slow down.",
      retryable: true,
      retryAfterMs: 30,
    };
    const refused = fakeClient(ALL, [contractResult(limited), ok("done")]);
    const outcome = await createToolClient(refused.target, FAST).call("write_thing", {});
    assert.ok(outcome.ok, "rate_limited proves the call did not run");
    const [first, second] = outcome.attempts;
    // 2 ms of slack: a timer counts from the event loop's cached clock, which can lag
    // Date.now() by a millisecond, so a 30 ms wait can measure as 29.
    const waited = second!.startedAt - first!.startedAt;
    assert.ok(waited >= 28, `waited ${waited} ms, told 30 ms`);
  });

  it("stops after maxAttempts and returns the last error", async () => {
    const unavailable = { type: "unavailable", message: "Down.", retryable: true };
    const fake = fakeClient(
      ALL,
      Array.from({ length: 5 }, () => contractResult(unavailable)),
    );
    const outcome = await createToolClient(fake.target, {
      ...FAST,
      retry: { maxAttempts: 3 },
    }).call("read_thing", {});
    assert.equal(failed(outcome).type, "unavailable");
    assert.equal(outcome.attempts.length, 3);
    assert.equal(fake.sent.length, 3);
  });

  it("backs off exponentially with full jitter, capped at maxDelayMs", async () => {
    const unavailable = contractResult({ type: "unavailable", message: "Down.", retryable: true });
    const fake = fakeClient(ALL, [unavailable, unavailable, unavailable, ok("up")]);
    const tools = createToolClient(fake.target, {
      retry: { maxAttempts: 4, initialDelayMs: 40, maxDelayMs: 100 },
      random: () => 0.999,
    });
    const outcome = await tools.call("read_thing", {});
    assert.ok(outcome.ok);
    const gaps = outcome.attempts
      .slice(1)
      .map((a, i) => a.startedAt - outcome.attempts[i]!.startedAt);
    // Steps 40, 80, 160 -> capped at 100; with random ~1 the waits are ~39, ~79, ~99 ms.
    // (2 ms of slack: timers and Date.now() round differently.)
    assert.ok(gaps[0]! >= 37 && gaps[1]! >= 77 && gaps[2]! >= 97, JSON.stringify(gaps));
    assert.ok(gaps[2]! < 160 + 100, JSON.stringify(gaps));

    const zero = fakeClient(ALL, [unavailable, ok("up")]);
    const quick = await createToolClient(zero.target, { random: () => 0 }).call("read_thing", {});
    assert.ok(quick.ok);
    assert.ok(
      quick.attempts[1]!.startedAt - quick.attempts[0]!.startedAt < 50,
      "full jitter can be 0",
    );
  });

  it("bounds every attempt by the operation's deadline", async () => {
    const fake = fakeClient(ALL, ["hang"]);
    const started = Date.now();
    const outcome = await createToolClient(fake.target, { attemptTimeoutMs: 30_000 }).call(
      "read_thing",
      {},
      { timeoutMs: 300 },
    );
    const error = failed(outcome);
    assert.deepEqual([error.type, error.source], ["timeout", "client"]);
    assert.ok(Date.now() - started < 1_500);
    assert.equal(outcome.attempts.length, 1);
  });

  it("retries an attempt that timed out within the deadline (read)", async () => {
    const fake = fakeClient(ALL, ["hang", ok("late but fine")]);
    const outcome = await createToolClient(fake.target, { ...FAST, attemptTimeoutMs: 100 }).call(
      "read_thing",
      {},
    );
    assert.ok(outcome.ok);
    assert.equal(outcome.attempts[0]!.error?.type, "timeout");
    assert.equal(outcome.attempts[0]!.error?.source, "transport");
  });

  it("does not send anything on a client that is not connected", async () => {
    const fake = fakeClient(ALL, []);
    const target = {
      ...fake.target,
      transport: undefined,
      listTools: fake.target.listTools,
      callTool: fake.target.callTool,
    };
    const error = failed(
      await createToolClient(target as SdkV2ClientTarget, FAST).call("tg_write", {}),
    );
    assert.deepEqual([error.type, error.applied, error.retryable], ["unavailable", "no", true]);
    assert.equal(fake.sent.length, 0);
  });
});

/**
 * A stand-in for the SDK v1 `Client`: its `callTool(params, resultSchema = ..., options)`
 * signature, and `getServerVersion`. Records the arguments of every `callTool`.
 */
function fakeV1Client(steps: (CallToolResult | Error)[]) {
  const received: { params: SentParams; resultSchema: unknown; options: unknown }[] = [];
  const target = {
    transport: {},
    getServerVersion: () => ({ name: "v1-server", version: "1.0.0" }),
    listTools: () => Promise.resolve({ tools: ALL }),
    callTool(params: SentParams, resultSchema: unknown = undefined, options?: unknown) {
      received.push({ params, resultSchema, options });
      const step = steps.shift() ?? ok("done");
      return step instanceof Error ? Promise.reject(step) : Promise.resolve(step);
    },
  };
  return { target, received };
}

describe("over the SDK v1 Client", () => {
  it("passes its request options third, after the result schema", async () => {
    const fake = fakeV1Client([]);
    const signal = new AbortController().signal;
    const outcome = await createToolClient(fake.target, FAST).call("read_thing", {}, { signal });
    assert.ok(outcome.ok, JSON.stringify(outcome));
    const [only] = fake.received;
    assert.equal(only?.resultSchema, undefined, "v1's default result schema");
    const options = only?.options as { timeout?: unknown; signal?: unknown } | undefined;
    assert.equal(typeof options?.timeout, "number");
    assert.equal(options?.signal, signal);
  });

  it("classifies v1's errors: timeouts, closed connections and HTTP 5xx retried, 401 and JSON-RPC errors not", async () => {
    const cases: [Error, string, string, boolean][] = [
      [new McpError(ErrorCode.RequestTimeout, "Request timed out"), "timeout", "transport", true],
      [
        new McpError(ErrorCode.ConnectionClosed, "Connection closed"),
        "unavailable",
        "transport",
        true,
      ],
      [
        new StreamableHTTPError(503, "Error POSTing to endpoint: down"),
        "unavailable",
        "transport",
        true,
      ],
      [new StreamableHTTPError(401, "Server returned 401"), "unauthenticated", "transport", false],
      [new UnauthorizedError("No auth provider"), "unauthenticated", "transport", false],
      [new McpError(ErrorCode.InvalidParams, "Unknown tool"), "protocol_error", "protocol", false],
    ];
    for (const [thrown, type, source, retried] of cases) {
      const fake = fakeV1Client([thrown]);
      const outcome = await createToolClient(fake.target, FAST).call("read_thing", {});
      const first = outcome.attempts[0]?.error;
      assert.deepEqual([first?.type, first?.source], [type, source], thrown.message);
      assert.equal(fake.received.length, retried ? 2 : 1, thrown.message);
    }
  });
});

describe("the tool list", () => {
  it("retries a tools/list that failed on the way; a server that cannot list still gets the call", async () => {
    const flaky = fakeClient(ALL, [ok("x")], [connectionReset()]);
    assert.ok((await createToolClient(flaky.target, FAST).call("tg_write", {})).ok);
    assert.equal(flaky.lists(), 2);
    assert.ok(flaky.sent[0]!._meta?.[IDEMPOTENCY_META_KEY], "listed on the second try: keyed");

    const refusing = fakeClient(ALL, [ok("x")], [new ProtocolError(-32601, "Method not found")]);
    const outcome = await createToolClient(refusing.target, FAST).call("tg_write", {});
    assert.ok(outcome.ok);
    assert.equal(outcome.idempotencyKey, undefined, "unlisted: called once, without a key");
  });

  it("derives each tool's policy from its listing", () => {
    const pick = (t: Tool, trust = false) => {
      const p = policyFrom(t, { trustIdempotentHint: trust });
      return [p.toolgate, p.readOnly, p.sendsKey, p.keyArgument, p.retrySafe];
    };
    assert.deepEqual(pick(READ), [false, true, false, false, true]);
    assert.deepEqual(pick(WRITE), [false, false, true, false, false]);
    assert.deepEqual(pick(tool("no_annotations")), [false, false, true, false, false]);
    assert.deepEqual(pick(TOOLGATE_WRITE), [true, false, true, false, true]);
    assert.deepEqual(pick(KEY_ARG_WRITE), [false, false, true, true, true]);
    assert.deepEqual(pick(HINTED_WRITE), [false, false, true, false, false]);
    assert.deepEqual(pick(HINTED_WRITE, true), [false, false, true, false, true]);
    // A toolgate write tool with idempotency off (no idempotentHint) is not retry-safe.
    const legacy = {
      ...TOOLGATE_WRITE,
      annotations: { readOnlyHint: false, idempotentHint: false },
    };
    assert.equal(policyFrom(legacy).retrySafe, false);
    // toolgate's sideEffect wins over annotations.
    const read = { ...TOOLGATE_WRITE, _meta: { "toolgate/sideEffect": "read" } };
    assert.equal(policyFrom(read).readOnly, true);
  });
});

describe("keys", () => {
  it("puts the key in the argument for another server whose schema asks for it", async () => {
    const fake = fakeClient(ALL, [connectionReset(), ok("done")]);
    const outcome = await createToolClient(fake.target, FAST).call("keyed_elsewhere", { a: 1 });
    assert.ok(outcome.ok);
    for (const sent of fake.sent) {
      assert.equal(sent.arguments?.[IDEMPOTENCY_ARGUMENT], outcome.idempotencyKey);
      assert.equal(sent._meta?.[IDEMPOTENCY_META_KEY], outcome.idempotencyKey);
      assert.equal(sent.arguments?.["a"], 1);
    }
  });

  it("uses operationId, or the caller's idempotency_key argument, as the key", async () => {
    const fake = fakeClient(ALL, [ok("1"), ok("2")]);
    const tools = createToolClient(fake.target, FAST);
    const byId = await tools.call("tg_write", {}, { operationId: "order-42-refund" });
    assert.equal(byId.idempotencyKey, "order-42-refund");
    const byArg = await tools.call("tg_write", { [IDEMPOTENCY_ARGUMENT]: "from-the-model" });
    assert.equal(byArg.idempotencyKey, "from-the-model");
    assert.equal(fake.sent[1]!._meta?.[IDEMPOTENCY_META_KEY], "from-the-model");
    assert.equal(fake.sent[1]!.arguments?.[IDEMPOTENCY_ARGUMENT], "from-the-model");
  });

  it("refuses a bad operationId, or one that contradicts the argument, without sending", async () => {
    const fake = fakeClient(ALL, []);
    const tools = createToolClient(fake.target, FAST);
    for (const outcome of [
      await tools.call("tg_write", {}, { operationId: "" }),
      await tools.call("tg_write", {}, { operationId: "naïve" }),
      await tools.call("tg_write", { [IDEMPOTENCY_ARGUMENT]: "a" }, { operationId: "b" }),
    ]) {
      const error = failed(outcome);
      assert.deepEqual(
        [error.type, error.source, error.applied],
        ["invalid_input", "client", "no"],
      );
    }
    assert.equal(fake.sent.length, 0);
  });

  it("makes a new key per operation and keeps it across attempts", async () => {
    const fake = fakeClient(ALL, [connectionReset(), ok("1"), ok("2")]);
    const tools = createToolClient(fake.target, FAST);
    const first = await tools.call("tg_write", {});
    const second = await tools.call("tg_write", {});
    assert.ok(first.idempotencyKey && second.idempotencyKey);
    assert.notEqual(first.idempotencyKey, second.idempotencyKey);
    assert.deepEqual(
      fake.sent.map((s) => s._meta?.[IDEMPOTENCY_META_KEY]),
      [first.idempotencyKey, first.idempotencyKey, second.idempotencyKey],
    );
  });
});

describe("typed results", () => {
  it("reads the contract from structuredContent, or from the text when that was dropped", () => {
    const wire = {
      type: "forbidden",
      message: "Missing refunds:write.",
      retryable: false,
      details: { requiredScopes: ["refunds:write"] },
    };
    const full = errorOfResult(contractResult(wire));
    const textOnly = errorOfResult({
      isError: true,
      content: [{ type: "text", text: JSON.stringify({ error: wire }) }],
    });
    for (const error of [full, textOnly]) {
      assert.deepEqual(error, { ...wire, source: "contract" });
    }
  });

  it("reads _meta first, then structuredContent, then the text", () => {
    const wire = (type: string) => ({ type, message: `From ${type}.`, retryable: false });
    const all: CallToolResult = {
      isError: true,
      content: [{ type: "text", text: JSON.stringify({ error: wire("conflict") }) }],
      structuredContent: { error: wire("invalid_input") },
      _meta: { [ERROR_META_KEY]: wire("not_found") },
    };
    assert.equal(errorOfResult(all).type, "not_found");
    const { _meta: _dropped, ...withoutMeta } = all;
    assert.equal(errorOfResult(withoutMeta).type, "invalid_input");
    const { structuredContent: _none, ...textOnly } = withoutMeta;
    assert.equal(errorOfResult(textOnly).type, "conflict");
    // An outputSchema tool's error: no structuredContent, the text not JSON (a proxy
    // rewrote it), the error still typed from _meta; a type the kit does not know passes.
    const metaOnly = errorOfResult({
      isError: true,
      content: [{ type: "text", text: "Payment declined." }],
      _meta: {
        [ERROR_META_KEY]: { type: "payment_declined", message: "Declined.", retryable: false },
      },
    });
    assert.deepEqual(metaOnly, {
      type: "payment_declined",
      message: "Declined.",
      retryable: false,
      source: "contract",
    });
    // Half a contract in _meta is not the contract: the next place is read.
    const halfMeta = errorOfResult({ ...withoutMeta, _meta: { [ERROR_META_KEY]: { type: "x" } } });
    assert.equal(halfMeta.type, "invalid_input");
  });

  it("maps anything else to tool_error with the tool's text", () => {
    assert.deepEqual(errorOfResult({ isError: true, content: [{ type: "text", text: "Boom" }] }), {
      type: "tool_error",
      message: "Boom",
      retryable: false,
      source: "tool",
    });
    assert.equal(errorOfResult({ isError: true, content: [] }).type, "tool_error");
    // Half a contract is not the contract.
    const half = errorOfResult(contractResult({ type: "timeout", message: "x" }));
    assert.equal(half.type, "tool_error");
  });

  it("never retries a replayed error, and flags the failure replayed", async () => {
    const unavailable = { type: "unavailable", message: "Down.", retryable: true, retryAfterMs: 1 };
    const replayedResult: CallToolResult = {
      ...contractResult(unavailable),
      _meta: { [ERROR_META_KEY]: unavailable, "toolgate/idempotent-replay": true },
    };
    const fake = fakeClient(ALL, [replayedResult, ok("would succeed")]);
    const outcome = await createToolClient(fake.target, FAST).call("tg_write", {});
    assert.ok(!outcome.ok, `expected a failure, got ${JSON.stringify(outcome)}`);
    assert.equal(outcome.replayed, true);
    assert.equal(outcome.error.type, "unavailable");
    assert.equal(outcome.error.retryable, false);
    assert.equal(fake.sent.length, 1);
    // Not a replay: retried as before, and the failure says replayed: false.
    const again = fakeClient(ALL, [contractResult(unavailable), contractResult(unavailable)]);
    const retried = await createToolClient(again.target, {
      ...FAST,
      retry: { ...FAST.retry, maxAttempts: 2 },
    }).call("tg_write", {});
    assert.ok(!retried.ok, `expected a failure, got ${JSON.stringify(retried)}`);
    assert.equal(retried.replayed, false);
    assert.equal(again.sent.length, 2);
  });

  it("returns structuredContent, else text, and the replay flag", async () => {
    const fake = fakeClient(ALL, [
      { content: [], structuredContent: { id: 7 }, _meta: { "toolgate/idempotent-replay": true } },
      ok("plain"),
    ]);
    const tools = createToolClient(fake.target, FAST);
    const structured = await tools.call("tg_write", {});
    assert.ok(structured.ok);
    assert.deepEqual([structured.value, structured.replayed], [{ id: 7 }, true]);
    const text = await tools.call("read_thing", {});
    assert.ok(text.ok);
    assert.deepEqual([text.value, text.replayed], ["plain", false]);
  });
});

describe("errorForModel", () => {
  const text = (error: Partial<ToolCallError> & Pick<ToolCallError, "type">) =>
    errorForModel("issue_refund", {
      message: "Something.",
      retryable: false,
      source: "contract",
      ...error,
    });

  it("says which arguments to fix for invalid_input", () => {
    assert.equal(
      text({
        type: "invalid_input",
        message: "The arguments do not match the tool's input schema.",
        details: {
          issues: [
            {
              path: "/amount_cents",
              message: "must be at most 1500",
              expected: "an integer from 1 to 1500",
            },
            { path: "/items/0/sku", message: "is required" },
          ],
        },
      }),
      "issue_refund failed: invalid_input. The arguments do not match the tool's input schema. " +
        "amount_cents: must be at most 1500 (expected an integer from 1 to 1500). items/0/sku: is required. " +
        "Fix the arguments and call it again.",
    );
  });

  it("says it is safe to retry the same operation for retryable errors, with the wait", () => {
    assert.equal(
      text({
        type: "unavailable",
        message: "The payment provider is down",
        retryable: true,
        retryAfterMs: 2_500,
      }),
      "issue_refund is temporarily unavailable (unavailable). The payment provider is down. " +
        "It is safe to retry with the same operation after 3 s.",
    );
  });

  it("says to get the permission, or sign in again, then resume the same operation", () => {
    assert.equal(
      text({ type: "forbidden", details: { requiredScopes: ["refunds:write"] } }),
      "issue_refund failed: forbidden. Something. It needs the permission(s): refunds:write. " +
        "Nothing was done with this token. Ask the user to grant the missing permission(s); once " +
        "they have, resume the same operation (the same arguments and the same operation id); " +
        "calling it again before that gets the same refusal.",
    );
    assert.equal(
      text({ type: "unauthenticated", message: "The token has expired." }),
      "issue_refund failed: unauthenticated. The token has expired. Nothing was done with this " +
        "token. Ask the user to sign in again; once they have, resume the same operation (the " +
        "same arguments and the same operation id); calling it again before that gets the same refusal.",
    );
    for (const type of ["forbidden", "unauthenticated"]) {
      assert.doesNotMatch(text({ type }), /do not retry/i);
    }
  });

  it("says not to retry, and why, for permanent errors", () => {
    assert.match(
      text({ type: "internal", incidentId: "abc-123" }),
      /^issue_refund failed permanently: internal\. Something\. Incident id: abc-123\. Do not retry; tell the user\.$/,
    );
    assert.match(text({ type: "not_found" }), /do not retry unchanged/);
    assert.match(text({ type: "conflict" }), /check that state/);
  });

  it("warns that an unanswered write may have taken effect", () => {
    assert.match(
      text({ type: "timeout", source: "transport", applied: "unknown" }),
      /^issue_refund failed \(timeout\)\. Something\. It may or may not have taken effect\. Do not call it again blindly: check first whether it happened/,
    );
    assert.match(
      text({ type: "cancelled", source: "client", applied: "unknown" }),
      /was cancelled/,
    );
    assert.match(
      text({ type: "tool_error", source: "tool" }),
      /^issue_refund reported an error: Something\./,
    );
    assert.match(text({ type: "protocol_error", source: "protocol" }), /could not be called/);
  });
});
