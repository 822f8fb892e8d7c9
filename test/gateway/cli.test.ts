// The gateway's commands on a real config file: `toolgate contract check|approve --config`
// against a running gateway whose upstream changed a tool (quarantined, then released by
// the approval), and `toolgate gateway` refusing bad files and unsafe flags.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { silentLogger } from "../../src/server/index.js";
import { createGateway, loadGatewayConfig } from "../../src/gateway/index.js";
import { REPO_ROOT } from "../helpers/process.js";
import { expectToolError } from "../helpers/server.js";
import { runCliCaptured } from "../helpers/cli.js";

const UPSTREAM = path.join(REPO_ROOT, "test", "gateway", "fixtures", "plain-upstream.ts");
const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const cli = (...args: string[]) => runCliCaptured(args);

function configDir(): { dir: string; file: string; descriptionFile: string } {
  const dir = mkdtempSync(path.join(tmpdir(), "toolgate-gateway-cli-"));
  dirs.push(dir);
  const descriptionFile = path.join(dir, "description.txt");
  const file = path.join(dir, "toolgate.yaml");
  writeFileSync(
    file,
    [
      "auth: { none: true }",
      "audit: false",
      "store: memory",
      "upstreams:",
      "  plain:",
      "    stdio:",
      `      command: ${JSON.stringify(process.execPath)}`,
      `      args: [--import, tsx, ${JSON.stringify(UPSTREAM)}]`,
      `      cwd: ${JSON.stringify(REPO_ROOT)}`,
      `      env: { DESCRIPTION_FILE: ${JSON.stringify(descriptionFile)} }`,
      "",
    ].join("\n"),
  );
  return { dir, file, descriptionFile };
}

describe("toolgate contract --config (gateway pins)", () => {
  it("shows an upstream's change, and approve releases the quarantined tool", async () => {
    const { dir, file, descriptionFile } = configDir();
    const { options } = await loadGatewayConfig(file);
    const gateway = await createGateway({ ...options, logger: silentLogger() });
    after(() => gateway.close());
    const lockFile = path.join(dir, "toolgate.lock.json");
    assert.ok(readFileSync(lockFile, "utf8").includes('"plain.echo"'), "first run pinned");

    const clean = await cli("contract", "check", "--config", file);
    assert.equal(clean.code, 0, clean.stderr + clean.stdout);

    writeFileSync(descriptionFile, "Echoes the message back, and stores it forever.");
    await gateway.refresh();
    assert.deepEqual(
      gateway.quarantined().map((q) => q.name),
      ["plain.echo"],
    );
    const changed = await cli("contract", "check", "--config", file);
    assert.equal(changed.code, 1, "any change fails: the gateway quarantines it");
    assert.match(changed.stdout, /plain\.echo/);
    assert.match(changed.stdout, /\{\+back, and stores it forever\.\+\}/);
    assert.match(changed.stdout, /toolgate contract approve --config /);
    assert.doesNotMatch(changed.stdout, /bump/, "upstream tools have no versions to bump");

    const unknown = await cli("contract", "approve", "--config", file, "--tool", "plain.nope");
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no tool 'plain\.nope'/);

    const approved = await cli("contract", "approve", "--config", file);
    assert.equal(approved.code, 0, approved.stderr);
    assert.match(approved.stdout, /Approved 1 .*plain\.echo \(changed\)/);
    assert.match(readFileSync(lockFile, "utf8"), /stores it forever/);

    // The running gateway watches the lock and releases the tool by itself.
    const end = Date.now() + 10_000;
    while (gateway.quarantined().length > 0 && Date.now() < end)
      await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(gateway.quarantined().length, 0);
    const result = await gateway.callTool("plain.echo", { message: "released" });
    assert.deepEqual(result.content, [{ type: "text", text: "released" }]);

    const again = await cli("contract", "approve", "--config", file);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /Nothing to approve/);
  });

  it("quarantined calls are refused before they reach the upstream", async () => {
    const { file, descriptionFile } = configDir();
    const { options } = await loadGatewayConfig(file);
    const gateway = await createGateway({ ...options, logger: silentLogger() });
    after(() => gateway.close());
    writeFileSync(descriptionFile, "Something else entirely.");
    await gateway.refresh();
    const refused = expectToolError(
      await gateway.callTool("plain.echo", { message: "x" }),
      "conflict",
    );
    assert.equal(refused.retryable, false);
    assert.match(refused.message, /quarantined/);
  });
});

describe("toolgate gateway", () => {
  it("reports every config error with file, line and field, and exits 1", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "toolgate-gateway-cli-bad-"));
    dirs.push(dir);
    const file = path.join(dir, "bad.yaml");
    writeFileSync(
      file,
      [
        "auth: { none: true }",
        "upstreams:",
        "  files:",
        "    stdio: { comand: npx }",
        "    timeout: soon",
        "",
      ].join("\n"),
    );
    const run = await cli("gateway", "--config", file);
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /bad\.yaml:4:\d+: upstreams\.files\.stdio\.comand: .*did you mean 'command'/,
    );
    assert.match(run.stderr, /bad\.yaml:5:\d+: upstreams\.files\.timeout: /);
    assert.doesNotMatch(run.stderr, /\n\s+at /, "no stack trace");
  });

  it("--check shows the header a static credential sends, and refuses an ambiguous one", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "toolgate-gateway-cli-static-"));
    dirs.push(dir);
    const file = path.join(dir, "toolgate.yaml");
    const write = (staticCredential: string) =>
      writeFileSync(
        file,
        [
          "auth: { none: true }",
          "upstreams:",
          "  billing:",
          "    url: http://127.0.0.1:9/mcp",
          `    credential: { static: ${staticCredential} }`,
          "",
        ].join("\n"),
      );
    process.env.TOOLGATE_TEST_BILLING_TOKEN = "secret-value";
    try {
      write("{ env: TOOLGATE_TEST_BILLING_TOKEN }");
      const ambiguous = await cli("gateway", "--config", file, "--check");
      assert.equal(ambiguous.code, 1);
      assert.match(
        ambiguous.stderr,
        /toolgate\.yaml:5:19: upstreams\.billing\.credential\.static\.scheme: is required with the authorization header: write scheme: Bearer/,
      );
      write("{ env: TOOLGATE_TEST_BILLING_TOKEN, scheme: Bearer }");
      const check = await cli("gateway", "--config", file, "--check");
      assert.equal(check.code, 0, check.stderr);
      assert.match(
        check.stdout,
        /billing: tools as billing\.<tool>; at http:\/\/127\.0\.0\.1:9\/mcp; sends "authorization: Bearer \$TOOLGATE_TEST_BILLING_TOKEN"; no tool policies/,
      );
      assert.doesNotMatch(check.stdout + check.stderr, /secret-value/);
    } finally {
      delete process.env.TOOLGATE_TEST_BILLING_TOKEN;
    }
  });

  it("--check validates without starting anything; --host cannot get around auth: none", async () => {
    const { file } = configDir();
    const check = await cli("gateway", "--config", file, "--check");
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stdout, /is valid: 1 upstream \(plain\)/);
    const exposed = await cli("gateway", "--config", file, "--host", "0.0.0.0", "--port", "0");
    assert.equal(exposed.code, 1);
    assert.match(exposed.stderr, /auth: none.*loopback/);
    const usage = await cli("gateway", "--config", file, "--port", "http");
    assert.equal(usage.code, 2);
    const missing = await cli("gateway", "--config", path.join(tmpdir(), "no-such-toolgate.yaml"));
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no-such-toolgate\.yaml/);
  });
});
