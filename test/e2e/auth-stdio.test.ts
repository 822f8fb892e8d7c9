// Auth over stdio: a real child process (test/fixtures/auth-stdio-server.ts) whose
// identity is the TOOLGATE_TOKEN it was started with, checked by a dev issuer verifier
// with an explicit audience. stdio has no HTTP 401, so a missing, invalid or expired
// token shows as `unauthenticated` tool results and an empty tools/list. Driven by the
// official SDK client in both protocol eras.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Client } from "@modelcontextprotocol/client";
import { decodeJwt } from "jose";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { devIssuer, type DevIssuer } from "../../src/index.js";
import { DEV_ISSUER } from "../../src/auth/index.js";
import {
  KEY_FILE_ENV,
  READ_SCOPE,
  REFUND_SCOPE,
  STDIO_AUDIENCE,
  type WhoamiResult,
} from "../fixtures/auth-tools.js";
import {
  LineCollector,
  REPO_ROOT,
  fixturePath,
  jsonLineWith,
  minimalEnv,
} from "../helpers/process.js";
import {
  CLIENT_MODES,
  EXPECTED_PROTOCOL,
  expectToolError,
  type ClientMode,
} from "../helpers/server.js";

const SERVER = fixturePath("auth-stdio-server.ts");
/** Child processes start tsx; give them time on a slow CI machine, but not forever. */
const STARTUP_MS = 30_000;
const TOOL_CALLS: [string, Record<string, unknown>][] = [
  ["list_orders", {}],
  ["refund_order", { id: "INV-1" }],
  ["whoami", {}],
];

let dir: string;
let keyFile: string;
/** The issuer whose key the server trusts. */
let issuer: DevIssuer;
/** Another dev issuer: same `iss`, another key. */
let stranger: DevIssuer;

interface StdioConnection {
  client: Client;
  stderr: LineCollector;
  close(): Promise<void>;
}
const open: StdioConnection[] = [];

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "toolgate-auth-stdio-"));
  keyFile = path.join(dir, "dev-issuer.json");
  issuer = await devIssuer({ keyFile, audience: STDIO_AUDIENCE, env: {} });
  stranger = await devIssuer({
    keyFile: path.join(dir, "stranger.json"),
    audience: STDIO_AUDIENCE,
    env: {},
  });
});

after(async () => {
  await Promise.allSettled(open.map((c) => c.close()));
  rmSync(dir, { recursive: true, force: true });
});

/** Spawns the fixture with this token (none: TOOLGATE_TOKEN unset) and connects. */
async function connect(mode: ClientMode, token: string | undefined): Promise<StdioConnection> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: ["--import", "tsx", SERVER],
    cwd: REPO_ROOT,
    env: minimalEnv({
      [KEY_FILE_ENV]: keyFile,
      ...(token === undefined ? {} : { TOOLGATE_TOKEN: token }),
    }),
    stderr: "pipe",
  });
  const stderr = new LineCollector(transport.stderr);
  const client = new Client(
    { name: "toolgate-e2e-auth-stdio", version: "1.0.0" },
    { versionNegotiation: { mode } },
  );
  await client.connect(transport, { timeout: STARTUP_MS });
  assert.equal(client.getNegotiatedProtocolVersion(), EXPECTED_PROTOCOL[mode]);
  const connection = { client, stderr, close: () => client.close() };
  open.push(connection);
  return connection;
}

async function listed(client: Client): Promise<string[]> {
  return (await client.listTools()).tools.map((t) => t.name).sort();
}

async function call(client: Client, name: string, args: Record<string, unknown> = {}) {
  return await client.callTool({ name, arguments: args });
}

/** The token (and its signature) appear nowhere in the server's log. */
function assertNotLogged(stderr: LineCollector, token: string): void {
  assert.ok(!stderr.text.includes(token), "the token was logged");
  const signature = token.split(".")[2];
  if (signature) assert.ok(!stderr.text.includes(signature), "the token's signature was logged");
}

/** No identity: every tool is hidden, and every call is `unauthenticated`, no handler runs. */
async function assertLockedOut(connection: StdioConnection): Promise<void> {
  assert.deepEqual(await listed(connection.client), []);
  for (const [name, args] of TOOL_CALLS) {
    const error = expectToolError(await call(connection.client, name, args), "unauthenticated");
    assert.equal(
      error.message,
      "This server requires a valid access token. Provide one and reconnect.",
    );
    assert.equal(error.retryable, false);
  }
}

for (const mode of CLIENT_MODES) {
  describe(`stdio auth, ${mode} client`, () => {
    test("a valid TOOLGATE_TOKEN: calls work, tools/list is filtered by scope", async () => {
      const token = await issuer.mint({ sub: `stdio-${mode}`, scope: READ_SCOPE, tenant: "acme" });
      const connection = await connect(mode, token);
      const { client } = connection;
      assert.deepEqual(await listed(client), ["list_orders", "whoami"]);

      const orders = await call(client, "list_orders");
      assert.notEqual(orders.isError, true, JSON.stringify(orders));
      assert.deepEqual(orders.structuredContent, {
        orders: ["INV-2024-00001", "INV-2024-00002"],
      });

      const who = (await call(client, "whoami")).structuredContent as WhoamiResult;
      assert.equal(who.principal.subject, `stdio-${mode}`);
      assert.equal(who.principal.issuer, DEV_ISSUER);
      assert.equal(who.principal.tenant, "acme");
      assert.deepEqual(who.principal.scopes, [READ_SCOPE]);
      assert.equal(who.principal.claims["aud"], STDIO_AUDIENCE);
      assert.equal(who.principal.expiresAt, (who.principal.claims["exp"] as number) * 1000);
      assert.equal(who.principal.anonymous, false);
      assert.ok(!JSON.stringify(who).includes(token), "the token reached the handler");

      const refused = expectToolError(
        await call(client, "refund_order", { id: "INV-1" }),
        "forbidden",
      );
      assert.deepEqual(refused.details, { requiredScopes: [REFUND_SCOPE] });
      await connection.close();
      assertNotLogged(connection.stderr, token);
    });

    test("no TOOLGATE_TOKEN: every call is unauthenticated and tools/list is empty", async () => {
      const connection = await connect(mode, undefined);
      await connection.stderr.waitForLine(
        jsonLineWith({
          msg: "auth is on but TOOLGATE_TOKEN is not set: every stdio call will be refused",
        }),
        STARTUP_MS,
        "the missing-token warning",
      );
      await assertLockedOut(connection);
    });

    const invalid: [string, () => Promise<string>][] = [
      ["not a JWT", () => Promise.resolve("not-a-token")],
      ["signed by another key", () => stranger.mint({ sub: "mallory", scope: READ_SCOPE })],
      [
        "minted for another audience",
        () => issuer.mint({ sub: "alice", scope: READ_SCOPE, audience: "https://other.test/mcp" }),
      ],
      [
        "expired an hour ago",
        async () => {
          const past = await devIssuer({ keyFile, env: {}, now: () => Date.now() - 3_600_000 });
          return past.mint({ sub: "alice", scope: READ_SCOPE, ttlSec: 60 });
        },
      ],
    ];
    for (const [name, makeToken] of invalid) {
      test(`an invalid TOOLGATE_TOKEN (${name}): same as no token, and not logged`, async () => {
        const token = await makeToken();
        const connection = await connect(mode, token);
        await connection.stderr.waitForLine(
          jsonLineWith({ msg: "TOOLGATE_TOKEN was refused: every stdio call will be refused" }),
          STARTUP_MS,
          "the refused-token warning",
        );
        await assertLockedOut(connection);
        await connection.close();
        assertNotLogged(connection.stderr, token);
      });
    }
  });

  describe(`stdio auth, ${mode} client: a token that expires mid-session`, () => {
    let connection: StdioConnection;

    before(async () => {
      const token = await issuer.mint({ sub: "short-lived", scope: READ_SCOPE, ttlSec: 2 });
      connection = await connect(mode, token);
      // Real time: the token's 2 s run out. Accepted at startup (its exp was then within
      // the verifier's clock tolerance at worst), it is checked again on every call.
      await sleep(Math.max(0, decodeJwt(token).exp! * 1000 - Date.now() + 20));
    });

    test("every call is unauthenticated with the 'expired' message", async () => {
      for (const [name, args] of TOOL_CALLS) {
        const error = expectToolError(await call(connection.client, name, args), "unauthenticated");
        assert.equal(
          error.message,
          "The access token has expired. Get a fresh token and reconnect.",
        );
      }
      // The token was not refused at startup: it expired during the session.
      assert.ok(!connection.stderr.text.includes("TOOLGATE_TOKEN was refused"));
    });

    test("tools/list is empty once the token has expired", async () => {
      assert.deepEqual(await listed(connection.client), []);
    });
  });
}
