// A tools/call to an HTTP upstream as one plain POST, on a connection the SDK client has
// already initialized (its negotiated 2025-era protocol version and session id). The SDK
// client's call path (web streams, per-request abort plumbing, response caches) cost more
// CPU than the rest of the gateway together; connecting, listing and notifications stay
// with the SDK client. Every outcome maps onto the errors upstream.ts defines, so
// forward.ts decides retries exactly as for the SDK path.
import type { CallToolResult } from "@modelcontextprotocol/client";
import { Agent, request, type Dispatcher } from "undici";
import { UpstreamLost, UpstreamNotSent, UpstreamProtocolError } from "./upstream-errors.js";

export interface DirectCall {
  readonly url: URL;
  readonly protocolVersion: string;
  readonly sessionId: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly params: Record<string, unknown>;
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
  readonly upstream: string;
}

let nextId = 1;
let shared: Agent | undefined;
/** One keep-alive pool for every upstream (undici keeps one per origin inside it). */
function agent(): Agent {
  return (shared ??= new Agent({ keepAliveTimeout: 30_000 }));
}

/** The SDK's code for a request that timed out (forward.ts maps it to `timeout`). */
const REQUEST_TIMEOUT = -32001;

export async function directCall(call: DirectCall): Promise<CallToolResult> {
  const id = nextId++;
  const timer = AbortSignal.timeout(call.timeoutMs);
  const signal = AbortSignal.any([call.signal, timer]);
  let response: Dispatcher.ResponseData;
  try {
    // undici's request, not fetch: no web streams or Request objects per call.
    response = await request(call.url, {
      method: "POST",
      headers: {
        ...call.headers,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-protocol-version": call.protocolVersion,
        ...(call.sessionId === undefined ? {} : { "mcp-session-id": call.sessionId }),
      },
      body: JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: call.params }),
      signal,
      dispatcher: agent(),
    });
  } catch (error) {
    throw failure(error, call, timer);
  }
  const status = response.statusCode;
  // Refused before it ran: bad session, credential or request. The SDK path reconnects.
  if (status >= 400 && status < 500) {
    response.body.destroy();
    throw new UpstreamNotSent(
      `The upstream server '${call.upstream}' refused the request (HTTP ${status}).`,
      500,
      status,
    );
  }
  if (status < 200 || status >= 300) {
    response.body.destroy();
    throw new UpstreamLost(
      `The upstream server '${call.upstream}' answered HTTP ${status} before a result.`,
    );
  }
  const contentType = response.headers["content-type"];
  let message: Record<string, unknown> | undefined;
  try {
    message =
      typeof contentType === "string" && contentType.includes("text/event-stream")
        ? await readEvents(response.body, id)
        : matching(await response.body.text(), id);
  } catch (error) {
    throw failure(error, call, timer);
  }
  if (!message) {
    throw new UpstreamLost(
      `The upstream server '${call.upstream}' ended its answer without a result.`,
    );
  }
  const rpcError = message["error"];
  if (rpcError !== undefined) {
    const { code, message: said } = (rpcError ?? {}) as { code?: unknown; message?: unknown };
    throw new UpstreamProtocolError(
      typeof said === "string" ? said : "error",
      typeof code === "number" ? code : -32603,
    );
  }
  return message["result"] as CallToolResult;
}

function failure(error: unknown, call: DirectCall, timer: AbortSignal): Error {
  if (call.signal.aborted) return call.signal.reason as Error;
  if (timer.aborted) {
    return Object.assign(new Error(`The upstream did not answer within ${call.timeoutMs} ms.`), {
      code: REQUEST_TIMEOUT,
    });
  }
  const code = causeCode(error);
  if (code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "EAI_AGAIN") {
    return new UpstreamNotSent(
      `The upstream server '${call.upstream}' refused the connection.`,
      500,
      undefined,
      { cause: error },
    );
  }
  return new UpstreamLost(
    `The connection to upstream '${call.upstream}' ended before it answered: ${(error as Error).message}`,
    { cause: error },
  );
}

/** The JSON-RPC message with this id, if `text` is one. */
function matching(text: string, id: number): Record<string, unknown> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  return typeof parsed === "object" && parsed !== null && (parsed as { id?: unknown }).id === id
    ? (parsed as Record<string, unknown>)
    : undefined;
}

/**
 * Reads SSE events until the one answering `id` (notifications before it are skipped),
 * then stops: a server may keep the stream open after the response (the spec only says
 * it SHOULD close it).
 */
async function readEvents(
  body: Dispatcher.ResponseData["body"],
  id: number,
): Promise<Record<string, unknown> | undefined> {
  let buffer = "";
  body.setEncoding("utf8");
  try {
    for await (const chunk of body as AsyncIterable<string>) {
      buffer += chunk;
      let end: RegExpExecArray | null;
      while ((end = /\r?\n\r?\n/.exec(buffer)) !== null) {
        const block = buffer.slice(0, end.index);
        buffer = buffer.slice(end.index + end[0].length);
        const data = block
          .split(/\r?\n/)
          .filter((line) => line.startsWith("data:"))
          .map((line) => line.slice(5).replace(/^ /, ""))
          .join("\n");
        const message = data === "" ? undefined : matching(data, id);
        if (message) return message;
      }
    }
    return undefined;
  } finally {
    body.destroy();
  }
}

function causeCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 5; depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === "string") return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
