import { Server, type CallToolResult, type ServerContext } from "@modelcontextprotocol/server";
import { ANONYMOUS_PRINCIPAL, type Principal } from "../auth/principal.js";
import { missingScopes } from "../auth/scopes.js";
import type { Logger } from "../log/logger.js";
import type { CallContext, Transport } from "../pipeline/types.js";
import { PRINCIPAL_KEY } from "./http-auth.js";
import type { ToolRegistry } from "./tool-registry.js";
import type { BackendRegistry } from "../backends/registry.js";

export interface FactoryAuth {
  /** Whether tools/list is filtered by the caller's scopes. */
  enabled: boolean;
  /** The principal of stdio connections (one process, one identity). */
  stdioPrincipal: () => Principal;
}

export interface ServerInfo {
  name: string;
  version: string;
  instructions?: string;
}

export type RunCall = (ctx: CallContext) => Promise<CallToolResult>;

/**
 * Builds the SDK `Server` for one serving unit (one HTTP request when stateless, one
 * stdio connection). It is deliberately thin: `tools/list` returns the prebuilt
 * listing and `tools/call` hands everything to the toolgate pipeline, so both
 * transports run exactly the same stages.
 */
export function createMcpServerFactory(
  info: ServerInfo,
  registry: ToolRegistry,
  runCall: RunCall,
  log: Logger,
  auth: FactoryAuth,
  backends?: BackendRegistry,
) {
  // HTTP: the principal the authenticator verified for this request; stdio: the process's.
  const principalOf = (sdkCtx: ServerContext): Principal => {
    if (!sdkCtx.http?.req) return auth.stdioPrincipal();
    const principal = sdkCtx.http.authInfo?.extra?.[PRINCIPAL_KEY];
    return (principal as Principal | undefined) ?? ANONYMOUS_PRINCIPAL;
  };
  const serverOptions = {
    capabilities: { tools: { listChanged: false } },
    ...(info.instructions === undefined ? {} : { instructions: info.instructions }),
  };
  return function createMcpServer(): Server {
    const server = new Server({ name: info.name, version: info.version }, serverOptions);
    server.setRequestHandler("tools/list", (_request, sdkCtx) => {
      if (!auth.enabled) return { tools: [...registry.listing] };
      // Only the tools this principal may call: the model is not shown what it cannot use.
      const principal = principalOf(sdkCtx);
      // Nobody, or a stdio token that has expired since: nothing is callable, so nothing is listed.
      const expired = principal.expiresAt !== undefined && principal.expiresAt <= Date.now();
      if (principal.anonymous || expired) return { tools: [] };
      const tools = registry.listing.filter((entry) => {
        const tool = registry.get(entry.name);
        return tool !== undefined && missingScopes(tool.scopes, principal.scopes).length === 0;
      });
      return { tools };
    });
    server.setRequestHandler("tools/call", async (request, sdkCtx) => {
      const params = request.params;
      const ctx = createCallContext({
        toolName: params.name,
        rawArguments: params.arguments,
        meta: params._meta,
        transport: sdkCtx.http?.req ? "http" : "stdio",
        headers: sdkCtx.http?.req?.headers,
        signal: sdkCtx.mcpReq.signal,
        lookup: registry.get,
        log,
        principal: principalOf(sdkCtx),
        backends,
        sdk: sdkCtx,
      });
      const result = await runCall(ctx);
      return server.projectCallToolResult(result, ctx.tool?.outputSchema);
    });
    server.onerror = (error: Error) => log.debug({ reason: error.message }, "MCP protocol error");
    return server;
  };
}

export interface CallContextInit {
  toolName: string;
  rawArguments: unknown;
  meta?: Record<string, unknown> | undefined;
  transport: Transport;
  headers?: Headers | undefined;
  signal?: AbortSignal | undefined;
  lookup: CallContext["lookup"];
  log: Logger;
  principal?: Principal | undefined;
  backends?: BackendRegistry | undefined;
  sdk?: ServerContext | undefined;
}

export function createCallContext(init: CallContextInit): CallContext {
  return {
    requestId: "",
    toolName: init.toolName,
    rawArguments: init.rawArguments,
    meta: init.meta,
    transport: init.transport,
    headers: init.headers,
    signal: init.signal ?? new AbortController().signal,
    startedAt: Date.now(),
    lookup: init.lookup,
    log: init.log,
    principal: init.principal ?? ANONYMOUS_PRINCIPAL,
    backendCalls: [],
    backends: init.backends,
    cleanups: [],
    sdk: init.sdk,
  };
}
