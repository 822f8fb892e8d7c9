// The stateless fast path for the one request agents make most: a 2025-era `tools/call`
// over HTTP without a session. The SDK's stateless handler builds a Server, a transport
// and a web Request for every POST and validates the message with zod; that plumbing cost
// several times the whole toolgate pipeline. Here the message is checked by hand, the
// pipeline runs exactly as it does behind the SDK, and the answer is written as the SDK
// writes it (one SSE `message` event). Anything else (initialize, lists, notifications,
// batches, progress tokens, 2026-07-28 envelopes, sessions, odd headers) goes to the SDK.
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  Server,
  SUPPORTED_PROTOCOL_VERSIONS,
  type CallToolResult,
  type LoggingLevel,
  type ServerContext,
} from "@modelcontextprotocol/server";
import type { Principal } from "../auth/principal.js";
import type { BackendRegistry } from "../backends/registry.js";
import type { Logger } from "../log/logger.js";
import { isRecord } from "../util/is-record.js";
import type { RunCall } from "./mcp-factory.js";
import { createCallContext } from "./mcp-factory.js";
import type { ToolRegistry } from "./tool-registry.js";
import { LazyAbort, withLazySignal } from "../util/lazy-abort.js";
import { requestHeaders } from "./request-headers.js";

/** Serves the request and returns true, or returns false and leaves it to the SDK. */
export type FastCall = (
  req: IncomingMessage,
  res: ServerResponse,
  body: unknown,
  principal: Principal | undefined,
) => boolean;

const LEGACY_VERSIONS: ReadonlySet<string> = new Set(SUPPORTED_PROTOCOL_VERSIONS);

const SSE_HEADERS = {
  "content-type": "text/event-stream",
  "cache-control": "no-cache, no-transform",
  connection: "keep-alive",
  "x-accel-buffering": "no",
} as const;

/** The request, if it is one this path serves exactly as the SDK would. */
function servable(req: IncomingMessage, body: unknown) {
  if (!isRecord(body) || body["jsonrpc"] !== "2.0" || body["method"] !== "tools/call") return;
  const id = body["id"];
  if (typeof id !== "string" && !(typeof id === "number" && Number.isSafeInteger(id))) return;
  const params = body["params"];
  if (!isRecord(params) || typeof params["name"] !== "string") return;
  const args = params["arguments"];
  if (args !== undefined && (!isRecord(args) || Array.isArray(args))) return;
  const meta = params["_meta"];
  if (meta !== undefined) {
    if (!isRecord(meta) || Array.isArray(meta)) return;
    // Progress streams notifications the SDK sends; envelope keys mean another revision.
    for (const key of Object.keys(meta))
      if (key === "progressToken" || key.startsWith("io.modelcontextprotocol/")) return;
  }
  for (const key of Object.keys(params))
    if (key !== "name" && key !== "arguments" && key !== "_meta") return;
  const headers = req.headers;
  const version = headers["mcp-protocol-version"];
  if (typeof version !== "string" || !LEGACY_VERSIONS.has(version)) return;
  if (headers["mcp-session-id"] !== undefined) return;
  const accept = headers["accept"];
  if (
    typeof accept !== "string" ||
    !accept.includes("text/event-stream") ||
    !accept.includes("application/json")
  )
    return;
  return {
    id,
    name: params["name"],
    args: args,
    meta: meta,
  };
}

export function createFastCall(
  registry: ToolRegistry,
  runCall: RunCall,
  log: Logger,
  backends: BackendRegistry | undefined,
): FastCall {
  const project = legacyProjection();
  return (req, res, body, principal) => {
    const call = servable(req, body);
    if (!call) return false;
    // Its signal is created only if something reads it (see LazyAbort).
    const controller = new LazyAbort();
    // The client going away cancels the call, as the SDK's request signal does.
    const onClose = () => {
      if (!res.writableFinished) controller.abort();
    };
    res.once("close", onClose);
    let opened = false;
    const event = (message: Record<string, unknown>) =>
      `event: message\ndata: ${JSON.stringify(message)}\n\n`;
    // Notifications (log messages) stream before the result, on the open response.
    const send = (message: Record<string, unknown>) => {
      if (res.destroyed) return;
      if (!opened) {
        res.writeHead(200, SSE_HEADERS);
        opened = true;
      }
      res.write(event(message));
    };
    // The last event ends the response; alone, headers and body go out in one write.
    const finish = (message: Record<string, unknown>) => {
      if (res.destroyed) return;
      if (!opened) res.writeHead(200, SSE_HEADERS);
      opened = true;
      res.end(event(message));
    };
    const ctx = createCallContext({
      toolName: call.name,
      rawArguments: call.args,
      meta: call.meta,
      transport: "http",
      headers: requestHeaders(req),
      signal: controller,
      lookup: registry.get,
      log,
      principal,
      backends,
      sdk: statelessContext(req, call.id, controller, send),
    });
    runCall(ctx)
      .then(
        (result) =>
          finish({
            result: project(result, registry.get(call.name)?.outputSchema),
            jsonrpc: "2.0",
            id: call.id,
          }),
        (error: unknown) => {
          log.error({ err: error }, "unexpected error in a tools/call");
          finish({
            jsonrpc: "2.0",
            id: call.id,
            error: { code: -32603, message: "Internal error" },
          });
        },
      )
      .finally(() => res.off("close", onClose));
    return true;
  };
}

/**
 * What the client features (`ctx.clientLog` and the checks of `ctx.sample`/`ctx.elicit`)
 * read from the SDK's context, for a stateless request: log messages go out on the
 * request's own stream before the result (every level: a stateless request has no
 * `logging/setLevel`, as with the SDK); server-to-client requests are refused as
 * stateless by the features before they would be sent.
 */
function statelessContext(
  req: IncomingMessage,
  id: string | number,
  abort: LazyAbort,
  send: (message: Record<string, unknown>) => void,
): ServerContext {
  const notify = (notification: Record<string, unknown>) => {
    send({ ...notification, jsonrpc: "2.0" });
    return Promise.resolve();
  };
  const mcpReq = withLazySignal(
    {
      id,
      method: "tools/call",
      _meta: undefined,
      envelope: undefined,
      notify,
      log: (level: LoggingLevel, data: unknown, logger?: string) =>
        notify({
          method: "notifications/message",
          params: { level, data, ...(logger === undefined ? {} : { logger }) },
        }),
    },
    abort,
  );
  return { http: { req }, sessionId: undefined, mcpReq } as unknown as ServerContext;
}

/**
 * The SDK's own 2025-era result projection (its legacy wire codec: a non-object
 * `structuredContent`, or one whose advertised schema is not an object, is wrapped as
 * `{ result }`, with a text block when there is none). An SDK `Server` that is never
 * connected negotiates no era and projects as 2025-era, which is what this path serves:
 * the projection stays the SDK's, in one place, and costs no Server per request.
 */
function legacyProjection(): (
  result: CallToolResult,
  outputSchema: Readonly<Record<string, unknown>> | undefined,
) => CallToolResult {
  const codec = new Server({ name: "toolgate-fast-path", version: "0" }, { capabilities: {} });
  return (result, outputSchema) => codec.projectCallToolResult(result, outputSchema);
}
