// The README's gateway example must work as written: its toolgate.yaml runs under
// `toolgate gateway` (only the port is swapped for a free one), and the calls the README
// shows answer. `npx` finds server-everything and server-filesystem in this repository's
// node_modules (devDependencies), so the folder is made inside the repository.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { after, test } from "node:test";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { devIssuer } from "../../src/index.js";
import { readLock } from "../../src/contract/lock-file.js";
import { dig } from "../helpers/json.js";
import { REPO_ROOT } from "../helpers/process.js";
import { expectToolError } from "../helpers/server.js";

const readme = readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");

function gatewayExample(): string {
  const section = readme.slice(readme.indexOf("## Gateway"));
  const match = /```yaml\n([\s\S]*?)```/.exec(section);
  assert.ok(match?.[1], "README has a ```yaml example under '## Gateway'");
  return match[1];
}

/** The JSON body of the README's curl under '## Gateway' (its `-d '...'`). */
function readmeCurlBody(): string {
  const section = readme.slice(readme.indexOf("## Gateway"));
  const match = /-d '(\{[^']*\})'/.exec(section);
  assert.ok(match?.[1], "README shows a curl call under '## Gateway'");
  return match[1];
}

mkdirSync(path.join(REPO_ROOT, ".toolgate"), { recursive: true });
const dir = mkdtempSync(path.join(REPO_ROOT, ".toolgate", "readme-gateway-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("the README gateway config runs as written and the calls it shows answer", async () => {
  const yaml = gatewayExample();
  assert.match(yaml, /port: 3100/);
  writeFileSync(path.join(dir, "toolgate.yaml"), yaml);
  // The README's first command.
  mkdirSync(path.join(dir, "shared"));
  writeFileSync(path.join(dir, "shared", "hello.txt"), "hello from behind the gateway\n");

  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      path.join(REPO_ROOT, "src", "cli", "main.ts"),
      "gateway",
      "--config",
      "toolgate.yaml",
      "--port",
      "0",
    ],
    {
      cwd: dir,
      env: { ...process.env, TOOLGATE_LOG_LEVEL: "warn" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += String(chunk)));
  try {
    const lines = createInterface({ input: child.stdout });
    const [line] = (await Promise.race([
      once(lines, "line"),
      once(child, "exit").then(() => assert.fail(`the gateway exited: ${stderr}`)),
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`no listening line: ${stderr}`)), 60_000),
      ),
    ])) as [string];
    const url = /listening on (\S+)/.exec(line)?.[1];
    assert.ok(url, line);
    // The summary follows the listening line on stderr.
    const summary = /upstreams: everything \(ready, \d+ tools\), files \(ready, \d+ tools\)/;
    for (let i = 0; i < 100 && !summary.test(stderr); i++)
      await new Promise((resolve) => setTimeout(resolve, 50));
    assert.match(stderr, summary);

    // `toolgate token` from the same dev issuer (the key file is under the gateway's folder).
    const issuer = await devIssuer({ keyFile: path.join(dir, ".toolgate", "dev-issuer.json") });
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
      body: readmeCurlBody(),
    });
    assert.equal(response.status, 200);
    assert.match(await response.text(), /hello from behind the gateway/);

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
      const echo = await client.callTool({ name: "everything.echo", arguments: { message: "hi" } });
      assert.match(String(dig(echo, "content", 0, "text")), /hi/);
      // write_file is a write: it needs a key, and runs once per key.
      expectToolError(
        await client.callTool({
          name: "fs.write_file",
          arguments: { path: "out.txt", content: "x" },
        }),
        "invalid_input",
      );
      const wrote = await client.callTool({
        name: "fs.write_file",
        arguments: { path: "out.txt", content: "written once", idempotency_key: "readme-1" },
      });
      assert.notEqual(wrote.isError, true, JSON.stringify(wrote));
      assert.equal(readFileSync(path.join(dir, "shared", "out.txt"), "utf8"), "written once");
    } finally {
      await client.close();
    }
    // The first run pinned every published tool next to the config.
    const lock = await readLock(path.join(dir, "toolgate.lock.json"));
    assert.ok(lock.tools["fs.read_text_file"]);
    assert.ok(!lock.tools["everything.get-env"]);
    assert.ok(existsSync(path.join(dir, ".toolgate", "gateway-audit.sqlite")));
  } finally {
    child.kill("SIGTERM");
    if (child.exitCode === null) await once(child, "exit");
  }
});
