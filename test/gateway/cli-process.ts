// `toolgate gateway --config ...` as a user starts it: a child process running the CLI's
// entry point (src/cli/main.ts through tsx), with its stdout and stderr collected line by
// line, so a test waits for the listening line, a log record or the exit, never a sleep.
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { LineCollector, REPO_ROOT, waitForExit, type ExitStatus } from "../helpers/process.js";

const require = createRequire(import.meta.url);
/** tsx as an absolute URL: in a temp dir as cwd, `--import tsx` would resolve nothing. */
const TSX = pathToFileURL(require.resolve("tsx")).href;
const MAIN = path.join(REPO_ROOT, "src", "cli", "main.ts");

export interface GatewayProcess {
  readonly child: ChildProcess;
  readonly stdout: LineCollector;
  readonly stderr: LineCollector;
  /** The URL from the listening line; rejects if the process exits first. */
  url(timeoutMs?: number): Promise<string>;
  /** Resolves when the process exits (kills it after `timeoutMs`). */
  exit(timeoutMs?: number): Promise<ExitStatus>;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
}

/** Starts `toolgate <args>` in `cwd` (default the repository root) with `env`. */
export function startCli(
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): GatewayProcess {
  const child = spawn(process.execPath, ["--import", TSX, MAIN, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: options.env ?? process.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const stdout = new LineCollector(child.stdout);
  const stderr = new LineCollector(child.stderr);
  const exited = new Promise<ExitStatus>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    stdout,
    stderr,
    async url(timeoutMs = 60_000) {
      const line = await Promise.race([
        stdout.waitForLine((l) => l.includes("listening on"), timeoutMs, "the listening line"),
        exited.then((status) => {
          throw new Error(
            `the gateway exited (${JSON.stringify(status)}) before listening:\n${stderr.text}`,
          );
        }),
      ]);
      const url = /listening on (\S+)/.exec(line)?.[1];
      if (!url) throw new Error(`no URL in ${line}`);
      return url;
    },
    exit: (timeoutMs = 60_000) => waitForExit(child, timeoutMs),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await waitForExit(child, 20_000);
    },
  };
}

/** An MCP client of the gateway at `url`, with `token` as its bearer token when given. */
export async function connect(url: string, token?: string): Promise<Client> {
  const client = new Client({ name: "gateway-cli-test", version: "1.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      ...(token === undefined
        ? {}
        : { requestInit: { headers: { authorization: `Bearer ${token}` } } }),
    }),
  );
  return client;
}

/** The environment of this process without the test runner's TOOLGATE_DATA_DIR. */
export function envWithoutDataDir(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env["TOOLGATE_DATA_DIR"];
  return env;
}
