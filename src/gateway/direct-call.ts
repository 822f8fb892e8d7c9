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

/** How long a finished answer's stream may stay open before the gateway drops it. */
const LINGER_MS = 1_000;

export async function directCall(call: DirectCall): Promise<CallToolResult> {
  // One controller, a timer and a listener rather than AbortSignal.timeout + any (three
  // signals and their bookkeeping on every forwarded call).
  const controller = new AbortController();
  const deadline = { passed: false };
  const timer = setTimeout(() => {
    deadline.passed = true;
    controller.abort(new Error("upstream deadline"));
  }, call.timeoutMs);
  const onAbort = () => controller.abort(call.signal.reason);
  if (call.signal.aborted) onAbort();
  else call.signal.addEventListener("abort", onAbort, { once: true });
  try {
    return await send(call, controller.signal, deadline);
  } finally {
    clearTimeout(timer);
    call.signal.removeEventListener("abort", onAbort);
  }
}

async function send(
  call: DirectCall,
  signal: AbortSignal,
  deadline: { passed: boolean },
): Promise<CallToolResult> {
  const id = nextId++;
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
    throw failure(error, call, deadline);
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
    throw failure(error, call, deadline);
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

function failure(error: unknown, call: DirectCall, deadline: { passed: boolean }): Error {
  if (call.signal.aborted) return call.signal.reason as Error;
  if (deadline.passed) {
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
 * and answers with it at once: a server may keep the stream open after the response (the
 * spec only says it SHOULD close it). The rest of the stream is drained so the connection
 * returns to the pool when the server ends it, and dropped if it is still open after
 * LINGER_MS. Read with listeners, not `for await`: leaving an async iterator early
 * destroys the stream with a fresh AbortError (and its stack trace) on every call.
 */
function readEvents(
  body: Dispatcher.ResponseData["body"],
  id: number,
): Promise<Record<string, unknown> | undefined> {
  return new Promise((resolve, reject) => {
    let buffer = "";
    let settled = false;
    const finish = () => {
      body.off("data", onData);
      body.off("end", onEnd);
      settled = true;
    };
    const onData = (chunk: string) => {
      buffer += chunk;
      let end: RegExpExecArray | null;
      while ((end = /\r?\n\r?\n/.exec(buffer)) !== null) {
        const block = buffer.slice(0, end.index);
        buffer = buffer.slice(end.index + end[0].length);
        const message = matching(eventData(block), id);
        if (!message) continue;
        finish();
        resolve(message);
        linger(body);
        return;
      }
    };
    const onEnd = () => {
      finish();
      resolve(undefined);
    };
    body.setEncoding("utf8");
    body.on("data", onData);
    body.on("end", onEnd);
    body.on("error", (error) => {
      if (settled) return; // after the answer: the stream was dropped, nothing to report
      finish();
      reject(error);
    });
  });
}

/** The data of one SSE event block (its `data:` lines joined). */
function eventData(block: string): string {
  return block
    .split(/\r?\n/)
    .filter((line) => line.startsWith("data:"))
    .map((line) => line.slice(5).replace(/^ /, ""))
    .join("\n");
}

/** Drains what follows the answer; drops the stream if the server keeps it open. */
function linger(body: Dispatcher.ResponseData["body"]): void {
  if (body.readableEnded || body.destroyed) return;
  const drop = setTimeout(() => body.destroy(), LINGER_MS);
  drop.unref();
  body.once("close", () => clearTimeout(drop));
  body.resume();
}

function causeCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 5; depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === "string") return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
