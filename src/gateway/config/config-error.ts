// What a bad `toolgate.yaml` produces: every problem found, each located by file, line,
// column and the dotted path of the setting, so one run shows all there is to fix.

/** One problem in a config file. `line` and `column` are 1-based; absent when no node applies. */
export interface ConfigIssue {
  readonly file: string;
  readonly line?: number;
  readonly column?: number;
  /** The setting, e.g. `upstreams.fs.stdio.command`; "" for the file as a whole. */
  readonly path: string;
  readonly message: string;
}

/** `toolgate.yaml:12:5: upstreams.fs.stdio.command: must be a non-empty string` */
export function formatIssue(issue: ConfigIssue): string {
  const where =
    issue.line === undefined ? issue.file : `${issue.file}:${issue.line}:${issue.column ?? 1}`;
  return issue.path === ""
    ? `${where}: ${issue.message}`
    : `${where}: ${issue.path}: ${issue.message}`;
}

/** A config file that cannot be used. The message has one line per issue. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    super(issues.map(formatIssue).join("\n"));
    this.issues = Object.freeze([...issues]);
  }
}
