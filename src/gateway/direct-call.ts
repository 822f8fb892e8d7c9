// A tools/call to an HTTP upstream as one plain POST, on a connection the SDK client has
// already initialized (its negotiated 2025-era protocol version and session id). The SDK
// client's call path (web streams, per-request abort plumbing, response caches) cost more
// CPU than the rest of the gateway together; connecting, listing and notifications stay
// with the SDK client. Every outcome maps onto the errors upstream.ts defines, so
// forward.ts decides retries exactly as for the SDK path.
import type { CallToolResult } from "@modelcontextprotocol/client";
import { Agent, request, type Dispatcher } from "undici";
import { retryAfterMs } from "../backends/failure.js";
import { discard, drop, readAnswer } from "./read-answer.js";
import {
  UpstreamCredentialRefused,
  UpstreamLost,
  UpstreamNotSent,
  UpstreamProtocolError,
  UpstreamResultTooLarge,
} from "./upstream-errors.js";

export interface DirectCall {
  readonly url: URL;
  readonly protocolVersion: string;
  readonly sessionId: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly params: Record<string, unknown>;
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
  readonly upstream: string;
  /** The answer's bound: past it the body is dropped (UpstreamResultTooLarge). */
  readonly maxResultBytes: number;
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
  if (status < 200 || status >= 300) {
    // Never `body.destroy()` here: undici then emits an `error` event that nobody
    // listens to, and the process dies (one bad upstream took the gateway down).
    discard(response.body);
    throw refusal(status, response.headers, call.upstream);
  }
  const length = Number(response.headers["content-length"]);
  if (length > call.maxResultBytes) {
    drop(response.body);
    throw new UpstreamResultTooLarge(call.maxResultBytes, call.upstream);
  }
  const contentType = response.headers["content-type"];
  const sse = typeof contentType === "string" && contentType.includes("text/event-stream");
  let message: Record<string, unknown> | undefined;
  try {
    message = await readAnswer(response.body, sse, {
      id,
      maxBytes: call.maxResultBytes,
      upstream: call.upstream,
    });
  } catch (error) {
    if (error instanceof UpstreamResultTooLarge) throw error;
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

/**
 * A non-2xx answer. Statuses that mean the server did not process the request (RFC 9110:
 * 3xx, 4xx, 503 "currently unable to handle the request") are "not sent": a retry is
 * safe. 401/403 refuse the gateway's own credential. Any other 5xx may come after the
 * call ran (a proxy's 502/504, a crash mid-call): its outcome is unknown.
 */
function refusal(
  status: number,
  headers: Dispatcher.ResponseData["headers"],
  upstream: string,
): Error {
  const header = headers["retry-after"];
  const wait = retryAfterMs(typeof header === "string" ? header : null) ?? 500;
  if (status === 401 || status === 403) {
    return new UpstreamCredentialRefused(
      `The upstream server '${upstream}' refused the gateway's credential (HTTP ${status}).`,
      wait,
      status,
    );
  }
  if (status < 500 || status === 503) {
    return new UpstreamNotSent(
      `The upstream server '${upstream}' refused the request (HTTP ${status}).`,
      wait,
      status,
    );
  }
  return new UpstreamLost(
    `The upstream server '${upstream}' answered HTTP ${status} instead of a result.`,
  );
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

function causeCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 5; depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === "string") return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
