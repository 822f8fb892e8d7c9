// The gateway as a user runs it, `toolgate gateway --config toolgate.yaml`, driven by the
// MCP Inspector CLI: over HTTP with `--header "Authorization: Bearer <token>"` (tools/list
// shows server-everything's tools as everything.*, tools/call everything.echo answers with
// the upstream's echo, no token fails cleanly), and over stdio (the inspector starts
// `toolgate gateway --stdio` itself, with TOOLGATE_TOKEN as the caller's identity).
//
// Needs Node 22 and the inspector: `npm test` finds them in .ci/tools (see
// test/e2e/inspector-cli.test.ts); without TOOLGATE_TEST_NODE22 and
// TOOLGATE_INSPECTOR_CLI the suite is skipped with a hint.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, test } from "node:test";
import { devIssuer, type DevIssuer } from "../../src/index.js";
import { dig, digArray } from "../helpers/json.js";
import {
  INSPECTOR_SKIP,
  LineCollector,
  REPO_ROOT,
  inspectorResult,
  minimalEnv,
  runInspector,
  waitForExit,
  type InspectorRun,
} from "../helpers/process.js";

const require = createRequire(import.meta.url);
const EVERYTHING = path.join(
  path.dirname(require.resolve("@modelcontextprotocol/server-everything/package.json")),
  "dist",
  "index.js",
);
/** tsx as an absolute URL: the gateway runs in a temp dir, where `--import tsx` resolves nothing. */
const TSX = pathToFileURL(require.resolve("tsx")).href;
const MAIN = path.join(REPO_ROOT, "src", "cli", "main.ts");
const DEMO_SCOPE = "demo:read";
/** The gateway starts tsx and server-everything: room for a slow CI machine, not forever. */
const STARTUP_MS = 30_000;
const INSPECTOR_MS = 45_000;

/**
 * The command that starts the gateway CLI (Node 20, this process's node, with tsx). It
 * reads toolgate.yaml in its working directory: no --config flag, which the inspector
 * would take for its own when it starts the gateway over stdio.
 */
const gatewayCommand = (...flags: string[]) => [
  process.execPath,
  "--import",
  TSX,
  MAIN,
  "gateway",
  ...flags,
];

/** A failed inspector run: the exit code, one JSON error on stderr, no stack trace, no token. */
function assertCleanFailure(run: InspectorRun, code: number, tokens: string[]): unknown {
  assert.equal(run.code, code, `stdout: ${run.stdout}\nstderr: ${run.stderr}`);
  assert.equal(run.stdout, "");
  const lines = run.stderr.trim().split("\n");
  assert.equal(lines.length, 1, `expected one line on stderr, got: ${run.stderr}`);
  const error = dig(JSON.parse(lines[0]!), "error");
  assert.equal(typeof dig(error, "message"), "string");
  for (const marker of ["    at ", ".ts:", ".js:", "node_modules", ...tokens]) {
    assert.ok(!run.stderr.includes(marker), `stderr contains ${JSON.stringify(marker)}`);
  }
  return error;
}

function assertEchoed(result: unknown, message: string): void {
  assert.notEqual(dig(result, "isError"), true, JSON.stringify(result));
  assert.equal(dig(result, "content", 0, "text"), `Echo: ${message}`);
}

describe("MCP inspector CLI against `toolgate gateway`", { skip: INSPECTOR_SKIP }, () => {
  let dir: string;
  /** The inspector's HOME (it keeps state there). */
  let home: string;
  let keyFile: string;
  let issuer: DevIssuer;
  const tokens: string[] = [];

  /**
   * `<dir>/<name>/toolgate.yaml` (the default file name), fronting server-everything over
   * stdio; `auth` as YAML flow text. Returns the config's directory, the gateway's cwd.
   */
  function writeConfig(name: string, auth: string): string {
    const at = path.join(dir, name);
    mkdirSync(at);
    writeFileSync(
      path.join(at, "toolgate.yaml"),
      [
        `auth: ${auth}`,
        "audit: false",
        `pinning: { lockFile: ${JSON.stringify(path.join(at, "toolgate.lock.json"))} }`,
        "upstreams:",
        "  everything:",
        `    stdio: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(EVERYTHING)}, stdio] }`,
        "    defaults: { sideEffect: read }",
        "    tools:",
        `      echo: { scopes: [${DEMO_SCOPE}] }`,
        "",
      ].join("\n"),
    );
    return at;
  }

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "toolgate-gateway-inspector-"));
    home = path.join(dir, "home");
    mkdirSync(home);
    keyFile = path.join(dir, "dev-issuer.json");
    // Created here, read by the gateway: both sides hold the same key.
    issuer = await devIssuer({ keyFile, env: {} });
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function mint(audience: string, scope: string[]): Promise<string> {
    const token = await issuer.mint({ sub: "inspector-user", scope, audience });
    tokens.push(token);
    return token;
  }

  describe("over HTTP", () => {
    let gateway: ChildProcess;
    let stderr: LineCollector;
    let url: string;
    let token: string;

    before(async () => {
      const cwd = writeConfig("http", `{ dev: { keyFile: ${JSON.stringify(keyFile)} } }`);
      const [command, ...args] = gatewayCommand(
        "--config",
        path.join(cwd, "toolgate.yaml"),
        "--host",
        "127.0.0.1",
        "--port",
        "0",
      );
      gateway = spawn(command!, args, {
        // The default store (.toolgate/) goes here, not into the repository.
        cwd,
        env: minimalEnv({ TOOLGATE_LOG_LEVEL: "warn" }),
        stdio: ["ignore", "pipe", "pipe"],
      });
      const stdout = new LineCollector(gateway.stdout);
      stderr = new LineCollector(gateway.stderr);
      const line = await Promise.race([
        stdout.waitForLine(
          (l) => l.startsWith("toolgate gateway listening on "),
          STARTUP_MS,
          "the gateway's 'listening on' line",
        ),
        new Promise<never>((_, reject) =>
          gateway.once("exit", (code) =>
            reject(new Error(`the gateway exited (${code}) before listening:\n${stderr.text}`)),
          ),
        ),
      ]);
      url = line.slice("toolgate gateway listening on ".length).trim();
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
      token = await mint(url, [DEMO_SCOPE]);
    });

    after(async () => {
      if (gateway && gateway.exitCode === null && gateway.signalCode === null) {
        gateway.kill("SIGTERM");
      }
      if (gateway) {
        const exit = await waitForExit(gateway, 10_000);
        // SIGTERM is a clean stop for the CLI (exit 0).
        assert.equal(exit.code, 0, `gateway exit: ${JSON.stringify(exit)}\n${stderr?.text}`);
      }
    });

    const inspector = (args: string[], bearer: string | undefined) =>
      runInspector(
        [
          url,
          ...args,
          ...(bearer === undefined ? [] : ["--header", `Authorization: Bearer ${bearer}`]),
        ],
        { home, timeoutMs: INSPECTOR_MS },
      );

    test("tools/list with the token shows server-everything's tools as everything.*", async () => {
      const result = inspectorResult(await inspector(["--method", "tools/list"], token));
      const names = digArray(result, "tools").map((t) => dig(t, "name"));
      assert.ok(names.includes("everything.echo"), JSON.stringify(names));
      assert.ok(names.includes("everything.get-sum"), JSON.stringify(names));
      assert.ok(
        names.every((n) => typeof n === "string" && n.startsWith("everything.")),
        JSON.stringify(names),
      );
      const echo = digArray(result, "tools").find((t) => dig(t, "name") === "everything.echo");
      assert.equal(dig(echo, "description"), "Echoes back the input string");
      assert.equal(dig(echo, "annotations", "readOnlyHint"), true);
    });

    test("tools/call everything.echo answers with the upstream's echo", async () => {
      const run = await inspector(
        [
          "--method",
          "tools/call",
          "--tool-name",
          "everything.echo",
          "--tool-arg",
          "message=hello from the inspector",
        ],
        token,
      );
      assertEchoed(inspectorResult(run), "hello from the inspector");
    });

    test("a bad argument is refused by the gateway with invalid_input (exit 5)", async () => {
      const run = await inspector(
        [
          "--method",
          "tools/call",
          "--tool-name",
          "everything.echo",
          "--tool-args-json",
          '{"message":42}',
        ],
        token,
      );
      const error = dig(inspectorResult(run, 5), "structuredContent", "error");
      assert.equal(dig(error, "type"), "invalid_input");
      assert.deepEqual(
        (dig(error, "details", "issues") as { path: string }[]).map((i) => i.path),
        ["/message"],
      );
    });

    test("without a token: a non-zero exit, a JSON error, no stack trace", async () => {
      const list = assertCleanFailure(
        await inspector(["--method", "tools/list", "--stored-auth-only"], undefined),
        3,
        tokens,
      );
      assert.equal(dig(list, "code"), "auth_required");
      const call = assertCleanFailure(
        await inspector(
          [
            "--method",
            "tools/call",
            "--tool-name",
            "everything.echo",
            "--tool-arg",
            "message=nope",
            "--stored-auth-only",
          ],
          undefined,
        ),
        3,
        tokens,
      );
      assert.equal(dig(call, "code"), "auth_required");
    });

    test("with a token for another audience: refused the same way", async () => {
      const foreign = await mint("https://elsewhere.test/mcp", [DEMO_SCOPE]);
      const error = assertCleanFailure(
        await inspector(["--method", "tools/list", "--stored-auth-only"], foreign),
        3,
        tokens,
      );
      assert.equal(dig(error, "code"), "auth_required");
    });
  });

  describe("over stdio (TOOLGATE_TOKEN is the caller)", () => {
    /** stdio has no URL to be the audience: the config names one and tokens carry it. */
    const AUDIENCE = "https://gateway.toolgate.test/mcp";
    let cwd: string;

    before(() => {
      cwd = writeConfig(
        "stdio",
        `{ dev: { keyFile: ${JSON.stringify(keyFile)} }, resource: ${AUDIENCE} }`,
      );
    });

    /**
     * The inspector starts the gateway itself, in the config's directory. The token goes
     * in through env(1), so the test depends on no inspector flag for child environments.
     */
    const inspector = (args: string[], token: string | undefined) =>
      runInspector(
        [
          "--cwd",
          cwd,
          "/usr/bin/env",
          ...(token === undefined ? [] : [`TOOLGATE_TOKEN=${token}`]),
          "TOOLGATE_LOG_LEVEL=warn",
          ...gatewayCommand("--stdio"),
          ...args,
        ],
        { home, timeoutMs: INSPECTOR_MS },
      );

    test("tools/list and tools/call everything.echo with TOOLGATE_TOKEN", async () => {
      const token = await mint(AUDIENCE, [DEMO_SCOPE]);
      const listed = inspectorResult(await inspector(["--method", "tools/list"], token));
      const names = digArray(listed, "tools").map((t) => dig(t, "name"));
      assert.ok(names.includes("everything.echo"), JSON.stringify(names));

      const called = inspectorResult(
        await inspector(
          [
            "--method",
            "tools/call",
            "--tool-name",
            "everything.echo",
            "--tool-arg",
            "message=hello over stdio",
          ],
          token,
        ),
      );
      assertEchoed(called, "hello over stdio");
    });

    test("without TOOLGATE_TOKEN: tools/list is empty (every call would be refused)", async () => {
      const listed = inspectorResult(await inspector(["--method", "tools/list"], undefined));
      assert.deepEqual(digArray(listed, "tools"), []);
    });
  });
});
