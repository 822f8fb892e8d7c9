// Dispatches `toolgate <command> ...` to a command module and turns every failure into
// a one-line message and an exit code: users see what to fix, never a stack trace.
import type { CliIo, CommandEntry } from "./command.js";
import { UsageError } from "./command.js";

// Later commands (gateway, audit, contract) are one line here plus their own file.
const COMMANDS: readonly CommandEntry[] = [
  {
    name: "token",
    summary: "mint a short-lived access token from the local dev issuer",
    load: () => import("./token.js"),
  },
  {
    name: "audit",
    summary: "show the audit log: who called which tool, and what came of it",
    load: () => import("./audit.js"),
  },
  {
    name: "gateway",
    summary: "run the toolgate pipeline in front of existing MCP servers (toolgate.yaml)",
    load: () => import("./gateway.js"),
  },
  {
    name: "contract",
    summary: "snapshot tool contracts to a lock file, and check changes against it",
    load: () => import("./contract.js"),
  },
];

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export function mainUsage(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length)) + 2;
  const lines = COMMANDS.map((command) => `  ${command.name.padEnd(width)}${command.summary}`);
  return [
    "Usage: toolgate <command> [options]",
    "",
    "Commands:",
    ...lines,
    "",
    "Run 'toolgate <command> --help' for a command's options.",
    "",
  ].join("\n");
}

/** Runs the CLI with `args` (argv without node and the script); resolves with the exit code. */
export async function runCli(args: string[], io: CliIo): Promise<number> {
  const [first, ...rest] = args;
  if (first === undefined) {
    io.stderr(mainUsage());
    return EXIT_USAGE;
  }
  if (first === "--help" || first === "-h" || (first === "help" && rest.length === 0)) {
    io.stdout(mainUsage());
    return EXIT_OK;
  }
  // `toolgate help token` is `toolgate token --help`.
  const [name, commandArgs] = first === "help" ? [rest[0] ?? "", ["--help"]] : [first, rest];
  const entry = COMMANDS.find((command) => command.name === name);
  if (!entry) {
    io.stderr(`toolgate: unknown command '${name}'\n\n${mainUsage()}`);
    return EXIT_USAGE;
  }
  const command = await entry.load();
  try {
    return await command.run(commandArgs, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`toolgate ${name}: ${err.message}\n\n${command.usage}`);
      return EXIT_USAGE;
    }
    // Library option checks throw TypeError for bad values (e.g. an empty --sub).
    if (err instanceof TypeError) {
      io.stderr(`toolgate ${name}: ${err.message}\nRun 'toolgate ${name} --help' for usage.\n`);
      return EXIT_USAGE;
    }
    io.stderr(`toolgate ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_FAILURE;
  }
}
