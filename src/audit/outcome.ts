import type { CallToolResult } from "@modelcontextprotocol/server";
import { readWireError } from "../errors/to-result.js";
import type { AuditOutcome } from "./event.js";

export interface CallOutcome {
  readonly outcome: AuditOutcome;
  readonly retryable?: boolean;
  readonly incidentId?: string;
}

const OK: CallOutcome = Object.freeze({ outcome: "ok" });

/**
 * Reads the outcome from the result the caller gets, so what is logged is what was
 * answered: a typed error by its type (from `_meta`, `structuredContent` or the text, as
 * the contract places it), any other `isError` result (a hand-built one, an upstream's)
 * as `tool_error` (the OpenTelemetry MCP convention's name), never as success.
 */
export function outcomeOf(result: CallToolResult): CallOutcome {
  if (result.isError !== true) return OK;
  const error = readWireError(result);
  if (!error) return { outcome: "tool_error" };
  return {
    outcome: error.type,
    retryable: error.retryable,
    ...(error.incidentId === undefined ? {} : { incidentId: error.incidentId }),
  };
}
