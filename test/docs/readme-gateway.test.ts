// The README's gateway example must work as written, from the project's root: its
// toolgate.yaml, saved where the README says (gateway/toolgate.yaml), runs under
// `toolgate gateway --config gateway/toolgate.yaml` started in the root (only the port is
// swapped for a free one), the calls the README shows answer, and every file the gateway
// writes lands beside the config, none in the working directory (issue 18: relative paths
// resolved three ways). `npx` finds server-everything and server-filesystem in this
// repository's node_modules (devDependencies), so the root is made inside the repository.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, test } from "node:test";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { devIssuer } from "../../src/index.js";
import { readLock } from "../../src/contract/lock-file.js";
import { readWireError } from "../../src/errors/to-result.js";
import { dig } from "../helpers/json.js";
import { REPO_ROOT, jsonLineWith } from "../helpers/process.js";
import { startCli } from "../gateway/cli-process.js";
import { exampleBlock } from "./blocks.js";

const STEP_MS = 120_000;

function gatewayExample(): string {
  const block = exampleBlock("gateway-config");
  assert.equal(block.lang, "yaml", "README's <!-- example: gateway-config --> is a yaml block");
  return block.code;
}

/** The first match of `pattern` in the README's gateway commands. */
function fromCommands(pattern: RegExp, what: string): RegExpExecArray {
  const commands = exampleBlock("gateway-commands");
  assert.equal(commands.lang, "sh", "README's <!-- example: gateway-commands --> is a sh block");
  const match = pattern.exec(commands.code);
  assert.ok(match, `README's gateway commands show ${what}`);
  return match;
}

mkdirSync(path.join(REPO_ROOT, ".toolgate"), { recursive: true });
/** The project's root the README's commands run in. */
const root = mkdtempSync(path.join(REPO_ROOT, ".toolgate", "readme-gateway-"));
after(() => rmSync(root, { recursive: true, force: true }));

test(
  "the README gateway config runs as written from the project root, and writes only beside itself",
  { timeout: 4 * STEP_MS },
  async () => {
    const yaml = gatewayExample();
    assert.match(yaml, /port: 3100/);
    // The README's commands: the data folder, the config's place, the key file, the curl.
    const [, , helloText, helloFile] = fromCommands(
      /mkdir -p (\S+) && echo "([^"]*)" > (\S+)/,
      "mkdir and echo",
    );
    const [, configFile] = fromCommands(/gateway --config (\S+)/, "toolgate gateway --config");
    const [, keyFile] = fromCommands(/--key-file (\S+)/, "toolgate token --key-file");
    const [, curlBody] = fromCommands(/-d '(\{[^']*\})'/, "a curl call");
    assert.match(yaml, new RegExp(`^# ${configFile}\n`), "the yaml says where it is saved");
    const configDir = path.join(root, path.dirname(configFile!));

    mkdirSync(path.dirname(path.join(root, helloFile!)), { recursive: true });
    writeFileSync(path.join(root, helloFile!), `${helloText}\n`);
    writeFileSync(path.join(root, configFile!), yaml);

    // The test runner moves the library's data folder; the README's user has no such variable.
    const env: NodeJS.ProcessEnv = { ...process.env, TOOLGATE_LOG_LEVEL: "info" };
    delete env["TOOLGATE_DATA_DIR"];
    const gateway = startCli(["gateway", "--config", configFile!, "--port", "0"], {
      cwd: root,
      env,
    });
    const { stderr } = gateway;
    try {
      const url = await gateway.url(STEP_MS);
      // The summary follows the listening line on stderr.
      await stderr.waitForLine(
        (l) => l.startsWith("  upstreams: everything ("),
        STEP_MS,
        "the summary",
      );
      // On a busy machine an npx start can outlast connectTimeout; the gateway retries it. The
      // first run pins each upstream's tools once they are listed: then they are callable.
      for (const upstream of ["everything", "files"])
        await stderr.waitForLine(
          (l) =>
            jsonLineWith({ upstream })(l) && l.includes("pinned the upstream's tool contracts"),
          STEP_MS,
          `${upstream}'s tools`,
        );

      // `toolgate token --key-file ...` from the same dev issuer.
      const issuer = await devIssuer({ keyFile: path.join(root, keyFile!) });
      const token = await issuer.mint({
        sub: "alice",
        scope: "demo:read files:read files:write",
        audience: url,
      });

      // The README's curl, as written (JSON-RPC over one POST).
      const response = await fetch(url, {
        method: "POST",
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
        },
        body: curlBody!,
      });
      assert.equal(response.status, 200);
      assert.match(await response.text(), new RegExp(helloText!));

      const client = new Client({ name: "readme-gateway-test", version: "1.0.0" });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(url), {
          requestInit: { headers: { authorization: `Bearer ${token}` } },
        }),
      );
      try {
        const names = (await client.listTools()).tools.map((t) => t.name);
        for (const name of ["everything.echo", "fs.read_text_file", "fs.write_file"])
          assert.ok(names.includes(name), name);
        for (const hidden of ["everything.get-env", "fs.edit_file", "fs.move_file"])
          assert.ok(!names.includes(hidden), hidden);
        const echo = await client.callTool({
          name: "everything.echo",
          arguments: { message: "hi" },
        });
        assert.match(String(dig(echo, "content", 0, "text")), /hi/);
        // write_file is a write: it needs a key, and runs once per key.
        const keyless = await client.callTool({
          name: "fs.write_file",
          arguments: { path: "out.txt", content: "x" },
        });
        assert.equal(readWireError(keyless)?.type, "invalid_input");
        const wrote = await client.callTool({
          name: "fs.write_file",
          arguments: { path: "out.txt", content: "written once", idempotency_key: "readme-1" },
        });
        assert.notEqual(wrote.isError, true, JSON.stringify(wrote));
      } finally {
        await client.close();
      }
    } finally {
      await gateway.stop();
    }

    // Every file landed beside the config: the served folder, the lock the first run
    // pinned, and .toolgate/ with the dev key, the audit log and the idempotency records.
    assert.deepEqual(readdirSync(root), [path.dirname(configFile!).split(path.sep)[0]]);
    assert.deepEqual(readdirSync(configDir).sort(), [
      ".toolgate",
      path.basename(path.dirname(helloFile!)),
      "toolgate.lock.json",
      path.basename(configFile!),
    ]);
    assert.equal(readFileSync(path.join(configDir, "shared", "out.txt"), "utf8"), "written once");
    const data = readdirSync(path.join(configDir, ".toolgate"));
    for (const name of ["dev-issuer.json", "gateway-audit.sqlite", "idempotency.sqlite"])
      assert.ok(data.includes(name), `${name} in ${data.join(", ")}`);
    const lock = await readLock(path.join(configDir, "toolgate.lock.json"));
    assert.ok(lock.tools["fs.read_text_file"]);
    assert.ok(!lock.tools["everything.get-env"]);
  },
);
