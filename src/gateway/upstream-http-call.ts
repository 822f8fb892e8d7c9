// The one outbound client of a forwarded tools/call to an HTTP upstream: a plain undici POST
// on the session the SDK client opened (its negotiated protocol version, its session id),
// its answer read by read-answer.ts (JSON, or SSE through eventsource-parser), and every
// outcome read by upstream-outcome.ts, the one mapping onto the error registry.
//
// Which path does what, and why:
// - tools/call on HTTP: here, never the SDK client's callTool. Its call path (web streams,
//   per-request abort plumbing, response caches, result validation) cost more CPU than the
//   rest of the gateway together, and this is the gateway's hot path (npm run bench:gateway).
// - initialize, tools/list, list_changed notifications on HTTP: the SDK client (upstream.ts,
//   through upstream-fetch.ts), which does the handshake and its versions well. It connects
//   in its default `legacy` version negotiation, so the session is a 2025-era one, whose
//   tools/call is exactly this POST.
// - stdio upstreams: the SDK client over stdio-transport.ts (no HTTP, no second protocol).
import type { CallToolResult } from "@modelcontextprotocol/client";
import { Agent, request, type Dispatcher } from "undici";
import { discard, drop, readAnswer } from "./read-answer.js";
import { UpstreamResultTooLarge } from "./upstream-errors.js";
import { answerOutcome, statusOutcome, timedOut, transportOutcome } from "./upstream-outcome.js";

export interface HttpCall {
  readonly url: URL;
  /** The session's negotiated protocol version (absent: the server assumes its default). */
  readonly protocolVersion: string | undefined;
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

/**
 * The call's result, or rejects with: the caller's abort reason, a timeout
 * (`isUpstreamTimeout`), or one of upstream-errors.ts's classes.
 */
export async function callHttpUpstream(call: HttpCall): Promise<CallToolResult> {
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
  call: HttpCall,
  signal: AbortSignal,
  deadline: { passed: boolean },
): Promise<CallToolResult> {
  const id = nextId++;
  const failed = (error: unknown): unknown => {
    if (call.signal.aborted) return call.signal.reason;
    if (deadline.passed) return timedOut(call.timeoutMs);
    return transportOutcome(error, call.upstream);
  };
  let response: Dispatcher.ResponseData;
  try {
    // undici's request, not fetch: no web streams or Request objects per call.
    response = await request(call.url, {
      method: "POST",
      headers: {
        ...call.headers,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        ...(call.protocolVersion === undefined
          ? {}
          : { "mcp-protocol-version": call.protocolVersion }),
        ...(call.sessionId === undefined ? {} : { "mcp-session-id": call.sessionId }),
      },
      body: JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: call.params }),
      signal,
      dispatcher: agent(),
    });
  } catch (error) {
    throw failed(error);
  }
  const status = response.statusCode;
  if (status < 200 || status >= 300) {
    // Never `body.destroy()` here: undici then emits an `error` event that nobody
    // listens to, and the process dies (one bad upstream took the gateway down).
    discard(response.body);
    throw statusOutcome(status, response.headers["retry-after"], call.upstream);
  }
  const length = Number(response.headers["content-length"]);
  if (length > call.maxResultBytes) {
    drop(response.body);
    throw new UpstreamResultTooLarge(call.maxResultBytes, call.upstream);
  }
  const contentType = response.headers["content-type"];
  const sse = typeof contentType === "string" && contentType.includes("text/event-stream");
  let answer;
  try {
    answer = await readAnswer(response.body, sse, {
      id,
      maxBytes: call.maxResultBytes,
      upstream: call.upstream,
    });
  } catch (error) {
    if (error instanceof UpstreamResultTooLarge) throw error;
    throw failed(error);
  }
  return answerOutcome(answer, call.upstream);
}
