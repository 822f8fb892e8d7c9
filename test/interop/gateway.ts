// The gateway as users start it, `toolgate gateway --config toolgate.yaml`, in front of the
// matrix's toolgate server over HTTP (prefix `tg`), server-everything and server-filesystem
// over stdio, and of upstreams that fail once it is connected: a second server-everything
// (`down`) that the test kills, and two toolgate servers over HTTP that start answering
// 401 (`refusing`) and 503 (`failing`). The gateway must answer `unavailable` for those.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import {
  LineCollector,
  REPO_ROOT,
  jsonLineWith,
  minimalEnv,
  waitForExit,
} from "../helpers/process.js";
import { ADMIN_SCOPE, USE_SCOPE } from "./fixtures/interop-tools.js";

const require = createRequire(import.meta.url);
const packageEntry = (name: string) =>
  path.join(path.dirname(require.resolve(`${name}/package.json`)), "dist", "index.js");
export const EVERYTHING = packageEntry("@modelcontextprotocol/server-everything");
export const FILESYSTEM = packageEntry("@modelcontextprotocol/server-filesystem");
/** tsx as an absolute URL: children run in temp dirs, where `--import tsx` resolves nothing. */
export const TSX = pathToFileURL(require.resolve("tsx")).href;
const MAIN = path.join(REPO_ROOT, "src", "cli", "main.ts");
const STARTUP_MS = 60_000;
const LISTENING = "toolgate gateway listening on ";
/** The gateway's deadline for the toolgate upstream's write tools: in_progress answers by then. */
export const GATEWAY_WRITE_TIMEOUT = "3s";

export interface GatewayConfigOptions {
  dir: string;
  keyFile: string;
  /** The toolgate server the gateway fronts over HTTP. */
  toolgateUrl: string;
  /** Toolgate servers that refuse the gateway once it is connected: HTTP 401, HTTP 503. */
  refusingUrl: string;
  failingUrl: string;
  /** The directory server-filesystem may touch. */
  filesDir: string;
  /** Where the `down` upstream writes its process id. */
  pidFile: string;
}

const q = (value: string) => JSON.stringify(value);

/** toolgate.yaml: auth by the dev issuer, the four upstreams and the policies the rows need. */
export function writeGatewayConfig(o: GatewayConfigOptions): string {
  const node = q(process.execPath);
  const file = path.join(o.dir, "toolgate.yaml");
  const use = `{ scopes: [${USE_SCOPE}] }`;
  const admin = `{ scopes: [${ADMIN_SCOPE}] }`;
  const perHour = "{ perTool: 1/h }";
  // sh writes its pid, then becomes the server (exec keeps the pid): the test can kill it.
  const pidThenExec = q('echo $$ > "$0"; exec "$1" "$2" stdio');
  writeFileSync(
    file,
    [
      `auth: { dev: { keyFile: ${q(o.keyFile)} } }`,
      "audit: false",
      "metrics: false",
      "store: memory",
      `pinning: { lockFile: ${q(path.join(o.dir, "toolgate.lock.json"))} }`,
      "upstreams:",
      "  tg:",
      `    url: ${q(o.toolgateUrl)}`,
      "    credential: { static: { env: INTEROP_UPSTREAM_TOKEN, scheme: Bearer } }",
      `    defaults: ${use}`,
      "    tools:",
      `      admin: ${admin}`,
      `      admin_structured: ${admin}`,
      `      save: { timeout: ${GATEWAY_WRITE_TIMEOUT} }`,
      `      save_structured: { timeout: ${GATEWAY_WRITE_TIMEOUT} }`,
      // Connected first, refused later (the test flips them): non-2xx answers to tools/call.
      ...(
        [
          ["refusing", o.refusingUrl, "INTEROP_REFUSING_TOKEN"],
          ["failing", o.failingUrl, "INTEROP_FAILING_TOKEN"],
        ] as const
      ).flatMap(([name, url, env]) => [
        `  ${name}:`,
        `    url: ${q(url)}`,
        `    credential: { static: { env: ${env}, scheme: Bearer } }`,
        "    restart: { initialDelay: 10m, maxDelay: 10m }",
        `    defaults: ${use}`,
      ]),
      "  everything:",
      `    stdio: { command: ${node}, args: [${q(EVERYTHING)}, stdio] }`,
      `    defaults: ${use}`,
      "    tools:",
      `      get-sum: ${admin}`,
      `      get-tiny-image: { rateLimit: ${perHour} }`,
      "      trigger-long-running-operation: { timeout: 500ms }",
      "      get-env: { hidden: true }",
      "  fs:",
      `    stdio: { command: ${node}, args: [${q(FILESYSTEM)}, ${q(o.filesDir)}] }`,
      `    defaults: ${use}`,
      "    tools:",
      `      list_allowed_directories: ${admin}`,
      `      get_file_info: { rateLimit: ${perHour} }`,
      "  down:",
      `    stdio: { command: /bin/sh, args: [-c, ${pidThenExec}, ${q(o.pidFile)}, ${node}, ${q(EVERYTHING)}] }`,
      "    restart: { initialDelay: 10m, maxDelay: 10m }",
      `    defaults: ${use}`,
      "",
    ].join("\n"),
  );
  return file;
}

export interface RunningGateway {
  url: string;
  /** What the gateway logged (warnings and errors), for a failed run. */
  log(): string;
  /** Kills the `down` upstream and resolves once the gateway has noticed. */
  killDownUpstream(): Promise<void>;
  stop(): Promise<void>;
}

/** The gateway's own credentials at its HTTP upstreams (never a caller's token). */
export interface UpstreamTokens {
  toolgate: string;
  refusing: string;
  failing: string;
}

export async function startGateway(
  config: string,
  tokens: UpstreamTokens,
  pidFile: string,
): Promise<RunningGateway> {
  const child: ChildProcess = spawn(
    process.execPath,
    ["--import", TSX, MAIN, "gateway", "--config", config, "--host", "127.0.0.1", "--port", "0"],
    {
      cwd: path.dirname(config),
      env: minimalEnv({
        TOOLGATE_LOG_LEVEL: "warn",
        INTEROP_UPSTREAM_TOKEN: tokens.toolgate,
        INTEROP_REFUSING_TOKEN: tokens.refusing,
        INTEROP_FAILING_TOKEN: tokens.failing,
      }),
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const stdout = new LineCollector(child.stdout);
  const stderr = new LineCollector(child.stderr);
  const line = await Promise.race([
    stdout.waitForLine((l) => l.startsWith(LISTENING), STARTUP_MS, "the gateway's listening line"),
    new Promise<never>((_, reject) =>
      child.once("exit", (code) =>
        reject(new Error(`the gateway exited (${String(code)}) before listening:\n${stderr.text}`)),
      ),
    ),
  ]);
  return {
    url: line.slice(LISTENING.length).trim(),
    log: () => stderr.text,
    async killDownUpstream() {
      const pid = Number(readFileSync(pidFile, "utf8").trim());
      if (!(pid > 0)) throw new Error(`no pid in ${pidFile}`);
      const noticed = stderr.waitForLine(
        jsonLineWith({ upstream: "down", msg: "upstream unavailable; reconnecting with backoff" }),
        STARTUP_MS,
        "the gateway's log line that the down upstream is gone",
      );
      process.kill(pid, "SIGKILL");
      await noticed;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const exit = await waitForExit(child, 15_000);
      if (exit.code !== 0) {
        throw new Error(
          `the gateway exited with ${JSON.stringify(exit)}:\n${stderr.text.slice(-4000)}`,
        );
      }
    },
  };
}
