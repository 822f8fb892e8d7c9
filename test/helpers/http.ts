// Raw HTTP helpers for transport tests: node:http (not fetch) so that tests control
// every header, including Host, and can stream chunked bodies.
import { request, type IncomingHttpHeaders } from "node:http";

export const MCP_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
  "mcp-protocol-version": "2025-11-25",
};

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface RawRequestOptions {
  port: number;
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Bound on the whole exchange. Default 10 s. */
  timeoutMs?: number;
  /** Send the headers at once and the body this much later. */
  bodyAfterMs?: number;
}

/**
 * One HTTP request on a fresh connection (no keep-alive agent). Headers are sent as
 * given; a `host` header replaces the default one.
 */
export function rawRequest(options: RawRequestOptions): Promise<RawResponse> {
  const headers = { ...options.headers };
  const hasHost = Object.keys(headers).some((k) => k.toLowerCase() === "host");
  if (
    options.body !== undefined &&
    !Object.keys(headers).some((k) => /^content-length$/i.test(k))
  ) {
    headers["content-length"] = String(Buffer.byteLength(options.body));
  }
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: options.port,
        method: options.method ?? "POST",
        path: options.path ?? "/mcp",
        headers: hasHost ? headers : { host: `127.0.0.1:${options.port}`, ...headers },
        setHost: false,
        agent: false,
        timeout: options.timeoutMs ?? 10_000,
      },
      (res) => {
        res.setEncoding("utf8");
        let body = "";
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () =>
      req.destroy(new Error(`no answer within ${options.timeoutMs ?? 10_000} ms`)),
    );
    req.on("error", reject);
    if (options.bodyAfterMs === undefined) return void req.end(options.body);
    req.flushHeaders();
    setTimeout(() => req.end(options.body), options.bodyAfterMs);
  });
}

export interface StreamedRequestOptions {
  port: number;
  path?: string;
  headers?: Record<string, string>;
  /** Written one by one; the request is never ended, so the server must answer on its own. */
  chunks: readonly (string | Buffer)[];
  timeoutMs?: number;
}

/**
 * Sends a request whose body is streamed (chunked, or with whatever headers are
 * given) and never finished, then waits for the server's answer. Used to check that
 * a body is cut off as soon as it passes the limit. The connection is destroyed once
 * the answer is read; errors after the answer (the server closing mid-body) are ignored.
 */
export function streamedRequest(options: StreamedRequestOptions): Promise<RawResponse> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request({
      host: "127.0.0.1",
      port: options.port,
      method: "POST",
      path: options.path ?? "/mcp",
      headers: { host: `127.0.0.1:${options.port}`, ...options.headers },
      setHost: false,
      agent: false,
    });
    const timer = setTimeout(() => {
      req.destroy(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on("response", (res) => {
      answered = true;
      res.setEncoding("utf8");
      let body = "";
      res.on("data", (chunk: string) => (body += chunk));
      const finish = () => {
        clearTimeout(timer);
        req.destroy();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      };
      res.on("end", finish);
      res.on("error", finish);
    });
    req.on("error", (error) => {
      if (answered) return;
      clearTimeout(timer);
      reject(error);
    });
    req.flushHeaders();
    for (const chunk of options.chunks) req.write(chunk);
  });
}

/** The JSON messages of a response body: plain JSON, or the `data:` lines of an SSE stream. */
export function parseMessages(response: RawResponse): unknown[] {
  const type = String(response.headers["content-type"] ?? "");
  if (type.startsWith("text/event-stream")) {
    return response.body
      .split("\n")
      .filter((line) => line.startsWith("data:"))
      .map((line) => JSON.parse(line.slice("data:".length).trim()) as unknown);
  }
  if (response.body === "") return [];
  return [JSON.parse(response.body) as unknown];
}

/** The single JSON-RPC message of a response; fails if there is not exactly one. */
export function parseOne(response: RawResponse): unknown {
  const messages = parseMessages(response);
  if (messages.length !== 1) {
    throw new Error(`expected one message, got ${messages.length}: ${response.body}`);
  }
  return messages[0];
}

export function jsonRpc(method: string, params?: unknown, id: number | string = 1): string {
  return JSON.stringify({
    jsonrpc: "2.0",
    id,
    method,
    ...(params === undefined ? {} : { params }),
  });
}

export function toolsCall(name: string, args: unknown, id: number | string = 1): string {
  return jsonRpc("tools/call", { name, arguments: args }, id);
}
