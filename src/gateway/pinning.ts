// Contract pinning, the defence against an upstream that changes a tool under the model's
// feet ("rug pull"): the lock file (the `toolgate contract` format) holds every upstream
// tool's contract as the upstream published it when it was approved. A tool whose current
// contract differs, or a new tool of an upstream the lock already knows, is quarantined
// until `toolgate contract approve` writes its current contract into the lock.
import { watchFile, unwatchFile } from "node:fs";
import type { Tool } from "@modelcontextprotocol/client";
import { diffLocks } from "../contract/diff.js";
import { LockFileError, readLock, sortKeys, writeLock } from "../contract/lock-file.js";
import { contractFromListing } from "../contract/snapshot.js";
import type { ContractChange, ContractLock, ToolContract } from "../contract/types.js";
import { publishedName } from "./gateway-tool.js";

export type PinVerdict =
  | { readonly status: "pinned" }
  | { readonly status: "changed"; readonly changes: readonly ContractChange[] }
  | { readonly status: "new" };

/** The contract the lock pins for an upstream tool: its tools/list entry, under the published name. */
export function upstreamContract(prefix: string, entry: Tool): ToolContract {
  return contractFromListing({ ...entry, name: publishedName(prefix, entry.name) });
}

export function samePin(a: ToolContract, b: ToolContract): boolean {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}

/** How the current contract compares with the pinned one. */
export function verdictOf(lock: ContractLock | undefined, current: ToolContract): PinVerdict {
  const pinned = lock?.tools[current.name];
  if (!pinned) return { status: "new" };
  if (samePin(pinned, current)) return { status: "pinned" };
  const report = diffLocks(
    sortKeys({ lockfileVersion: 1, tools: { [current.name]: pinned } }) as ContractLock,
    sortKeys({ lockfileVersion: 1, tools: { [current.name]: current } }) as ContractLock,
  );
  return { status: "changed", changes: report.changes };
}

/** Whether the lock pins any tool of this upstream (published as `<prefix>.<tool>`). */
export function lockKnowsPrefix(lock: ContractLock | undefined, prefix: string): boolean {
  return Object.keys(lock?.tools ?? {}).some((name) => name.startsWith(`${prefix}.`));
}

/** Reads the lock; undefined when there is none yet (the first run). */
export async function readLockIfAny(file: string): Promise<ContractLock | undefined> {
  try {
    return await readLock(file);
  } catch (error) {
    if (error instanceof LockFileError && error.missing) return undefined;
    throw error;
  }
}

/**
 * Adds or replaces these contracts in the lock on disk, re-reading it first so a
 * concurrent approval is not overwritten. Resolves with the lock as written.
 */
export async function pinContracts(
  file: string,
  contracts: readonly ToolContract[],
): Promise<ContractLock> {
  const current = await readLockIfAny(file);
  const tools: Record<string, ToolContract> = { ...current?.tools };
  for (const contract of contracts) tools[contract.name] = contract;
  const lock: ContractLock = { lockfileVersion: 1, tools };
  await writeLock(file, lock);
  return lock;
}

/** Calls `onChange` when the lock file changes on disk (an approval); returns the stopper. */
export function watchLock(file: string, onChange: () => void, intervalMs = 1000): () => void {
  const listener = (now: { mtimeMs: number }, before: { mtimeMs: number }) => {
    if (now.mtimeMs !== before.mtimeMs) onChange();
  };
  watchFile(file, { interval: intervalMs, persistent: false }, listener);
  return () => unwatchFile(file, listener);
}
