// The client features of ToolContext end to end, with the official SDK client: progress
// notifications, client log messages (and logging/setLevel), sampling and elicitation,
// over HTTP with sessions, stateless HTTP (the default), stdio, and in-process calls.
// What works where: progress everywhere a client is; log messages everywhere, filtered by
// setLevel where the level is kept (sessions, stdio); sampling and elicitation need a
// 2025-era client on a connection that can carry the request back (sessions, stdio).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  Client,
  LOG_LEVEL_META_KEY,
  StreamableHTTPClientTransport,
  type ClientCapabilities,
  type CreateMessageRequest,
  type ElicitRequest,
  type LoggingMessageNotification,
  type Progress,
} from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { PROFILE_SCHEMA, createClientFeatureTools } from "../fixtures/client-features.js";
import { MCP_HEADERS, jsonRpc, parseMessages, rawRequest } from "../helpers/http.js";
import { REPO_ROOT, fixturePath } from "../helpers/process.js";
import {
  EXPECTED_PROTOCOL,
  assertNoLeak,
  expectToolError,
  startServer,
  type ClientMode,
  type RunningServer,
} from "../helpers/server.js";

const SAMPLING_ANSWER = {
  role: "assistant",
  content: { type: "text", text: "Paris." },
  model: "test-model",
  stopReason: "endTurn",
} as const;
const PROFILE_ANSWER = {
  name: "Jane Smith",
  age: 25,
  score: 88,
  status: "inactive",
  verified: false,
};

interface Observed {
  client: Client;
  logs: LoggingMessageNotification["params"][];
  samplingRequests: CreateMessageRequest["params"][];
  elicitRequests: ElicitRequest["params"][];
}

interface ClientSetup {
  capabilities?: ClientCapabilities;
  /** Replaces the sampling handler (default: answer SAMPLING_ANSWER). */
  onSampling?: (signal: AbortSignal) => Promise<typeof SAMPLING_ANSWER>;
}

/** An SDK client that records log messages and answers sampling and elicitation. */
function observedClient(mode: ClientMode, setup: ClientSetup = {}): Observed {
  const capabilities = setup.capabilities ?? { sampling: {}, elicitation: { form: {} } };
  const client = new Client(
    { name: "toolgate-client-features", version: "1.0.0" },
    { versionNegotiation: { mode }, capabilities },
  );
  const observed: Observed = { client, logs: [], samplingRequests: [], elicitRequests: [] };
  const late: Progress[] = [];
  lateProgress.set(client, late);
  client.onerror = (error) => {
    const match = /progress notification for an unknown token: (.*)$/s.exec(error.message);
    if (!match) return;
    const { params } = JSON.parse(match[1]!) as { params: Progress & { progressToken?: unknown } };
    const { progressToken: _token, ...progress } = params;
    late.push(progress);
  };
  client.setNotificationHandler("notifications/message", (notification) => {
    observed.logs.push(notification.params);
  });
  if (capabilities.sampling) {
    client.setRequestHandler("sampling/createMessage", async (request, ctx) => {
      observed.samplingRequests.push(request.params);
      return setup.onSampling ? setup.onSampling(ctx.mcpReq.signal) : SAMPLING_ANSWER;
    });
  }
  if (capabilities.elicitation) {
    client.setRequestHandler("elicitation/create", (request) => {
      observed.elicitRequests.push(request.params);
      const message = "message" in request.params ? request.params.message : "";
      return message === "decline please"
        ? { action: "decline" }
        : { action: "accept", content: PROFILE_ANSWER };
    });
  }
  return observed;
}

/** Polls `check` until it holds (notifications are handled asynchronously). */
async function eventually(check: () => boolean, what: string, ms = 5_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) assert.fail(`${what} within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Progress notifications the SDK client received after the call's response and reported
 * as an error instead of delivering them: it dispatches notifications a microtask later
 * but responses at once, so a final notification read in the same chunk as the response
 * finds its handler gone (modelcontextprotocol/typescript-sdk#2580). The server sent them
 * in order, before the response; the tests count them as arrived, in the order they came.
 */
const lateProgress = new WeakMap<Client, Progress[]>();

async function callWithProgress(client: Client, steps: number) {
  const updates: Progress[] = [];
  const late = lateProgress.get(client) ?? [];
  late.length = 0;
  const result = await client.callTool(
    { name: "report_progress", arguments: { steps } },
    { onprogress: (progress) => updates.push(progress) },
  );
  // Let notifications read with the response reach their handler (or the error path).
  await new Promise((resolve) => setImmediate(resolve));
  return { result, updates: [...updates, ...late.splice(0)] };
}

function assertProgress(updates: Progress[], steps: number): void {
  assert.deepEqual(
    updates,
    Array.from({ length: steps }, (_, i) => ({
      progress: i + 1,
      total: steps,
      message: `step ${i + 1} of ${steps}`,
    })),
  );
}

const LEVELS = ["debug", "info", "warning", "error"];

function assertLogs(logs: Observed["logs"], levels: string[]): void {
  assert.deepEqual(
    logs.map((l) => l.level),
    levels,
  );
  for (const log of logs) {
    assert.equal(log.logger, "log_levels");
    assert.deepEqual(log.data, { message: `a ${log.level} message` });
  }
}

/** Checks the error of a client feature the call cannot use, and returns its message. */
function expectUnsupported(result: unknown, feature: string, reason: string): string {
  assertNoLeak(result);
  const error = expectToolError(result, "conflict");
  assert.equal(error.retryable, false);
  assert.deepEqual(error.details, { clientFeature: feature, reason });
  assert.match(error.message, /Retrying will not help\.$/);
  return error.message;
}

describe("HTTP with sessions, 2025-era client", () => {
  let running: RunningServer;
  const clients: Client[] = [];

  async function connect(setup?: ClientSetup, mode: ClientMode = "legacy"): Promise<Observed> {
    const observed = observedClient(mode, setup);
    await observed.client.connect(new StreamableHTTPClientTransport(running.url));
    clients.push(observed.client);
    assert.equal(observed.client.getNegotiatedProtocolVersion(), EXPECTED_PROTOCOL[mode]);
    return observed;
  }

  before(async () => {
    running = await startServer(createClientFeatureTools(), { http: { sessions: true } });
  });

  after(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await running?.close();
  });

  test("progress notifications arrive in order, for the call's token; regressions are dropped", async () => {
    const { client } = await connect();
    const { result, updates } = await callWithProgress(client, 4);
    assert.deepEqual(result.structuredContent, { steps: 4 });
    assertProgress(updates, 4);
  });

  test("log messages reach the client, filtered by logging/setLevel", async () => {
    const observed = await connect();
    // No level set: the SDK sends every level.
    await observed.client.callTool({ name: "log_levels", arguments: {} });
    await eventually(() => observed.logs.length === 4, "4 log messages");
    assertLogs(observed.logs, LEVELS);

    observed.logs.length = 0;
    assert.deepEqual(await observed.client.setLoggingLevel("warning"), {});
    await observed.client.callTool({ name: "log_levels", arguments: {} });
    await eventually(() => observed.logs.length >= 2, "2 log messages");
    assertLogs(observed.logs, ["warning", "error"]);

    observed.logs.length = 0;
    await observed.client.setLoggingLevel("debug");
    await observed.client.callTool({ name: "log_levels", arguments: {} });
    await eventually(() => observed.logs.length === 4, "4 log messages");
    assertLogs(observed.logs, LEVELS);
  });

  test("the level is per session: another session still gets every level", async () => {
    const quiet = await connect();
    await quiet.client.setLoggingLevel("error");
    const chatty = await connect();
    await chatty.client.callTool({ name: "log_levels", arguments: {} });
    await quiet.client.callTool({ name: "log_levels", arguments: {} });
    await eventually(() => chatty.logs.length === 4 && quiet.logs.length >= 1, "log messages");
    assertLogs(chatty.logs, LEVELS);
    assertLogs(quiet.logs, ["error"]);
  });

  test("sampling: the tool gets the client's completion", async () => {
    const observed = await connect();
    const result = await observed.client.callTool({
      name: "ask_model",
      arguments: { prompt: "Capital of France?" },
    });
    assert.notEqual(result.isError, true, JSON.stringify(result));
    assert.deepEqual(result.structuredContent, { text: "Paris.", model: "test-model" });
    assert.equal(observed.samplingRequests.length, 1);
    assert.deepEqual(observed.samplingRequests[0]?.messages, [
      { role: "user", content: { type: "text", text: "Capital of France?" } },
    ]);
    assert.equal(observed.samplingRequests[0]?.maxTokens, 100);
  });

  test("elicitation: the form (defaults, enums) reaches the client; accept and decline come back", async () => {
    const observed = await connect();
    const accepted = await observed.client.callTool({
      name: "ask_user",
      arguments: { message: "Your profile?" },
    });
    assert.notEqual(accepted.isError, true, JSON.stringify(accepted));
    assert.deepEqual(accepted.structuredContent, { action: "accept", content: PROFILE_ANSWER });
    const request = observed.elicitRequests[0];
    assert.ok(request && "requestedSchema" in request);
    assert.equal(request.message, "Your profile?");
    assert.deepEqual(request.requestedSchema, PROFILE_SCHEMA);

    const declined = await observed.client.callTool({
      name: "ask_user",
      arguments: { message: "decline please" },
    });
    assert.deepEqual(declined.structuredContent, { action: "decline", content: null });
  });

  test("a client without the capabilities: conflict, not retryable, nothing sent", async () => {
    const observed = await connect({ capabilities: {} });
    const sampled = await observed.client.callTool({
      name: "ask_model",
      arguments: { prompt: "x" },
    });
    const message = expectUnsupported(sampled, "sampling", "client_capability");
    assert.match(message, /capability 'sampling'/);
    const elicited = await observed.client.callTool({
      name: "ask_user",
      arguments: { message: "x" },
    });
    expectUnsupported(elicited, "elicitation", "client_capability");
  });

  test("a client that answers sampling with an error: unavailable, retryable", async () => {
    const observed = await connect({
      onSampling: () => Promise.reject(new Error("User rejected sampling request")),
    });
    const result = await observed.client.callTool({
      name: "ask_model",
      arguments: { prompt: "x" },
    });
    assertNoLeak(result, "User rejected");
    const error = expectToolError(result, "unavailable");
    assert.equal(error.retryable, true);
    assert.match(error.message, /could not complete the sampling request/);
  });

  test("a client that never answers: timeout at the tool's deadline, and its request is cancelled", async () => {
    let clientSawCancel: (() => void) | undefined;
    const cancelled = new Promise<void>((resolve) => (clientSawCancel = resolve));
    const observed = await connect({
      onSampling: (signal) =>
        new Promise((_, reject) => {
          signal.addEventListener("abort", () => {
            clientSawCancel?.();
            reject(new Error("cancelled"));
          });
        }),
    });
    const started = Date.now();
    const result = await observed.client.callTool({
      name: "ask_model",
      arguments: { prompt: "x" },
    });
    expectToolError(result, "timeout");
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 1_900 && elapsed < 5_000, `answered after ${elapsed} ms`);
    await cancelled;
  });

  test("a 2026-07-28 client on the same server: progress works, sampling and elicitation are refused", async () => {
    const observed = await connect(undefined, "auto");
    assertProgress((await callWithProgress(observed.client, 2)).updates, 2);
    const sampled = await observed.client.callTool({
      name: "ask_model",
      arguments: { prompt: "x" },
    });
    assert.match(
      expectUnsupported(sampled, "sampling", "protocol_revision"),
      /protocol revision 2026-07-28 has no requests from server to client/,
    );
    const elicited = await observed.client.callTool({
      name: "ask_user",
      arguments: { message: "x" },
    });
    expectUnsupported(elicited, "elicitation", "protocol_revision");
    assert.equal(observed.samplingRequests.length + observed.elicitRequests.length, 0);
  });
});

describe("stateless HTTP (the default)", () => {
  let running: RunningServer;
  const clients: Client[] = [];

  async function connect(mode: ClientMode): Promise<Observed> {
    const observed = observedClient(mode);
    await observed.client.connect(new StreamableHTTPClientTransport(running.url));
    clients.push(observed.client);
    return observed;
  }

  before(async () => {
    running = await startServer(createClientFeatureTools());
  });

  after(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await running?.close();
  });

  for (const mode of ["legacy", "auto"] as const) {
    test(`${mode} client: progress notifications arrive in order`, async () => {
      const { client } = await connect(mode);
      const { result, updates } = await callWithProgress(client, 3);
      assert.deepEqual(result.structuredContent, { steps: 3 });
      assertProgress(updates, 3);
    });
  }

  test("raw: the notifications carry the request's own progressToken, before the response", async () => {
    const response = await rawRequest({
      port: running.address.port,
      headers: MCP_HEADERS,
      body: jsonRpc(
        "tools/call",
        { name: "report_progress", arguments: { steps: 3 }, _meta: { progressToken: "tok-7" } },
        7,
      ),
    });
    assert.equal(response.status, 200);
    const messages = parseMessages(response) as {
      method?: string;
      params?: unknown;
      id?: unknown;
    }[];
    assert.deepEqual(
      messages.slice(0, 3).map((m) => [m.method, m.params]),
      [1, 2, 3].map((i) => [
        "notifications/progress",
        { progressToken: "tok-7", progress: i, total: 3, message: `step ${i} of 3` },
      ]),
    );
    assert.equal(messages.length, 4);
    assert.equal(messages[3]?.id, 7);
  });

  test("raw: without a progressToken no progress is sent", async () => {
    const response = await rawRequest({
      port: running.address.port,
      headers: MCP_HEADERS,
      body: jsonRpc("tools/call", { name: "report_progress", arguments: { steps: 2 } }),
    });
    const messages = parseMessages(response) as { method?: string }[];
    assert.deepEqual(
      messages.map((m) => m.method),
      [undefined],
    );
  });

  test("legacy client: logging/setLevel answers {} and log messages arrive", async () => {
    const observed = await connect("legacy");
    assert.deepEqual(await observed.client.setLoggingLevel("warning"), {});
    await observed.client.callTool({ name: "log_levels", arguments: {} });
    // Each stateless request has its own server instance: the level set by the earlier
    // request is not kept, so every level is sent (sessions or stdio keep it).
    await eventually(() => observed.logs.length === 4, "4 log messages");
    assertLogs(observed.logs, LEVELS);
  });

  test("legacy client: sampling and elicitation need sessions (conflict, nothing sent)", async () => {
    const observed = await connect("legacy");
    const sampled = await observed.client.callTool({
      name: "ask_model",
      arguments: { prompt: "x" },
    });
    assert.match(
      expectUnsupported(sampled, "sampling", "stateless_http"),
      /stateful sessions are needed/,
    );
    const elicited = await observed.client.callTool({
      name: "ask_user",
      arguments: { message: "x" },
    });
    expectUnsupported(elicited, "elicitation", "stateless_http");
    assert.equal(observed.samplingRequests.length + observed.elicitRequests.length, 0);
  });

  test("2026-07-28 client: log messages only at or above the request's own log level", async () => {
    const observed = await connect("auto");
    // The revision has no logging/setLevel: a request carries its level in `_meta`.
    await observed.client.callTool({ name: "log_levels", arguments: {} });
    await observed.client.callTool({
      name: "log_levels",
      arguments: {},
      _meta: { [LOG_LEVEL_META_KEY]: "warning" },
    });
    await eventually(() => observed.logs.length >= 2, "2 log messages");
    assertLogs(observed.logs, ["warning", "error"]);
  });

  test("2026-07-28 client: sampling is refused for the protocol revision", async () => {
    const observed = await connect("auto");
    const sampled = await observed.client.callTool({
      name: "ask_model",
      arguments: { prompt: "x" },
    });
    expectUnsupported(sampled, "sampling", "protocol_revision");
  });
});

describe("stdio, 2025-era client", () => {
  let observed: Observed;

  before(async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: ["--import", "tsx", fixturePath("client-features.ts")],
      cwd: REPO_ROOT,
      env: { PATH: process.env["PATH"] ?? "" },
      stderr: "pipe",
    });
    observed = observedClient("legacy");
    await observed.client.connect(transport, { timeout: 30_000 });
  });

  after(async () => {
    await observed?.client.close();
  });

  test("progress, setLevel-filtered logs, sampling and elicitation round trips", async () => {
    const { client } = observed;
    assert.equal(client.getNegotiatedProtocolVersion(), EXPECTED_PROTOCOL.legacy);
    assertProgress((await callWithProgress(client, 3)).updates, 3);

    await client.setLoggingLevel("warning");
    await client.callTool({ name: "log_levels", arguments: {} });
    await eventually(() => observed.logs.length >= 2, "2 log messages");
    assertLogs(observed.logs, ["warning", "error"]);

    const sampled = await client.callTool({ name: "ask_model", arguments: { prompt: "Capital?" } });
    assert.deepEqual(sampled.structuredContent, { text: "Paris.", model: "test-model" });
    const elicited = await client.callTool({
      name: "ask_user",
      arguments: { message: "Profile?" },
    });
    assert.deepEqual(elicited.structuredContent, { action: "accept", content: PROFILE_ANSWER });
  });
});

describe("in-process callTool", () => {
  test("progress and client logs are no-ops; sampling and elicitation are refused", async () => {
    const running = await startServer(createClientFeatureTools());
    try {
      const progress = await running.server.callTool(
        "report_progress",
        { steps: 2 },
        { meta: { progressToken: "p" } },
      );
      assert.deepEqual(progress.structuredContent, { steps: 2 });
      const logs = await running.server.callTool("log_levels", {});
      assert.deepEqual(logs.structuredContent, { sent: 4 });
      const everything = await running.server.callTool("use_everything", {});
      expectUnsupported(everything, "sampling", "in_process");
      const elicited = await running.server.callTool("ask_user", { message: "x" });
      expectUnsupported(elicited, "elicitation", "in_process");
    } finally {
      await running.close();
    }
  });
});
