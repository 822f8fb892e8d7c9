import type { CallToolResult } from "@modelcontextprotocol/server";
import type { Auditor } from "../audit/auditor.js";
import type { AuditEvent, AuditOutcome, AuditPrincipal } from "../audit/event.js";
import { outcomeOf, type CallOutcome } from "../audit/outcome.js";
import { ANONYMOUS_PRINCIPAL, type Principal } from "../auth/principal.js";
import type { ToolDefinition } from "../tool/types.js";
import { toErrorResult } from "../errors/to-result.js";
import { unavailable } from "../errors/tool-error.js";
import type { CallContext } from "../pipeline/types.js";
import type { JsonSchema } from "../validation/json-schema.js";
import type { ToolMetrics } from "./metrics.js";
import { startCallSpan, type CallSpan } from "./tracing.js";
import { requestIdV7 } from "../util/request-id.js";

export type RunCall = (ctx: CallContext) => Promise<CallToolResult>;
/** Redacts a call's arguments; `tool` may add names of its own (`redactKeys`). */
type Redact = (value: unknown, schema?: JsonSchema, tool?: ToolDefinition) => unknown;

export interface ObserveOptions {
  readonly server: string;
  /** Undefined when the audit log is switched off (`audit: false`). */
  readonly auditor: Auditor | undefined;
  readonly metrics: ToolMetrics;
  readonly redact: Redact;
  readonly failClosed: boolean;
}

const UNKNOWN_TOOL = "(unknown)";
const MAX_TOOL_NAME = 128;

/**
 * Wraps the whole pipeline, whatever stages it has: every call gets a span, metrics
 * and one audit event written after its outcome is known (refusals included), so a
 * custom stage list cannot drop observation by accident.
 */
export function observeCalls(run: RunCall, options: ObserveOptions): RunCall {
  const { auditor } = options;
  return async function observedCall(ctx) {
    const started = performance.now();
    const tool = ctx.lookup(ctx.toolName);
    const span = startCallSpan({
      toolName: ctx.toolName,
      known: tool !== undefined,
      transport: ctx.transport,
      meta: ctx.meta,
      headers: ctx.headers,
    });
    ctx.record.traceContext = span.context;
    let result: CallToolResult | undefined;
    try {
      if (options.failClosed && tool?.sideEffect === "write" && auditor && !auditor.healthy()) {
        result = toErrorResult(
          unavailable(
            `${tool.name} changes state and the audit log is not writing, so it was not run. Retry later.`,
            5_000,
          ),
          { structured: tool.outputSchema === undefined },
        );
        ctx.log.warn({ tool: tool.name }, "write refused: audit log unavailable (failClosed)");
      } else {
        result = await run(ctx);
      }
      return result;
    } finally {
      try {
        observe(ctx, result, performance.now() - started, span, tool, options);
      } catch (error) {
        // Observation must never change the answer; a failure here is a bug worth a log line.
        ctx.log.error({ err: error }, "could not record a tool call's audit event or metrics");
      }
    }
  };
}

function observe(
  ctx: CallContext,
  result: CallToolResult | undefined,
  latencyMs: number,
  span: CallSpan,
  tool: ToolDefinition | undefined,
  options: ObserveOptions,
): void {
  // A stage list without mapErrors may throw: that is an internal failure, still audited.
  const outcome: CallOutcome = result ? outcomeOf(result) : { outcome: "internal" };
  const record = ctx.record;
  options.metrics.callFinished(
    tool ? tool.name : UNKNOWN_TOOL,
    outcome.outcome,
    latencyMs / 1000,
    record.idempotency,
  );
  span.end(outcome.outcome, record.idempotency);
  options.auditor?.record({
    time: new Date().toISOString(),
    // Refusals before the request-id stage still need an id for their event.
    requestId: record.requestId ?? (ctx.requestId || requestIdV7()),
    server: options.server,
    transport: ctx.transport,
    principal: auditPrincipal(ctx.principal),
    tool: ctx.toolName.slice(0, MAX_TOOL_NAME),
    toolVersion: tool?.version ?? null,
    arguments: options.redact(ctx.rawArguments, tool?.inputSchema, tool),
    ...outcome,
    ...(record.idempotency ? { idempotency: record.idempotency } : {}),
    latencyMs: round(latencyMs),
    backendCalls: [...record.backendCalls],
    ...(record.upstream ? { upstream: record.upstream } : {}),
    ...(span.traceId ? { traceId: span.traceId } : {}),
  });
}

/** An event for an HTTP request refused before it reached a tool (no, bad or expired token). */
export function refusalEvent(input: {
  server: string;
  outcome: AuditOutcome;
  reason: string;
  principal: Principal | undefined;
  tool: string | undefined;
  latencyMs: number;
}): AuditEvent {
  return {
    time: new Date().toISOString(),
    requestId: requestIdV7(),
    server: input.server,
    transport: "http",
    principal: auditPrincipal(input.principal ?? ANONYMOUS_PRINCIPAL),
    tool: input.tool?.slice(0, MAX_TOOL_NAME) ?? null,
    toolVersion: null,
    arguments: null,
    outcome: input.outcome,
    reason: input.reason,
    latencyMs: round(input.latencyMs),
    backendCalls: [],
  };
}

export function auditPrincipal(p: Principal): AuditPrincipal {
  return {
    issuer: p.issuer,
    subject: p.subject,
    ...(p.tenant === undefined ? {} : { tenant: p.tenant }),
    ...(p.clientId === undefined ? {} : { clientId: p.clientId }),
    anonymous: p.anonymous,
  };
}

const round = (ms: number) => Math.round(ms * 100) / 100;
