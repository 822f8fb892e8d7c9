// Loads `toolgate.yaml` into GatewayOptions. Four steps, each reporting every problem it
// finds as a ConfigIssue at a line and column: YAML syntax; `${VAR}` interpolation; the
// structure (the zod schema of schema.ts: types, unknown keys, required settings, turned
// into a ConfigSpec by to-spec.ts); then the runtime objects
// (resolve.ts: verifier, store, sinks, credentials), built only when the structure is
// sound. Any input gives a LoadedConfig or a ConfigError, never another exception.
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import type { GatewayOptions } from "../options.js";
import { ConfigError, type ConfigIssue } from "./config-error.js";
import { describeUpstreams } from "./describe.js";
import { interpolateTree } from "./interpolate.js";
import { Reporter } from "./issues.js";
import { describeFileError, resolveOptions } from "./resolve.js";
import { configSchema } from "./schema.js";
import type { ListenSpec } from "./spec.js";
import { toSpec } from "./to-spec.js";
import { formatPath, parseYaml, type Path } from "./yaml-source.js";

export { ConfigError, formatIssue, type ConfigIssue } from "./config-error.js";

export interface LoadedConfig {
  readonly options: GatewayOptions;
  /** `listen.host` (default 127.0.0.1) and `listen.port` (default 3000; 0 = any free port). */
  readonly listen: ListenSpec;
  /** Absolute path of the config file. */
  readonly file: string;
  /** One line per upstream: how it is reached and what credential it gets (`--check`). */
  readonly summary: readonly string[];
  /**
   * An issue about the setting at `path` (found after loading, e.g. a policy for a tool
   * the upstream does not offer), at its line and column: at its key by default.
   */
  issueAt(path: Path, message: string, at?: "value" | "key"): ConfigIssue;
}

export interface LoadOptions {
  /** For `${VAR}` and the variables that name secrets. Default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
}

/** A config file is small; anything bigger than this is not one. */
const MAX_FILE_BYTES = 1024 * 1024;

/** Reads and loads `file` (relative paths in it are relative to its directory). */
export async function loadGatewayConfig(
  file: string,
  opts: LoadOptions = {},
): Promise<LoadedConfig> {
  const fail = (message: string) => new ConfigError([{ file, path: "", message }]);
  let text: string;
  try {
    const info = await stat(file);
    if (info.isDirectory()) throw fail("cannot read: is a directory, not a file");
    if (info.size > MAX_FILE_BYTES) {
      throw fail(`is ${info.size} bytes: a config file is at most ${MAX_FILE_BYTES}`);
    }
    text = await readFile(file, "utf8");
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw fail(`cannot read: ${describeFileError(err)}`);
  }
  return parseGatewayConfig(text, {
    file,
    baseDir: path.dirname(path.resolve(file)),
    ...(opts.env === undefined ? {} : { env: opts.env }),
  });
}

/**
 * Loads config text. `file` names the file in issues (and, resolved against the working
 * directory, is LoadedConfig.file); relative paths in the text resolve against `baseDir`.
 */
export async function parseGatewayConfig(
  text: string,
  opts: { file: string; baseDir: string; env?: NodeJS.ProcessEnv },
): Promise<LoadedConfig> {
  const env = opts.env ?? process.env;
  const parsed = parseYaml(text, opts.file);
  if (!parsed.ok) throw configError(parsed.issues, opts.file);

  const c = new Reporter(opts.file, parsed.source);
  const value = interpolateTree(parsed.source.value, env, (at, message) => c.report(at, message));
  if (value === null || value === undefined) {
    c.report([], "the file is empty: a gateway config needs at least auth and upstreams");
    throw configError(c.issues, opts.file);
  }
  const checked = configSchema(env).safeParse(value);
  if (!checked.success) c.reportZod(checked.error.issues, value);
  // Runtime objects only from a sound structure: their errors would repeat the issues.
  if (!checked.success || c.issues.length > 0) throw configError(c.issues, opts.file);
  const spec = toSpec(checked.data, { baseDir: path.resolve(opts.baseDir), env });

  const options = await resolveOptions(spec, c, env);
  if (options === undefined || c.issues.length > 0) throw configError(c.issues, opts.file);
  const { source } = parsed;
  return {
    options,
    listen: spec.listen,
    file: path.resolve(opts.file),
    summary: describeUpstreams(spec),
    issueAt(at, message, where = "key") {
      const position = source.locate(at, where);
      return {
        file: opts.file,
        ...(position === undefined ? {} : { line: position.line, column: position.column }),
        path: formatPath(at),
        message,
      };
    },
  };
}

/** Issues in file order; those without a line (about the whole file) first. */
function configError(issues: readonly ConfigIssue[], file: string): ConfigError {
  const order = (issue: ConfigIssue) => [issue.line ?? 0, issue.column ?? 0] as const;
  const sorted = [...issues].sort((a, b) => {
    const [la, ca] = order(a);
    const [lb, cb] = order(b);
    return la - lb || ca - cb;
  });
  if (sorted.length === 0) {
    sorted.push({ file, path: "", message: "the config is not valid" });
  }
  return new ConfigError(sorted);
}
