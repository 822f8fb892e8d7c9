import type { CallToolResult } from "@modelcontextprotocol/server";
import { isErrorType } from "../errors/registry.js";
import type { AuditOutcome } from "./event.js";

export interface CallOutcome {
  readonly outcome: AuditOutcome;
  readonly retryable?: boolean;
  readonly incidentId?: string;
}

const OK: CallOutcome = Object.freeze({ outcome: "ok" });

/**
 * Reads the outcome from the result the caller gets, so what is logged is what was
 * answered: a typed error by its type, any other `isError` result (a hand-built one, an
 * upstream's) as `tool_error` (the OpenTelemetry MCP convention's name), never as success.
 */
export function outcomeOf(result: CallToolResult): CallOutcome {
  if (result.isError !== true) return OK;
  const error = (result.structuredContent as { error?: unknown } | undefined)?.error;
  if (typeof error !== "object" || error === null) return { outcome: "tool_error" };
  const { type, retryable, incidentId } = error as Record<string, unknown>;
  if (!isErrorType(type)) return { outcome: "tool_error" };
  return {
    outcome: type,
    ...(typeof retryable === "boolean" ? { retryable } : {}),
    ...(typeof incidentId === "string" ? { incidentId } : {}),
  };
}
