// The audit issue's "done when": the demo, run as a process, writes an audit log that
// `toolgate audit` shows, and serves /metrics. Real HTTP, real SDK client, real SQLite.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { devIssuer } from "../../src/index.js";
import { type AuditEvent } from "../../src/audit/index.js";
import { runCliCaptured } from "../helpers/cli.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const dir = mkdtempSync(path.join(tmpdir(), "refunds-audit-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const cli = (args: string[]) => runCliCaptured(args, { ...process.env, TOOLGATE_DATA_DIR: dir });

test("the demo writes an audit log that `toolgate audit` shows", async () => {
  const keyFile = path.join(dir, "keys.json");
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      "examples/refunds/main.ts",
      "--port",
      "0",
      "--keys",
      keyFile,
      "--db",
      path.join(dir, "refunds.sqlite"),
    ],
    { cwd: root, env: { ...process.env, PORT: "", TOOLGATE_DATA_DIR: dir } },
  );
  let out = "";
  let err = "";
  child.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
  child.stderr.setEncoding("utf8").on("data", (c: string) => (err += c));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  let issuerName = "";
  try {
    const deadline = Date.now() + 20_000;
    while (!/Press Ctrl\+C/.test(out)) {
      assert.ok(Date.now() < deadline, `no banner; stderr: ${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.match(out, /npx toolgate audit/, "the banner says how to read the log");
    const url = /MCP endpoint:\s+(\S+)/.exec(out)![1]!;
    const issuer = await devIssuer({ keyFile });
    issuerName = issuer.issuer;
    const mint = (sub: string, scope: string) => issuer.mint({ sub, scope, audience: url });
    const connect = async (token: string) => {
      const client = new Client({ name: "t", version: "1" });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(url), {
          requestInit: { headers: { authorization: `Bearer ${token}` } },
        }),
      );
      return client;
    };
    const alice = await connect(await mint("alice", "orders:read refunds:write"));
    await alice.callTool({ name: "get_order", arguments: { order_id: "INV-2024-00001" } });
    await alice.callTool({ name: "get_order", arguments: { order_id: "INV-2024-99999" } });
    const refund = {
      order_id: "INV-2024-00001",
      amount_cents: 100,
      reason: "damaged",
      idempotency_key: randomUUID(),
    };
    await alice.callTool({ name: "issue_refund", arguments: refund });
    await alice.callTool({ name: "issue_refund", arguments: refund });
    await alice.close();
    const bob = await connect(await mint("bob", "orders:read"));
    await bob.callTool({
      name: "issue_refund",
      arguments: { ...refund, idempotency_key: randomUUID() },
    });
    await bob.close();
    const anonymous = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    assert.equal(anonymous.status, 401);
    const metrics = await (await fetch(new URL("/metrics", url))).text();
    assert.match(metrics, /toolgate_tool_calls_total\{tool="issue_refund",outcome="ok"\} 2/);
    assert.match(metrics, /toolgate_idempotent_replays_total\{tool="issue_refund"\} 1/);
  } finally {
    child.kill("SIGTERM");
  }
  assert.equal(await exited, 0, `demo exit; stderr: ${err}`);

  const table = await cli(["audit"]);
  assert.equal(table.code, 0, table.stderr);
  const lines = table.stdout.trim().split("\n");
  assert.match(lines[0]!, /TIME\s+SUBJECT\s+TOOL\s+OUTCOME/);
  assert.equal(lines.length, 1 + 6, "a header and six events (five calls, one refusal)");
  assert.ok(lines.some((l) => /alice\s+get_order\s+not_found/.test(l)));
  assert.ok(lines.some((l) => /bob\s+issue_refund\s+forbidden/.test(l)));

  const json = await cli(["audit", "--json", "--subject", "alice", "--tool", "issue_refund"]);
  const events = json.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as AuditEvent);
  assert.deepEqual(
    events.map((e) => e.idempotency),
    ["executed", "replayed"],
  );
  assert.equal(events[0]!.backendCalls[0]?.name, "payments");
  assert.equal(events[0]!.backendCalls[0]?.status, 201, "the provider answered 201 Created");
  assert.deepEqual(events[1]!.backendCalls, [], "a replay calls no backend");
  assert.equal(events[0]!.principal.issuer, issuerName);
  assert.equal((events[0]!.arguments as { reason: string }).reason, "damaged");

  const refused = await cli(["audit", "--json", "--outcome", "unauthenticated", "--since", "10m"]);
  const refusal = JSON.parse(refused.stdout.trim()) as AuditEvent;
  assert.equal(refusal.tool, null);
  assert.equal(refusal.transport, "http");
});
