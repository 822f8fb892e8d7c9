// The failures the kit decides itself, beside what classifyThrown reads from a thrown
// error: the retry verdict for a tool's policy, a cancelled or timed-out operation, a
// call refused before it was sent, and a tool's failed result.
import type { CallToolResult } from "@modelcontextprotocol/client";
import type { ClassifiedFailure } from "./failure-kinds.js";
import type { ToolCallPolicy } from "./policy.js";
import { errorOfResult, isReplay, type ToolCallError } from "./result.js";

/**
 * The kit's verdict on a failure: `retryable` only when calling again cannot apply the
 * operation twice (a retry-safe call, or a failure that proves nothing ran).
 */
export function settle(failure: ClassifiedFailure, policy: ToolCallPolicy): ToolCallError {
  const error = { ...failure.error };
  if (error.retryable && !policy.retrySafe && failure.applied !== "no") {
    error.retryable = false;
    error.applied = "unknown";
  }
  return error;
}

export function cancelledFailure(signal: AbortSignal | undefined, what: string): ClassifiedFailure {
  const reason: unknown = signal?.reason;
  const why =
    reason instanceof Error ? reason.message : typeof reason === "string" ? reason : undefined;
  return {
    error: {
      type: "cancelled",
      message: `${what} was cancelled by the caller${why ? ` (${why})` : ""}; if it was already sent, it may or may not have taken effect.`,
      retryable: false,
      source: "client",
      applied: "unknown",
    },
    applied: "unknown",
    transient: false,
  };
}

export function deadlineFailure(name: string, timeoutMs: number): ClassifiedFailure {
  return {
    error: {
      type: "timeout",
      message: `${name} did not finish within its deadline of ${timeoutMs} ms; it may or may not have taken effect.`,
      retryable: true,
      details: { cause: "DEADLINE" },
      source: "client",
      applied: "unknown",
    },
    applied: "unknown",
    // The operation's time is spent: no further attempt.
    transient: false,
  };
}

export function clientError(message: string): ToolCallError {
  return { type: "invalid_input", message, retryable: false, source: "client", applied: "no" };
}

/**
 * A failed result: `rate_limited` is refused before anything runs; other errors may follow
 * a run. A replayed error (`_meta["toolgate/idempotent-replay"]`) is the stored answer of
 * this operation: the same key gets it again, so no retry can help, whatever the stored
 * error's `retryable` said (an older server stored retryable errors too).
 */
export function failureOfResult(result: CallToolResult): ClassifiedFailure {
  const error = errorOfResult(result);
  const replayed = isReplay(result);
  if (replayed) error.retryable = false;
  return {
    error,
    applied: error.type === "rate_limited" && !replayed ? "no" : "unknown",
    transient: error.retryable,
  };
}
