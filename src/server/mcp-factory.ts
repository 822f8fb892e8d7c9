import { Server, type CallToolResult, type ServerContext } from "@modelcontextprotocol/server";
import { ANONYMOUS_PRINCIPAL, type Principal } from "../auth/principal.js";
import { mayUse } from "../auth/scopes.js";
import type { Logger } from "../log/logger.js";
import type { CallContext, Transport } from "../pipeline/types.js";
import { PRINCIPAL_KEY } from "./http-auth.js";
import type { ToolRegistry } from "./tool-registry.js";
import type { BackendRegistry } from "../backends/registry.js";
import type { McpRequestContext, ServerCapabilities, Tool } from "@modelcontextprotocol/server";
import type { PromptRegistry } from "../prompts/prompt-registry.js";
import { registerPromptHandlers } from "../prompts/prompt-handlers.js";
import type { ResourceRegistry } from "../resources/resource-registry.js";
import { registerResourceHandlers } from "../resources/resource-handlers.js";
import type { OperationCall, ServingDeps } from "../resources/serving.js";
import { createSubscriptionHub, type SubscriptionHub } from "../resources/subscriptions.js";
import { registerCompletionHandler } from "./completion.js";
import { LazyAbort } from "../util/lazy-abort.js";
import { newCallContext } from "../pipeline/context.js";
import { DEFAULT_PAGE_SIZE, listPage } from "./list-page.js";

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

/** Resources, prompts and completion: served only by servers that define them. */
export interface FactoryFeatures {
  resources?: ResourceRegistry | undefined;
  prompts?: PromptRegistry | undefined;
  /** Where resources/subscribe records subscriptions (default: one of this factory's own). */
  subscriptions?: SubscriptionHub | undefined;
  /**
   * Not read: a read, get or completer that sets no `timeoutMs` gets the pipeline's default
   * deadline (resolveTool's, which `createToolServer({ defaultTimeoutMs })` sets).
   */
  defaultTimeoutMs?: number;
}

/** How list answers are paged. */
export interface FactoryPaging {
  /** The most tools one tools/list page holds (default DEFAULT_PAGE_SIZE). */
  toolsPageSize?: number | undefined;
}

/**
 * Builds the SDK `Server` for one serving unit (one HTTP request when stateless, one
 * stdio connection). It is deliberately thin: `tools/list` returns the prebuilt
 * listing (in pages of `toolsPageSize`, list-page.ts) and `tools/call` hands everything to the toolgate pipeline, so both
 * transports run exactly the same stages.
 */
export function createMcpServerFactory(
  info: ServerInfo,
  registry: ToolRegistry,
  runCall: RunCall,
  log: Logger,
  auth: FactoryAuth,
  backends?: BackendRegistry,
  features?: FactoryFeatures,
  paging: FactoryPaging = {},
) {
  const toolsPageSize = paging.toolsPageSize ?? DEFAULT_PAGE_SIZE;
  // HTTP: the principal the authenticator verified for this request; stdio: the process's.
  const principalOf = (sdkCtx: ServerContext): Principal => {
    if (!sdkCtx.http?.req) return auth.stdioPrincipal();
    const principal = sdkCtx.http.authInfo?.extra?.[PRINCIPAL_KEY];
    return (principal as Principal | undefined) ?? ANONYMOUS_PRINCIPAL;
  };
  /** The call context of one MCP request: what its adapter read, plus the request's transport. */
  const sdkCallContext = (
    sdkCtx: ServerContext,
    call: Pick<
      CallContextInit,
      "toolName" | "kind" | "label" | "rawArguments" | "meta" | "lookup" | "log"
    >,
  ): CallContext =>
    createCallContext({
      ...call,
      transport: sdkCtx.http?.req ? "http" : "stdio",
      headers: sdkCtx.http?.req?.headers,
      signal: sdkCtx.mcpReq.signal,
      principal: principalOf(sdkCtx),
      backends,
      sdk: sdkCtx,
    });
  /** A resource, prompt or completion request, as tools/call's below. */
  const operationContext = (call: OperationCall, sdkCtx: ServerContext): CallContext => {
    const { operation } = call;
    return sdkCallContext(sdkCtx, {
      toolName: operation.name,
      kind: call.kind,
      label: call.label,
      rawArguments: call.rawArguments,
      meta: call.meta,
      // The one operation this request targets; nothing else resolves.
      lookup: (name) => (name === operation.name ? operation : undefined),
      log: call.log,
    });
  };
  const serverOptions = {
    // `logging`: tools send `notifications/message` (ctx.clientLog); declaring it makes the
    // SDK's Server register its built-in `logging/setLevel` handler and honour the level.
    capabilities: { tools: { listChanged: false }, logging: {} },
    ...(info.instructions === undefined ? {} : { instructions: info.instructions }),
  };
  const served: ServedFeatures | undefined = features && {
    resources: features.resources,
    prompts: features.prompts,
    subscriptions: features.subscriptions ?? createSubscriptionHub(log),
    capabilities: featureCapabilities(features),
    deps: {
      authEnabled: auth.enabled,
      principalOf,
      log,
      // resources/read, prompts/get and completion/complete run the same pipeline as tools/call.
      runOperation: (call, sdkCtx) => runCall(operationContext(call, sdkCtx)),
    },
  };
  return function createMcpServer(unit?: McpRequestContext): Server {
    const server = new Server({ name: info.name, version: info.version }, serverOptions);
    if (served) registerFeatures(server, served, unit);
    server.setRequestHandler("tools/list", (request, sdkCtx) => {
      const cursor = request.params?.cursor;
      // Only the tools this principal may call (the one scope rule): the model is not shown
      // what it cannot use. Nobody, or a token that has expired since, may call nothing.
      const principal = auth.enabled ? principalOf(sdkCtx) : undefined;
      const mayList = principal
        ? (entry: Tool) => {
            const tool = registry.get(entry.name);
            return tool !== undefined && mayUse(principal, tool.scopes);
          }
        : undefined;
      // The cursor is a position in the full listing, so the filter does not move it.
      const page = listPage("tools/list", registry.listing, cursor, toolsPageSize, mayList);
      return page.nextCursor === undefined
        ? { tools: page.items }
        : { tools: page.items, nextCursor: page.nextCursor };
    });
    server.setRequestHandler("tools/call", async (request, sdkCtx) => {
      const params = request.params;
      const ctx = sdkCallContext(sdkCtx, {
        toolName: params.name,
        rawArguments: params.arguments,
        meta: params._meta,
        lookup: registry.get,
        log,
      });
      const result = await runCall(ctx);
      // The tool the pipeline resolved is its own state; the registry answers the same.
      return server.projectCallToolResult(result, registry.get(params.name)?.outputSchema);
    });
    server.onerror = (error: Error) => log.debug({ reason: error.message }, "MCP protocol error");
    return server;
  };
}

/** The capabilities resources, prompts and completion add (none without them). */
function featureCapabilities(features: FactoryFeatures): ServerCapabilities {
  const completable =
    features.prompts?.prompts.some((p) => Object.keys(p.complete).length > 0) === true ||
    features.resources?.templates.some((t) => Object.keys(t.complete).length > 0) === true;
  return {
    ...(features.resources ? { resources: { subscribe: true, listChanged: false } } : {}),
    ...(features.prompts ? { prompts: { listChanged: false } } : {}),
    ...(completable ? { completions: {} } : {}),
  };
}

interface ServedFeatures {
  resources: ResourceRegistry | undefined;
  prompts: PromptRegistry | undefined;
  subscriptions: SubscriptionHub;
  capabilities: ServerCapabilities;
  deps: ServingDeps;
}

/**
 * Declares and registers the resources/*, prompts/* and completion/complete handlers the
 * server's definitions need (before the SDK connects the unit). `unit` is the SDK's
 * construction context: a unit built for one HTTP request (`requestInfo` set) is
 * stateless and keeps no subscription past its request.
 */
function registerFeatures(
  server: Server,
  served: ServedFeatures,
  unit: McpRequestContext | undefined,
): void {
  const { resources, prompts, capabilities, deps } = served;
  if (Object.keys(capabilities).length === 0) return;
  server.registerCapabilities(capabilities);
  if (resources) {
    const subscriptions = served.subscriptions.open(server, {
      longLived: unit?.requestInfo === undefined,
      era: unit?.era ?? "legacy",
    });
    registerResourceHandlers(server, resources, deps, subscriptions);
  }
  if (prompts) registerPromptHandlers(server, prompts, deps);
  if (capabilities.completions) registerCompletionHandler(server, prompts, resources, deps);
}

export interface CallContextInit {
  toolName: string;
  /** What the call is (absent: a tool call); see CallContext. */
  kind?: CallContext["kind"];
  /** How messages name the target, when not by the tool's name. */
  label?: string | undefined;
  rawArguments: unknown;
  meta?: Record<string, unknown> | undefined;
  transport: Transport;
  headers?: Headers | undefined;
  /** The client's cancellation: a signal, or a LazyAbort whose signal is made on first read. */
  signal?: AbortSignal | LazyAbort | undefined;
  lookup: CallContext["lookup"];
  log: Logger;
  principal?: Principal | undefined;
  backends?: BackendRegistry | undefined;
  sdk?: ServerContext | undefined;
}

export function createCallContext(init: CallContextInit): CallContext {
  const given = init.signal;
  const lazy = given instanceof LazyAbort ? given : given ? undefined : new LazyAbort();
  // The request as the adapter built it; stages pass what they learn on in derived contexts.
  return newCallContext(
    {
      requestId: "",
      toolName: init.toolName,
      kind: init.kind,
      label: init.label,
      rawArguments: init.rawArguments,
      meta: init.meta,
      transport: init.transport,
      headers: init.headers,
      cancellation: lazy,
      startedAt: Date.now(),
      lookup: init.lookup,
      log: init.log,
      principal: init.principal ?? ANONYMOUS_PRINCIPAL,
      backends: init.backends,
      sdk: init.sdk,
      record: {
        requestId: undefined,
        idempotency: undefined,
        upstream: undefined,
        traceContext: undefined,
        backendCalls: [],
        cleanups: [],
      },
    },
    // A LazyAbort's signal is created on first read (most calls never read it).
    lazy ?? { signal: given as AbortSignal },
  );
}
