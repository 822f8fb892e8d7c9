// The types of createToolServer: its options, the handle it returns, and what the gateway
// changes in it. Types only, so the modules that assemble a server can share them without
// importing each other.
import type { CallToolResult } from "@modelcontextprotocol/server";
import type { AuthOption } from "../auth/auth-options.js";
import type { Principal } from "../auth/principal.js";
import type { AuditOptions } from "../audit/options.js";
import type { BackendDefinition } from "../backends/http-backend.js";
import type { IdempotencyStore } from "../idempotency/store.js";
import type { Logger } from "../log/logger.js";
import type { MetricsOptions, ToolMetrics } from "../observability/metrics.js";
import type { Stage } from "../pipeline/types.js";
import type { PromptDefinition } from "../prompts/define-prompt.js";
import type { RateLimitOptions } from "../tool/rate-limit-options.js";
import type {
  ResourceDefinition,
  ResourceTemplateDefinition,
} from "../resources/define-resource.js";
import type { ToolDefinition } from "../tool/types.js";
import type { HttpOptions, ListenOptions, ListeningAddress } from "./http-server.js";
import type { ToolRegistry } from "./tool-registry.js";

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
  /**
   * The most tools one tools/list answer holds (a positive integer; default 1000). A server
   * with more answers in pages: `nextCursor` names the next one, and clients that walk
   * pages (the SDK's `listTools()`, the client kit) still get every tool. The default keeps
   * every server under 1000 tools answering in one response as before, while one with
   * 10 000 tools no longer builds a 4 MB answer (120-200 ms of CPU) for each list.
   */
  toolsPageSize?: number;
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
