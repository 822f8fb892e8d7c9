// New tokens without rebuilding anything: `bearerAuth` gives the SDK v2 transport the
// current token on every request and a fresh one after HTTP 401, so the same SDK client,
// transport, session and kit carry on, and an operation refused for its token is resumed
// under its operation id once the user re-authorised. A real toolgate server with
// dev-issuer tokens over Streamable HTTP on 127.0.0.1; every HTTP request recorded.
import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import * as z from "zod";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { defineTool, devIssuer, forbidden, type DevIssuer } from "../../src/index.js";
import { memoryStore } from "../../src/stores/index.js";
import {
  bearerAuth,
  createToolClient,
  errorForModel,
  type BearerTokenSource,
  type ToolCallResult,
  type ToolClient,
} from "../../src/client/index.js";
import { startServer, type RunningServer } from "../helpers/server.js";
import { httpRecorder, type HttpRecorder, type RecordedRequest } from "./http-recorder.js";

const USER = "kit-user";
const WRITE = "ledger:write";
const READ = "ledger:read";
const ADMIN = "ledger:admin";
const posted: number[] = [];
const voided: number[] = [];

const postEntry = defineTool({
  name: "post_entry",
  version: "1.0.0",
  sideEffect: "write",
  scopes: [WRITE],
  description: "Post a ledger entry.",
  input: z.object({ amount: z.number().int().min(1) }),
  handler: ({ amount }) => {
    posted.push(amount);
    return { entry: posted.length, amount };
  },
});

// Listed for any writer; the handler itself refuses without the admin permission.
const voidEntry = defineTool({
  name: "void_entry",
  version: "1.0.0",
  sideEffect: "write",
  scopes: [WRITE],
  description: "Void a ledger entry (needs ledger:admin).",
  input: z.object({ entry: z.number().int().min(1) }),
  handler: ({ entry }, ctx) => {
    if (!ctx.principal.scopes.includes(ADMIN)) {
      throw forbidden(`Voiding an entry needs the scope ${ADMIN}.`, [ADMIN]);
    }
    voided.push(entry);
    return { voided: entry };
  },
});

const balance = defineTool({
  name: "balance",
  version: "1.0.0",
  sideEffect: "read",
  scopes: [READ],
  description: "The ledger's balance.",
  input: z.object({}),
  handler: () => ({ balance: posted.reduce((sum, amount) => sum + amount, 0) }),
});

let keysDir: string;
let issuer: DevIssuer;
/** Mints with a clock two hours back: tokens that expired long ago. */
let pastIssuer: DevIssuer;
let server: RunningServer;
const store = memoryStore();

const mint = (scope: string[]) =>
  issuer.mint({ sub: USER, scope, audience: server.url.href, ttlSec: 600 });
const mintExpired = (scope: string[]) =>
  pastIssuer.mint({ sub: USER, scope, audience: server.url.href, ttlSec: 600 });

before(async () => {
  keysDir = mkdtempSync(path.join(tmpdir(), "kit-bearer-"));
  const keyFile = path.join(keysDir, "dev-issuer.json");
  issuer = await devIssuer({ keyFile });
  pastIssuer = await devIssuer({ keyFile, now: () => Date.now() - 2 * 3_600_000 });
  server = await startServer([postEntry, voidEntry, balance], {
    store,
    audit: false,
    auth: issuer.verifier(), // audience: this server's own URL
  });
});

after(async () => {
  await server?.close();
  await store.close();
  rmSync(keysDir, { recursive: true, force: true });
});

interface Session {
  tools: ToolClient;
  recorder: HttpRecorder;
  close(): Promise<void>;
}

/** One SDK client, one transport, one kit, for the whole test. */
async function open(source: BearerTokenSource): Promise<Session> {
  const recorder = httpRecorder();
  const client = new Client({ name: "kit-bearer", version: "1.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(server.url, {
      authProvider: bearerAuth(source),
      fetch: recorder.fetch,
    }),
  );
  const tools = createToolClient(client, { random: () => 0.5 });
  return { tools, recorder, close: () => client.close() };
}

function failure(outcome: ToolCallResult) {
  assert.ok(!outcome.ok, `expected a failure, got ${JSON.stringify(outcome)}`);
  return outcome;
}

/** The requests were all made on one connection: one initialize, at most one MCP session. */
function assertOneConnection(requests: RecordedRequest[]) {
  assert.equal(requests.filter((r) => r.rpcMethod === "initialize").length, 1);
  const sessions = new Set(requests.map((r) => r.sessionId).filter(Boolean));
  assert.ok(sessions.size <= 1, `sessions: ${[...sessions].join(", ")}`);
}

let sessions: Session[] = [];
beforeEach(() => {
  posted.length = 0;
  voided.length = 0;
});
after(async () => {
  for (const session of sessions) await session.close();
  sessions = [];
});

describe("bearerAuth: a new token on the same client, transport and kit", () => {
  it("resumes an operation refused as forbidden under its operation id, after the token gained the scope", async () => {
    let token = await mint([READ]);
    const session = await open({ current: () => token });
    sessions.push(session);
    const { tools, recorder } = session;

    const refused = failure(
      await tools.call("post_entry", { amount: 30 }, { operationId: "op-grant-0001" }),
    );
    assert.equal(refused.error.type, "forbidden");
    assert.equal(refused.error.source, "contract");
    assert.deepEqual(refused.error.details?.["requiredScopes"], [WRITE]);
    assert.equal(refused.idempotencyKey, "op-grant-0001", "the caller's operation id was sent");
    assert.deepEqual(posted, [], "nothing ran");
    assert.match(
      errorForModel("post_entry", refused.error),
      /Nothing was done with this token\. Ask the user to grant the missing permission\(s\); once they have, resume the same operation/,
    );

    // The user grants the scope: the host switches the token, nothing else.
    token = await mint([READ, WRITE]);
    const resumed = await tools.call(
      "post_entry",
      { amount: 30 },
      { operationId: refused.idempotencyKey },
    );
    assert.ok(resumed.ok, JSON.stringify(resumed));
    assert.equal(resumed.replayed, false, "the refusal was not stored: it runs now");
    assert.deepEqual(posted, [30]);
    // The same operation once more is a replay: it ran once.
    const again = await tools.call("post_entry", { amount: 30 }, { operationId: "op-grant-0001" });
    assert.ok(again.ok && again.replayed, JSON.stringify(again));
    assert.deepEqual(posted, [30]);

    const calls = recorder.toolCalls("post_entry");
    assert.deepEqual(
      calls.map((c) => [c.token === token, c.status]),
      [
        [false, 200],
        [true, 200],
        [true, 200],
      ],
    );
    assertOneConnection(recorder.requests);
  });

  it("resumes a listed tool's operation the handler refused, with the key the kit made", async () => {
    let token = await mint([READ, WRITE]);
    const session = await open({ current: () => token });
    sessions.push(session);
    const refused = failure(await session.tools.call("void_entry", { entry: 4 }));
    assert.equal(refused.error.type, "forbidden");
    assert.deepEqual(refused.error.details?.["requiredScopes"], [ADMIN]);
    assert.ok(refused.idempotencyKey, "a listed write tool's operation has a key");
    assert.deepEqual(voided, []);

    token = await mint([READ, WRITE, ADMIN]);
    const resumed = await session.tools.call(
      "void_entry",
      { entry: 4 },
      { operationId: refused.idempotencyKey },
    );
    assert.ok(resumed.ok && !resumed.replayed, JSON.stringify(resumed));
    assert.equal(resumed.idempotencyKey, refused.idempotencyKey);
    assert.deepEqual(voided, [4], "ran once, under the same operation id");
    assertOneConnection(session.recorder.requests);
  });

  it("gets a new token when the current one has expired; the call succeeds without the caller's help", async () => {
    let token = await mint([READ, WRITE]);
    const asked: (string | undefined)[] = [];
    const session = await open({
      current: () => token,
      refresh: async (rejected) => {
        asked.push(rejected);
        token = await mint([READ, WRITE]);
        return token;
      },
    });
    sessions.push(session);
    const { tools, recorder } = session;
    await tools.listTools(); // the kit has been in use; then the token expires
    const expired = (token = await mintExpired([READ, WRITE]));

    const outcome = await tools.call("post_entry", { amount: 12 });
    assert.ok(outcome.ok, JSON.stringify(outcome));
    assert.equal(outcome.attempts.length, 1, "the kit saw no failure");
    assert.deepEqual(asked, [expired], "asked once, for the expired token");
    assert.deepEqual(posted, [12]);
    // On the wire: the request with the expired token got 401, the same request with
    // the new token ran.
    assert.deepEqual(
      recorder.toolCalls("post_entry").map((c) => [c.token === expired, c.status]),
      [
        [true, 401],
        [false, 200],
      ],
    );
    assertOneConnection(recorder.requests);
  });

  it("asks once for concurrent calls that all met the expired token", async () => {
    let token = await mint([READ, WRITE]);
    let asks = 0;
    const session = await open({
      current: () => token,
      refresh: async () => {
        asks++;
        // Answers only once all three requests have had their 401.
        while (session.recorder.requests.filter((r) => r.status === 401).length < 3) {
          await once(session.recorder.events, "response");
        }
        token = await mint([READ, WRITE]);
        return token;
      },
    });
    sessions.push(session);
    await session.tools.listTools();
    token = await mintExpired([READ, WRITE]);
    const outcomes = await Promise.all(
      [1, 2, 3].map((amount) => session.tools.call("post_entry", { amount })),
    );
    for (const outcome of outcomes) assert.ok(outcome.ok, JSON.stringify(outcome));
    assert.equal(asks, 1);
    assert.deepEqual(
      [...posted].sort((a, b) => a - b),
      [1, 2, 3],
    );
  });

  it("reports unauthenticated (nothing applied) when no new token comes, and resumes after sign-in", async () => {
    let token: string | undefined = await mint([READ, WRITE]);
    let signedIn = false;
    const session = await open({
      current: () => token,
      refresh: () => (signedIn ? token : undefined),
    });
    sessions.push(session);
    const { tools } = session;
    await tools.listTools();
    token = await mintExpired([READ, WRITE]);

    const refused = failure(await tools.call("post_entry", { amount: 7 }));
    assert.equal(refused.error.type, "unauthenticated");
    assert.equal(refused.error.applied, "no");
    assert.equal(refused.error.retryable, false);
    assert.equal(refused.attempts.length, 1);
    assert.deepEqual(posted, []);
    assert.ok(refused.idempotencyKey, "the operation had a key");
    assert.match(
      errorForModel("post_entry", refused.error),
      /Nothing was done with this token\. Ask the user to sign in again; once they have, resume the same operation/,
    );

    token = await mint([READ, WRITE]);
    signedIn = true;
    const resumed = await tools.call(
      "post_entry",
      { amount: 7 },
      { operationId: refused.idempotencyKey },
    );
    assert.ok(resumed.ok && !resumed.replayed, JSON.stringify(resumed));
    assert.equal(resumed.idempotencyKey, refused.idempotencyKey);
    assert.deepEqual(posted, [7]);
  });

  it("fails the call without sending it when the tool list is refused for the token; asks for a token once", async () => {
    let asks = 0;
    let token = await mint([READ, WRITE]);
    const session = await open({
      current: () => token,
      refresh: () => {
        asks++;
        return undefined;
      },
    });
    sessions.push(session);
    token = await mintExpired([READ, WRITE]); // before the kit has read the tool list
    const refused = failure(await session.tools.call("post_entry", { amount: 3 }));
    assert.equal(refused.error.type, "unauthenticated");
    assert.equal(refused.error.applied, "no");
    assert.equal(asks, 1, "one refresh for the call (the list's), not one per request");
    assert.deepEqual(session.recorder.toolCalls(), [], "no tools/call was sent");
    assert.deepEqual(posted, []);
  });

  it("reports a token source that fails or returns a malformed token as unauthenticated, without the secret", async () => {
    let mode: "ok" | "throws" | "malformed" = "ok";
    const good = await mint([READ, WRITE]);
    const session = await open({
      current: () => {
        if (mode === "throws") throw new Error("vault said no: secret-s3cr3t");
        return mode === "malformed" ? "secret-s3cr3t\r\nX-Evil: 1" : good;
      },
    });
    sessions.push(session);
    for (const next of ["throws", "malformed"] as const) {
      mode = next;
      const refused = failure(await session.tools.call("balance", {}));
      assert.equal(refused.error.type, "unauthenticated", next);
      assert.equal(refused.error.applied, "no");
      assert.equal(refused.error.source, "client");
      assert.doesNotMatch(JSON.stringify(refused.error), /s3cr3t/);
    }
    mode = "ok";
    assert.ok((await session.tools.call("balance", {})).ok);
  });

  it("refuses a source without current() when it is built", () => {
    assert.throws(() => bearerAuth({} as BearerTokenSource), {
      name: "TypeError",
      message: /source\.current must be a function/,
    });
    assert.throws(
      () => bearerAuth({ current: () => "t", refresh: "no" } as unknown as BearerTokenSource),
      { name: "TypeError", message: /source\.refresh must be a function/ },
    );
  });
});
