// What a thrown error from the SDK client means for a retry: did the request reach the
// server (maybe applied) or provably not (never sent), and can trying again help.
// The SDK's error classes are matched by shape (name, code, status), not imported, so
// the kit works with any copy of `@modelcontextprotocol/client` and loads none itself.
import { BearerTokenError } from "./bearer-auth.js";
import {
  closedBeforeAnswer,
  fromHttpStatus,
  noAnswerInTime,
  notConnected,
  refusedByHttp,
  refusedByServer,
  transportFailure,
  type ClassifiedFailure,
} from "./failure-kinds.js";
import { isRecord } from "./result.js";
import { sdkV1Failure, type SdkV1Failure } from "./sdk-v1-errors.js";

// Failures before a connection existed: the request was never sent.
const NOT_SENT_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EADDRNOTAVAIL",
  "UND_ERR_CONNECT_TIMEOUT",
]);

// Failures of a connection that carried the request: it may have been applied.
const MAYBE_APPLIED_CODES = new Set([
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "ECONNABORTED",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_ABORTED",
]);

/** Classifies what `client.callTool` / `client.listTools` threw. */
export function classifyThrown(thrown: unknown, what: string): ClassifiedFailure {
  const error = thrown instanceof Error ? thrown : new Error(String(thrown));
  const code: unknown = (error as { code?: unknown }).code;
  const brands = brandsOf(error);

  // A JSON-RPC error response (ProtocolError): the server answered and refused.
  if (
    brands.has("mcp.ProtocolError") ||
    (error.name === "ProtocolError" && typeof code === "number")
  ) {
    return refusedByServer(what, error.message, code, (error as { data?: unknown }).data);
  }

  // bearerAuth's token source failed before a token could be sent.
  if (error instanceof BearerTokenError) {
    return {
      error: {
        type: "unauthenticated",
        message: error.message,
        retryable: false,
        source: "client",
        applied: "no",
      },
      applied: "no",
      transient: false,
    };
  }

  const unauthorized = brands.has("mcp.UnauthorizedError");
  if (unauthorized || brands.has("mcp.InsufficientScopeError")) {
    const scopes = (error as { requiredScope?: unknown }).requiredScope;
    return refusedByHttp(
      unauthorized ? 401 : 403,
      error.message,
      typeof scopes === "string" ? scopes.split(" ").filter(Boolean) : undefined,
    );
  }

  const sdkError =
    brands.has("mcp.SdkError") || error.name === "SdkError" || error.name === "SdkHttpError";
  if (typeof code === "string" && sdkError) {
    const data: unknown = (error as { data?: unknown }).data;
    const status = isRecord(data) && typeof data["status"] === "number" ? data["status"] : 0;
    if (status > 0) return fromHttpStatus(status, error.message, what);
    switch (code) {
      case "REQUEST_TIMEOUT":
        return noAnswerInTime(what, code);
      case "CONNECTION_CLOSED":
        return closedBeforeAnswer(what, code);
      case "NOT_CONNECTED":
        return notConnected(what);
      case "SEND_FAILED":
        return transportFailure(
          "unavailable",
          `${what} could not be sent completely; it may or may not have taken effect.`,
          "unknown",
          code,
        );
      default:
        // INVALID_RESULT, UNEXPECTED_CONTENT, UNSUPPORTED_RESULT_TYPE...: the server
        // answered something this client cannot use. Trying again returns the same.
        return {
          error: {
            type: "protocol_error",
            message: `${what} got an answer the client cannot use: ${error.message}`,
            retryable: false,
            details: { code },
            source: "protocol",
          },
          applied: "unknown",
          transient: false,
        };
    }
  }

  // The SDK v1 client's errors (no brands; see sdk-v1-errors.ts).
  const v1 = brands.size === 0 ? sdkV1Failure(error) : undefined;
  if (v1) return fromSdkV1(v1, error.message, what);

  // The Protocol layer rejects with a plain Error when the client has no transport.
  if (error.message === "Not connected") return notConnected(what);

  // Network errors from fetch (undici) or sockets: look for a code along the cause chain.
  const codes = causeCodes(error);
  if (codes.some((c) => NOT_SENT_CODES.has(c))) {
    return transportFailure(
      "unavailable",
      `${what} could not reach the server (${codes.join(", ")}); nothing was sent.`,
      "no",
      codes[0]!,
    );
  }
  const networkish =
    codes.some((c) => MAYBE_APPLIED_CODES.has(c)) ||
    (error.name === "TypeError" && /fetch failed|terminated|network|socket/i.test(error.message));
  if (networkish) {
    return transportFailure(
      "unavailable",
      `The connection failed while ${what} was in flight (${codes[0] ?? error.message}); it may or may not have taken effect.`,
      "unknown",
      codes[0] ?? error.name,
    );
  }
  return {
    error: {
      type: "protocol_error",
      message: `${what} failed in the client: ${error.message}`,
      retryable: false,
      source: "protocol",
    },
    applied: "unknown",
    transient: false,
  };
}

function fromSdkV1(failure: SdkV1Failure, message: string, what: string): ClassifiedFailure {
  switch (failure.kind) {
    case "json-rpc":
      return refusedByServer(what, message, failure.code, failure.data);
    case "timeout":
      return noAnswerInTime(what, "REQUEST_TIMEOUT");
    case "closed":
      return closedBeforeAnswer(what, "CONNECTION_CLOSED");
    case "http":
      return fromHttpStatus(failure.status, message, what);
    case "unauthorized":
      return refusedByHttp(401, message, undefined);
  }
}

function causeCodes(error: unknown): string[] {
  const codes: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 5 && isObject(current); depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && !codes.includes(code)) codes.push(code);
    const errors = (current as { errors?: unknown }).errors; // AggregateError (happy eyeballs)
    if (Array.isArray(errors)) {
      for (const inner of errors as unknown[]) {
        const innerCode = isObject(inner) ? (inner as { code?: unknown }).code : undefined;
        if (typeof innerCode === "string" && !codes.includes(innerCode)) codes.push(innerCode);
      }
    }
    current = (current as { cause?: unknown }).cause;
  }
  return codes;
}

/** The SDK's class brands (`mcp.SdkError`, ...) along the error's constructor chain. */
function brandsOf(error: Error): Set<string> {
  const brands = new Set<string>();
  let current: unknown = error.constructor;
  for (let depth = 0; depth < 10 && typeof current === "function"; depth++) {
    if (Object.hasOwn(current, "mcpBrand")) {
      const brand: unknown = (current as { mcpBrand?: unknown }).mcpBrand;
      if (typeof brand === "string") brands.add(brand);
    }
    current = Object.getPrototypeOf(current);
  }
  return brands;
}

function isObject(value: unknown): value is object {
  return typeof value === "object" && value !== null;
}
