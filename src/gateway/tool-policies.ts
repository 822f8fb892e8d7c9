// A policy entry (`upstreams.<u>.tools.<name>`) must name a tool its upstream offers. A
// typo (`wirte_file`, `move-file`) would otherwise leave the real tool on the upstream's
// laxer `defaults`: a token without `files:write` could write files. The gateway checks
// the entries against every tools/list: at startup a mismatch refuses to start, later it
// quarantines the upstream's tools that have no entry of their own (see tool-set.ts).
import type { Logger } from "../log/logger.js";
import type { ToolDefinition } from "../tool/types.js";
import { closestKey } from "./config/suggest.js";
import type { GatewayOptions, UpstreamOptions } from "./options.js";

/** An entry under `upstreams.<upstream>.tools` that names no tool of that upstream. */
export interface UnmatchedPolicy {
  /** The upstream's key in `upstreams`. */
  readonly upstream: string;
  /** The entry's key: the tool name as the config spells it. */
  readonly tool: string;
  /** The upstream's tool closest to it, if one is close. */
  readonly suggestion?: string;
}

/** The entries of `options.tools` that name none of `toolNames` (the upstream's names). */
export function unmatchedPolicies(
  upstream: string,
  options: UpstreamOptions,
  toolNames: readonly string[],
): UnmatchedPolicy[] {
  const offered = new Set(toolNames);
  const unmatched: UnmatchedPolicy[] = [];
  for (const tool of Object.keys(options.tools ?? {})) {
    if (offered.has(tool)) continue;
    const suggestion = closestKey(tool, toolNames);
    unmatched.push(suggestion === undefined ? { upstream, tool } : { upstream, tool, suggestion });
  }
  return unmatched;
}

/** The setting's path in the config: `["upstreams", "fs", "tools", "wirte_file"]`. */
export function policyPath(entry: UnmatchedPolicy): readonly string[] {
  return ["upstreams", entry.upstream, "tools", entry.tool];
}

/** `no tool named 'wirte_file' at upstream 'fs' (did you mean 'write_file'?)` */
export function describeUnmatched(entry: UnmatchedPolicy): string {
  return (
    `no tool named '${entry.tool}' at upstream '${entry.upstream}'` +
    (entry.suggestion === undefined
      ? " (tool names under tools: are the upstream's own, without the prefix)"
      : ` (did you mean '${entry.suggestion}'?)`)
  );
}

/**
 * `createGateway` refuses to start: a policy entry names a tool its upstream did not list.
 * A TypeError, as for other bad options; `unmatched` says which entries, for a caller that
 * points at them (the CLI does, with the config file's line and column).
 */
export class UnknownToolPolicyError extends TypeError {
  override readonly name = "UnknownToolPolicyError";
  readonly unmatched: readonly UnmatchedPolicy[];

  constructor(unmatched: readonly UnmatchedPolicy[]) {
    super(
      unmatched
        .map(
          (entry) =>
            `createGateway: upstreams.${entry.upstream}.tools.${entry.tool}: ${describeUnmatched(entry)}`,
        )
        .join("\n"),
    );
    this.unmatched = Object.freeze([...unmatched]);
  }
}

/** The error log of a running gateway whose upstream no longer offers tools its config names. */
export function logStaleEntries(log: Logger, unmatched: readonly UnmatchedPolicy[]): void {
  log.error(
    {
      upstream: unmatched[0]?.upstream,
      entries: unmatched.map(
        (entry) => `upstreams.${entry.upstream}.tools.${entry.tool}: ${describeUnmatched(entry)}`,
      ),
    },
    "the config has a policy for a tool the upstream no longer offers (renamed or removed?): " +
      "its tools without a policy entry of their own are quarantined until the config or the upstream is fixed",
  );
}

/**
 * With auth on, a published tool without scopes is open to any caller with a valid token.
 * That may be intended (it is the default), so it is a warning, once, at startup.
 */
export function warnUnscoped(
  options: GatewayOptions,
  tools: readonly ToolDefinition[],
  log: Logger,
): void {
  if (options.auth === undefined) return;
  const open = tools.filter((tool) => tool.scopes.length === 0).map((tool) => tool.name);
  if (open.length === 0) return;
  log.warn(
    { tools: open },
    "these tools require no scope: any caller with a valid token may call them " +
      "(set defaults.scopes or tools.<name>.scopes in the upstream's config to restrict them)",
  );
}
