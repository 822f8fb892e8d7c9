// The gateway: the library's pipeline with one handler, forward to an upstream. Each
// upstream's tools/list becomes toolgate tools (`<prefix>.<tool>`) with the config's policy;
// pinning quarantines tools whose upstream contract changed; the tool set follows the
// upstreams as they connect, restart and change.
import type { Tool } from "@modelcontextprotocol/client";
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
import { toListEntry, type ToolRegistry } from "../server/tool-registry.js";
import type { ContractChange } from "../contract/types.js";
import { UNKNOWN_VERSION } from "../contract/snapshot.js";
import type { ToolDefinition } from "../tool/types.js";
import { isRecord } from "../util/is-record.js";
import { forward } from "./forward.js";
import { buildGatewayTool, policyFor, publishedName } from "./gateway-tool.js";
import { checkGatewayOptions } from "./check-options.js";
import type { GatewayOptions } from "./options.js";
import {
  lockKnowsPrefix,
  pinContracts,
  readLockIfAny,
  upstreamContract,
  verdictOf,
  watchLock,
} from "./pinning.js";
import { createUpstream, type UpstreamRuntime, type UpstreamState } from "./upstream.js";
import type { ContractLock } from "../contract/types.js";
import { DEFAULT_LOCK_FILE } from "../contract/lock-file.js";
import { dataDirDefaults } from "./data-dir.js";
import { notYet, pendingTool, pendingUpstreamOf } from "./pending-tool.js";
import { quarantineNotice, type QuarantineReason } from "./quarantine-notice.js";
import {
  UnknownToolPolicyError,
  logStaleEntries,
  unmatchedPolicies,
  warnUnscoped,
  type UnmatchedPolicy,
} from "./tool-policies.js";

const DEFAULT_REFRESH_MS = 60_000;

export interface QuarantinedTool {
  readonly name: string;
  readonly upstream: string;
  /** Why, and what releases it: see quarantine-notice.ts. */
  readonly reason: QuarantineReason;
  readonly changes: readonly ContractChange[];
}

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

interface Published {
  readonly tool: ToolDefinition;
  readonly upstream: UpstreamRuntime;
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
  let lock: ContractLock | undefined = lockFile ? await readLockIfAny(lockFile) : undefined;

  // Published tools and quarantined ones, by published name, rebuilt per upstream.
  const published = new Map<string, Published>();
  const quarantine = new Map<string, QuarantinedTool & { readonly tool: ToolDefinition }>();
  let listingCache: ListedTool[] | undefined;
  // What was last logged per tool, so a refresh does not repeat the same warning.
  const reported = new Map<string, string>();
  // Upstreams whose tools/list has been applied at least once; calls to the others wait.
  const listed = new Set<UpstreamRuntime>();
  // While starting, a policy entry that matches no tool refuses startup instead.
  let starting = true;
  const startupUnmatched: UnmatchedPolicy[] = [];

  const registry: ToolRegistry = {
    get tools() {
      return [...published.values()].map((p) => p.tool);
    },
    get: (toolName) =>
      published.get(toolName)?.tool ?? quarantine.get(toolName)?.tool ?? waiting(toolName),
    get listing() {
      return (listingCache ??= [...published.values()].map((p) => toListEntry(p.tool)));
    },
  };

  const upstreamOf = new Map<string, UpstreamRuntime>();
  // `<prefix>.<name>` of an upstream that has not listed its tools yet: see pending-tool.ts.
  const waiting = (toolName: string): ToolDefinition | undefined => {
    const dot = toolName.indexOf(".");
    const upstream = dot > 0 ? byPrefix.get(toolName.slice(0, dot)) : undefined;
    return upstream && !listed.has(upstream) ? pendingTool(upstream, toolName) : undefined;
  };
  const byPrefix = new Map<string, UpstreamRuntime>();
  // Listings are applied one at a time (pinning writes the lock file). The chain never
  // rejects: a listing that cannot be applied (e.g. the lock cannot be written) is logged
  // and leaves that upstream's tools as they were (unpublished at first: fail closed);
  // the next listing is tried again.
  let applying: Promise<void> = Promise.resolve();
  const evaluate = (upstream: UpstreamRuntime, tools: readonly Tool[]) => {
    applying = applying
      .then(() => apply(upstream, tools))
      .catch((error: unknown) =>
        log.error(
          { reason: (error as Error).message, upstream: upstream.name },
          "could not apply the upstream's tool list: its tools stay as they were",
        ),
      );
  };

  const apply = async (upstream: UpstreamRuntime, tools: readonly Tool[]) => {
    const upOptions = upstream.options;
    const names = tools.flatMap((t) => (isRecord(t) && typeof t.name === "string" ? [t.name] : []));
    const unmatched = unmatchedPolicies(upstream.name, upOptions, names);
    if (starting && unmatched.length > 0) {
      // createGateway refuses to start; nothing is published or pinned.
      startupUnmatched.push(...unmatched);
      return;
    }
    reportPolicyHold(upstream, unmatched);
    const ownEntry = (toolName: string) =>
      upOptions.tools !== undefined && Object.hasOwn(upOptions.tools, toolName);
    const firstPins: Parameters<typeof pinContracts>[1][number][] = [];
    const trustOnFirstUse = lockFile !== undefined && !lockKnowsPrefix(lock, upstream.prefix);
    const nextPublished = new Map<string, Published>();
    const nextQuarantine = new Map<string, QuarantinedTool & { tool: ToolDefinition }>();
    for (const entry of tools) {
      if (!isRecord(entry) || typeof entry.name !== "string") continue;
      const policy = policyFor(upOptions, entry.name);
      if (policy.hidden === true) continue;
      const toolName = publishedName(upstream.prefix, entry.name);
      const timeoutMs = policy.timeoutMs ?? upOptions.timeoutMs ?? defaultTimeoutMs;
      const target = { upstream, entry, timeoutMs };
      const built = buildGatewayTool({
        prefix: upstream.prefix,
        entry,
        policy: { ...policy, timeoutMs },
        timeoutMs,
        version: versionOf(entry),
        handler: (args, ctx) =>
          forward(target, built.ok ? built.tool : (undefined as never), args, ctx),
      });
      if (!built.ok) {
        report(toolName, `unusable:${built.reason}`, () =>
          log.error({ tool: toolName, reason: built.reason }, "upstream tool not published"),
        );
        continue;
      }
      if (nextPublished.has(toolName) || nextQuarantine.has(toolName)) continue;
      if (lockFile !== undefined && trustOnFirstUse)
        firstPins.push(upstreamContract(upstream.prefix, entry));
      // A stale entry holds every tool without its own: one of them may be the renamed tool.
      if (unmatched.length > 0 && !ownEntry(entry.name)) {
        nextQuarantine.set(toolName, {
          name: toolName,
          upstream: upstream.name,
          reason: "policy",
          changes: [],
          tool: built.tool,
        });
        reported.set(toolName, "q:policy");
        continue;
      }
      if (lockFile !== undefined) {
        const contract = upstreamContract(upstream.prefix, entry);
        if (!trustOnFirstUse) {
          const verdict = verdictOf(lock, contract);
          if (verdict.status !== "pinned") {
            const changes = verdict.status === "changed" ? verdict.changes : [];
            nextQuarantine.set(toolName, {
              name: toolName,
              upstream: upstream.name,
              reason: verdict.status,
              changes,
              tool: built.tool,
            });
            report(toolName, `q:${JSON.stringify(contract)}`, () =>
              log.warn(
                {
                  tool: toolName,
                  upstream: upstream.name,
                  reason: verdict.status,
                  changes: changes.map((c) => `${c.kind} ${c.path}: ${c.message}`),
                  lockFile,
                },
                verdict.status === "new"
                  ? "upstream offers a tool the lock does not pin: quarantined until approved (toolgate contract approve)"
                  : "upstream changed a pinned tool's contract: quarantined until approved (toolgate contract check, then approve)",
              ),
            );
            continue;
          }
        }
      }
      if (reported.get(toolName) === "q:policy")
        log.info(
          { tool: toolName },
          "the upstream's tools match the config's policies again: released",
        );
      else if (reported.get(toolName)?.startsWith("q:"))
        log.info({ tool: toolName }, "tool matches its pinned contract again: released");
      reported.delete(toolName);
      nextPublished.set(toolName, { tool: built.tool, upstream });
    }
    if (firstPins.length > 0 && lockFile !== undefined) {
      lock = await pinContracts(lockFile, firstPins);
      log.info(
        { upstream: upstream.name, tools: firstPins.length, lockFile },
        "pinned the upstream's tool contracts (first run for it): review and commit the lock file",
      );
    }
    for (const [toolName, entry] of published)
      if (entry.upstream === upstream) published.delete(toolName);
    for (const [toolName, entry] of quarantine)
      if (entry.upstream === upstream.name) quarantine.delete(toolName);
    for (const [toolName, entry] of nextPublished) published.set(toolName, entry);
    for (const [toolName, entry] of nextQuarantine) quarantine.set(toolName, entry);
    listed.add(upstream);
    listingCache = undefined;
  };

  // One error line per change of an upstream's stale entries (not per refresh).
  const reportPolicyHold = (upstream: UpstreamRuntime, unmatched: readonly UnmatchedPolicy[]) => {
    const key = `policy:${upstream.name}`;
    if (unmatched.length === 0) reported.delete(key);
    else report(key, JSON.stringify(unmatched), () => logStaleEntries(log, unmatched));
  };

  const report = (toolName: string, key: string, write: () => void) => {
    if (reported.get(toolName) === key) return;
    reported.set(toolName, key);
    write();
  };

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
      ctx.upstream = entry.upstream.name;
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
    byPrefix.set(upstream.prefix, upstream);
  }
  const all = [...upstreamOf.values()];
  await Promise.all(all.map((up) => up.start()));
  await applying;
  starting = false;
  if (startupUnmatched.length > 0) {
    await server.close();
    await Promise.all(all.map((up) => up.close()));
    await ownStore?.close();
    throw new UnknownToolPolicyError(startupUnmatched);
  }
  warnUnscoped(options, registry.tools, log);

  const refreshAll = async () => {
    await Promise.all(all.map((up) => up.refresh()));
    await applying;
  };
  const refreshMs = pinning?.refreshIntervalMs ?? DEFAULT_REFRESH_MS;
  const refresher = setInterval(() => void refreshAll(), refreshMs);
  refresher.unref();
  // An approval rewrites the lock: re-check every upstream's current tools against it.
  const stopWatching = lockFile
    ? watchLock(lockFile, () => {
        void readLockIfAny(lockFile)
          .then((next) => {
            lock = next;
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

/** A toolgate upstream publishes its tools' versions; others have none. */
function versionOf(entry: Tool): string {
  const meta = isRecord(entry._meta) ? entry._meta : {};
  const version = meta["toolgate/version"];
  return typeof version === "string" && version !== "" ? version : UNKNOWN_VERSION;
}
