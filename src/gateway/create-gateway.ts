// The gateway: the library's pipeline with one handler, forward to an upstream. Each
// upstream's tools/list becomes toolgate tools (`<prefix>.<tool>`) with the config's policy;
// pinning quarantines tools whose upstream contract changed; the tool set (tool-set.ts)
// follows the upstreams as they connect, restart and change.
import type { CallToolResult, Tool as ListedTool } from "@modelcontextprotocol/server";
import { conflict, unavailable } from "../errors/tool-error.js";
import { createLogger, type Logger } from "../log/logger.js";
import type { Stage } from "../pipeline/types.js";
import { DEFAULT_TIMEOUT_MS } from "../pipeline/stages/execute.js";
import {
  buildToolServer,
  type CallOptions,
  type ToolServer,
} from "../server/create-tool-server.js";
import type { ListenOptions, ListeningAddress } from "../server/http-server.js";
import { checkGatewayOptions } from "./check-options.js";
import type { GatewayOptions } from "./options.js";
import { readLockIfAny, watchLock } from "./pinning.js";
import { createUpstream, type UpstreamRuntime, type UpstreamState } from "./upstream.js";
import type { ContractLock } from "../contract/types.js";
import { DEFAULT_LOCK_FILE } from "../contract/lock-file.js";
import { dataDirDefaults } from "./data-dir.js";
import { notYet, pendingUpstreamOf } from "./pending-tool.js";
import { quarantineNotice } from "./quarantine-notice.js";
import { UnknownToolPolicyError, warnUnscoped } from "./tool-policies.js";
import { createToolSet, type QuarantinedTool } from "./tool-set.js";

export type { QuarantinedTool } from "./tool-set.js";

const DEFAULT_REFRESH_MS = 60_000;

export interface UpstreamStatus {
  readonly name: string;
  readonly state: UpstreamState;
  readonly tools: number;
}

export interface Gateway {
  readonly name: string;
  /** Serves MCP Streamable HTTP, as a tool server's `listen`. */
  listen(options?: ListenOptions): Promise<ListeningAddress>;
  /** Serves MCP over this process's stdin/stdout. */
  handleStdio(): Promise<void>;
  /** One call through the pipeline without a transport (tests, embedding). */
  callTool(name: string, args?: unknown, options?: CallOptions): Promise<CallToolResult>;
  /** The tools published now (not hidden, not quarantined). */
  tools(): readonly ListedTool[];
  /** Tools refused until approved, with what changed. */
  quarantined(): readonly QuarantinedTool[];
  upstreams(): readonly UpstreamStatus[];
  /** Asks every connected upstream for tools/list now (also done on a timer). */
  refresh(): Promise<void>;
  readonly server: ToolServer;
  close(): Promise<void>;
}

/**
 * Starts a gateway: connects every upstream (each first attempt is awaited; failures
 * are logged and retried with backoff), pins or checks their contracts, and returns the
 * gateway ready to `listen()`. Throws UnknownToolPolicyError (a TypeError) when a policy
 * entry under `tools` names a tool its upstream did not list.
 */
export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  checkGatewayOptions(options);
  const name = options.name ?? "toolgate-gateway";
  const log: Logger = options.logger ?? createLogger({ name });
  const defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  const pinning = options.pinning === false ? undefined : (options.pinning ?? {});
  const lockFile = pinning ? (pinning.lockFile ?? DEFAULT_LOCK_FILE) : undefined;
  const lock: ContractLock | undefined = lockFile ? await readLockIfAny(lockFile) : undefined;

  // The published and quarantined tools, rebuilt per upstream listing (tool-set.ts).
  const toolSet = createToolSet({ log, lockFile, lock, defaultTimeoutMs });
  const { published, quarantine, registry, evaluate } = toolSet;
  const upstreamOf = new Map<string, UpstreamRuntime>();

  // Refuses before anything is counted or claimed: a quarantined tool, or an upstream
  // that is down (retryable; nothing was sent).
  const guard: Stage = async (ctx, next) => {
    const held = quarantine.get(ctx.toolName);
    if (held) {
      throw conflict(
        `${held.name} is quarantined: ${quarantineNotice(held.reason)}. ` +
          "Do not retry; use another tool or tell the user.",
        { reason: "quarantined", upstream: held.upstream },
      );
    }
    const pending = pendingUpstreamOf(ctx.tool);
    if (pending) throw notYet(pending);
    const entry = published.get(ctx.toolName);
    if (entry) {
      ctx.record.upstream = entry.upstream.name;
      if (entry.upstream.state() !== "ready") {
        throw unavailable(
          `The upstream server '${entry.upstream.name}' is unavailable (restarting). Nothing was sent; retry shortly.`,
          entry.upstream.retryAfterMs(),
        );
      }
    }
    return next();
  };

  const mayRateLimit = Object.values(options.upstreams).some(
    (up) =>
      up.defaults?.rateLimit !== undefined ||
      Object.values(up.tools ?? {}).some((policy) => policy.rateLimit !== undefined),
  );
  const { store, audit, ownStore } = await dataDirDefaults(options, log);
  const server = buildToolServer(
    {
      name,
      version: options.version ?? "1.0.0",
      tools: [],
      logger: log,
      defaultTimeoutMs,
      ...(options.auth === undefined ? {} : { auth: options.auth }),
      ...(store === undefined ? {} : { store }),
      ...(audit === undefined ? {} : { audit }),
      ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
      ...(options.rateLimit === undefined ? {} : { rateLimit: options.rateLimit }),
      ...(options.http === undefined ? {} : { http: options.http }),
    },
    { registry, guard, mayWrite: true, mayRateLimit },
  );

  for (const [key, upOptions] of Object.entries(options.upstreams)) {
    const upstream = createUpstream(
      key,
      upOptions.prefix ?? key,
      upOptions,
      log,
      {
        onTools: evaluate,
        onState: (up, state) => log.debug({ upstream: up.name, state }, "upstream state"),
      },
      { maxResultBytes: options.maxResultBytes },
    );
    upstreamOf.set(key, upstream);
    toolSet.add(upstream);
  }
  const all = [...upstreamOf.values()];
  await Promise.all(all.map((up) => up.start()));
  await toolSet.applied();
  const startupUnmatched = toolSet.endStartup();
  if (startupUnmatched.length > 0) {
    await server.close();
    await Promise.all(all.map((up) => up.close()));
    await ownStore?.close();
    throw new UnknownToolPolicyError(startupUnmatched);
  }
  warnUnscoped(options, registry.tools, log);

  const refreshAll = async () => {
    await Promise.all(all.map((up) => up.refresh()));
    await toolSet.applied();
  };
  const refreshMs = pinning?.refreshIntervalMs ?? DEFAULT_REFRESH_MS;
  const refresher = setInterval(() => void refreshAll(), refreshMs);
  refresher.unref();
  // An approval rewrites the lock: re-check every upstream's current tools against it.
  const stopWatching = lockFile
    ? watchLock(lockFile, () => {
        void readLockIfAny(lockFile)
          .then((next) => {
            toolSet.setLock(next);
            for (const up of all) {
              const tools = up.tools();
              if (tools) evaluate(up, tools);
            }
          })
          .catch((error: unknown) =>
            log.error({ reason: (error as Error).message, lockFile }, "cannot read the lock file"),
          );
      })
    : undefined;

  return {
    name,
    server,
    listen: (listenOptions) => server.listen(listenOptions),
    handleStdio: () => server.handleStdio(),
    callTool: (toolName, args, callOptions) => server.callTool(toolName, args, callOptions),
    tools: () => registry.listing,
    quarantined: () =>
      [...quarantine.values()].map(({ name: toolName, upstream, reason, changes }) => ({
        name: toolName,
        upstream,
        reason,
        changes,
      })),
    upstreams: () =>
      all.map((up) => ({ name: up.name, state: up.state(), tools: up.tools()?.length ?? 0 })),
    refresh: refreshAll,
    async close() {
      clearInterval(refresher);
      stopWatching?.();
      await server.close();
      await Promise.all(all.map((up) => up.close()));
      await ownStore?.close();
    },
  };
}
