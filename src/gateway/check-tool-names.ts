// `toolgate gateway --check`: do the config's policy entries (`upstreams.<u>.tools.<name>`)
// name tools their upstreams offer? The lock file answers for the names it pins, without
// starting anything. Names it cannot confirm (the upstream is not pinned yet, the entry
// hides a tool, which is never pinned, or names a typo) are checked against the upstream
// itself: connect, list, close, bounded by its connect timeout. An upstream that cannot be
// reached leaves those names unchecked, which the CLI reports as such (its own exit code).
import { pino } from "pino";
import { DEFAULT_LOCK_FILE } from "../contract/lock-file.js";
import type { Logger } from "../log/logger.js";
import { isRecord } from "../util/is-record.js";
import type { GatewayOptions, UpstreamOptions } from "./options.js";
import { readLockIfAny } from "./pinning.js";
import { unmatchedPolicies, type UnmatchedPolicy } from "./tool-policies.js";
import { createUpstream } from "./upstream.js";

export type ToolNameCheck =
  | {
      readonly upstream: string;
      readonly outcome: "ok";
      /** What confirmed the names: the lock, the upstream's tools/list, or nothing to check. */
      readonly source: "lock" | "upstream" | "none";
    }
  | {
      readonly upstream: string;
      readonly outcome: "unmatched";
      readonly unmatched: UnmatchedPolicy[];
    }
  | {
      readonly upstream: string;
      readonly outcome: "unchecked";
      /** The entries neither the lock nor the upstream could confirm. */
      readonly names: readonly string[];
      readonly reason: string;
    };

/** Checks every upstream's policy entries; upstreams are asked in parallel. */
export async function checkToolNames(options: GatewayOptions): Promise<ToolNameCheck[]> {
  const pinning = options.pinning;
  const lock =
    pinning === false ? undefined : await readLockIfAny(pinning?.lockFile ?? DEFAULT_LOCK_FILE);
  return Promise.all(
    Object.entries(options.upstreams).map(async ([key, upstream]): Promise<ToolNameCheck> => {
      const entries = Object.keys(upstream.tools ?? {});
      if (entries.length === 0) return { upstream: key, outcome: "ok", source: "none" };
      const prefix = `${upstream.prefix ?? key}.`;
      const pinned = new Set(
        Object.keys(lock?.tools ?? {})
          .filter((name) => name.startsWith(prefix))
          .map((name) => name.slice(prefix.length)),
      );
      const remaining = entries.filter((name) => !pinned.has(name));
      if (remaining.length === 0) return { upstream: key, outcome: "ok", source: "lock" };
      const listing = await listOnce(key, upstream);
      if ("reason" in listing)
        return { upstream: key, outcome: "unchecked", names: remaining, reason: listing.reason };
      const unmatched = unmatchedPolicies(key, upstream, listing.names);
      return unmatched.length === 0
        ? { upstream: key, outcome: "ok", source: "upstream" }
        : { upstream: key, outcome: "unmatched", unmatched };
    }),
  );
}

/** The upstream's tool names, from one connection; or why it could not be listed. */
async function listOnce(
  key: string,
  options: UpstreamOptions,
): Promise<{ names: string[] } | { reason: string }> {
  let reason = "it did not answer";
  // The upstream reports a failed attempt in its log line; that line is the reason.
  const log: Logger = pino(
    { level: "warn" },
    {
      write(line: string) {
        try {
          const record: unknown = JSON.parse(line);
          if (isRecord(record) && typeof record["reason"] === "string") {
            const stderr =
              typeof record["stderr"] === "string" ? ` (stderr: ${record["stderr"]})` : "";
            reason = `${record["reason"]}${stderr}`;
          }
        } catch {
          // not a log record of ours
        }
      },
    },
  );
  const upstream = createUpstream(key, options.prefix ?? key, options, log, {
    onTools: () => undefined,
  });
  try {
    await upstream.start();
    const tools = upstream.state() === "ready" ? upstream.tools() : undefined;
    if (tools === undefined) return { reason };
    return {
      names: tools.flatMap((t) => (isRecord(t) && typeof t.name === "string" ? [t.name] : [])),
    };
  } finally {
    await upstream.close();
  }
}
