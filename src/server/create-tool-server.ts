import { serveStdio, type StdioServerHandle } from "@modelcontextprotocol/server/stdio";
import type { CallToolResult } from "@modelcontextprotocol/server";
import { resolveAuth, type AuthOption, type ResolvedAuth } from "../auth/auth-options.js";
import { ANONYMOUS_PRINCIPAL, type Principal } from "../auth/principal.js";
import { createLogger, type Logger } from "../log/logger.js";
import { openDefaultStore } from "../idempotency/default-store.js";
import type { IdempotencyStore } from "../idempotency/store.js";
import { compose } from "../pipeline/compose.js";
import { defaultStages } from "../pipeline/default-stages.js";
import { DEFAULT_TIMEOUT_MS } from "../pipeline/stages/execute.js";
import type { Stage } from "../pipeline/types.js";
import type { ToolDefinition } from "../tool/types.js";
import {
  checkHttpOptions,
  startHttpServer,
  type HttpOptions,
  type HttpServerHandle,
  type ListenOptions,
  type ListeningAddress,
} from "./http-server.js";
import { createHttpAuthenticator } from "./http-auth.js";
import { createCallContext, createMcpServerFactory } from "./mcp-factory.js";
import { createToolRegistry } from "./tool-registry.js";

const SWEEP_INTERVAL_MS = 10 * 60_000;

export interface ToolServerOptions {
  name: string;
  version: string;
  tools: readonly ToolDefinition[];
  /** Shown to the model by clients that support server instructions. */
  instructions?: string;
  /** Deadline for tools that set no `timeoutMs`. Default 30 000 ms. */
  defaultTimeoutMs?: number;
  /** The pipeline. Default `defaultStages(...)`; pass your own list to add or reorder stages. */
  stages?: Stage[];
  http?: HttpOptions;
  /**
   * Who may call: a token verifier (`jwtVerifier`, `introspectionVerifier`,
   * `devIssuer().verifier(...)`, or your own `{ verify(token) }`), or `{ verifier, ... }`.
   * Without it every call is anonymous and tool scopes are not enforced.
   */
  auth?: AuthOption;
  /**
   * Where idempotency records live (write tools). Default: SQLite at
   * `.toolgate/idempotency.sqlite`, opened on the first write call. Use `redisStore` or
   * `postgresStore` when several hosts serve the same tools.
   */
  store?: IdempotencyStore;
  /** A pino logger. Default: JSON lines on stderr. */
  logger?: Logger;
}

export interface CallOptions {
  signal?: AbortSignal;
  meta?: Record<string, unknown>;
  /** The caller, for in-process calls (default anonymous). */
  principal?: Principal;
}

export interface ToolServer {
  readonly name: string;
  readonly version: string;
  readonly tools: readonly ToolDefinition[];
  /** Serves MCP Streamable HTTP at `http.path` (default `/mcp`). Default 127.0.0.1:3000. */
  listen(options?: ListenOptions): Promise<ListeningAddress>;
  /** Serves MCP over this process's stdin/stdout until stdin closes. */
  handleStdio(): Promise<void>;
  /** Runs one call through the same pipeline without a transport (tests, embedding). */
  callTool(name: string, args?: unknown, options?: CallOptions): Promise<CallToolResult>;
  close(): Promise<void>;
}

export function createToolServer(options: ToolServerOptions): ToolServer {
  if (typeof options !== "object" || options === null)
    throw new TypeError("createToolServer expects an options object.");
  if (typeof options.name !== "string" || options.name === "")
    throw new TypeError("createToolServer: name is required.");
  if (typeof options.version !== "string" || options.version === "") {
    throw new TypeError("createToolServer: version is required.");
  }
  if (options.http !== undefined) checkHttpOptions(options.http);
  const log = options.logger ?? createLogger({ name: options.name });
  const registry = createToolRegistry(options.tools);
  const auth: ResolvedAuth | undefined =
    options.auth === undefined ? undefined : resolveAuth(options.auth);
  const needsStore = registry.tools.some((t) => t.idempotency !== undefined);
  // Opened on first use, and closed with the server only if toolgate opened it.
  let ownStore: Promise<IdempotencyStore> | undefined;
  const openStore = () =>
    (ownStore ??= openDefaultStore(log).catch((error: unknown) => {
      ownStore = undefined; // tried again on the next write call
      throw error;
    }));
  // Rule 8: expired records are removed by a sweeper (SQL stores; a no-op on Redis). Only a
  // store that is open is swept: sweeping never opens the default one.
  const sweeper = needsStore
    ? setInterval(() => {
        const open = options.store ? Promise.resolve(options.store) : ownStore;
        open
          ?.then((store) => store.sweep(Date.now()))
          .then(
            (removed) => removed > 0 && log.debug({ removed }, "swept expired idempotency records"),
          )
          .catch((error: unknown) => log.warn({ err: error }, "idempotency sweep failed"));
      }, SWEEP_INTERVAL_MS)
    : undefined;
  sweeper?.unref();
  const defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  const stages =
    options.stages ??
    defaultStages({
      requireAuthentication: auth !== undefined,
      ...(needsStore
        ? { idempotency: { store: options.store ?? openStore, defaultTimeoutMs } }
        : {}),
      ...(options.defaultTimeoutMs === undefined
        ? {}
        : { defaultTimeoutMs: options.defaultTimeoutMs }),
    });
  const runCall = compose(stages);
  const info = {
    name: options.name,
    version: options.version,
    ...(options.instructions ? { instructions: options.instructions } : {}),
  };
  // One process serves stdio for one identity: resolved once, when stdio starts.
  let stdioPrincipal: Principal = ANONYMOUS_PRINCIPAL;
  const factory = createMcpServerFactory(info, registry, runCall, log, {
    enabled: auth !== undefined,
    stdioPrincipal: () => stdioPrincipal,
  });
  const makeAuthenticator = auth
    ? (boundUrl: () => string) =>
        createHttpAuthenticator({
          auth,
          resource: () => auth.resource ?? boundUrl(),
          serverName: options.name,
          tools: registry.tools,
          lookup: registry.get,
          log,
        })
    : undefined;

  const httpServers = new Set<HttpServerHandle>();
  let stdio: StdioServerHandle | undefined;

  return {
    name: options.name,
    version: options.version,
    tools: registry.tools,
    async listen(listen = {}) {
      const handle = await startHttpServer(
        factory,
        options.http ?? {},
        listen,
        log,
        makeAuthenticator,
      );
      httpServers.add(handle);
      log.info({ url: handle.address.url }, "MCP server listening");
      return handle.address;
    },
    async handleStdio() {
      if (stdio) throw new Error("handleStdio() is already serving this process's stdio.");
      if (auth) stdioPrincipal = await resolveStdioPrincipal(auth, log);
      return new Promise<void>((resolve) => {
        stdio = serveStdio(factory, {
          onerror: (error) => log.warn({ err: error }, "stdio transport error"),
        });
        process.stdin.once("close", () => resolve());
        process.stdin.once("end", () => resolve());
      });
    },
    callTool(name, args, callOptions = {}) {
      return runCall(
        createCallContext({
          toolName: name,
          rawArguments: args,
          meta: callOptions.meta,
          transport: "direct",
          signal: callOptions.signal,
          lookup: registry.get,
          log,
          principal: callOptions.principal,
        }),
      );
    },
    async close() {
      clearInterval(sweeper);
      const closing = [...httpServers].map((h) => h.close());
      httpServers.clear();
      if (stdio) closing.push(stdio.close());
      stdio = undefined;
      await Promise.all(closing);
      if (ownStore) await (await ownStore.catch(() => undefined))?.close();
      ownStore = undefined;
    },
  };
}

/**
 * stdio has no HTTP 401: the identity comes from the environment (MCP authorization spec:
 * stdio servers retrieve credentials from the environment). A missing or invalid token
 * leaves the connection anonymous, and every call answers `unauthenticated`.
 */
async function resolveStdioPrincipal(auth: ResolvedAuth, log: Logger): Promise<Principal> {
  if (auth.stdioPrincipal) return auth.stdioPrincipal;
  if (auth.stdioToken === undefined || auth.stdioToken === "") {
    log.warn("auth is on but TOOLGATE_TOKEN is not set: every stdio call will be refused");
    return ANONYMOUS_PRINCIPAL;
  }
  try {
    return await auth.verifier.verify(
      auth.stdioToken,
      auth.resource === undefined ? {} : { resource: auth.resource },
    );
  } catch (error) {
    log.warn(
      { reason: (error as Error).message },
      "TOOLGATE_TOKEN was refused: every stdio call will be refused",
    );
    return ANONYMOUS_PRINCIPAL;
  }
}
