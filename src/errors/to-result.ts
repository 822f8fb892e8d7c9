import { randomUUID } from "node:crypto";
import type { CallToolResult } from "@modelcontextprotocol/server";
import type { Logger } from "../log/logger.js";
import { isErrorType, type ErrorType } from "./registry.js";
import { ToolError, isToolError } from "./tool-error.js";

/** The `error` object of a failed call, exactly as the contract defines it. */
export interface WireError {
  type: ToolError["type"];
  message: string;
  retryable: boolean;
  retryAfterMs?: number;
  details?: Record<string, unknown>;
  incidentId?: string;
}

/**
 * `_meta` key of a failed result that carries the typed error. No client validates
 * `_meta`, so the error survives clients that validate `structuredContent` against a
 * tool's `outputSchema` even when `isError` is true (the SDK v1 client, the MCP
 * Inspector: typescript-sdk issue #1943).
 */
export const ERROR_META_KEY = "toolgate/error";

export interface ErrorResultOptions {
  /**
   * Whether the result may carry `structuredContent`. False for tools that declare an
   * `outputSchema` (see the error contract: "Tools that declare an outputSchema").
   * Default true.
   */
  readonly structured?: boolean;
}

/**
 * The only function that builds the wire shape of a failed call: a normal result with
 * `isError: true`, the typed error as one-line JSON text (for clients that show only
 * text), in `_meta["toolgate/error"]`, and in `structuredContent` unless the tool
 * declares an output schema.
 */
export function toErrorResult(error: ToolError, options: ErrorResultOptions = {}): CallToolResult {
  const wire: WireError = { type: error.type, message: error.message, retryable: error.retryable };
  if (error.retryAfterMs !== undefined) wire.retryAfterMs = error.retryAfterMs;
  if (error.details !== undefined) wire.details = { ...error.details };
  if (error.incidentId !== undefined) wire.incidentId = error.incidentId;
  const structuredContent = { error: wire };
  return {
    isError: true,
    content: [{ type: "text", text: JSON.stringify(structuredContent) }],
    ...(options.structured === false ? {} : { structuredContent }),
    _meta: { [ERROR_META_KEY]: wire },
  };
}

/**
 * A failed result in the shape its tool may carry: a tool with an `outputSchema` gets no
 * `structuredContent` on an error (clients would validate it against that schema and
 * throw the error away). The typed error stays in `_meta` and in the text; an untyped
 * `structuredContent` (an upstream's) moves into the text when there is none. Any other
 * result is returned as it is.
 */
export function errorResultForTool(
  result: CallToolResult,
  tool: { readonly outputSchema?: unknown } | undefined,
): CallToolResult {
  if (result.isError !== true || tool?.outputSchema === undefined) return result;
  if (result.structuredContent === undefined) return result;
  const { structuredContent, ...rest } = result;
  const wire = readWireError(result);
  const out: CallToolResult = { ...rest };
  if (wire) out._meta = { ...rest._meta, [ERROR_META_KEY]: wire };
  const hasText =
    Array.isArray(rest.content) &&
    rest.content.some((block) => (block as { type?: unknown }).type === "text");
  if (!hasText) {
    out.content = [
      ...(Array.isArray(rest.content) ? rest.content : []),
      { type: "text", text: JSON.stringify(structuredContent) },
    ];
  }
  return out;
}

/**
 * The typed error a failed result carries, read where the contract puts it: `_meta`
 * first, then `structuredContent.error`, then the JSON text. Undefined for a success and
 * for an `isError` result without the contract's shape (another server's tool error).
 */
export function readWireError(result: CallToolResult): WireError | undefined {
  if (result.isError !== true) return undefined;
  const meta = result._meta as Record<string, unknown> | undefined;
  const fromMeta = asWireError(meta?.[ERROR_META_KEY]);
  if (fromMeta) return fromMeta;
  const structured = result.structuredContent as Record<string, unknown> | undefined;
  const fromStructured = asWireError(structured?.["error"]);
  if (fromStructured) return fromStructured;
  const content: unknown = result.content;
  if (!Array.isArray(content)) return undefined;
  for (const block of content as unknown[]) {
    const text = (block as { type?: unknown; text?: unknown } | null)?.text;
    if ((block as { type?: unknown } | null)?.type !== "text" || typeof text !== "string") continue;
    if (!text.trimStart().startsWith("{")) return undefined;
    try {
      return asWireError((JSON.parse(text) as Record<string, unknown> | null)?.["error"]);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** A value with the contract's shape (a known type, a message, retryable), else undefined. */
function asWireError(value: unknown): WireError | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const { type, message, retryable, retryAfterMs, details, incidentId } = value as Record<
    string,
    unknown
  >;
  if (!isErrorType(type) || typeof message !== "string" || typeof retryable !== "boolean")
    return undefined;
  const wire: WireError = { type, message, retryable };
  if (typeof retryAfterMs === "number" && Number.isFinite(retryAfterMs) && retryAfterMs >= 0)
    wire.retryAfterMs = retryAfterMs;
  if (typeof details === "object" && details !== null && !Array.isArray(details))
    wire.details = details as Record<string, unknown>;
  if (typeof incidentId === "string") wire.incidentId = incidentId;
  return wire;
}

/** The error type a failed result carries, if it speaks the contract. */
export function errorTypeOf(result: CallToolResult): ErrorType | undefined {
  return readWireError(result)?.type;
}

/**
 * Turns anything thrown into a safe `ToolError`. A `ToolError` passes as is; anything
 * else becomes `internal` with a fresh incident id, and its real cause (stack, message)
 * goes to the server log only.
 */
export function toToolError(
  thrown: unknown,
  log: Logger,
  context: Record<string, unknown> = {},
): ToolError {
  if (isToolError(thrown)) {
    if (thrown.cause !== undefined) {
      log.warn({ ...context, errorType: thrown.type, err: thrown.cause }, "tool error with cause");
    }
    return thrown;
  }
  const incidentId = randomUUID();
  log.error({ ...context, incidentId, err: thrown }, "unexpected error in tool call");
  return new ToolError("internal", undefined, { incidentId });
}
