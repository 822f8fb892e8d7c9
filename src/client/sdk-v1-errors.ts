// What the SDK v1 `Client` (`@modelcontextprotocol/sdk` 1.x) throws, in the terms the kit
// classifies by. v1 has no class brands: `McpError` carries a JSON-RPC code (its own
// -32001 for a request timeout and -32000 for a closed connection), the Streamable HTTP
// transport throws `StreamableHTTPError` with the HTTP status as `code`, and its auth
// throws `UnauthorizedError`. Matched by name, so the kit loads no v1 code.

// v1 `ErrorCode` (types.ts): SDK-side codes in the JSON-RPC server-error range.
const V1_CONNECTION_CLOSED = -32000;
const V1_REQUEST_TIMEOUT = -32001;

export type SdkV1Failure =
  /** the server answered with a JSON-RPC error */
  | { kind: "json-rpc"; code: number; data?: unknown }
  /** no answer within the request's timeout */
  | { kind: "timeout" }
  /** the connection closed before the answer */
  | { kind: "closed" }
  /** the endpoint answered this HTTP status */
  | { kind: "http"; status: number }
  /** the transport's auth gave up (no provider, or the server kept answering 401) */
  | { kind: "unauthorized" };

/** The v1 failure `error` is, or undefined when it is not one of v1's error classes. */
export function sdkV1Failure(error: Error): SdkV1Failure | undefined {
  const { code, data } = error as { code?: unknown; data?: unknown };
  const className = (error.constructor as { name?: unknown } | undefined)?.name;
  if (error.name === "McpError" && typeof code === "number") {
    if (code === V1_REQUEST_TIMEOUT) return { kind: "timeout" };
    if (code === V1_CONNECTION_CLOSED) return { kind: "closed" };
    return data === undefined ? { kind: "json-rpc", code } : { kind: "json-rpc", code, data };
  }
  if (className === "StreamableHTTPError" || className === "SseError") {
    // -1 and undefined mark failures that are not an HTTP status (a bad content type).
    if (typeof code === "number" && code >= 100 && code <= 599)
      return { kind: "http", status: code };
    return undefined;
  }
  if (className === "UnauthorizedError") return { kind: "unauthorized" };
  return undefined;
}
