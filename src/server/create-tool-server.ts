import { serveStdio, type StdioServerHandle } from "@modelcontextprotocol/server/stdio";
import type { CallToolResult } from "@modelcontextprotocol/server";
import { createLogger, type Logger } from "../log/logger.js";
import { compose } from "../pipeline/compose.js";
import { defaultStages } from "../pipeline/default-stages.js";
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
import { createCallContext, createMcpServerFactory } from "./mcp-factory.js";
import { createToolRegistry } from "./tool-registry.js";

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
  /** A pino logger. Default: JSON lines on stderr. */
  logger?: Logger;
}

export interface CallOptions {
  signal?: AbortSignal;
  meta?: Record<string, unknown>;
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
  const stages =
    options.stages ??
    defaultStages(
      options.defaultTimeoutMs === undefined ? {} : { defaultTimeoutMs: options.defaultTimeoutMs },
    );
  const runCall = compose(stages);
  const info = {
    name: options.name,
    version: options.version,
    ...(options.instructions ? { instructions: options.instructions } : {}),
  };
  const factory = createMcpServerFactory(info, registry, runCall, log);

  const httpServers = new Set<HttpServerHandle>();
  let stdio: StdioServerHandle | undefined;

  return {
    name: options.name,
    version: options.version,
    tools: registry.tools,
    async listen(listen = {}) {
      const handle = await startHttpServer(factory, options.http ?? {}, listen, log);
      httpServers.add(handle);
      log.info({ url: handle.address.url }, "MCP server listening");
      return handle.address;
    },
    handleStdio() {
      if (stdio)
        return Promise.reject(new Error("handleStdio() is already serving this process's stdio."));
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
        }),
      );
    },
    async close() {
      const closing = [...httpServers].map((h) => h.close());
      httpServers.clear();
      if (stdio) closing.push(stdio.close());
      stdio = undefined;
      await Promise.all(closing);
    },
  };
}
