// The gateway's tool set: each upstream's tools/list becomes toolgate tools
// (`<prefix>.<tool>`) with the config's policy, published or quarantined (pinning, stale
// policy entries), rebuilt per upstream as listings arrive. createGateway serves what this
// publishes and refuses what it holds.
import type { Tool } from "@modelcontextprotocol/client";
import type { Tool as ListedTool } from "@modelcontextprotocol/server";
import type { Logger } from "../log/logger.js";
import { toListEntry, type ToolRegistry } from "../server/tool-registry.js";
import type { ContractChange, ContractLock } from "../contract/types.js";
import { UNKNOWN_VERSION } from "../contract/snapshot.js";
import type { ToolDefinition } from "../tool/types.js";
import { isRecord } from "../util/is-record.js";
import { forward } from "./forward.js";
import { buildGatewayTool, policyFor, publishedName } from "./gateway-tool.js";
import { lockKnowsPrefix, pinContracts, upstreamContract, verdictOf } from "./pinning.js";
import type { UpstreamRuntime } from "./upstream.js";
import { pendingTool } from "./pending-tool.js";
import type { QuarantineReason } from "./quarantine-notice.js";
import { logStaleEntries, unmatchedPolicies, type UnmatchedPolicy } from "./tool-policies.js";

export interface QuarantinedTool {
  readonly name: string;
  readonly upstream: string;
  /** Why, and what releases it: see quarantine-notice.ts. */
  readonly reason: QuarantineReason;
  readonly changes: readonly ContractChange[];
}

export interface Published {
  readonly tool: ToolDefinition;
  readonly upstream: UpstreamRuntime;
}

/** A quarantined tool with the definition a call to it resolves to (and is refused). */
export type HeldTool = QuarantinedTool & { readonly tool: ToolDefinition };

export interface ToolSetOptions {
  readonly log: Logger;
  /** The lock file that pins upstream contracts; undefined when pinning is off. */
  readonly lockFile: string | undefined;
  /** The lock as read at startup. */
  readonly lock: ContractLock | undefined;
  readonly defaultTimeoutMs: number;
}

export interface ToolSet {
  /** Published tools by published name. */
  readonly published: ReadonlyMap<string, Published>;
  /** Quarantined tools by published name. */
  readonly quarantine: ReadonlyMap<string, HeldTool>;
  /** What the tool server resolves and lists tools with. */
  readonly registry: ToolRegistry;
  /** Makes calls to the upstream's tools wait for its first listing (see pending-tool.ts). */
  add(upstream: UpstreamRuntime): void;
  /** Queues one upstream's tools/list to be applied; never throws (a plain function). */
  readonly evaluate: (upstream: UpstreamRuntime, tools: readonly Tool[]) => void;
  /** Resolves once every listing queued so far is applied. */
  applied(): Promise<void>;
  /**
   * Ends startup. Returns the policy entries that matched no tool while starting, which
   * createGateway refuses to start with; from now on such entries quarantine tools instead.
   */
  endStartup(): readonly UnmatchedPolicy[];
  /** The lock to check listings against from now on (an approval rewrote it). */
  setLock(lock: ContractLock | undefined): void;
}

export function createToolSet(options: ToolSetOptions): ToolSet {
  const { log, lockFile, defaultTimeoutMs } = options;
  let lock = options.lock;

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

  return {
    published,
    quarantine,
    registry,
    add: (upstream) => void byPrefix.set(upstream.prefix, upstream),
    evaluate,
    applied: () => applying,
    endStartup() {
      starting = false;
      return startupUnmatched;
    },
    setLock(next) {
      lock = next;
    },
  };
}

/** A toolgate upstream publishes its tools' versions; others have none. */
function versionOf(entry: Tool): string {
  const meta = isRecord(entry._meta) ? entry._meta : {};
  const version = meta["toolgate/version"];
  return typeof version === "string" && version !== "" ? version : UNKNOWN_VERSION;
}
