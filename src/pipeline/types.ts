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
 * The state of one `tools/call` as it passes the stages. Stages fill the optional
 * fields in order: `tool` (resolve), `args` (validate input), `deadline` (execute).
 */
export interface CallContext {
  requestId: string;
  readonly toolName: string;
  /**
   * What the call is: a `tools/call` ("tool", also when absent), or the operation behind
   * resources/read ("resource"), prompts/get ("prompt") or completion/complete
   * ("completion"), which run the same stages (src/tool/operation.ts).
   */
  readonly kind?: "tool" | "resource" | "prompt" | "completion";
  /**
   * How messages name the target when it is not the tool's name: "Resource test://x",
   * "Prompt 'review'" (the read URI, not the template's operation name).
   */
  readonly label?: string;
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
  log: Logger;
  principal: Principal;
  tool?: ToolDefinition;
  args?: unknown;
  deadline?: number;
  /** The derived idempotency key (idempotency stage), handed to the handler. */
  idempotencyKey?: string;
  /** What the idempotency stage did (audited). */
  idempotency?: IdempotencyDisposition;
  /** Backend calls made so far (audited). */
  readonly backendCalls: BackendCallRecord[];
  /** The OpenTelemetry context of the call's span: parent of backend spans. */
  traceContext?: TraceContext;
  /** Gateway: the upstream server that served the call (audited). */
  upstream?: string;
  /** The server's backends (`ctx.backend(name)` in handlers). */
  readonly backends: CallBackends | undefined;
  /** Run when the call's handler stage ends (timers of backend requests). */
  readonly cleanups: (() => void)[];
  /** The SDK's context of the MCP request (progress, client logging...); undefined in-process. */
  readonly sdk: ServerContext | undefined;
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

export type Next = () => Promise<CallToolResult>;

/** One box of the pipeline. Built by a factory that checks its options when called. */
export type Stage = (ctx: CallContext, next: Next) => Promise<CallToolResult>;
