// End-to-end over stdio: a real child process (test/fixtures/stdio-server.ts) serving
// the fixture tools with server.handleStdio(), driven by the SDK client in both eras
// and by raw JSON-RPC lines. Checks the typed errors, the deadline, that stdout carries
// only protocol, and that the cause of an `internal` error is logged on stderr under the
// incident id the client got.
import assert from "node:assert/strict";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { Client } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import type { CallToolResult } from "@modelcontextprotocol/client";
import { ERROR_TYPES } from "../../src/errors/index.js";
import {
  ERROR_CASES,
  FORBIDDEN_SCOPES,
  INTERNAL_CAUSE,
  SECRET,
  UNAVAILABLE_RETRY_MS,
  createFixtureTools,
} from "../fixtures/tools.js";
import {
  LineCollector,
  REPO_ROOT,
  fixturePath,
  jsonLineWith,
  tryParse,
  waitForExit,
} from "../helpers/process.js";
import { dig } from "../helpers/json.js";
import {
  CLIENT_MODES,
  EXPECTED_PROTOCOL,
  assertNoLeak,
  expectToolError,
} from "../helpers/server.js";

const SERVER = fixturePath("stdio-server.ts");
const CAUSE_FRAGMENTS = [SECRET, "/srv/app", "10.0.0.5", "ECONNREFUSED"];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Child processes start tsx; give them time on a slow CI machine, but not forever. */
const STARTUP_MS = 30_000;

/** A minimal environment: no NODE_TEST_CONTEXT or NODE_OPTIONS leaking into the child. */
function childEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ["PATH", "HOME", "TMPDIR", "LANG"]) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return env;
}

for (const mode of CLIENT_MODES) {
  describe(`stdio, ${mode} client`, () => {
    let client: Client;
    let transport: StdioClientTransport;
    let stderr: LineCollector;
    const transportErrors: Error[] = [];

    before(async () => {
      transport = new StdioClientTransport({
        command: process.execPath,
        args: ["--import", "tsx", SERVER],
        cwd: REPO_ROOT,
        env: childEnv(),
        stderr: "pipe",
      });
      stderr = new LineCollector(transport.stderr);
      transport.onerror = (error) => transportErrors.push(error);
      client = new Client(
        { name: "toolgate-e2e-stdio", version: "1.0.0" },
        { versionNegotiation: { mode } },
      );
      await client.connect(transport, { timeout: STARTUP_MS });
    });

    after(async () => {
      await client?.close();
    });

    async function call(name: string, args: Record<string, unknown>): Promise<CallToolResult> {
      const result = await client.callTool({ name, arguments: args });
      assertNoLeak(result, ...CAUSE_FRAGMENTS);
      return result;
    }

    test(`negotiates ${EXPECTED_PROTOCOL[mode]}`, () => {
      assert.equal(client.getNegotiatedProtocolVersion(), EXPECTED_PROTOCOL[mode]);
      assert.equal(client.getServerVersion()?.name, "toolgate-stdio-fixture");
    });

    test("tools/list lists the fixture tools", async () => {
      const { tools } = await client.listTools();
      assertNoLeak(tools);
      assert.deepEqual(
        tools.map((t) => t.name),
        createFixtureTools().tools.map((t) => t.name),
      );
      const echo = tools.find((t) => t.name === "echo");
      assert.equal(echo?.inputSchema["additionalProperties"], false);
      assert.equal(echo?.annotations?.readOnlyHint, true);
      assert.equal(echo?._meta?.["toolgate/version"], "1.0.0");
    });

    test("a successful call", async () => {
      const result = await call("echo", { text: "over stdio", n: 2 });
      assert.notEqual(result.isError, true);
      assert.deepEqual(result.structuredContent, { echoed: "over stdio", n: 2 });
    });

    for (const c of ERROR_CASES) {
      test(`typed error: ${c.type} (${c.tool})`, async () => {
        const error = expectToolError(await call(c.tool, { ...c.args }), c.type);
        assert.equal(error.retryable, ERROR_TYPES[c.type].retryable);
      });
    }

    test("forbidden and unavailable details survive stdio", async () => {
      const forbidden = expectToolError(await call("delete_order", { id: "x" }), "forbidden");
      assert.deepEqual(forbidden.details, { requiredScopes: FORBIDDEN_SCOPES });
      const down = expectToolError(await call("query_db", {}), "unavailable");
      assert.equal(down.retryAfterMs, UNAVAILABLE_RETRY_MS);
    });

    test("nested invalid arguments point at the field", async () => {
      const error = expectToolError(
        await call("create_shipment", {
          order: { id: "ORD-0001", items: [{ sku: "ABC-123", qty: 0, kind: "physical", x: 1 }] },
          priority: "standard",
        }),
        "invalid_input",
      );
      const paths = (error.details?.["issues"] as { path: string }[]).map((i) => i.path).sort();
      assert.deepEqual(paths, ["/order/items/0/qty", "/order/items/0/x"]);
    });

    test("deadline: timeout reaches the client and the handler saw its signal abort", async () => {
      const logLinesBefore = stderr.lines.length;
      const t0 = performance.now();
      const error = expectToolError(await call("slow", {}), "timeout");
      const elapsed = performance.now() - t0;
      assert.equal(error.retryable, true);
      assert.ok(elapsed < 10_000, `answered after ${elapsed} ms`);
      // The handler logs what it saw to the server log (stderr): proof it was told to stop.
      const line = await stderr.waitForLine(
        jsonLineWith({ msg: "slow saw abort", sawAbort: true, reason: "DeadlineExceeded" }),
        10_000,
        "the slow handler's abort log line",
        logLinesBefore,
      );
      assert.ok(line);
    });

    test("internal: the client gets an incident id; stderr has the cause under the same id", async () => {
      const error = expectToolError(await call("explode", {}), "internal");
      assert.equal(error.message, ERROR_TYPES.internal.message);
      const incidentId = error.incidentId ?? "";
      assert.match(incidentId, UUID);
      const line = await stderr.waitForLine(
        jsonLineWith({ incidentId }),
        10_000,
        `the log line of incident ${incidentId}`,
      );
      const logged = tryParse(line)!;
      assert.equal(dig(logged, "msg"), "unexpected error in tool call");
      assert.equal(dig(logged, "level"), 50);
      assert.equal(dig(logged, "tool"), "explode");
      const err = dig(logged, "err") as { message?: string; stack?: string };
      assert.equal(err.message, INTERNAL_CAUSE, "the real cause is logged server-side");
      assert.match(err.stack ?? "", /\n {4}at /, "with its stack");
    });

    test("unavailable: the cause is logged server-side, not sent", async () => {
      const logLinesBefore = stderr.lines.length;
      expectToolError(await call("query_db", {}), "unavailable");
      await stderr.waitForLine(
        (l) =>
          jsonLineWith({ msg: "tool error with cause", errorType: "unavailable" })(l) &&
          l.includes(SECRET),
        10_000,
        "the unavailable cause log line",
        logLinesBefore,
      );
    });

    test("no transport errors: every stdout line was a protocol message", () => {
      assert.deepEqual(transportErrors, []);
      // Every stderr line the server wrote is a JSON log line (pino), none a stray print.
      for (const line of stderr.lines) {
        assert.ok(tryParse(line), `non-JSON stderr line: ${line}`);
      }
    });
  });
}

/** A tiny JSON-RPC client over a raw child process, to see stdout byte for byte. */
describe("stdio, raw JSON-RPC lines", () => {
  let child: ChildProcessWithoutNullStreams;
  let stdout: LineCollector;
  let stderr: LineCollector;

  const send = (message: unknown) => child.stdin.write(`${JSON.stringify(message)}\n`);
  const response = async (id: number): Promise<Record<string, unknown>> =>
    tryParse(await stdout.waitForLine(jsonLineWith({ id }), STARTUP_MS, `response ${id}`))!;

  before(() => {
    child = spawn(process.execPath, ["--import", "tsx", SERVER], {
      cwd: REPO_ROOT,
      env: childEnv(),
      stdio: ["pipe", "pipe", "pipe"],
    });
    stdout = new LineCollector(child.stdout);
    stderr = new LineCollector(child.stderr);
  });

  after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.stdin.end();
      await waitForExit(child, 10_000).catch(() => undefined);
    }
  });

  test("calls over raw lines; stdout carries only JSON-RPC; stdin EOF exits cleanly", async () => {
    send({
      jsonrpc: "2.0",
      id: 0,
      method: "initialize",
      params: {
        protocolVersion: "2025-11-25",
        capabilities: {},
        clientInfo: { name: "raw", version: "1" },
      },
    });
    const init = await response(0);
    assert.equal(dig(init, "result", "protocolVersion"), "2025-11-25");
    send({ jsonrpc: "2.0", method: "notifications/initialized" });

    send({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: "explode", arguments: {} },
    });
    send({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "slow", arguments: {} } });
    send({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "echo", arguments: [1] } });
    send({
      jsonrpc: "2.0",
      id: 4,
      method: "tools/call",
      params: { name: "echo", arguments: { text: "raw" } },
    });
    send({ jsonrpc: "2.0", id: 5, method: "no/such/method", params: {} });

    const [explode, slow, badArgs, echo, unknown] = await Promise.all(
      [1, 2, 3, 4, 5].map(response),
    );
    const incidentId = expectToolError(dig(explode, "result"), "internal").incidentId ?? "";
    assert.match(incidentId, UUID);
    expectToolError(dig(slow, "result"), "timeout");
    // Non-object arguments fail the SDK's request schema: a JSON-RPC error, not a tool result.
    assert.equal(dig(badArgs, "error", "code"), -32602);
    assert.deepEqual(dig(echo, "result", "structuredContent"), { echoed: "raw", n: null });
    assert.equal(dig(unknown, "error", "code"), -32601);

    // A line that is not JSON at all must not kill the server.
    child.stdin.write("this is not json\n");
    send({
      jsonrpc: "2.0",
      id: 6,
      method: "tools/call",
      params: { name: "echo", arguments: { text: "after" } },
    });
    assert.deepEqual(dig(await response(6), "result", "structuredContent"), {
      echoed: "after",
      n: null,
    });

    await stderr.waitForLine(jsonLineWith({ incidentId }), 10_000, "the incident's log line");

    child.stdin.end();
    const exit = await waitForExit(child, 10_000);
    assert.deepEqual(exit, { code: 0, signal: null });

    for (const line of stdout.lines) {
      const message = tryParse(line);
      assert.ok(message, `stdout line is not JSON: ${line}`);
      assert.equal(message["jsonrpc"], "2.0", `stdout line is not JSON-RPC: ${line}`);
      assertNoLeak(line, ...CAUSE_FRAGMENTS);
    }
    assert.ok(stdout.text.endsWith("\n"), "no partial line left on stdout");
    assert.ok(stderr.text.includes(SECRET), "the cause with its secret is in the server log only");
  });
});
