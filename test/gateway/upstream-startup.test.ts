// Upstreams that are not there when `toolgate gateway` starts (issue 18): a command that
// does not exist, one that exits at once, and one that is slow to start, like a first
// `npx` run still downloading its package. Calls to their tools used to answer
// `not_found` ("No tool is named 'fs.read_text_file'") and the model gave up. They answer
// `unavailable` (retryable, with retryAfterMs) with nothing counted or claimed, the slow
// one's log says why it is retried and how to wait longer, and once it has listed its
// tools they work and unknown names are `not_found` again.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { readWireError } from "../../src/errors/to-result.js";
import { REPO_ROOT, jsonLineWith, tryParse } from "../helpers/process.js";
import { connect, startCli } from "./cli-process.js";

const SLOW = path.join(REPO_ROOT, "test", "gateway", "fixtures", "slow-start-upstream.ts");
const STEP_MS = 60_000;

const dir = mkdtempSync(path.join(tmpdir(), "toolgate-startup-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test(
  "tools of upstreams that are down or still starting answer unavailable, then work",
  { timeout: 3 * STEP_MS },
  async () => {
    const readyFile = path.join(dir, "downloaded");
    const file = path.join(dir, "toolgate.yaml");
    const node = JSON.stringify(process.execPath);
    writeFileSync(
      file,
      [
        "auth: { none: true }",
        "audit: false",
        "store: memory",
        // Calls to upstreams that are not there must not spend this budget.
        "rateLimit: { perPrincipal: 2/min }",
        "upstreams:",
        "  gone:",
        '    stdio: { command: "/nonexistent/toolgate-no-such-server" }',
        "    prefix: fs",
        "  exits:",
        `    stdio: { command: ${node}, args: [-e, "process.exit(3)"] }`,
        "  slow:",
        "    stdio:",
        `      command: ${node}`,
        `      args: [--import, tsx, ${JSON.stringify(SLOW)}]`,
        `      cwd: ${JSON.stringify(REPO_ROOT)}`,
        `      env: { READY_FILE: ${JSON.stringify(readyFile)} }`,
        "    connectTimeout: 5s",
        "    restart: { initialDelay: 100ms, maxDelay: 200ms }",
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
    const call = async (name: string, args: Record<string, unknown> = {}) =>
      await client.callTool({ name, arguments: args });

    for (const name of ["fs.read_text_file", "fs.read_text_file", "exits.anything", "slow.echo"]) {
      const result = await call(name, { path: "hello.txt", message: "x" });
      const error = readWireError(result);
      assert.equal(error?.type, "unavailable", `${name}: ${JSON.stringify(result)}`);
      assert.equal(error?.retryable, true);
      assert.ok((error?.retryAfterMs ?? 0) > 0, `${name}: retryAfterMs ${error?.retryAfterMs}`);
      assert.match(error?.message ?? "", /Nothing was sent; retry/);
    }
    assert.deepEqual((await client.listTools()).tools, [], "nothing it cannot vouch for is listed");

    // The slow one's log line says why it is retried, when, and how to wait longer.
    const timedOut = await gateway.stderr.waitForLine(
      (line) =>
        jsonLineWith({ upstream: "slow" })(line) &&
        /did not finish starting/.test(String(tryParse(line)?.["reason"])),
      STEP_MS,
      "the slow upstream's connect-timeout log line",
    );
    const reason = String(tryParse(timedOut)?.["reason"]);
    assert.match(reason, /within connectTimeoutMs \(5000 ms\)/);
    assert.match(reason, /first npx run/);
    assert.match(reason, /retrying in \d+ ms/);
    assert.match(reason, /raise upstreams\.slow\.connectTimeout/);

    // "Downloaded": the next attempt connects, and its tools are published.
    writeFileSync(readyFile, "");
    await gateway.stderr.waitForLine(
      (line) => jsonLineWith({ upstream: "slow" })(line) && /pinned the upstream's tool/.test(line),
      STEP_MS,
      "the slow upstream's tools",
    );
    const echo = await call("slow.echo", { message: "finally" });
    assert.deepEqual(echo.content, [{ type: "text", text: "finally" }]);
    assert.equal(readWireError(await call("slow.nope"))?.type, "not_found");
    // The budget of 2 calls a minute is intact: the refused calls spent none of it.
    const again = await call("slow.echo", { message: "again" });
    assert.notEqual(again.isError, true, JSON.stringify(again));
    assert.equal(
      readWireError(await call("slow.echo", { message: "third" }))?.type,
      "rate_limited",
    );
    // Upstreams still down keep answering unavailable, not not_found.
    assert.equal(readWireError(await call("exits.anything"))?.type, "unavailable");
  },
);
