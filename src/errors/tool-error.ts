import { ERROR_TYPES, isErrorType, type ErrorType } from "./registry.js";

/** One bad field of an `invalid_input` error. `path` is a JSON Pointer (RFC 6901) into the arguments. */
export interface FieldIssue {
  path: string;
  message: string;
  expected?: string;
}

export interface ToolErrorOptions {
  retryAfterMs?: number;
  details?: Record<string, unknown>;
  incidentId?: string;
  /** Server-side only: logged, never sent to the client. */
  cause?: unknown;
}

/**
 * The error handlers throw for expected failures. Its message is sent to the model
 * as written, so it must say what was wrong and what a correct call looks like, and
 * must never contain secrets or internals. Anything else thrown becomes `internal`.
 */
export class ToolError extends Error {
  override readonly name = "ToolError";
  readonly type: ErrorType;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly details: Readonly<Record<string, unknown>> | undefined;
  readonly incidentId: string | undefined;

  constructor(type: ErrorType, message?: string, options: ToolErrorOptions = {}) {
    if (!isErrorType(type)) {
      throw new TypeError(`Unknown error type '${String(type)}'; use one of the error registry.`);
    }
    super(
      message ?? ERROR_TYPES[type].message,
      options.cause === undefined ? {} : { cause: options.cause },
    );
    this.type = type;
    this.retryable = ERROR_TYPES[type].retryable;
    if (options.retryAfterMs !== undefined && !(options.retryAfterMs >= 0)) {
      throw new TypeError("retryAfterMs must be a non-negative number of milliseconds.");
    }
    this.retryAfterMs =
      options.retryAfterMs === undefined ? undefined : Math.ceil(options.retryAfterMs);
    this.details = options.details;
    this.incidentId = options.incidentId;
  }
}

export function isToolError(value: unknown): value is ToolError {
  return value instanceof ToolError;
}

// Typed helpers, one per type a handler may legitimately raise.

export function invalidInput(message: string, issues?: FieldIssue[]): ToolError {
  return new ToolError("invalid_input", message, issues ? { details: { issues } } : {});
}

export function forbidden(message?: string, requiredScopes?: string[]): ToolError {
  return new ToolError("forbidden", message, requiredScopes ? { details: { requiredScopes } } : {});
}

export function notFound(message: string): ToolError {
  return new ToolError("not_found", message);
}

export function conflict(message: string, details?: Record<string, unknown>): ToolError {
  return new ToolError("conflict", message, details ? { details } : {});
}

export function inProgress(message?: string, retryAfterMs = 1000): ToolError {
  return new ToolError("in_progress", message, { retryAfterMs });
}

export function rateLimited(message?: string, retryAfterMs?: number): ToolError {
  return new ToolError("rate_limited", message, retryAfterMs === undefined ? {} : { retryAfterMs });
}

export function timeout(message?: string): ToolError {
  return new ToolError("timeout", message);
}

export function unavailable(message?: string, retryAfterMs?: number, cause?: unknown): ToolError {
  const options: ToolErrorOptions = {};
  if (retryAfterMs !== undefined) options.retryAfterMs = retryAfterMs;
  if (cause !== undefined) options.cause = cause;
  return new ToolError("unavailable", message, options);
}

export function unauthenticated(message?: string): ToolError {
  return new ToolError("unauthenticated", message);
}
