import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  NodeStreamableHTTPServerTransport,
  toWebRequest,
  type NodeIncomingMessageLike,
} from "@modelcontextprotocol/node";
import {
  type AuthInfo,
  isInitializeRequest,
  isLegacyRequest,
  type McpServerFactory,
} from "@modelcontextprotocol/server";
import type { Principal } from "../auth/principal.js";
import type { Logger } from "../log/logger.js";
import { PRINCIPAL_KEY } from "./http-auth.js";
import { INVALID_REQUEST, sendJsonRpcError } from "./http-responses.js";

export interface SessionOptions {
  /** A session unused this long is closed. Default 30 minutes. */
  idleTimeoutMs?: number;
  /** New sessions beyond this many are refused with 503. Default 10 000. */
  maxSessions?: number;
}

export interface SessionRouter {
  /** Whether this request is 2025-era traffic that the session router serves. */
  claims(req: IncomingMessage, body: unknown): Promise<boolean>;
  handle(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void>;
  close(): Promise<void>;
}

interface Session {
  transport: NodeStreamableHTTPServerTransport;
  lastSeen: number;
  /** Who opened the session; nobody else may use its id. */
  owner: string;
}

// A session id is a bearer of state, not of identity: bind it to the principal that made it.
function ownerOf(req: IncomingMessage): string {
  const principal = (req as { auth?: AuthInfo }).auth?.extra?.[PRINCIPAL_KEY] as
    Principal | undefined;
  return principal ? `${principal.issuer}\n${principal.subject}` : "";
}

/**
 * Optional stateful serving for 2025-era clients: one SDK server per `Mcp-Session-Id`,
 * kept in this process. Sessions pin a client to one instance, which is why stateless
 * serving is the default; 2026-era (per-request envelope) traffic stays stateless.
 */
export function createSessionRouter(
  factory: McpServerFactory,
  options: SessionOptions,
  maxBodyBytes: number,
  log: Logger,
): SessionRouter {
  const idleTimeoutMs = options.idleTimeoutMs ?? 30 * 60_000;
  const maxSessions = options.maxSessions ?? 10_000;
  if (!Number.isInteger(idleTimeoutMs) || idleTimeoutMs <= 0)
    throw new TypeError("sessions.idleTimeoutMs must be a positive integer.");
  if (!Number.isInteger(maxSessions) || maxSessions <= 0)
    throw new TypeError("sessions.maxSessions must be a positive integer.");
  const sessions = new Map<string, Session>();

  const sweeper = setInterval(
    () => {
      const cutoff = Date.now() - idleTimeoutMs;
      for (const [id, session] of sessions) {
        if (session.lastSeen < cutoff) {
          sessions.delete(id);
          void session.transport.close();
        }
      }
    },
    Math.min(idleTimeoutMs, 60_000),
  );
  sweeper.unref();

  return {
    async claims(req, body) {
      if (req.headers["mcp-session-id"] !== undefined) return true;
      return isLegacyRequest(
        await toWebRequest(req as NodeIncomingMessageLike, body, {
          maxRequestBodySize: maxBodyBytes,
        }),
        body,
      );
    },
    async handle(req, res, body) {
      const header = req.headers["mcp-session-id"];
      const id = Array.isArray(header) ? header[0] : header;
      if (id !== undefined) {
        const session = sessions.get(id);
        // Someone else's session id is answered exactly like an unknown one.
        if (!session || session.owner !== ownerOf(req)) {
          return sendJsonRpcError(
            res,
            404,
            INVALID_REQUEST,
            "Session not found. Start a new session with initialize.",
          );
        }
        session.lastSeen = Date.now();
        return session.transport.handleRequest(req, res, body);
      }
      if (req.method !== "POST" || !isInitializeRequest(body)) {
        return sendJsonRpcError(
          res,
          400,
          INVALID_REQUEST,
          "Missing Mcp-Session-Id header. Send initialize first.",
        );
      }
      if (sessions.size >= maxSessions) {
        return sendJsonRpcError(res, 503, INVALID_REQUEST, "Too many open sessions. Retry later.", {
          "retry-after": "5",
        });
      }
      const transport = new NodeStreamableHTTPServerTransport({
        sessionIdGenerator: randomUUID,
        onsessioninitialized: (sessionId: string) => {
          sessions.set(sessionId, { transport, lastSeen: Date.now(), owner: ownerOf(req) });
        },
      });
      transport.onclose = () => {
        if (transport.sessionId !== undefined) sessions.delete(transport.sessionId);
      };
      const server = await factory({ era: "legacy" });
      await server.connect(transport);
      log.debug("MCP session opened");
      return transport.handleRequest(req, res, body);
    },
    async close() {
      clearInterval(sweeper);
      const open = [...sessions.values()];
      sessions.clear();
      await Promise.allSettled(open.map((s) => s.transport.close()));
    },
  };
}
