// Scopes on resources, templates and prompts, as for tools: with auth on, what a caller's
// token lacks the scopes for is not listed, and reading, getting, subscribing to or
// completing it fails with an error that names the scopes. Over HTTP with real dev-issuer
// tokens (both eras), and in process for the stdio identity (anonymous or expired), which
// has no HTTP 401 in front of it.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { Client, type ProtocolError } from "@modelcontextprotocol/client";
import { InMemoryTransport } from "@modelcontextprotocol/server";
import { devIssuer, type DevIssuer, type Principal } from "../../src/index.js";
import { silentLogger } from "../../src/server/index.js";
import { ANONYMOUS_PRINCIPAL } from "../../src/auth/index.js";
import { createMcpServerFactory } from "../../src/server/mcp-factory.js";
import { compose } from "../../src/pipeline/compose.js";
import { defaultStages } from "../../src/stages/default-stages.js";
import { createToolRegistry } from "../../src/server/tool-registry.js";
import { createPromptRegistry } from "../../src/prompts/prompt-registry.js";
import { createResourceRegistry } from "../../src/resources/resource-registry.js";
import { createSubscriptionHub } from "../../src/resources/subscriptions.js";
import {
  CLIENT_MODES,
  connectClientWithHeaders,
  startServer,
  type ConnectedClient,
  type RunningServer,
} from "../helpers/server.js";
import {
  SECRET_SCOPE,
  createPrompts,
  createResources,
  createTemplates,
  rpcError,
} from "./definitions.js";

function assertForbidden(error: ProtocolError, what: RegExp): void {
  assert.equal(error.code, -32600);
  assert.match(error.message, what);
  assert.match(error.message, /needs the scope\(s\) secrets:read, which this token does not grant/);
  assert.deepEqual(error.data, { type: "forbidden", requiredScopes: [SECRET_SCOPE] });
}

describe("scopes over HTTP", () => {
  let dir: string;
  let issuer: DevIssuer;
  let running: RunningServer;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "toolgate-resources-auth-"));
    issuer = await devIssuer({ keyFile: path.join(dir, "dev-issuer.json"), env: {} });
    running = await startServer([], {
      auth: issuer.verifier(),
      resources: createResources(),
      resourceTemplates: createTemplates(),
      prompts: createPrompts(),
      audit: false,
    });
  });

  after(async () => {
    await running?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function connectAs(mode: (typeof CLIENT_MODES)[number], scope: string[]) {
    const token = await issuer.mint({ sub: "alice", scope, audience: running.address.url });
    return connectClientWithHeaders(running.url, mode, { authorization: `Bearer ${token}` });
  }

  for (const mode of CLIENT_MODES) {
    describe(`${mode} client`, () => {
      let plain: ConnectedClient;
      let privileged: ConnectedClient;

      before(async () => {
        plain = await connectAs(mode, []);
        privileged = await connectAs(mode, [SECRET_SCOPE]);
      });

      after(async () => {
        await plain?.close();
        await privileged?.close();
      });

      test("lists only what the token's scopes allow", async () => {
        const plainUris = (await plain.client.listResources()).resources.map((r) => r.uri);
        assert.ok(plainUris.includes("test://static-text"));
        assert.ok(!plainUris.includes("test://secret"));
        const allUris = (await privileged.client.listResources()).resources.map((r) => r.uri);
        assert.ok(allUris.includes("test://secret"));

        const plainTemplates = (await plain.client.listResourceTemplates()).resourceTemplates;
        assert.deepEqual(
          plainTemplates.map((t) => t.name),
          ["template-data"],
        );
        const allTemplates = (await privileged.client.listResourceTemplates()).resourceTemplates;
        assert.deepEqual(
          allTemplates.map((t) => t.name),
          ["template-data", "private"],
        );

        const plainPrompts = (await plain.client.listPrompts()).prompts.map((p) => p.name);
        assert.ok(!plainPrompts.includes("secret_prompt"));
        const allPrompts = (await privileged.client.listPrompts()).prompts.map((p) => p.name);
        assert.ok(allPrompts.includes("secret_prompt"));
      });

      test("reading, getting and completing without the scopes names them", async () => {
        assertForbidden(
          await rpcError(plain.client.readResource({ uri: "test://secret" })),
          /^Resource test:\/\/secret needs/,
        );
        assertForbidden(
          await rpcError(plain.client.readResource({ uri: "test://private/alpha" })),
          /^Resource test:\/\/private\/alpha needs/,
        );
        assertForbidden(
          await rpcError(plain.client.getPrompt({ name: "secret_prompt" })),
          /^Prompt 'secret_prompt' needs/,
        );
        assertForbidden(
          await rpcError(
            plain.client.complete({
              ref: { type: "ref/prompt", name: "secret_prompt" },
              argument: { name: "q", value: "" },
            }),
          ),
          /^Prompt 'secret_prompt' needs/,
        );
        assertForbidden(
          await rpcError(
            plain.client.complete({
              ref: { type: "ref/resource", uri: "test://private/{name}" },
              argument: { name: "name", value: "" },
            }),
          ),
          /^Resource template 'test:\/\/private\/\{name\}' needs/,
        );
        if (mode === "legacy") {
          assertForbidden(
            await rpcError(plain.client.subscribeResource({ uri: "test://secret" })),
            /^Resource test:\/\/secret needs/,
          );
        }
      });

      test("with the scopes, the same requests succeed", async () => {
        const secret = await privileged.client.readResource({ uri: "test://secret" });
        assert.deepEqual(secret.contents, [
          { uri: "test://secret", mimeType: "text/plain", text: "secret for alice" },
        ]);
        const family = await privileged.client.readResource({ uri: "test://private/alpha" });
        assert.equal((family.contents[0] as { text: string }).text, "private alpha");
        const prompt = await privileged.client.getPrompt({ name: "secret_prompt" });
        assert.equal(prompt.messages.length, 1);
        const completed = await privileged.client.complete({
          ref: { type: "ref/resource", uri: "test://private/{name}" },
          argument: { name: "name", value: "" },
        });
        assert.deepEqual(completed.completion.values, ["alpha", "beta"]);
        if (mode === "legacy") {
          assert.deepEqual(await privileged.client.subscribeResource({ uri: "test://secret" }), {});
        }
      });
    });
  }
});

describe("the stdio identity (in process)", () => {
  /** A client connected to one serving unit built by toolgate's factory as stdio builds it. */
  async function connectAsStdio(principal: Principal): Promise<Client> {
    const log = silentLogger();
    const factory = createMcpServerFactory(
      { name: "stdio-auth", version: "0.0.1" },
      createToolRegistry([]),
      // The server's pipeline: resources, prompts and completions run through it too.
      compose(defaultStages({ requireAuthentication: true, idempotency: false, rateLimit: false })),
      log,
      { enabled: true, stdioPrincipal: () => principal },
      undefined,
      {
        resources: createResourceRegistry(createResources(), createTemplates()),
        prompts: createPromptRegistry(createPrompts()),
        subscriptions: createSubscriptionHub(log),
        defaultTimeoutMs: 5_000,
      },
    );
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await factory({ era: "legacy" }).connect(serverSide);
    const client = new Client(
      { name: "stdio-auth-client", version: "1.0.0" },
      { versionNegotiation: { mode: "legacy" } },
    );
    await client.connect(clientSide);
    return client;
  }

  const expired: Principal = {
    issuer: "test",
    subject: "bob",
    scopes: [SECRET_SCOPE],
    claims: {},
    anonymous: false,
    expiresAt: Date.now() - 1_000,
  };

  for (const [who, principal, message] of [
    ["anonymous", ANONYMOUS_PRINCIPAL, /requires a valid access token/],
    ["expired", expired, /access token has expired/],
  ] as const) {
    test(`${who}: nothing is listed, everything is unauthenticated`, async () => {
      const client = await connectAsStdio(principal);
      try {
        assert.deepEqual((await client.listResources()).resources, []);
        assert.deepEqual((await client.listResourceTemplates()).resourceTemplates, []);
        assert.deepEqual((await client.listPrompts()).prompts, []);
        const calls: Promise<unknown>[] = [
          client.readResource({ uri: "test://static-text" }),
          client.getPrompt({ name: "test_simple_prompt" }),
          client.subscribeResource({ uri: "test://watched-resource" }),
          client.complete({
            ref: { type: "ref/prompt", name: "test_prompt_with_arguments" },
            argument: { name: "arg1", value: "" },
          }),
        ];
        for (const call of calls) {
          const error = await rpcError(call);
          assert.equal(error.code, -32600);
          assert.match(error.message, message);
          assert.deepEqual(error.data, { type: "unauthenticated" });
        }
        // Unknown things stay unknown (as for an unknown tool): not-found, not a refusal.
        const missing = await rpcError(client.readResource({ uri: "test://nope" }));
        assert.equal(missing.code, -32602);
      } finally {
        await client.close();
      }
    });
  }

  test("a valid stdio identity with the scope reads the scoped resource", async () => {
    const client = await connectAsStdio({ ...expired, expiresAt: Date.now() + 60_000 });
    try {
      const { contents } = await client.readResource({ uri: "test://secret" });
      assert.equal((contents[0] as { text: string }).text, "secret for bob");
    } finally {
      await client.close();
    }
  });
});
