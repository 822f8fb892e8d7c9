import { Server, type CallToolResult } from "@modelcontextprotocol/server";
import { ANONYMOUS_PRINCIPAL } from "../auth/principal.js";
import type { Logger } from "../log/logger.js";
import type { CallContext, Transport } from "../pipeline/types.js";
import type { ToolRegistry } from "./tool-registry.js";

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
) {
  const serverOptions = {
    capabilities: { tools: { listChanged: false } },
    ...(info.instructions === undefined ? {} : { instructions: info.instructions }),
  };
  return function createMcpServer(): Server {
    const server = new Server({ name: info.name, version: info.version }, serverOptions);
    server.setRequestHandler("tools/list", () => ({ tools: [...registry.listing] }));
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
    principal: ANONYMOUS_PRINCIPAL,
  };
}
