// The lock file (`toolgate.lock.json`) on disk: one stable text for one set of contracts
// (keys sorted at every level, array order kept, 2-space indent, final newline), so it
// diffs line by line in review; and a reader that says exactly what is wrong with a file.
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import type { ContractLock, ToolContract } from "./types.js";
import { isRecord } from "../util/is-record.js";

/** Where `toolgate contract lock` writes and the gateway's pinning reads, by default. */
export const DEFAULT_LOCK_FILE = "toolgate.lock.json";

/** A lock file that is missing or not a lock: the message names the file and the problem. */
export class LockFileError extends Error {
  override readonly name = "LockFileError";
  constructor(
    message: string,
    /** True when there is no file at all (the first run: snapshot creates it). */
    readonly missing = false,
  ) {
    super(message);
  }
}

/** `value` with the keys of every object sorted; arrays keep their order. */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== "object" || value === null) return value;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const member = (value as Record<string, unknown>)[key];
    if (member !== undefined) sorted[key] = sortKeys(member);
  }
  return sorted;
}

/** The lock's text: sorted keys, 2-space indent, trailing newline. */
export function formatLock(lock: ContractLock): string {
  return `${JSON.stringify(sortKeys(lock), null, 2)}\n`;
}

/** Writes the lock (atomically: a reader never sees half a file). */
export async function writeLock(file: string, lock: ContractLock): Promise<void> {
  const text = formatLock(lock);
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, text, "utf8");
  await rename(temp, file);
}

/** Reads and checks a lock file; every problem is a LockFileError naming the file. */
export async function readLock(file: string): Promise<ContractLock> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new LockFileError(`no lock file at ${file}`, true);
    if (code === "EISDIR") throw new LockFileError(`${file} is a directory, not a lock file`);
    throw new LockFileError(`cannot read ${file}: ${(err as Error).message}`);
  }
  return parseLock(text, file);
}

/** Parses and checks lock text; `file` names it in error messages. */
export function parseLock(text: string, file = "lock file"): ContractLock {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new LockFileError(`${file} is not valid JSON (${(err as Error).message})`);
  }
  const fail = (what: string): never => {
    throw new LockFileError(`${file} is not a toolgate lock file: ${what}`);
  };
  if (!isRecord(data)) return fail("expected a JSON object");
  if (data["lockfileVersion"] !== 1) {
    if (data["lockfileVersion"] === undefined) return fail("lockfileVersion is missing");
    return fail(
      `lockfileVersion is ${JSON.stringify(data["lockfileVersion"])}; this toolgate reads version 1`,
    );
  }
  const tools = data["tools"];
  if (!isRecord(tools)) return fail("tools must be an object of tool contracts keyed by name");
  for (const [name, contract] of Object.entries(tools)) {
    const problem = contractProblem(name, contract);
    if (problem !== undefined) fail(`tools.${name}: ${problem}`);
  }
  return { lockfileVersion: 1, tools: tools as Record<string, ToolContract> };
}

function contractProblem(name: string, value: unknown): string | undefined {
  if (!isRecord(value)) return "expected an object";
  if (value["name"] !== name) return `name must be ${JSON.stringify(name)} (its key)`;
  for (const key of ["version", "description"]) {
    if (typeof value[key] !== "string") return `${key} must be a string`;
  }
  if (value["title"] !== undefined && typeof value["title"] !== "string")
    return "title must be a string";
  if (!isRecord(value["inputSchema"])) return "inputSchema must be an object";
  if (value["outputSchema"] !== undefined && !isRecord(value["outputSchema"]))
    return "outputSchema must be an object";
  if (!isRecord(value["annotations"])) return "annotations must be an object";
  const scopes = value["scopes"];
  if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === "string"))
    return "scopes must be an array of strings";
  if (value["sideEffect"] !== "read" && value["sideEffect"] !== "write")
    return 'sideEffect must be "read" or "write"';
  const deprecated = value["deprecated"];
  if (deprecated !== undefined) {
    if (!isRecord(deprecated) || typeof deprecated["since"] !== "string")
      return "deprecated must be an object with a since string";
    for (const key of ["useInstead", "removeAfter"]) {
      if (deprecated[key] !== undefined && typeof deprecated[key] !== "string")
        return `deprecated.${key} must be a string`;
    }
  }
  return undefined;
}
