// What resources, prompts and completion share when they are served: who may see what
// (the same scope rule as tools), deadlines, and turning whatever a handler throws into a
// JSON-RPC error that says what went wrong without leaking how.
import { randomUUID } from "node:crypto";
import { ProtocolError, ProtocolErrorCode, type ServerContext } from "@modelcontextprotocol/server";
import type { Principal } from "../auth/principal.js";
import { accessDenial, mayUse } from "../auth/scopes.js";
import { isToolError } from "../errors/tool-error.js";
import { CancelledByClient, DeadlineExceeded, runBy } from "../util/deadline.js";
import { cancellationOf } from "../util/lazy-abort.js";
import type { Logger } from "../log/logger.js";

/** Everything the resource, prompt and completion handlers need from the serving unit. */
export interface ServingDeps {
  /** Whether an auth verifier is configured (scopes enforced, anonymous refused). */
  readonly authEnabled: boolean;
  /** The caller of one MCP request (the factory's `principalOf`). */
  readonly principalOf: (sdkCtx: ServerContext) => Principal;
  readonly log: Logger;
  /** Deadline of a `read`, `get` or completer that sets no `timeoutMs`. */
  readonly defaultTimeoutMs: number;
}

// RFC 6749 section 3.3 scope-token, as for tools.
const SCOPE = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
export const MAX_TIMEOUT_MS = 2_147_483_647; // setTimeout's limit

/** Checks `scopes` of a definition: an array of scope names, `[]` (the default) for none. */
export function checkScopes(scopes: unknown, where: string): readonly string[] {
  if (scopes === undefined) return Object.freeze([]);
  if (
    !Array.isArray(scopes) ||
    !(scopes as unknown[]).every((s) => typeof s === "string" && SCOPE.test(s))
  ) {
    throw new TypeError(
      `${where}: scopes must be an array of scope names without spaces ([] for none).`,
    );
  }
  return Object.freeze([...new Set(scopes as string[])]);
}

export function checkTimeout(timeoutMs: unknown, where: string): number | undefined {
  if (timeoutMs === undefined) return undefined;
  if (
    typeof timeoutMs !== "number" ||
    !Number.isInteger(timeoutMs) ||
    timeoutMs <= 0 ||
    timeoutMs > MAX_TIMEOUT_MS
  ) {
    throw new TypeError(`${where}: timeoutMs must be a positive integer number of milliseconds.`);
  }
  return timeoutMs;
}

export function checkOptionalString(
  value: unknown,
  field: string,
  where: string,
): asserts value is string | undefined {
  if (value !== undefined && typeof value !== "string")
    throw new TypeError(`${where}: ${field} must be a string.`);
}

/** A typo in an option name is a TypeError, not an option silently ignored. */
export function checkKnownKeys(spec: object, known: readonly string[], where: string): void {
  const unknown = Object.keys(spec).filter((key) => !known.includes(key));
  if (unknown.length > 0) {
    throw new TypeError(`${where}: unknown option '${unknown[0]}' (known: ${known.join(", ")}).`);
  }
}

// MIME type: type "/" subtype, optional parameters (RFC 6838 section 4.2, leniently).
const MIME_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*(\s*;.*)?$/;

export function checkMimeType(value: unknown, where: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !MIME_TYPE.test(value))
    throw new TypeError(`${where}: mimeType must be a MIME type such as "text/plain".`);
  return value;
}

/** Whether a definition guarded by `scopes` is listed to this caller (same rule as tools/list). */
export function isVisible(deps: ServingDeps, principal: Principal, scopes: readonly string[]) {
  return !deps.authEnabled || mayUse(principal, scopes);
}

/**
 * Refuses a request for a definition the caller may not use (the one scope rule,
 * auth/scopes.ts). The JSON-RPC code is Invalid Request (-32600, as toolgate's HTTP
 * refusals); `data.type` carries the error type of the tool error contract
 * (`unauthenticated`, `forbidden`), and a forbidden refusal names every scope needed.
 */
export function assertAllowed(
  deps: ServingDeps,
  principal: Principal,
  scopes: readonly string[],
  what: string,
): void {
  if (!deps.authEnabled) return;
  const denial = accessDenial(principal, scopes, what);
  if (!denial) return;
  throw new ProtocolError(ProtocolErrorCode.InvalidRequest, denial.message, {
    type: denial.type,
    ...(denial.type === "forbidden" ? { requiredScopes: [...denial.requiredScopes] } : {}),
  });
}

export interface GuardOptions {
  /** The SDK's signal of the request (client cancel, disconnect). */
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
  readonly log: Logger;
  /** For messages: "Reading test://x", "Prompt 'p'", "Completing ...". */
  readonly what: string;
  /** The error for a handler's `notFound(...)`: ResourceNotFoundError for resources. */
  readonly notFound: (message: string) => ProtocolError;
}

/**
 * Runs a user handler under a deadline, with a signal that aborts at the deadline or when
 * the client cancels. What it throws becomes a JSON-RPC error:
 *
 * - a `ProtocolError` (e.g. `ResourceNotFoundError`) passes as is: the author chose it;
 * - a `ToolError` keeps its message (written for the client by contract): `not_found` as
 *   `notFound`, `invalid_input` as Invalid Params, `unauthenticated`/`forbidden` as
 *   Invalid Request, anything else as Internal Error, with `data.type` (and `retryable`);
 * - anything else is Internal Error with an incident id; the cause (stack, message) goes
 *   to the server log only.
 */
export async function runGuarded<T>(
  run: (signal: AbortSignal) => T | Promise<T>,
  options: GuardOptions,
): Promise<T> {
  try {
    return await runBy(run, {
      until: Date.now() + options.timeoutMs,
      cancellation: cancellationOf(options.signal),
    });
  } catch (thrown) {
    throw toProtocolError(thrown, options);
  }
}

function toProtocolError(thrown: unknown, options: GuardOptions): ProtocolError {
  if (thrown instanceof ProtocolError) return thrown;
  // The client cancelled or went away: nobody reads this answer, and it is no incident.
  if (thrown instanceof CancelledByClient) {
    return new ProtocolError(ProtocolErrorCode.InternalError, `${options.what} was cancelled.`, {
      type: "timeout",
      retryable: true,
    });
  }
  if (thrown instanceof DeadlineExceeded) {
    return new ProtocolError(
      ProtocolErrorCode.InternalError,
      `${options.what} did not finish within ${options.timeoutMs} ms. Retry later.`,
      { type: "timeout", retryable: true },
    );
  }
  if (isToolError(thrown)) {
    if (thrown.cause !== undefined)
      options.log.warn({ errorType: thrown.type, err: thrown.cause }, "handler error with cause");
    const data: Record<string, unknown> = { type: thrown.type, retryable: thrown.retryable };
    if (thrown.retryAfterMs !== undefined) data["retryAfterMs"] = thrown.retryAfterMs;
    if (thrown.details !== undefined) data["details"] = { ...thrown.details };
    switch (thrown.type) {
      case "not_found":
        return options.notFound(thrown.message);
      case "invalid_input":
        return new ProtocolError(ProtocolErrorCode.InvalidParams, thrown.message, data);
      case "unauthenticated":
      case "forbidden":
        return new ProtocolError(ProtocolErrorCode.InvalidRequest, thrown.message, data);
      default:
        if (thrown.incidentId !== undefined) data["incidentId"] = thrown.incidentId;
        return new ProtocolError(ProtocolErrorCode.InternalError, thrown.message, data);
    }
  }
  return internalError(options.log, options.what, thrown);
}

/** Internal Error with a fresh incident id; the cause is logged, never sent. */
export function internalError(log: Logger, what: string, cause: unknown): ProtocolError {
  const incidentId = randomUUID();
  log.error({ incidentId, err: cause }, `${what} failed unexpectedly`);
  return new ProtocolError(
    ProtocolErrorCode.InternalError,
    `${what} failed unexpectedly. Report incident ${incidentId} if this keeps happening.`,
    { type: "internal", retryable: false, incidentId },
  );
}
