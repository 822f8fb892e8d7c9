// `toolgate contract`: writes the lock of the tools' contracts (snapshot) and compares the
// current contracts with it (check), for review and CI. Loading contracts lives in
// src/contract/source.ts, the comparison in diff.ts; this file parses flags and prints.
// The source flags are contract-source.ts, `approve` is contract-approve.ts.
import { parseArgs } from "node:util";
import {
  DEFAULT_LOCK_FILE,
  LockFileError,
  formatLock,
  readLock,
  sortKeys,
  writeLock,
} from "../contract/lock-file.js";
import { checkFails, formatReport } from "../contract/report.js";
import { lockOf } from "../contract/snapshot.js";
import type { ContractLock } from "../contract/types.js";
import type { CliIo } from "./command.js";
import { UsageError, parseOrUsage } from "./command.js";
import { approve } from "./contract-approve.js";
import { SOURCE_OPTIONS, describeCliSource, load, sourceOf } from "./contract-source.js";
import { usage } from "./contract-usage.js";

export { usage };

export async function run(args: string[], io: CliIo): Promise<number> {
  const [subcommand, ...rest] = args;
  if (subcommand === undefined) throw new UsageError("missing subcommand: snapshot or check");
  if (subcommand === "--help" || subcommand === "-h" || subcommand === "help") {
    io.stdout(usage);
    return 0;
  }
  if (subcommand === "snapshot") return snapshot(rest, io);
  if (subcommand === "check") return check(rest, io);
  if (subcommand === "approve") return approve(rest, io);
  throw new UsageError(`unknown subcommand '${subcommand}': use snapshot, check or approve`);
}

async function snapshot(args: string[], io: CliIo): Promise<number> {
  const { values } = parseOrUsage(() =>
    parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: { ...SOURCE_OPTIONS, out: { type: "string" } },
    }),
  );
  if (values.help) {
    io.stdout(usage);
    return 0;
  }
  const { source, timeoutMs } = sourceOf(values);
  const loaded = await load(source, timeoutMs, io);
  const out = values.out ?? loaded.lockFile ?? DEFAULT_LOCK_FILE;
  if (out === "") throw new UsageError("--out needs a file name (or - for stdout)");
  const lock = lockOf(loaded.contracts);
  const count = Object.keys(lock.tools).length;
  if (out === "-") {
    io.stdout(formatLock(lock));
    return 0;
  }
  await writeLock(out, lock).catch((err: unknown) => {
    throw new Error(`cannot write ${out}: ${(err as Error).message}`);
  });
  const list = Object.values(lock.tools)
    .map((tool) => `${tool.name} ${tool.version}`)
    .join(", ");
  io.stdout(`Wrote ${count} tool contract${count === 1 ? "" : "s"} to ${out}: ${list}\n`);
  return 0;
}

async function check(args: string[], io: CliIo): Promise<number> {
  const { values } = parseOrUsage(() =>
    parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        ...SOURCE_OPTIONS,
        lock: { type: "string" },
        strict: { type: "boolean" },
        "tolerant-reader": { type: "boolean" },
        json: { type: "boolean" },
      },
    }),
  );
  if (values.help) {
    io.stdout(usage);
    return 0;
  }
  if (values.lock === "") throw new UsageError("--lock needs a file name");
  const { source, timeoutMs } = sourceOf(values);
  const loaded = await load(source, timeoutMs, io);
  const lockPath = values.lock ?? loaded.lockFile ?? DEFAULT_LOCK_FILE;
  let before: ContractLock;
  try {
    before = await readLock(lockPath);
  } catch (err) {
    if (err instanceof LockFileError && err.missing) {
      throw new Error(
        `${err.message}: run toolgate contract snapshot --out ${lockPath} ${describeCliSource(source)} to create it`,
      );
    }
    throw err;
  }
  const after = lockOf(loaded.contracts);
  // Both sides in one canonical form (sorted keys), as the lock is written.
  // Loaded here: `snapshot` needs none of the comparison.
  const { diffLocks } = await import("../contract/diff.js");
  const diffed = diffLocks(sortKeys(before) as ContractLock, sortKeys(after) as ContractLock, {
    tolerantReader: values["tolerant-reader"] === true,
  });
  // Gateway pins: upstream tools have no versions of their own, and any change quarantines.
  const gateway = source.kind === "config";
  const report = gateway ? { ...diffed, versionNotBumped: [] } : diffed;
  const strict = values.strict === true;
  if (values.json) {
    io.stdout(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    io.stdout(
      formatReport(report, {
        before,
        after,
        strict,
        lockPath,
        source: describeCliSource(source),
        approveCommand: gateway
          ? `toolgate contract approve ${describeCliSource(source)}`
          : undefined,
      }),
    );
  }
  if (gateway) return report.changes.length > 0 ? 1 : 0;
  return checkFails(report, strict) ? 1 : 0;
}
