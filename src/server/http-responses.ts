import type { ServerResponse } from "node:http";

// JSON-RPC 2.0 error codes (https://www.jsonrpc.org/specification#error_object).
export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;

/**
 * Answers an HTTP-level failure (not a tool call at all) as a JSON-RPC error body, so
 * MCP clients can show the message. Used for 4xx answers the transport gives itself.
 */
export function sendJsonRpcError(
  res: ServerResponse,
  status: number,
  code: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ jsonrpc: "2.0", id: null, error: { code, message } });
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(body)),
    ...headers,
  });
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(body)),
  });
  res.end(body);
}
