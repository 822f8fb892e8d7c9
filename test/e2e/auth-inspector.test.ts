// The MCP Inspector CLI against an authenticated toolgate server over HTTP: with
// `--header "Authorization: Bearer <token>"` tools/list and tools/call work and are
// scoped by the token; without a usable token the CLI fails cleanly (non-zero exit, a
// JSON error, no stack trace). The token is minted by a dev issuer with a temp key file;
// the server verifies with `issuer.verifier()`, i.e. for its own URL as the audience.
//
// Needs Node 22 and the inspector: `npm test` finds them in .ci/tools (see
// test/e2e/inspector-cli.test.ts); without TOOLGATE_TEST_NODE22 and
// TOOLGATE_INSPECTOR_CLI the suite is skipped with a hint.
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { devIssuer, type DevIssuer } from "../../src/index.js";
import {
  READ_SCOPE,
  REFUND_SCOPE,
  createAuthTools,
  type AuthToolSet,
} from "../fixtures/auth-tools.js";
import { dig, digArray } from "../helpers/json.js";
import {
  INSPECTOR_SKIP,
  inspectorResult,
  runInspector,
  type InspectorRun,
} from "../helpers/process.js";
import { startServer, type RunningServer } from "../helpers/server.js";
import { memoryLogger } from "../unit/helpers/memory-logger.js";

describe("MCP inspector CLI against an authenticated HTTP server", { skip: INSPECTOR_SKIP }, () => {
  let dir: string;
  /** The inspector's HOME (it keeps state there). */
  let home: string;
  let issuer: DevIssuer;
  let fixtures: AuthToolSet;
  let running: RunningServer;
  let url: string;
  let token: string;
  const logs = memoryLogger();
  const tokens: string[] = [];

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "toolgate-auth-inspector-"));
    home = path.join(dir, "home");
    issuer = await devIssuer({ keyFile: path.join(dir, "keys", "dev-issuer.json"), env: {} });
    fixtures = createAuthTools();
    running = await startServer(fixtures.tools, {
      auth: issuer.verifier(),
      logger: logs.log,
    });
    url = running.address.url;
    token = await mint({ sub: "inspector-user", scope: READ_SCOPE });
  });

  after(async () => {
    await running?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function mint(claims: Parameters<DevIssuer["mint"]>[0]): Promise<string> {
    const minted = await issuer.mint({ audience: url, ...claims });
    tokens.push(minted);
    return minted;
  }

  function inspector(args: string[], bearer: string | undefined): Promise<InspectorRun> {
    const header = bearer === undefined ? [] : ["--header", `Authorization: Bearer ${bearer}`];
    return runInspector([url, ...args, ...header], { home });
  }

  /** A failed run: the exit code, one JSON error on stderr, no stack trace, no token. */
  function assertCleanFailure(run: InspectorRun, code: number): unknown {
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

  test("tools/list with the token lists only what its scopes allow", async () => {
    const result = inspectorResult(await inspector(["--method", "tools/list"], token));
    const names = digArray(result, "tools").map((t) => dig(t, "name"));
    assert.deepEqual(names, ["list_orders", "whoami"]);
  });

  test("tools/call with the token runs the tool for the token's subject", async () => {
    const ran = fixtures.probes.ran.length;
    const orders = inspectorResult(
      await inspector(["--method", "tools/call", "--tool-name", "list_orders"], token),
    );
    assert.deepEqual(dig(orders, "structuredContent"), {
      orders: ["INV-2024-00001", "INV-2024-00002"],
    });
    const who = inspectorResult(
      await inspector(["--method", "tools/call", "--tool-name", "whoami"], token),
    );
    assert.equal(dig(who, "structuredContent", "principal", "subject"), "inspector-user");
    assert.deepEqual(dig(who, "structuredContent", "principal", "scopes"), [READ_SCOPE]);
    assert.deepEqual(fixtures.probes.ran.slice(ran), ["list_orders", "whoami"]);
  });

  test("tools/call of a tool the token's scopes hide: not found (exit 5), nothing runs", async () => {
    const ran = fixtures.probes.ran.length;
    // The inspector resolves the tool in tools/list first; the filtered list hides it,
    // so the call is never sent (the server's forbidden answer is in auth-http.test.ts).
    const run = await inspector(
      ["--method", "tools/call", "--tool-name", "refund_order", "--tool-arg", "id=INV-1"],
      token,
    );
    const error = assertCleanFailure(run, 5);
    assert.equal(dig(error, "code"), "tool_not_found");
    assert.equal(fixtures.probes.ran.length, ran, "refund_order's handler ran");
    // With the scope, the same call goes through.
    const refunds = await mint({ sub: "inspector-user", scope: [READ_SCOPE, REFUND_SCOPE] });
    const result = inspectorResult(
      await inspector(
        ["--method", "tools/call", "--tool-name", "refund_order", "--tool-arg", "id=INV-1"],
        refunds,
      ),
    );
    assert.deepEqual(dig(result, "structuredContent"), { refunded: "INV-1" });
  });

  test("without the header: a non-zero exit, a JSON error, no stack trace", async () => {
    const ran = fixtures.probes.ran.length;
    // Non-interactive, the CLI cannot start an OAuth login: auth_required.
    const error = assertCleanFailure(await inspector(["--method", "tools/list"], undefined), 3);
    assert.equal(dig(error, "code"), "auth_required");
    // With --stored-auth-only (the CI mode) the server's own refusal comes through.
    const stored = assertCleanFailure(
      await inspector(["--method", "tools/list", "--stored-auth-only"], undefined),
      3,
    );
    assert.match(String(dig(stored, "message")), /requires a bearer token/);
    assert.equal(fixtures.probes.ran.length, ran);
  });

  test("with an invalid or foreign-audience token: a non-zero exit, no stack trace", async () => {
    const ran = fixtures.probes.ran.length;
    const foreign = await mint({ sub: "inspector-user", audience: "https://elsewhere.test/mcp" });
    for (const bad of [`${token}x`, foreign]) {
      const args = ["--method", "tools/call", "--tool-name", "whoami", "--stored-auth-only"];
      const error = assertCleanFailure(await inspector(args, bad), 3);
      assert.equal(dig(error, "code"), "auth_required");
    }
    assert.equal(fixtures.probes.ran.length, ran);
  });

  test("the token is in neither the server log nor the inspector's HOME", () => {
    const logText = JSON.stringify(logs.lines());
    for (const minted of tokens) assert.ok(!logText.includes(minted), "the server logged a token");
    assert.ok(!/Bearer [A-Za-z0-9]/.test(logText));
    const stored: string[] = [];
    const walk = (at: string) => {
      for (const name of readdirSync(at)) {
        const file = path.join(at, name);
        if (statSync(file).isDirectory()) walk(file);
        else stored.push(readFileSync(file, "utf8"));
      }
    };
    walk(home);
    for (const minted of tokens) {
      assert.ok(!stored.some((text) => text.includes(minted)), "the inspector stored a token");
    }
  });
});
