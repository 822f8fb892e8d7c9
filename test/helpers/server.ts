// Helpers for end-to-end tests: a toolgate server on a real socket (127.0.0.1, port 0),
// an SDK client connected to it in a chosen protocol era, and leak checks for results.
import assert from "node:assert/strict";
import type { EventEmitter } from "node:events";
import { createServer as createNetServer, type AddressInfo } from "node:net";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { createToolServer, type ToolServer, type ToolServerOptions } from "../../src/index.js";
import { silentLogger, type ListeningAddress } from "../../src/server/index.js";

/** "legacy" speaks 2025-11-25 (initialize handshake); "auto" negotiates 2026-07-28. */
export type ClientMode = "legacy" | "auto";

export const CLIENT_MODES: readonly ClientMode[] = ["legacy", "auto"];

/** The protocol revision each client mode must end up speaking with toolgate. */
export const EXPECTED_PROTOCOL: Readonly<Record<ClientMode, string>> = {
  legacy: "2025-11-25",
  auto: "2026-07-28",
};

export interface RunningServer {
  server: ToolServer;
  address: ListeningAddress;
  /** The MCP endpoint, e.g. http://127.0.0.1:41234/mcp */
  url: URL;
  /** http://127.0.0.1:41234 (no path) */
  origin: string;
  close(): Promise<void>;
}

export type StartOptions = Omit<ToolServerOptions, "name" | "version" | "tools"> &
  Partial<Pick<ToolServerOptions, "name" | "version">>;

/** Starts a toolgate server with these tools on 127.0.0.1 and a free port. */
export async function startServer(
  tools: ToolServerOptions["tools"],
  options: StartOptions = {},
): Promise<RunningServer> {
  const server = createToolServer({
    name: "toolgate-e2e",
    version: "0.0.1",
    logger: silentLogger(),
    ...options,
    tools,
  });
  const address = await server.listen({ port: 0, host: "127.0.0.1" });
  const url = new URL(address.url);
  return { server, address, url, origin: url.origin, close: () => server.close() };
}

export interface ConnectedClient {
  client: Client;
  transport: StreamableHTTPClientTransport;
  close(): Promise<void>;
}

/** Connects an SDK client to `url` in the given mode (bounded by `timeoutMs`). */
export async function connectClient(
  url: URL,
  mode: ClientMode,
  timeoutMs = 10_000,
): Promise<ConnectedClient> {
  const client = new Client(
    { name: "toolgate-e2e-client", version: "1.0.0" },
    { versionNegotiation: { mode } },
  );
  const transport = new StreamableHTTPClientTransport(url);
  await client.connect(transport, { timeout: timeoutMs });
  return {
    client,
    transport,
    close: async () => {
      await client.close();
    },
  };
}

/** Markers of stack traces, source locations and internals that must never reach a client. */
export const LEAK_MARKERS: readonly string[] = [
  "    at ",
  ".ts:",
  ".js:",
  "/work/",
  "node_modules",
  "Error:",
];

/**
 * Fails if the JSON of `value` (a tool result, a response body...) contains a stack
 * trace marker, a source path, or any of `secrets`.
 */
export function assertNoLeak(value: unknown, ...secrets: string[]): void {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  for (const marker of [...LEAK_MARKERS, ...secrets]) {
    assert.ok(
      !text.includes(marker),
      `leak: ${JSON.stringify(marker)} appears in ${text.length > 2000 ? `${text.slice(0, 2000)}...` : text}`,
    );
  }
}

/** The wire shape of a failed call's `structuredContent.error` (the error contract). */
export interface WireErrorShape {
  type: string;
  message: string;
  retryable: boolean;
  retryAfterMs?: number;
  details?: Record<string, unknown>;
  incidentId?: string;
}

/**
 * Checks the error contract on a result and returns its `error` object: `isError: true`,
 * `content[0].text` the one-line JSON `{"error":{...}}` with type/message/retryable, the
 * same object in `_meta["toolgate/error"]`, and in `structuredContent.error` unless the
 * tool declares an `outputSchema` (then `structuredContent` must be absent). `outputSchema`
 * says which: true, false, or undefined to accept either.
 */
export function expectToolError(
  result: unknown,
  type: string,
  options: { outputSchema?: boolean } = {},
): WireErrorShape {
  assert.equal(typeof result, "object");
  const r = result as {
    isError?: unknown;
    content?: unknown;
    structuredContent?: unknown;
    _meta?: Record<string, unknown>;
  };
  assert.equal(r.isError, true, `expected isError: true in ${JSON.stringify(result)}`);
  assert.ok(Array.isArray(r.content), "content must be an array");
  const first = r.content[0] as { type?: unknown; text?: unknown } | undefined;
  assert.ok(first, "content must not be empty");
  assert.equal(first.type, "text");
  assert.equal(typeof first.text, "string");
  const fromText = JSON.parse(first.text as string) as { error?: WireErrorShape };
  assert.ok(fromText.error, `the text carries no error: ${String(first.text)}`);
  const error = fromText.error;
  assert.deepEqual(
    r._meta?.["toolgate/error"],
    error,
    '_meta["toolgate/error"] must equal the text',
  );
  if (
    options.outputSchema === true ||
    (options.outputSchema === undefined && r.structuredContent === undefined)
  ) {
    assert.equal(
      r.structuredContent,
      undefined,
      "an outputSchema tool's error has no structuredContent",
    );
  } else {
    assert.deepEqual(r.structuredContent, fromText, "structuredContent must equal the text's JSON");
  }
  assert.equal(error.type, type, `expected ${type}, got ${JSON.stringify(error)}`);
  assert.equal(typeof error.message, "string");
  assert.ok(error.message.length > 0, "message must not be empty");
  return error;
}

/** Rejects with a clear message if `promise` does not settle within `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Resolves with the arguments of the next `event` on `emitter` whose arguments pass
 * `filter`; rejects after `ms`. Subscribe before triggering what emits it.
 */
export function nextEvent(
  emitter: EventEmitter,
  event: string,
  filter: (...args: unknown[]) => boolean = () => true,
  ms = 10_000,
): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const listener = (...args: unknown[]) => {
      if (!filter(...args)) return;
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(args);
    };
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`no '${event}' event within ${ms} ms`));
    }, ms);
    emitter.on(event, listener);
  });
}

/**
 * Starts a `wait_for_cancel` call tagged `tag`, waits until its handler runs, and aborts
 * it from the client side. Resolves with what the call settled to and a promise of the
 * handler's `aborted` event (its reason's name is the second element).
 */
export async function cancelWaitingCall(
  client: ConnectedClient["client"],
  events: EventEmitter,
  tag: string,
): Promise<{ outcome: unknown; aborted: Promise<unknown[]> }> {
  const started = nextEvent(events, "started", (t) => t === tag);
  const aborted = nextEvent(events, "aborted", (t) => t === tag);
  const controller = new AbortController();
  const call = client
    .callTool({ name: "wait_for_cancel", arguments: { tag } }, { signal: controller.signal })
    .then(
      () => undefined,
      (error: unknown) => error,
    );
  await started;
  controller.abort();
  return { outcome: await call, aborted };
}

/**
 * A TCP port free right now on 127.0.0.1 (listen on 0, note the port, close). For a
 * server that must know its own URL before it is built (e.g. a verifier's audience).
 */
export async function freePort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolve, reject) => {
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** `startServer`, but on a given port (see `freePort`). */
export async function startServerOn(
  port: number,
  tools: ToolServerOptions["tools"],
  options: StartOptions = {},
): Promise<RunningServer> {
  const server = createToolServer({
    name: "toolgate-e2e",
    version: "0.0.1",
    logger: silentLogger(),
    ...options,
    tools,
  });
  const address = await server.listen({ port, host: "127.0.0.1" });
  const url = new URL(address.url);
  return { server, address, url, origin: url.origin, close: () => server.close() };
}

/**
 * `connectClient` with extra HTTP headers on every request the transport sends (e.g.
 * `authorization: Bearer ...`), through the SDK's `requestInit`.
 */
export async function connectClientWithHeaders(
  url: URL,
  mode: ClientMode,
  headers: Record<string, string>,
  timeoutMs = 10_000,
): Promise<ConnectedClient> {
  const client = new Client(
    { name: "toolgate-e2e-client", version: "1.0.0" },
    { versionNegotiation: { mode } },
  );
  const transport = new StreamableHTTPClientTransport(url, { requestInit: { headers } });
  await client.connect(transport, { timeout: timeoutMs });
  return {
    client,
    transport,
    close: async () => {
      await client.close();
    },
  };
}
