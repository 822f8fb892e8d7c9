// OpenTelemetry through @opentelemetry/api only: with no SDK registered every call here is
// a no-op, and an application that registers one (NodeSDK, ...) gets toolgate's spans.
// Span names and attributes follow the OpenTelemetry MCP semantic conventions:
// https://opentelemetry.io/docs/specs/semconv/gen-ai/mcp/
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  propagation,
  trace,
  type Context,
  type Span,
  type TextMapGetter,
} from "@opentelemetry/api";
import type { AuditOutcome } from "../audit/event.js";
import type { IdempotencyDisposition, Transport } from "../pipeline/types.js";

const TRACER_NAME = "toolgate";
const tracer = () => trace.getTracer(TRACER_NAME);

const metaGetter: TextMapGetter<Readonly<Record<string, unknown>>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const value = carrier[key];
    return typeof value === "string" ? value : undefined;
  },
};
const headerGetter: TextMapGetter<Headers> = {
  keys: (carrier) => [...carrier.keys()],
  get: (carrier, key) => carrier.get(key) ?? undefined,
};

/**
 * The parent of a call's span: the trace context the client put in `params._meta`
 * (`traceparent`/`tracestate`, SEP-414), else the HTTP request's headers, else whatever
 * is active in this process.
 */
function parentOf(
  meta: Readonly<Record<string, unknown>> | undefined,
  headers: Headers | undefined,
): Context {
  if (typeof meta?.["traceparent"] === "string")
    return propagation.extract(ROOT_CONTEXT, meta, metaGetter);
  if (headers?.has("traceparent")) return propagation.extract(ROOT_CONTEXT, headers, headerGetter);
  return context.active();
}

export interface CallSpan {
  /** The span's context: the parent for backend calls made by the handler. */
  readonly context: Context;
  /** The W3C trace id, when the span is being recorded. */
  readonly traceId: string | undefined;
  end(outcome: AuditOutcome, idempotency: IdempotencyDisposition | undefined): void;
}

export function startCallSpan(input: {
  toolName: string;
  /** Whether the tool exists: unknown names stay out of the span name (bounded cardinality). */
  known: boolean;
  transport: Transport;
  meta: Readonly<Record<string, unknown>> | undefined;
  headers: Headers | undefined;
}): CallSpan {
  const parent = parentOf(input.meta, input.headers);
  const span: Span = tracer().startSpan(
    input.known ? `tools/call ${input.toolName}` : "tools/call",
    {
      kind: SpanKind.SERVER,
      attributes: {
        "mcp.method.name": "tools/call",
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": input.toolName.slice(0, 128),
        ...(input.transport === "direct"
          ? {}
          : { "network.transport": input.transport === "stdio" ? "pipe" : "tcp" }),
      },
    },
    parent,
  );
  const spanContext = span.spanContext();
  return {
    context: trace.setSpan(parent, span),
    traceId: span.isRecording() ? spanContext.traceId : undefined,
    end(outcome, idempotency) {
      if (idempotency) span.setAttribute("toolgate.idempotency", idempotency);
      if (outcome !== "ok") {
        span.setAttribute("error.type", outcome);
        span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
      }
      span.end();
    },
  };
}

/** A CLIENT span for one backend call, child of the tool call's span. */
export function startBackendSpan(parent: Context, name: string): { span: Span; context: Context } {
  const span = tracer().startSpan(
    name,
    { kind: SpanKind.CLIENT, attributes: { "toolgate.backend": name } },
    parent,
  );
  return { span, context: trace.setSpan(parent, span) };
}

/** W3C trace headers (`traceparent`, `tracestate`) for a request made in `ctx`; empty without a propagator. */
export function traceHeaders(ctx: Context): Record<string, string> {
  const headers: Record<string, string> = {};
  propagation.inject(ctx, headers);
  return headers;
}
