import { serveStdio, type StdioServerHandle } from "@modelcontextprotocol/server/stdio";
import { resolveAuth, type ResolvedAuth } from "../auth/auth-options.js";
import { ANONYMOUS_PRINCIPAL, type Principal } from "../auth/principal.js";
import { createLogger } from "../log/logger.js";
import { startSweeper } from "../idempotency/sweeper.js";
import { compose } from "../pipeline/compose.js";
import { checkOwnStageOptions, checkStages } from "../pipeline/check-stages.js";
import type { ToolDefinition } from "../tool/types.js";
import type { JsonSchema } from "../validation/json-schema.js";
import { checkHttpOptions, startHttpServer, type HttpServerHandle } from "./http-server.js";
import { createHttpAuthenticator, type HttpRefusal } from "./http-auth.js";
import { createFastCall } from "./fast-call.js";
import { createCallContext, createMcpServerFactory } from "./mcp-factory.js";
import { createToolRegistry } from "./tool-registry.js";
import { checkPageSize } from "./list-page.js";
import { resolveStdioPrincipal } from "./stdio-principal.js";
import { serverStages } from "./server-stages.js";
import type { ServerInternals, ToolServer, ToolServerOptions } from "./server-options.js";
import { warnUnenforcedScopes } from "./scope-warning.js";
import { createAuditor, type Auditor } from "../audit/auditor.js";
import { checkAuditOptions, defaultAuditSinks } from "../audit/options.js";
import { createRedactor } from "../audit/redact.js";
import { createMetrics } from "../observability/metrics.js";
import { observeCalls, refusalEvent } from "../observability/observe.js";
import { createBackendRegistry } from "../backends/registry.js";
import { createPromptRegistry } from "../prompts/prompt-registry.js";
import { createResourceRegistry } from "../resources/resource-registry.js";
import { createSubscriptionHub } from "../resources/subscriptions.js";
import { servedOperations } from "./served-operations.js";

export type { CallOptions, ToolServer, ToolServerOptions } from "./server-options.js";

export function createToolServer(options: ToolServerOptions): ToolServer {
  return buildToolServer(options);
}

export function buildToolServer(
  options: ToolServerOptions,
  internals?: ServerInternals,
): ToolServer {
  if (typeof options !== "object" || options === null)
    throw new TypeError("createToolServer expects an options object.");
  if (typeof options.name !== "string" || options.name === "")
    throw new TypeError("createToolServer: name is required.");
  if (typeof options.version !== "string" || options.version === "") {
    throw new TypeError("createToolServer: version is required.");
  }
  if (options.http !== undefined) checkHttpOptions(options.http);
  if (options.stages !== undefined) checkOwnStageOptions(options);
  checkAuditOptions(options.audit);
  const log = options.logger ?? createLogger({ name: options.name });
  if (options.listDeprecated !== undefined && typeof options.listDeprecated !== "boolean")
    throw new TypeError("createToolServer: listDeprecated must be true or false.");
  checkPageSize(options.toolsPageSize, "toolsPageSize");
  const registry =
    internals?.registry ??
    createToolRegistry(options.tools, { listDeprecated: options.listDeprecated });
  const resourceRegistry = createResourceRegistry(options.resources, options.resourceTemplates);
  const promptRegistry = createPromptRegistry(options.prompts);
  const subscriptions = resourceRegistry ? createSubscriptionHub(log) : undefined;
  const auth: ResolvedAuth | undefined =
    options.auth === undefined ? undefined : resolveAuth(options.auth);
  // The gateway states its own auth choices (auth is required there, `none` is explicit).
  if (!internals && auth === undefined) warnUnenforcedScopes(registry.tools, log);
  const backends = createBackendRegistry(options.backends, registry.tools);
  const { stages, close: closeStages } = serverStages(
    options,
    registry,
    auth !== undefined,
    internals,
  );
  // Resources and prompts declare scopes too, and run on the same stages: a list of your
  // own that cannot enforce them refuses to start as it would for a scoped tool.
  checkStages(
    stages,
    {
      tools: servedOperations(resourceRegistry, promptRegistry),
      auth: auth !== undefined,
      noun: ["resource or prompt", "resources and prompts"],
    },
    "createToolServer",
  );
  const stopSweeper = startSweeper(stages, log);
  const auditOptions = options.audit === false ? undefined : (options.audit ?? {});
  // The gauges read the auditor's queues at scrape time (after both exist).
  const metrics = createMetrics(
    options.metrics || {},
    () => auditor?.status() ?? [],
    () => backends.states(),
  );
  const auditor: Auditor | undefined = auditOptions
    ? createAuditor({
        sinks: auditOptions.sinks ?? defaultAuditSinks(log),
        log: log.child({ component: "audit" }),
        ...(auditOptions.maxBuffered === undefined
          ? {}
          : { maxBuffered: auditOptions.maxBuffered }),
        ...(auditOptions.batchSize === undefined ? {} : { batchSize: auditOptions.batchSize }),
        ...(auditOptions.flushIntervalMs === undefined
          ? {}
          : { flushIntervalMs: auditOptions.flushIntervalMs }),
        onDrop: (sink, count) => metrics.auditDropped(sink, count),
      })
    : undefined;
  const metricsEndpoint = options.metrics === false ? undefined : metrics;
  if (metricsEndpoint && metricsEndpoint.path === (options.http?.path ?? "/mcp"))
    throw new TypeError("metrics.path must differ from http.path.");
  const runCall = observeCalls(compose(stages), {
    server: options.name,
    auditor,
    metrics,
    redact: toolRedactor(
      auditOptions?.redactKeys ?? [],
      auditOptions?.redactEmails === true ? "redact" : "keep",
    ),
    failClosed: auditOptions?.failClosed ?? false,
  });
  const onRefusal = (refusal: HttpRefusal) => {
    metrics.authRefused(refusal.status);
    auditor?.record(
      refusalEvent({
        server: options.name,
        outcome:
          refusal.status === 403
            ? "forbidden"
            : refusal.status === 503
              ? "unavailable"
              : "unauthenticated",
        reason: refusal.reason,
        principal: refusal.principal,
        tool: refusal.tool,
        latencyMs: refusal.latencyMs,
      }),
    );
  };
  const info = {
    name: options.name,
    version: options.version,
    ...(options.instructions ? { instructions: options.instructions } : {}),
  };
  // One process serves stdio for one identity: resolved once, when stdio starts.
  let stdioPrincipal: Principal = ANONYMOUS_PRINCIPAL;
  const factory = createMcpServerFactory(
    info,
    registry,
    runCall,
    log,
    { enabled: auth !== undefined, stdioPrincipal: () => stdioPrincipal },
    backends,
    resourceRegistry || promptRegistry
      ? {
          resources: resourceRegistry,
          prompts: promptRegistry,
          subscriptions,
        }
      : undefined,
    { toolsPageSize: options.toolsPageSize },
  );
  // The common request (a stateless 2025-era tools/call) without the SDK's per-request
  // server; everything else is served by the SDK (see fast-call.ts).
  const fastCall = createFastCall(registry, runCall, log, backends);
  const makeAuthenticator = auth
    ? (boundUrl: () => string) =>
        createHttpAuthenticator({
          auth,
          resource: () => auth.resource ?? boundUrl(),
          serverName: options.name,
          tools: registry.tools,
          lookup: registry.get,
          log,
          onRefusal,
        })
    : undefined;

  const httpServers = new Set<HttpServerHandle>();
  let stdio: StdioServerHandle | undefined;

  return {
    name: options.name,
    version: options.version,
    tools: registry.tools,
    metrics,
    async listen(listen = {}) {
      const handle = await startHttpServer(
        factory,
        options.http ?? {},
        listen,
        log,
        makeAuthenticator,
        metricsEndpoint,
        fastCall,
      );
      metricsEndpoint?.startProcessMetrics();
      httpServers.add(handle);
      log.info({ url: handle.address.url }, "MCP server listening");
      return handle.address;
    },
    async handleStdio() {
      if (stdio) throw new Error("handleStdio() is already serving this process's stdio.");
      if (auditOptions?.sinks?.some((sink) => sink.writesToStdout === true)) {
        throw new Error(
          "The stdout audit sink cannot be used with stdio serving: stdout carries the MCP protocol. Use a file, SQLite or PostgreSQL sink.",
        );
      }
      if (auth) stdioPrincipal = await resolveStdioPrincipal(auth, log);
      return new Promise<void>((resolve) => {
        stdio = serveStdio(factory, {
          onerror: (error) => log.warn({ err: error }, "stdio transport error"),
        });
        process.stdin.once("close", () => resolve());
        process.stdin.once("end", () => resolve());
      });
    },
    notifyResourceUpdated(uri) {
      if (typeof uri !== "string" || uri === "")
        return Promise.reject(new TypeError("notifyResourceUpdated expects a resource URI."));
      return subscriptions?.notify(uri) ?? Promise.resolve(0);
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
          backends,
        }),
      );
    },
    async close() {
      stopSweeper?.();
      const closing = [...httpServers].map((h) => h.close());
      httpServers.clear();
      if (stdio) closing.push(stdio.close());
      stdio = undefined;
      await Promise.all(closing);
      // After the listeners: the calls they were finishing still get their events written.
      await auditor?.close();
      await backends.close();
      await closeStages();
    },
  };
}

/** The server's redactor, plus one per tool that names keys of its own (`redactKeys`). */
function toolRedactor(keys: readonly (string | RegExp)[], emails: "keep" | "redact") {
  const shared = createRedactor({ keys, emails });
  const perTool = new WeakMap<ToolDefinition, ReturnType<typeof createRedactor>>();
  return (value: unknown, schema?: JsonSchema, tool?: ToolDefinition): unknown => {
    if (!tool?.redactKeys) return shared(value, schema);
    let redactor = perTool.get(tool);
    if (!redactor)
      perTool.set(
        tool,
        (redactor = createRedactor({ keys: [...keys, ...tool.redactKeys], emails })),
      );
    return redactor(value, schema);
  };
}
