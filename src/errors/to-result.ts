import { randomUUID } from "node:crypto";
import type { CallToolResult } from "@modelcontextprotocol/server";
import type { Logger } from "../log/logger.js";
import { ToolError, isToolError } from "./tool-error.js";

/** The `error` object of a failed call's `structuredContent`, exactly as the contract defines it. */
export interface WireError {
  type: ToolError["type"];
  message: string;
  retryable: boolean;
  retryAfterMs?: number;
  details?: Record<string, unknown>;
  incidentId?: string;
}

/**
 * The only function that builds the wire shape of a failed call: a normal result with
 * `isError: true`, the typed error in `structuredContent`, and the same JSON as text
 * for clients that only show text.
 */
export function toErrorResult(error: ToolError): CallToolResult {
  const wire: WireError = { type: error.type, message: error.message, retryable: error.retryable };
  if (error.retryAfterMs !== undefined) wire.retryAfterMs = error.retryAfterMs;
  if (error.details !== undefined) wire.details = { ...error.details };
  if (error.incidentId !== undefined) wire.incidentId = error.incidentId;
  const structuredContent = { error: wire };
  return {
    isError: true,
    content: [{ type: "text", text: JSON.stringify(structuredContent) }],
    structuredContent,
  };
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
