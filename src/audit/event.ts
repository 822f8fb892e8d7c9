import type { ErrorType } from "../errors/registry.js";
import type { BackendCallRecord, IdempotencyDisposition, Transport } from "../pipeline/types.js";

export type { BackendCallRecord, IdempotencyDisposition } from "../pipeline/types.js";

/** `ok`, an error type of the contract, or `tool_error` for an `isError` result without one. */
export type AuditOutcome = "ok" | ErrorType | "tool_error";

/** The caller as the audit log records it: identity only, never the token or its claims. */
export interface AuditPrincipal {
  readonly issuer: string;
  readonly subject: string;
  readonly tenant?: string;
  readonly clientId?: string;
  readonly anonymous: boolean;
}

/**
 * One audit event: written once per tool call, after its outcome is known, and once per
 * HTTP request refused before it reached a tool (no or bad token: `tool` is null).
 * `requestId` is unique per event; sinks use it to drop duplicates of a retried batch.
 */
export interface AuditEvent {
  /** ISO 8601 UTC time at which the outcome was known. */
  readonly time: string;
  readonly requestId: string;
  /** The serving toolgate server's name. */
  readonly server: string;
  readonly transport: Transport;
  readonly principal: AuditPrincipal;
  /** The tool the caller asked for (as sent, at most 128 characters), or null. */
  readonly tool: string | null;
  /** The tool's contract version; null when no such tool exists. */
  readonly toolVersion: string | null;
  /** The arguments as sent, with sensitive values masked. */
  readonly arguments: unknown;
  readonly outcome: AuditOutcome;
  /** For failed calls: whether the error said retrying may help. */
  readonly retryable?: boolean;
  /** For `internal` failures: the incident id the caller was given. */
  readonly incidentId?: string;
  /** For HTTP refusals before any tool: why (e.g. "The access token has expired."). */
  readonly reason?: string;
  readonly idempotency?: IdempotencyDisposition;
  /** Wall-clock time from receiving the call to its answer, in milliseconds. */
  readonly latencyMs: number;
  readonly backendCalls: readonly BackendCallRecord[];
  /** Gateway only: the upstream MCP server that served the call. */
  readonly upstream?: string;
  /** The W3C trace id of the call's span, when tracing is on. */
  readonly traceId?: string;
}
