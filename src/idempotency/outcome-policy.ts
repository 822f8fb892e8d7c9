// Which outcomes of an idempotent call are stored and replayed, and which release the
// claim so that a retry runs again (idempotency.md, "Outcome policy").
import type { CallToolResult } from "@modelcontextprotocol/server";
import type { ErrorType } from "../errors/registry.js";
import { readWireError } from "../errors/to-result.js";

/**
 * Outcomes that belong to the operation: it ran (or was refused on its merits) and its
 * answer will not change on a retry with the same key.
 *
 * Not stored: retryable outcomes (`timeout`, `unavailable`, `rate_limited`,
 * `in_progress`: storing them would replay "try again" for the whole retention period, so
 * the operation could never succeed); `internal` (an unexpected failure); and outcomes
 * that depend on who calls rather than on the operation (`forbidden`, `unauthenticated`:
 * after the user grants the missing scope, resuming the same operation must run it).
 */
const STORED_ERRORS: ReadonlySet<ErrorType> = new Set(["invalid_input", "not_found", "conflict"]);

export function isStoredErrorType(type: ErrorType): boolean {
  return STORED_ERRORS.has(type);
}

/**
 * Whether a result is stored under the key: a success, a definitive typed error, or an
 * `isError` result without the contract's shape (a handler's or an upstream's own error
 * text: it answered, and nothing says a retry would answer differently).
 */
export function isStoredOutcome(result: CallToolResult): boolean {
  if (result.isError !== true) return true;
  const wire = readWireError(result);
  return wire === undefined || STORED_ERRORS.has(wire.type);
}
