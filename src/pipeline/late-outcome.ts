import type { CallToolResult } from "@modelcontextprotocol/server";

// When the deadline (or the client's cancellation) cuts a call short, the caller is
// answered `timeout` at once while the handler may still finish. Its real outcome travels
// outward with that error, so each stage on the way sees it as typed state of the error it
// already handles: validateOutput checks it like any result, and the idempotency stage
// stores it so that a retry replays it (idempotency.md, rule 6). A WeakMap rather than a
// property: the error stays the registry's ToolError, and nothing of this reaches the wire.
const LATE = new WeakMap<object, Promise<CallToolResult>>();

/** Records that the handler behind `error` is still running and will settle as `late`. */
export function attachLateOutcome<E extends object>(error: E, late: Promise<CallToolResult>): E {
  late.catch(() => undefined); // observed by whoever consumes it; never unhandled
  LATE.set(error, late);
  return error;
}

/** The handler's real outcome, if `error` answered the caller before the handler settled. */
export function lateOutcomeOf(error: unknown): Promise<CallToolResult> | undefined {
  return typeof error === "object" && error !== null ? LATE.get(error) : undefined;
}
