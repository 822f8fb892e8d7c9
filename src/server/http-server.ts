import {
  createServer,
  type IncomingMessage,
  type Server as NodeHttpServer,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import {
  hostHeaderValidation,
  originValidation,
  toNodeHandler,
  type NodeIncomingMessageLike,
} from "@modelcontextprotocol/node";
import {
  createMcpHandler,
  isJsonContentType,
  localhostAllowedHostnames,
  type McpServerFactory,
} from "@modelcontextprotocol/server";
import type { FastCall } from "./fast-call.js";
import type { Logger } from "../log/logger.js";
import type { HttpAuthenticator } from "./http-auth.js";
import { AMBIGUOUS_AUTHORIZATION, hasAmbiguousAuthorization } from "./authorization-header.js";
import { INVALID_REQUEST, PARSE_ERROR, sendJson, sendJsonRpcError } from "./http-responses.js";
import { hasProtoKey } from "../validation/json-value.js";
import { nestsDeeperThan } from "./json-depth.js";
import { BodyTooLarge, ClientAborted, readBody } from "./read-body.js";
import { createSessionRouter, type SessionRouter } from "./sessions.js";
import { remembering } from "./remembering-guard.js";

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** JSON-RPC message plus tool arguments; real arguments are never nested this deep. */
export const MAX_JSON_DEPTH = 100;

export interface HttpOptions {
  /** Path of the MCP endpoint. Default `/mcp`. */
  path?: string;
  /** Largest request body accepted, in bytes; larger bodies get 413. Default 1 MiB. */
  maxBodyBytes?: number;
  /**
   * Host header names accepted (DNS-rebinding protection). Default when bound to a
   * loopback address: localhost, 127.0.0.1 and [::1]; otherwise no check unless set.
   */
  allowedHosts?: string[];
  /** Origin host names accepted from browsers. Default: as `allowedHosts`. */
  allowedOrigins?: string[];
  /**
   * Stateful sessions (`Mcp-Session-Id`) for 2025-era clients. Off by default:
   * stateless serving lets any instance behind a load balancer answer any request.
   */
  sessions?: boolean | { idleTimeoutMs?: number; maxSessions?: number };
  /** Time allowed to receive a whole request (slow clients are cut off). Default 30 s. */
  requestTimeoutMs?: number;
}

export interface ListenOptions {
  port?: number;
  host?: string;
}

export interface ListeningAddress {
  url: string;
  host: string;
  port: number;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/;

export function checkHttpOptions(options: HttpOptions): void {
  if (
    options.path !== undefined &&
    (typeof options.path !== "string" || !options.path.startsWith("/"))
  ) {
    throw new TypeError("http.path must be a string starting with '/'.");
  }
  for (const key of ["maxBodyBytes", "requestTimeoutMs"] as const) {
    const value = options[key];
    if (value !== undefined && (!Number.isInteger(value) || value <= 0)) {
      throw new TypeError(`http.${key} must be a positive integer.`);
    }
  }
  for (const key of ["allowedHosts", "allowedOrigins"] as const) {
    const value = options[key];
    if (
      value !== undefined &&
      (!Array.isArray(value) || !value.every((v) => typeof v === "string"))
    ) {
      throw new TypeError(`http.${key} must be an array of host names.`);
    }
  }
}

export interface HttpServerHandle {
  address: ListeningAddress;
  close(): Promise<void>;
}

/** Prometheus text served at `path` (GET, no bearer token: scrapers have none). */
export interface MetricsEndpoint {
  readonly path: string;
  render(): Promise<{ contentType: string; body: string }>;
}

/** Builds the authenticator once the server's own URL (the default resource) is known. */
export type MakeAuthenticator = (boundUrl: () => string) => HttpAuthenticator;

/**
 * Serves MCP Streamable HTTP on node:http. The guards that do not need the SDK run
 * first (path, Host/Origin, method, content type, body size, JSON), each answering
 * with a clear JSON-RPC error; then the SDK's handler serves the message.
 */
export async function startHttpServer(
  factory: McpServerFactory,
  options: HttpOptions,
  listen: ListenOptions,
  log: Logger,
  makeAuthenticator?: MakeAuthenticator,
  metrics?: MetricsEndpoint,
  fastCall?: FastCall,
): Promise<HttpServerHandle> {
  const host = listen.host ?? "127.0.0.1";
  const port = listen.port ?? 3000;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError(`listen: port must be an integer from 0 to 65535 (got ${String(port)}).`);
  }
  const path = options.path ?? "/mcp";
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const loopback = LOOPBACK.test(host);
  const allowedHosts = options.allowedHosts ?? (loopback ? localhostAllowedHostnames() : undefined);
  const allowedOrigins = options.allowedOrigins ?? allowedHosts;
  const checkHost = allowedHosts
    ? remembering(hostHeaderValidation(allowedHosts), (req) => req.headers.host)
    : undefined;
  const checkOrigin = allowedOrigins
    ? remembering(originValidation(allowedOrigins), (req) => req.headers.origin)
    : undefined;
  // Mostly client mistakes the SDK already answered (e.g. a missing Accept header): not our errors.
  const onerror = (error: Error) =>
    log.debug({ reason: error.message }, "MCP request refused by the SDK");

  const stateless = createMcpHandler(factory, {
    legacy: "stateless",
    maxRequestBodySize: maxBodyBytes,
    onerror,
  });
  const serveStateless = toNodeHandler(stateless, { maxRequestBodySize: maxBodyBytes, onerror });
  const sessions: SessionRouter | undefined = options.sessions
    ? createSessionRouter(
        factory,
        options.sessions === true ? {} : options.sessions,
        maxBodyBytes,
        log,
      )
    : undefined;

  let boundUrl = "";
  const auth = makeAuthenticator?.(() => boundUrl);

  const endpointUrl = new URL(path, "http://localhost");
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Almost every request is a POST to the endpoint itself: its URL is parsed once.
    const url = req.url === path ? endpointUrl : new URL(req.url ?? "/", "http://localhost");
    if (url.pathname === "/healthz" && req.method === "GET")
      return sendJson(res, 200, { status: "ok" });
    if (auth?.serveMetadata(req, res, url)) return;
    if (metrics && url.pathname === metrics.path && req.method === "GET") {
      if (checkHost && !checkHost(req, res)) return;
      const { contentType, body } = await metrics.render();
      res.writeHead(200, { "content-type": contentType, "cache-control": "no-store" });
      return void res.end(body);
    }
    if (url.pathname !== path) {
      return sendJsonRpcError(res, 404, INVALID_REQUEST, `Not found. The MCP endpoint is ${path}.`);
    }
    if (checkHost && !checkHost(req, res)) return;
    if (checkOrigin && !checkOrigin(req, res)) return;
    // Without auth the header is ignored, but two credentials are refused all the same: a
    // proxy in front may act on the other one (with auth, `authenticate` refuses them).
    if (!auth && hasAmbiguousAuthorization(req))
      return sendJsonRpcError(res, 400, INVALID_REQUEST, AMBIGUOUS_AUTHORIZATION);
    // Authenticate before reading the body: an anonymous client cannot make us buffer 1 MiB.
    const principal = auth ? await auth.authenticate(req, res, url) : undefined;
    if (auth && !principal) return;
    if (req.method !== "POST") {
      if (sessions && (req.method === "GET" || req.method === "DELETE"))
        return sessions.handle(req, res, undefined);
      return sendJsonRpcError(
        res,
        405,
        INVALID_REQUEST,
        "Method not allowed. Send MCP messages with POST.",
        {
          allow: "POST",
        },
      );
    }
    if (!isJsonContentType(req.headers["content-type"] ?? null)) {
      return sendJsonRpcError(
        res,
        415,
        INVALID_REQUEST,
        "Unsupported Content-Type. Send the body as application/json.",
      );
    }
    let body: unknown;
    try {
      const raw = await readBody(req, maxBodyBytes);
      body = JSON.parse(raw.toString("utf8"));
    } catch (error) {
      if (error instanceof BodyTooLarge) {
        // The rest of the body is never read, so the connection cannot be reused.
        return sendJsonRpcError(
          res,
          413,
          INVALID_REQUEST,
          `Request body exceeds the limit of ${maxBodyBytes} bytes.`,
          {
            connection: "close",
          },
        );
      }
      if (error instanceof ClientAborted) {
        // Nobody is left to answer (a slow client cut off by requestTimeout, a dropped
        // connection): not a server error, and one per hostile client must not flood the log.
        log.debug({ reason: (error as Error).message }, "request body not received");
        return;
      }
      if (error instanceof SyntaxError) {
        return sendJsonRpcError(
          res,
          400,
          PARSE_ERROR,
          "Parse error: the request body is not valid JSON.",
        );
      }
      throw error;
    }
    if (auth && principal && auth.refuseIfExpired(res, principal)) return;
    if (auth && principal && auth.refuseForStepUp(res, body, principal)) return;
    if (nestsDeeperThan(body, MAX_JSON_DEPTH)) {
      return sendJsonRpcError(
        res,
        400,
        INVALID_REQUEST,
        `The request nests deeper than ${MAX_JSON_DEPTH} levels.`,
      );
    }
    const ofSession = sessions ? await sessions.claims(req, body) : false;
    if (!ofSession && fastCall?.(req, res, body, principal)) return;
    // The SDK's message parsing drops `__proto__` keys silently, so its handlers would see
    // other arguments than the client sent (the fast path refuses them as invalid_input).
    if (hasProtoKey(body)) {
      return sendJsonRpcError(
        res,
        400,
        INVALID_REQUEST,
        "Invalid request: a key named __proto__ is not accepted anywhere in a message; rename the field.",
      );
    }
    if (ofSession && sessions) return sessions.handle(req, res, body);
    return serveStateless(req as NodeIncomingMessageLike, res, body);
  }

  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  // Node enforces requestTimeout only when it checks connections (every 30 s by
  // default), so a short timeout needs a matching check interval to mean anything.
  const connectionsCheckingInterval = Math.min(
    30_000,
    Math.max(250, Math.floor(requestTimeoutMs / 4)),
  );
  const server: NodeHttpServer = createServer({ connectionsCheckingInterval }, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      log.error({ err: error }, "unexpected error serving an HTTP request");
      sendJsonRpcError(res, 500, -32603, "Internal error.");
    });
  });
  server.requestTimeout = requestTimeoutMs;
  server.headersTimeout = Math.min(server.requestTimeout, 20_000);

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off("listening", onListening);
      if (error.code === "EADDRINUSE") {
        reject(
          new Error(`Port ${port} on ${host} is already in use. Choose another port.`, {
            cause: error,
          }),
        );
      } else reject(error);
    };
    const onListening = () => {
      server.off("error", onError);
      resolve();
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(port, host);
  });
  server.on("error", (error) => log.error({ err: error }, "HTTP server error"));

  const bound = server.address() as AddressInfo;
  const urlHost = bound.family === "IPv6" ? `[${bound.address}]` : bound.address;
  const address: ListeningAddress = {
    host: bound.address,
    port: bound.port,
    url: `http://${urlHost}:${bound.port}${path}`,
  };
  boundUrl = address.url;

  return {
    address,
    async close() {
      await stateless.close();
      await sessions?.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
