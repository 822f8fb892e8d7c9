// A policy entry under `upstreams.<u>.tools` must name a tool the upstream offers. Issue 18's
// typos (`wirte_file: { scopes: [files:write] }`, `move-file: { hidden: true }`) in front
// of the real @modelcontextprotocol/server-filesystem used to pass `--check`, start without
// a word, and leave write_file on the upstream's laxer defaults, so a `files:read` token
// wrote files. Now: `--check` and startup fail at the entry's line with a suggestion; a
// tool list that changes under a running gateway quarantines the upstream's tools that
// have no entry of their own; `createGateway` throws a TypeError naming the entry.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import type { CallToolResult } from "@modelcontextprotocol/client";
import { pino } from "pino";
import { readWireError } from "../../src/errors/to-result.js";
import { UnknownToolPolicyError } from "../../src/gateway/tool-policies.js";
import { devIssuer } from "../../src/index.js";
import { silentLogger } from "../../src/server/index.js";
import { createGateway, loadGatewayConfig } from "../../src/gateway/index.js";
import { REPO_ROOT, jsonLineWith, tryParse } from "../helpers/process.js";
import { connect, startCli } from "./cli-process.js";
import { runCliCaptured } from "../helpers/cli.js";

const require = createRequire(import.meta.url);
const FILESYSTEM = path.join(
  path.dirname(require.resolve("@modelcontextprotocol/server-filesystem/package.json")),
  "dist",
  "index.js",
);
const PLAIN = path.join(REPO_ROOT, "test", "gateway", "fixtures", "plain-upstream.ts");
const STEP_MS = 60_000;

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "toolgate-policies-"));
  dirs.push(dir);
  return dir;
}

const cli = (...args: string[]) => runCliCaptured(args);

/**
 * A config in a fresh folder fronting server-filesystem (serving `./data`, relative to
 * the file) as `fs`, with `tools` as the entries under `tools:` (lines 11 on).
 */
function filesystemConfig(tools: readonly string[]): { dir: string; file: string } {
  const dir = tempDir();
  mkdirSync(path.join(dir, "data"));
  writeFileSync(path.join(dir, "data", "hello.txt"), "hello\n");
  const file = path.join(dir, "toolgate.yaml");
  writeFileSync(
    file,
    [
      "auth:",
      "  dev: {}",
      "audit: false",
      "store: memory",
      "upstreams:",
      "  files:",
      `    stdio: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(FILESYSTEM)}, ./data] }`,
      "    prefix: fs",
      "    defaults: { scopes: [files:read] }",
      "    tools:",
      ...tools.map((line) => `      ${line}`),
      "",
    ].join("\n"),
  );
  return { dir, file };
}

const ISSUE_TYPOS = ["wirte_file: { scopes: [files:write] }", "move-file: { hidden: true }"];
const FIXED = ["write_file: { scopes: [files:write] }", "move_file: { hidden: true }"];

/** The two errors of the issue's typos, with the temp path shown as toolgate.yaml. */
function expectTypoErrors(stderr: string, file: string): void {
  const text = stderr.split(file).join("toolgate.yaml");
  assert.match(
    text,
    /toolgate\.yaml:11:7: upstreams\.files\.tools\.wirte_file: no tool named 'wirte_file' at upstream 'files' \(did you mean 'write_file'\?\)/,
  );
  assert.match(
    text,
    /toolgate\.yaml:12:7: upstreams\.files\.tools\.move-file: no tool named 'move-file' at upstream 'files' \(did you mean 'move_file'\?\)/,
  );
  assert.doesNotMatch(text, /\n\s+at /, "no stack trace");
}

function wireType(result: unknown): string | undefined {
  return readWireError(result as CallToolResult)?.type;
}

describe("policy entries for tools the upstream does not offer", { timeout: 4 * STEP_MS }, () => {
  it("--check names both typos of the issue with suggestions, against the real server-filesystem", async () => {
    const { file } = filesystemConfig(ISSUE_TYPOS);
    const check = await cli("gateway", "--config", file, "--check");
    assert.equal(check.code, 1, check.stdout + check.stderr);
    expectTypoErrors(check.stderr, file);
    assert.doesNotMatch(check.stdout, /is valid/);
  });

  it("toolgate gateway --config refuses to start with the same errors (exit 1)", async () => {
    const { file } = filesystemConfig(ISSUE_TYPOS);
    const gateway = startCli(["gateway", "--config", file, "--port", "0"]);
    const status = await gateway.exit(STEP_MS);
    assert.equal(status.code, 1, gateway.stderr.text);
    expectTypoErrors(gateway.stderr.text, file);
    assert.equal(gateway.stdout.text, "", "never listened");
  });

  it("the fixed config passes --check and starts; a files:read token is refused fs.write_file", async () => {
    const { dir, file } = filesystemConfig(FIXED);
    const check = await cli("gateway", "--config", file, "--check");
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stdout, /is valid: 1 upstream \(files\)/);
    assert.match(check.stdout, /files: tools as fs\.<tool>; .*tool names listed by the upstream/);

    const gateway = startCli(["gateway", "--config", file, "--port", "0"]);
    after(() => gateway.stop());
    const url = await gateway.url(STEP_MS);
    const issuer = await devIssuer({ keyFile: path.join(dir, ".toolgate", "dev-issuer.json") });
    const token = await issuer.mint({ sub: "reader", scope: "files:read", audience: url });
    const client = await connect(url, token);
    after(() => client.close());

    // tools/list shows a caller the tools its token may call.
    const names = (await client.listTools()).tools.map((t) => t.name);
    assert.ok(names.includes("fs.read_text_file"), names.join(", "));
    assert.ok(!names.includes("fs.write_file"), "write_file needs files:write");
    assert.ok(!names.includes("fs.move_file"), "move_file is hidden");
    const read = await client.callTool({
      name: "fs.read_text_file",
      arguments: { path: "hello.txt" },
    });
    assert.notEqual(read.isError, true, JSON.stringify(read));
    const write = await client.callTool({
      name: "fs.write_file",
      arguments: { path: "hello.txt", content: "overwritten", idempotency_key: "k-1" },
    });
    assert.equal(wireType(write), "forbidden", JSON.stringify(write));
    const moved = await client.callTool({
      name: "fs.move_file",
      arguments: { source: "hello.txt", destination: "moved.txt" },
    });
    assert.equal(wireType(moved), "not_found");
    assert.ok(existsSync(path.join(dir, "data", "hello.txt")));
  });

  it("--check confirms names from the lock without starting the upstream; names it cannot confirm exit 3", async () => {
    const dir = tempDir();
    const file = path.join(dir, "toolgate.yaml");
    const write = (stdio: string, tools: string) =>
      writeFileSync(
        file,
        [
          "auth: { none: true }",
          "audit: false",
          "store: memory",
          "upstreams:",
          "  plain:",
          `    stdio: ${stdio}`,
          `    tools: ${tools}`,
          "",
        ].join("\n"),
      );
    const plain = `{ command: ${JSON.stringify(process.execPath)}, args: [--import, tsx, ${JSON.stringify(PLAIN)}], cwd: ${JSON.stringify(REPO_ROOT)} }`;
    // A first run pins the upstream's tools in toolgate.lock.json beside the file.
    write(plain, "{ echo: { timeout: 5s } }");
    const { options } = await loadGatewayConfig(file);
    const first = await createGateway({ ...options, logger: silentLogger() });
    await first.close();
    assert.ok(existsSync(path.join(dir, "toolgate.lock.json")));

    // The upstream cannot start now; the lock still vouches for `echo`.
    const gone = '{ command: "/nonexistent/toolgate-no-such-server" }';
    write(gone, "{ echo: { timeout: 5s } }");
    const pinned = await cli("gateway", "--config", file, "--check");
    assert.equal(pinned.code, 0, pinned.stderr);
    assert.match(pinned.stdout, /plain: .*tool names pinned in the lock/);

    // `ehco` is not pinned, and the upstream cannot be asked: said plainly, exit 3.
    write(gone, "{ echo: { timeout: 5s }, ehco: { hidden: true } }");
    const unchecked = await cli("gateway", "--config", file, "--check");
    assert.equal(unchecked.code, 3, unchecked.stdout + unchecked.stderr);
    assert.match(unchecked.stdout, /not every tool name could be checked/);
    assert.match(
      unchecked.stderr,
      /upstreams\.plain\.tools: could not check 'ehco': the lock file does not pin them and upstream 'plain' could not be listed: .*ENOENT/,
    );

    // Reachable again: the typo is found, with its line.
    write(plain, "{ echo: { timeout: 5s }, ehco: { hidden: true } }");
    const typo = await cli("gateway", "--config", file, "--check");
    assert.equal(typo.code, 1, typo.stdout + typo.stderr);
    assert.match(
      typo.stderr,
      /toolgate\.yaml:7:37: upstreams\.plain\.tools\.ehco: no tool named 'ehco' at upstream 'plain' \(did you mean 'echo'\?\)/,
    );
  });

  it("createGateway throws a TypeError naming the entry, and pins nothing", async () => {
    const dir = tempDir();
    const lockFile = path.join(dir, "toolgate.lock.json");
    const error = await createGateway({
      upstreams: {
        plain: {
          stdio: { command: process.execPath, args: ["--import", "tsx", PLAIN], cwd: REPO_ROOT },
          tools: { ecoh: { scopes: ["demo:read"] }, add: {} },
        },
      },
      audit: false,
      logger: silentLogger(),
      pinning: { lockFile },
    }).then(
      async (gateway) => {
        await gateway.close();
        assert.fail("createGateway should refuse");
      },
      (err: unknown) => err,
    );
    assert.ok(error instanceof UnknownToolPolicyError);
    assert.ok(error instanceof TypeError);
    assert.deepEqual(error.unmatched, [{ upstream: "plain", tool: "ecoh", suggestion: "echo" }]);
    assert.equal(
      error.message,
      "createGateway: upstreams.plain.tools.ecoh: no tool named 'ecoh' at upstream 'plain' (did you mean 'echo'?)",
    );
    assert.equal(existsSync(lockFile), false, "a refused start pins nothing");
  });

  it("with auth on, a startup warning names the published tools that require no scope", async () => {
    const records: Record<string, unknown>[] = [];
    const logger = pino(
      { level: "warn" },
      {
        write: (line: string) => void records.push(JSON.parse(line) as Record<string, unknown>),
      },
    );
    const gateway = await createGateway({
      upstreams: {
        plain: {
          stdio: { command: process.execPath, args: ["--import", "tsx", PLAIN], cwd: REPO_ROOT },
          defaults: { scopes: ["demo:read"] },
          tools: { echo: { scopes: [] }, crash: { hidden: true }, hang: { scopes: [] } },
        },
      },
      auth: { verify: () => Promise.reject(new Error("in-process calls only")) },
      audit: false,
      logger,
      pinning: false,
    });
    await gateway.close();
    const warning = records.find((r) => /require no scope/.test(String(r["msg"])));
    assert.deepEqual(warning?.["tools"], ["plain.echo", "plain.hang"]);
  });

  it("a running gateway whose upstream renames a tool quarantines the tools without an entry, and releases them when it matches again", async () => {
    const dir = tempDir();
    const renameFile = path.join(dir, "renames.json");
    const file = path.join(dir, "toolgate.yaml");
    writeFileSync(
      file,
      [
        "auth: { none: true }",
        "audit: false",
        "store: memory",
        "pinning: { refreshInterval: 200ms }",
        "upstreams:",
        "  plain:",
        "    stdio:",
        `      command: ${JSON.stringify(process.execPath)}`,
        `      args: [--import, tsx, ${JSON.stringify(PLAIN)}]`,
        `      cwd: ${JSON.stringify(REPO_ROOT)}`,
        `      env: { RENAME_FILE: ${JSON.stringify(renameFile)} }`,
        "    tools:",
        "      record_payment: { sideEffect: write, redact: [card] }",
        "",
      ].join("\n"),
    );
    const gateway = startCli(["gateway", "--config", file, "--port", "0"], {
      env: { ...process.env, TOOLGATE_LOG_LEVEL: "info" },
    });
    after(() => gateway.stop());
    const url = await gateway.url(STEP_MS);
    const client = await connect(url);
    after(() => client.close());
    const echo = () => client.callTool({ name: "plain.echo", arguments: { message: "hi" } });
    assert.notEqual((await echo()).isError, true);

    // The upstream's next release renames record_payment: the entry matches nothing, and
    // the renamed tool must not be published on the upstream's defaults.
    writeFileSync(renameFile, JSON.stringify({ record_payment: "make_payment" }));
    const held = await gateway.stderr.waitForLine(
      jsonLineWith({ upstream: "plain", level: 50 }),
      STEP_MS,
      "the error log of the stale entry",
    );
    assert.deepEqual(tryParse(held)?.["entries"], [
      "upstreams.plain.tools.record_payment: no tool named 'record_payment' at upstream 'plain' (tool names under tools: are the upstream's own, without the prefix)",
    ]);
    for (const name of ["plain.make_payment", "plain.echo"]) {
      const refused = await client.callTool({
        name,
        arguments: { amount: 5, message: "x", idempotency_key: "k-1" },
      });
      const error = readWireError(refused);
      assert.equal(error?.type, "conflict", `${name}: ${JSON.stringify(refused)}`);
      assert.equal(error?.details?.["reason"], "quarantined");
      assert.match(
        error?.message ?? "",
        /config has a policy for a tool its upstream no longer offers/,
      );
    }
    const listed = (await client.listTools()).tools.map((t) => t.name);
    assert.deepEqual(listed, [], "only record_payment had its own entry, and it is gone");

    // The upstream (or the config) is fixed: released.
    const from = gateway.stderr.lines.length;
    unlinkSync(renameFile);
    await gateway.stderr.waitForLine(
      (line) => jsonLineWith({ tool: "plain.echo" })(line) && /policies again: released/.test(line),
      STEP_MS,
      "the release of plain.echo",
      from,
    );
    assert.notEqual((await echo()).isError, true);
  });
});
