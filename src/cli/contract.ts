// `toolgate contract`: writes the lock of the tools' contracts (snapshot) and compares the
// current contracts with it (check), for review and CI. Loading contracts lives in
// src/contract/source.ts, the comparison in diff.ts; this file parses flags and prints.
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
import {
  DEFAULT_SOURCE_TIMEOUT_MS,
  describeSource,
  loadContracts,
  parseHeader,
  splitCommandLine,
  type ContractSource,
} from "../contract/source.js";
import type { ContractLock, ToolContract } from "../contract/types.js";
import { parseDuration } from "../util/duration.js";
import type { CliIo } from "./command.js";
import { UsageError, parseOrUsage } from "./command.js";

export const usage = `Usage: toolgate contract snapshot [--out FILE] SOURCE
       toolgate contract check [--lock FILE] [--strict] [--tolerant-reader] [--json] SOURCE
       toolgate contract approve --config FILE [--tool NAME]... [--lock FILE]

A tool's contract is what clients and models rely on: its name, version, description,
input and output schemas, annotations, scopes and side effect. 'snapshot' writes the
contracts to a lock file to commit; 'check' compares the current contracts with it and
fails on breaking changes and on changes without a version bump.

SOURCE, exactly one of:
  --module PATH      a JS/TS module exporting \`tools\` (defineTool results) or \`server\`
                     (createToolServer result), or either as its default export
  --url URL          a running MCP server (Streamable HTTP), asked for tools/list
  --header "N: V"    with --url: a request header, e.g. "Authorization: Bearer $TOKEN";
                     repeatable (with auth on, tools/list shows only what the token may call)
  --stdio "CMD ARGS" an MCP server started as a child process and asked over stdio
  --config FILE      a gateway's toolgate.yaml: every upstream's tools as the gateway
                     pins them (the lock defaults to the config's pinning.lockFile)
  --timeout TIME     bound for --url/--stdio: 10s, 1500ms or 1m; a bare integer is
                     milliseconds (default 10s, at most 10m)

snapshot:
  --out FILE         where to write the lock (default ${DEFAULT_LOCK_FILE}; - for stdout)

check:
  --lock FILE        the lock to compare with (default ${DEFAULT_LOCK_FILE})
  --strict           behavioural changes (descriptions, annotations) fail the check too
  --tolerant-reader  a new field in a closed output object, or an output object opened
                     to extra fields, is compatible: only if every client ignores fields
                     it does not know (clients that validate results reject them)
  --json             print the report as JSON: { changes, versionNotBumped }

With --config, check fails on any change: the gateway quarantines every changed tool.

approve (gateway): writes the upstreams' current contracts into the lock, which
releases quarantined tools (a running gateway notices within a second):
  --tool NAME        approve only this published tool (repeatable); default: every
                     changed, new or removed tool of the config's upstreams
  --lock FILE        the lock to update (default: the config's pinning.lockFile)

Exit codes (check): 0 no changes, or only compatible/behavioural ones; 1 breaking
changes, a contract changed without a version bump, behavioural changes with --strict,
or a missing/invalid lock or source; 2 usage errors.

  -h, --help         show this help
`;

const SOURCE_OPTIONS = {
  module: { type: "string" },
  url: { type: "string" },
  header: { type: "string", multiple: true },
  stdio: { type: "string" },
  config: { type: "string" },
  timeout: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** A source of the CLI: the library's, or a gateway config (its upstreams). */
type CliSource = ContractSource | { readonly kind: "config"; readonly path: string };

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

interface SourceFlags {
  config?: string | undefined;
  module?: string | undefined;
  url?: string | undefined;
  header?: string[] | undefined;
  stdio?: string | undefined;
  timeout?: string | undefined;
}

/** Exactly one source, checked: every mistake here is a usage error (exit 2). */
function sourceOf(values: SourceFlags): { source: CliSource; timeoutMs: number } {
  const given = (["module", "url", "stdio", "config"] as const).filter(
    (key) => values[key] !== undefined,
  );
  if (given.length === 0)
    throw new UsageError("say where the tools are: --module, --url, --stdio or --config");
  if (given.length > 1) {
    throw new UsageError(`use one source, not ${given.map((key) => `--${key}`).join(" and ")}`);
  }
  if (values.header !== undefined && values.url === undefined) {
    throw new UsageError("--header only applies with --url");
  }
  if (
    values.timeout !== undefined &&
    (values.module !== undefined || values.config !== undefined)
  ) {
    throw new UsageError("--timeout only applies with --url or --stdio");
  }
  const timeoutMs =
    values.timeout === undefined ? DEFAULT_SOURCE_TIMEOUT_MS : parseTimeout(values.timeout);
  if (values.config !== undefined) {
    if (values.config === "") throw new UsageError("--config needs a file name");
    return { source: { kind: "config", path: values.config }, timeoutMs };
  }
  if (values.module !== undefined) {
    if (values.module === "") throw new UsageError("--module needs a path");
    return { source: { kind: "module", path: values.module }, timeoutMs };
  }
  if (values.url !== undefined) {
    let url: URL;
    try {
      url = new URL(values.url);
    } catch {
      throw new UsageError(`--url '${values.url}' is not a URL`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new UsageError(`--url must be http:// or https:// (got ${url.protocol})`);
    }
    const headers: Record<string, string> = {};
    for (const text of values.header ?? []) {
      const header = parseHeader(text);
      if (!header) throw new UsageError(`--header '${text}' is not "Name: value"`);
      headers[header[0]] = header[1];
    }
    return { source: { kind: "url", url: url.href, headers }, timeoutMs };
  }
  let words: string[];
  try {
    words = splitCommandLine(values.stdio ?? "");
  } catch (err) {
    throw new UsageError(`--stdio: ${(err as Error).message}`);
  }
  const [command, ...commandArgs] = words;
  if (command === undefined) throw new UsageError("--stdio needs a command line");
  return { source: { kind: "stdio", command, args: commandArgs }, timeoutMs };
}

const MAX_TIMEOUT_MS = 10 * 60_000;

/** A duration of src/util/duration.ts (`10s`, `1500ms`, `1m`; a bare integer is ms), at most 10 minutes. */
export function parseTimeout(text: string): number {
  const ms = parseDuration(text, MAX_TIMEOUT_MS);
  if (ms === undefined) {
    throw new UsageError(
      `--timeout '${text}' is not a duration up to 10m; use e.g. 10s or 1500ms (a bare integer is milliseconds)`,
    );
  }
  return ms;
}

/** Loads the source's contracts; any failure is one line and exit 1 (never a usage error). */
async function load(
  source: CliSource,
  timeoutMs: number,
  io: CliIo,
): Promise<{ contracts: ToolContract[]; lockFile: string | undefined }> {
  if (source.kind === "config") return loadFromConfig(source.path, io);
  let contracts;
  try {
    contracts = await loadContracts(source, { timeoutMs, env: io.env });
  } catch (err) {
    // Plain Error: runCli reads TypeError as a usage mistake, and these are not.
    throw new Error(err instanceof Error ? err.message : String(err));
  }
  if (contracts.length === 0) {
    io.stderr(
      `toolgate contract: warning: ${describeSource(source)} listed no tools (with auth on, ` +
        "a toolgate server lists only the tools the token may call: pass --header)\n",
    );
  }
  return { contracts, lockFile: undefined };
}

function describeCliSource(source: CliSource): string {
  return source.kind === "config" ? `--config ${source.path}` : describeSource(source);
}

/** A gateway config's upstream tools, as the gateway pins them, and its lock file. */
async function loadFromConfig(
  file: string,
  io: CliIo,
): Promise<{ contracts: ToolContract[]; lockFile: string | undefined }> {
  const { ConfigError, loadGatewayConfig } = await import("../gateway/config/load-config.js");
  const { upstreamContracts } = await import("../gateway/upstream-contracts.js");
  const { createLogger } = await import("../log/logger.js");
  let loaded;
  try {
    loaded = await loadGatewayConfig(file, { env: io.env });
  } catch (err) {
    if (err instanceof ConfigError) throw new Error(`${file} has errors:\n${err.message}`);
    throw err;
  }
  const pinning = loaded.options.pinning;
  const log = createLogger({ name: "toolgate-contract", level: "warn" });
  try {
    return {
      contracts: await upstreamContracts(loaded.options, log),
      lockFile: pinning === false ? undefined : pinning?.lockFile,
    };
  } catch (err) {
    throw new Error(err instanceof Error ? err.message : String(err));
  }
}

async function approve(args: string[], io: CliIo): Promise<number> {
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
