// What every `toolgate` subcommand implements, and the one error type that means
// "the user typed something wrong" (exit 2, usage shown) rather than "it failed" (exit 1).

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
  /** Ends long-running commands (`audit --follow`) like SIGINT does; for tests and embedders. */
  signal?: AbortSignal;
}

/** A subcommand module: `src/cli/<name>.ts` exports these. */
export interface CommandModule {
  readonly usage: string;
  /** Resolves with the exit code; throws UsageError for bad arguments. */
  run(args: string[], io: CliIo): Promise<number>;
}

export interface CommandEntry {
  readonly name: string;
  readonly summary: string;
  /** Loaded on use, so `toolgate --help` does not import every command's dependencies. */
  load(): Promise<CommandModule>;
}

export class UsageError extends Error {
  override readonly name = "UsageError";
}

/**
 * Runs a node:util parseArgs call and turns its errors (unknown flag, missing value,
 * stray positional) into short UsageErrors. Takes a thunk so parseArgs keeps its
 * inferred result type.
 */
export function parseOrUsage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS_")) {
      // Node's messages go on to explain `--` escaping; the first sentence is the point.
      const line = (err as Error).message.split("\n")[0] ?? "";
      const sentence = (line.split(". ")[0] ?? "").replace(/\.$/, "");
      throw new UsageError(sentence || "invalid arguments");
    }
    throw err;
  }
}
