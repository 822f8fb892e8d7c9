// The ClassifiedFailure of each kind of failure classifyThrown tells apart: the message
// the caller reads, whether the request may have been applied, and whether trying again
// on the same connection can help.
import type { ToolCallError } from "./result.js";

export interface ClassifiedFailure {
  error: ToolCallError;
  /** "no": the request never reached the server; "unknown": it may have been applied. */
  applied: "no" | "unknown";
  /** Trying again on the same connection may succeed. */
  transient: boolean;
}

/** A JSON-RPC error response: the server answered and refused. */
export function refusedByServer(
  what: string,
  message: string,
  code: unknown,
  data: unknown,
): ClassifiedFailure {
  const details: Record<string, unknown> = { code };
  if (data !== undefined) details["data"] = data;
  return {
    error: {
      type: "protocol_error",
      message: `${what} was refused by the server: ${message}`,
      retryable: false,
      details,
      source: "protocol",
    },
    applied: "no",
    transient: false,
  };
}

export function noAnswerInTime(what: string, cause: string): ClassifiedFailure {
  return transportFailure(
    "timeout",
    `${what} got no answer in time; it may or may not have taken effect.`,
    "unknown",
    cause,
  );
}

export function closedBeforeAnswer(what: string, cause: string): ClassifiedFailure {
  return transportFailure(
    "unavailable",
    `The connection closed before ${what} was answered; it may or may not have taken effect.`,
    "unknown",
    cause,
  );
}

export function fromHttpStatus(status: number, message: string, what: string): ClassifiedFailure {
  if (status === 401 || status === 403) return refusedByHttp(status, message, undefined);
  if (status === 429) {
    return transportFailure(
      "rate_limited",
      `${what} was refused with HTTP 429 (too many requests).`,
      "no",
      "HTTP 429",
    );
  }
  if (status >= 500) {
    return transportFailure(
      "unavailable",
      `${what} failed with HTTP ${status}; it may or may not have taken effect.`,
      "unknown",
      `HTTP ${status}`,
    );
  }
  return {
    error: {
      type: "protocol_error",
      message: `${what} was refused with HTTP ${status}: ${message}`,
      retryable: false,
      details: { status },
      source: "protocol",
    },
    applied: "no",
    transient: false,
  };
}

export function refusedByHttp(
  status: 401 | 403,
  message: string,
  requiredScopes: string[] | undefined,
): ClassifiedFailure {
  const error: ToolCallError =
    status === 401
      ? {
          type: "unauthenticated",
          message: `The server refused the credentials (HTTP 401): ${message}`,
          retryable: false,
          source: "transport",
          applied: "no",
        }
      : {
          type: "forbidden",
          message: `The server refused access (HTTP 403): ${message}`,
          retryable: false,
          source: "transport",
          applied: "no",
        };
  if (requiredScopes?.length) error.details = { requiredScopes };
  return { error, applied: "no", transient: false };
}

export function notConnected(what: string): ClassifiedFailure {
  // Nothing was sent, but this client cannot send anything until it is reconnected.
  return {
    error: {
      type: "unavailable",
      message: `The MCP connection is closed, so ${what} was not sent. Reconnect and call again.`,
      retryable: true,
      details: { cause: "NOT_CONNECTED" },
      source: "transport",
      applied: "no",
    },
    applied: "no",
    transient: false,
  };
}

/** A failure of the connection: worth another attempt on it, if the call is safe to repeat. */
export function transportFailure(
  type: "timeout" | "unavailable" | "rate_limited",
  message: string,
  applied: "no" | "unknown",
  cause: string,
): ClassifiedFailure {
  return {
    // `retryable` is settled by the caller, which knows whether the call is retry-safe.
    error: { type, message, retryable: true, details: { cause }, source: "transport", applied },
    applied,
    transient: true,
  };
}
