// Where `toolgate contract` reads contracts from: the source flags (--module, --url with
// --header, --stdio, --config, --timeout), checked into exactly one source, and loading it.
// A gateway config (--config) is the CLI's own source: its upstreams' tools as pinned.
import {
  DEFAULT_SOURCE_TIMEOUT_MS,
  describeSource,
  loadContracts,
  parseHeader,
  splitCommandLine,
  type ContractSource,
} from "../contract/source.js";
import type { ToolContract } from "../contract/types.js";
import { parseDuration } from "../util/duration.js";
import type { CliIo } from "./command.js";
import { UsageError } from "./command.js";

export const SOURCE_OPTIONS = {
  module: { type: "string" },
  url: { type: "string" },
  header: { type: "string", multiple: true },
  stdio: { type: "string" },
  config: { type: "string" },
  timeout: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** A source of the CLI: the library's, or a gateway config (its upstreams). */
export type CliSource = ContractSource | { readonly kind: "config"; readonly path: string };

export interface SourceFlags {
  config?: string | undefined;
  module?: string | undefined;
  url?: string | undefined;
  header?: string[] | undefined;
  stdio?: string | undefined;
  timeout?: string | undefined;
}

/** Exactly one source, checked: every mistake here is a usage error (exit 2). */
export function sourceOf(values: SourceFlags): { source: CliSource; timeoutMs: number } {
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
export async function load(
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

export function describeCliSource(source: CliSource): string {
  return source.kind === "config" ? `--config ${source.path}` : describeSource(source);
}

/** A gateway config's upstream tools, as the gateway pins them, and its lock file. */
export async function loadFromConfig(
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
