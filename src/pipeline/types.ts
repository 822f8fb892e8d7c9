import type { CallToolResult, ServerContext } from "@modelcontextprotocol/server";
import type { Context as TraceContext } from "@opentelemetry/api";
import type { BackendCallInit, BackendClient } from "../tool/backend-client.js";
import type { Principal } from "../auth/principal.js";
import type { Logger } from "../log/logger.js";
import type { ToolDefinition } from "../tool/types.js";
import type { Cancellation } from "../util/lazy-abort.js";

export type Transport = "http" | "stdio" | "direct";

/** What the idempotency stage did with a write call (absent for calls it did not see). */
export type IdempotencyDisposition = "executed" | "replayed" | "in_progress" | "conflict";

/** One call to a backend made while serving a tool call. */
export interface BackendCallRecord {
  readonly name: string;
  /** The HTTP status (or other numeric status), `ok` when the call had none, `error` or `timeout`. */
  readonly status: number | "ok" | "error" | "timeout";
  readonly ms: number;
}

/**
 * What the stages have learned about a call so far. A stage passes what it learns on to
 * the stages after it as a new context, `next(withState(ctx, { tool, deadline }))`; the
 * context it was given stays as it was.
 */
export interface CallState {
  /** The call's id (request-id stage); "" before it. */
  readonly requestId: string;
  /** The call's logger (the request-id stage binds the id and tool name to it). */
  readonly log: Logger;
  readonly principal: Principal;
  /** The tool the call names (resolve-tool stage). */
  readonly tool?: ToolDefinition;
  /** The validated arguments (validate-input stage). */
  readonly args?: unknown;
  /** The call's one deadline, epoch ms (resolve-tool stage). */
  readonly deadline?: number;
  /** The derived idempotency key (idempotency stage), handed to the handler. */
  readonly idempotencyKey?: string;
}

/**
 * What happened during one call, read by the audit log, metrics and traces after the
 * pipeline. Not request state: it is the one mutable object of a call, shared by every
 * context derived from it, so an observation made deep in the pipeline reaches the
 * wrapper that built the call.
 */
export interface CallRecord {
  /** The id the call's audit event carries (request-id stage; the audit makes one without it). */
  requestId: string | undefined;
  /** What the idempotency stage did with a write call. */
  idempotency: IdempotencyDisposition | undefined;
  /** Gateway: the upstream server that served the call. */
  upstream: string | undefined;
  /** The OpenTelemetry context of the call's span: parent of backend spans. */
  traceContext: TraceContext | undefined;
  /** Backend calls made so far. */
  readonly backendCalls: BackendCallRecord[];
  /** Run when the call's handler stage ends (timers of backend requests, client features). */
  readonly cleanups: (() => void)[];
}

/**
 * One `tools/call` as a stage sees it: the request as the adapter built it (immutable),
 * the state earlier stages learned (`CallState`), and the call's `record`.
 */
export interface CallContext extends CallState {
  readonly toolName: string;
  /**
   * What the call is: a `tools/call` ("tool", also when absent), or the operation behind
   * resources/read ("resource"), prompts/get ("prompt") or completion/complete
   * ("completion"), which run the same stages (src/tool/operation.ts).
   */
  readonly kind?: "tool" | "resource" | "prompt" | "completion" | undefined;
  /**
   * How messages name the target when it is not the tool's name: "Resource test://x",
   * "Prompt 'review'" (the read URI, not the template's operation name).
   */
  readonly label?: string | undefined;
  /** The arguments exactly as the client sent them. Untrusted. */
  readonly rawArguments: unknown;
  /** `params._meta` of the request, if any. Untrusted. */
  readonly meta: Readonly<Record<string, unknown>> | undefined;
  readonly transport: Transport;
  /** The HTTP request's headers (HTTP transport only). */
  readonly headers: Headers | undefined;
  /** Aborts when the client cancels the request or disconnects. */
  readonly signal: AbortSignal;
  /**
   * The same cancellation without creating `signal` (which the server's contexts create
   * only when read); read it through `callCancellation(ctx)`. Absent: `signal` is it.
   */
  readonly cancellation?: Cancellation | undefined;
  readonly startedAt: number;
  readonly lookup: (name: string) => ToolDefinition | undefined;
  /** The server's backends (`ctx.backend(name)` in handlers). */
  readonly backends: CallBackends | undefined;
  /** The SDK's context of the MCP request (progress, client logging...); undefined in-process. */
  readonly sdk: ServerContext | undefined;
  /** What happened during the call (audited); shared by all contexts of the call. */
  readonly record: CallRecord;
}

/**
 * The server's backends as a call reaches them: implemented outside the pipeline
 * (backends/registry.ts), so the inner layers need nothing from backends/ or observability/.
 */
export interface CallBackends {
  /** A client of backend `name`, bound to this call; only a backend the call's tool declares. */
  client(ctx: CallContext, signal: AbortSignal, name: string): BackendClient;
  /** Runs one request on the call's behalf: a trace span, and a record in its audit event. */
  run<T>(
    ctx: CallContext,
    signal: AbortSignal,
    name: string,
    run: (init: BackendCallInit) => Promise<T> | T,
  ): Promise<T>;
}

/**
 * Runs the rest of the pipeline: with the same context, or with one derived from it
 * (`withState`) that carries what this stage learned.
 */
export type Next = (ctx?: CallContext) => Promise<CallToolResult>;

/** One box of the pipeline. Built by a factory that checks its options when called. */
export type Stage = (ctx: CallContext, next: Next) => Promise<CallToolResult>;
