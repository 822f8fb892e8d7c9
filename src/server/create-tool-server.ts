import { serveStdio, type StdioServerHandle } from "@modelcontextprotocol/server/stdio";
import type { CallToolResult } from "@modelcontextprotocol/server";
import { resolveAuth, type AuthOption, type ResolvedAuth } from "../auth/auth-options.js";
import { ANONYMOUS_PRINCIPAL, type Principal } from "../auth/principal.js";
import { rememberSubjectToken } from "../auth/subject-token.js";
import { createLogger, type Logger } from "../log/logger.js";
import { openDefaultStore } from "../idempotency/default-store.js";
import { startSweeper } from "../idempotency/sweeper.js";
import type { IdempotencyStore } from "../idempotency/store.js";
import { compose } from "../pipeline/compose.js";
import { checkOwnStageOptions, checkStages } from "../pipeline/check-stages.js";
import { defaultStages } from "../pipeline/default-stages.js";
import { DEFAULT_TIMEOUT_MS } from "../pipeline/stages/execute.js";
import type { Stage } from "../pipeline/types.js";
import type { ToolDefinition } from "../tool/types.js";
import type { JsonSchema } from "../validation/json-schema.js";
import {
  checkHttpOptions,
  startHttpServer,
  type HttpOptions,
  type HttpServerHandle,
  type ListenOptions,
  type ListeningAddress,
} from "./http-server.js";
import { createHttpAuthenticator } from "./http-auth.js";
import { createFastCall } from "./fast-call.js";
import { createCallContext, createMcpServerFactory } from "./mcp-factory.js";
import { createToolRegistry, type ToolRegistry } from "./tool-registry.js";
import { warnUnenforcedScopes } from "./scope-warning.js";
import { createAuditor, type Auditor } from "../audit/auditor.js";
import { checkAuditOptions, defaultAuditSinks, type AuditOptions } from "../audit/options.js";
import { createRedactor } from "../audit/redact.js";
import { createMetrics, type MetricsOptions, type ToolMetrics } from "../observability/metrics.js";
import { observeCalls, refusalEvent } from "../observability/observe.js";
import type { HttpRefusal } from "./http-auth.js";
import type { BackendDefinition } from "../backends/http-backend.js";
import { createBackendRegistry } from "../backends/registry.js";
import { resolveRateLimits, type RateLimitOptions } from "../ratelimit/options.js";
import type { PromptDefinition } from "../prompts/define-prompt.js";
import { createPromptRegistry } from "../prompts/prompt-registry.js";
import type {
  ResourceDefinition,
  ResourceTemplateDefinition,
} from "../resources/define-resource.js";
import { createResourceRegistry } from "../resources/resource-registry.js";
import { createSubscriptionHub } from "../resources/subscriptions.js";
import { isRateLimitStore, type RateLimitStore } from "../ratelimit/store.js";

export interface ToolServerOptions {
  name: string;
  version: string;
  tools: readonly ToolDefinition[];
  /** Shown to the model by clients that support server instructions. */
  instructions?: string;
  /** Deadline for tools that set no `timeoutMs`. Default 30 000 ms. */
  defaultTimeoutMs?: number;
  /**
   * The pipeline. Default `defaultStages(...)` configured by this server's options; pass your
   * own list to add or reorder stages (its stages then own their options and stores, so
   * `store` and `rateLimit` are refused here). A list that cannot honour what a tool declares
   * (a write tool without the idempotency stage, scopes under `auth` without an authorize
   * stage that enforces them, budgets without the rate-limit stage) refuses to start.
   */
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
  /**
   * The audit log: one event per call (who, which tool, redacted arguments, outcome,
   * latency). Default: SQLite at `.toolgate/audit.sqlite`. `false` turns it off.
   */
  audit?: AuditOptions | false;
  /** Prometheus metrics at `/metrics` of the HTTP listener; `false` to not serve them. */
  metrics?: MetricsOptions | false;
  /**
   * The systems tools call, declared once: `{ payments: httpBackend({ baseUrl, credential }) }`.
   * A tool reaches only those it lists in its own `backends` (`ctx.backend(name)`).
   */
  backends?: Readonly<Record<string, BackendDefinition>>;
  /**
   * Budgets for every call: `{ perPrincipal: "60/min", perTool: "600/min" }` (tools may add
   * their own). Counted in the store (`store`), so instances sharing it share budgets.
   */
  rateLimit?: RateLimitOptions;
  /**
   * Whether deprecated tools appear in tools/list (default true). With `false` they are
   * hidden from new clients but stay callable by name for the ones that still use them.
   */
  listDeprecated?: boolean;
  /** Resources with a fixed URI (`defineResource`): resources/list and resources/read. */
  resources?: readonly ResourceDefinition[];
  /** URI template families (`defineResourceTemplate`): resources/templates/list, read, complete. */
  resourceTemplates?: readonly ResourceTemplateDefinition[];
  /** Prompts (`definePrompt`): prompts/list, prompts/get, complete. */
  prompts?: readonly PromptDefinition[];
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
  /** The server's Prometheus metrics (also served at `/metrics` unless `metrics: false`). */
  readonly metrics: ToolMetrics;
  /** Runs one call through the same pipeline without a transport (tests, embedding). */
  callTool(name: string, args?: unknown, options?: CallOptions): Promise<CallToolResult>;
  close(): Promise<void>;
  /**
   * Tells the clients subscribed to `uri` that it changed (`notifications/resources/updated`):
   * stdio connections and stateful HTTP sessions (`http.sessions`) that subscribed with
   * resources/subscribe, and 2026-era stdio connections listening for it. Stateless HTTP
   * has no channel for it: each request is served by its own short-lived instance, so a
   * subscription made there is acknowledged but cannot be notified. Resolves with the
   * number of connections it was sent to (0 when none, or without resources).
   */
  notifyResourceUpdated(uri: string): Promise<number>;
}

export function createToolServer(options: ToolServerOptions): ToolServer {
  return buildToolServer(options);
}

/**
 * What the gateway changes in a tool server (internal): a registry whose tools come and go
 * with the upstreams, a guard stage after authorization (quarantine, upstream down), and
 * the idempotency and rate-limit stages present before any tool that needs them exists.
 */
export interface ServerInternals {
  readonly registry: ToolRegistry;
  readonly guard: Stage;
  readonly mayWrite: boolean;
  readonly mayRateLimit: boolean;
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
  const serverRateLimit = resolveRateLimits(options.rateLimit, "createToolServer: rateLimit");
  const rateLimited =
    serverRateLimit !== undefined ||
    internals?.mayRateLimit === true ||
    registry.tools.some((t) => t.rateLimit);
  if (rateLimited && options.store !== undefined && !isRateLimitStore(options.store)) {
    throw new TypeError(
      "createToolServer: rate limits need a store with consume() (every built-in store has it).",
    );
  }
  const mayWrite =
    internals?.mayWrite === true || registry.tools.some((t) => t.idempotency !== undefined);
  // Opened on first use, and closed with the server only if toolgate opened it.
  let ownStore: Promise<IdempotencyStore> | undefined;
  const openStore = () =>
    (ownStore ??= openDefaultStore(log).catch((error: unknown) => {
      ownStore = undefined; // tried again on the next write call
      throw error;
    }));
  const openRateLimitStore = () => openStore() as Promise<IdempotencyStore & RateLimitStore>;
  // The server's own list leaves out the stages no tool needs (a read-only server pays
  // for no idempotency or budget stage); the gateway's has them before its tools exist.
  const stages =
    options.stages ??
    defaultStages({
      requireAuthentication: auth !== undefined,
      ...(internals ? { guard: internals.guard } : {}),
      idempotency: mayWrite ? { store: options.store ?? openStore } : false,
      rateLimit: rateLimited
        ? {
            ...(serverRateLimit ? { server: serverRateLimit } : {}),
            store: (options.store as RateLimitStore | undefined) ?? openRateLimitStore,
          }
        : false,
      ...(options.defaultTimeoutMs === undefined
        ? {}
        : { defaultTimeoutMs: options.defaultTimeoutMs }),
    });
  checkStages(
    stages,
    {
      tools: registry.tools,
      auth: auth !== undefined,
      mayWrite: internals?.mayWrite === true,
      mayRateLimit: internals?.mayRateLimit === true,
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
          defaultTimeoutMs: options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS,
        }
      : undefined,
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
      if (ownStore) await (await ownStore.catch(() => undefined))?.close();
      ownStore = undefined;
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
    const principal = await auth.verifier.verify(
      auth.stdioToken,
      auth.resource === undefined ? {} : { resource: auth.resource },
    );
    rememberSubjectToken(principal, auth.stdioToken);
    return principal;
  } catch (error) {
    log.warn(
      { reason: (error as Error).message },
      "TOOLGATE_TOKEN was refused: every stdio call will be refused",
    );
    return ANONYMOUS_PRINCIPAL;
  }
}
