import { ROOT_CONTEXT, SpanStatusCode } from "@opentelemetry/api";
import type { BackendCallRecord, CallContext } from "../pipeline/types.js";
import type { BackendCallInit } from "../tool/backend-client.js";

export type { BackendCallInit } from "../tool/backend-client.js";
import { startBackendSpan, traceHeaders } from "./tracing.js";

// One event lists at most this many backend calls; a handler looping over a backend
// should not turn its audit event into megabytes.
const MAX_RECORDED = 50;

/**
 * Runs one request to a backend on behalf of a tool call: a child span (its trace
 * context handed to `run` as headers to send), the time taken, and an entry in the
 * call's audit event (name, status, ms). A result with a numeric `status` (a fetch
 * `Response`) records that status.
 */
export async function runBackendCall<T>(
  ctx: CallContext,
  signal: AbortSignal,
  name: string,
  run: (init: BackendCallInit) => Promise<T> | T,
): Promise<T> {
  if (typeof name !== "string" || name === "")
    throw new TypeError("backendCall: name must be a non-empty string.");
  if (typeof run !== "function") throw new TypeError("backendCall: run must be a function.");
  const { span, context } = startBackendSpan(ctx.record.traceContext ?? ROOT_CONTEXT, name);
  const started = performance.now();
  let status: BackendCallRecord["status"] = "error";
  try {
    const value = await run({ headers: traceHeaders(context), signal });
    status = statusOf(value);
    return value;
  } catch (error) {
    status = signal.aborted || isAbort(error) ? "timeout" : "error";
    throw error;
  } finally {
    const ms = Math.round((performance.now() - started) * 100) / 100;
    const calls = ctx.record.backendCalls;
    if (calls.length < MAX_RECORDED) calls.push({ name, status, ms });
    if (typeof status === "number") span.setAttribute("http.response.status_code", status);
    if (
      status === "error" ||
      status === "timeout" ||
      (typeof status === "number" && status >= 500)
    ) {
      span.setAttribute("error.type", String(status));
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
  }
}

function statusOf(value: unknown): BackendCallRecord["status"] {
  const status = (value as { status?: unknown } | null)?.status;
  return typeof status === "number" && Number.isFinite(status) ? status : "ok";
}

function isAbort(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return name === "AbortError" || name === "TimeoutError";
}
