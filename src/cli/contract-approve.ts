// `toolgate contract approve`: writes a gateway's upstream contracts into its lock, which
// releases the tools the gateway quarantined (a running gateway re-reads the lock).
import { parseArgs } from "node:util";
import {
  DEFAULT_LOCK_FILE,
  LockFileError,
  readLock,
  sortKeys,
  writeLock,
} from "../contract/lock-file.js";
import { lockOf } from "../contract/snapshot.js";
import type { ContractLock, ToolContract } from "../contract/types.js";
import type { CliIo } from "./command.js";
import { UsageError, parseOrUsage } from "./command.js";
import { loadFromConfig } from "./contract-source.js";
import { usage } from "./contract-usage.js";

export async function approve(args: string[], io: CliIo): Promise<number> {
  const { values } = parseOrUsage(() =>
    parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        config: { type: "string" },
        tool: { type: "string", multiple: true },
        lock: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }),
  );
  if (values.help) {
    io.stdout(usage);
    return 0;
  }
  if (values.config === undefined)
    throw new UsageError(
      "approve needs --config (a gateway's toolgate.yaml); for a server you own, use snapshot",
    );
  if (values.config === "") throw new UsageError("--config needs a file name");
  if (values.lock === "") throw new UsageError("--lock needs a file name");
  const loaded = await loadFromConfig(values.config, io);
  const lockPath = values.lock ?? loaded.lockFile ?? DEFAULT_LOCK_FILE;
  let before: ContractLock | undefined;
  try {
    before = await readLock(lockPath);
  } catch (err) {
    if (!(err instanceof LockFileError && err.missing)) throw err;
  }
  const current = lockOf(loaded.contracts).tools;
  const prefixes = new Set(loaded.contracts.map((c) => c.name.slice(0, c.name.indexOf(".") + 1)));
  const tools: Record<string, ToolContract> = { ...before?.tools };
  const same = (a: ToolContract | undefined, b: ToolContract | undefined) =>
    JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
  // Candidates: every current tool, and pinned tools of these upstreams that are gone.
  const names = new Set([
    ...Object.keys(current),
    ...Object.keys(tools).filter((name) => [...prefixes].some((p) => name.startsWith(p))),
  ]);
  const wanted = values.tool;
  for (const name of wanted ?? []) {
    if (!names.has(name)) {
      throw new Error(
        `no tool '${name}' in the upstreams of ${values.config} or the lock (names are <prefix>.<tool>)`,
      );
    }
  }
  const approved: string[] = [];
  for (const name of [...names].sort()) {
    if (wanted && !wanted.includes(name)) continue;
    if (same(tools[name], current[name])) continue;
    if (current[name]) tools[name] = current[name];
    else delete tools[name];
    approved.push(
      `${name} (${current[name] ? (before?.tools[name] ? "changed" : "new") : "removed"})`,
    );
  }
  if (approved.length === 0) {
    io.stdout(`Nothing to approve: ${lockPath} already pins the current contracts.\n`);
    return 0;
  }
  await writeLock(lockPath, { lockfileVersion: 1, tools }).catch((err: unknown) => {
    throw new Error(`cannot write ${lockPath}: ${(err as Error).message}`);
  });
  io.stdout(`Approved ${approved.length} in ${lockPath}: ${approved.join(", ")}\n`);
  return 0;
}
