// Least privilege end to end: a toolgate server with real auth (dev issuer) over HTTP, an
// SDK client per user, a tool whose backend credential is an RFC 8693 token exchange at
// a real local token endpoint, and a recording backend. The backend sees a token issued
// for it and for that user, narrowed to the tool's scope, and never the caller's token.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import * as z from "zod";
import {
  defineTool,
  devIssuer,
  httpBackend,
  staticCredential,
  tokenExchange,
  type DevIssuer,
} from "../../src/index.js";
import { memoryAuditSink } from "../../src/audit/index.js";
import { startServer, type RunningServer } from "../helpers/server.js";
import { startTokenServer, type TokenServer } from "./fixtures/token-server.js";

const ORDERS = "https://orders.internal.test";
const SECRET_VAR = "TOOLGATE_TEST_ORDERS_CLIENT_SECRET";
const STATIC_VAR = "TOOLGATE_TEST_LEDGER_KEY";

describe("backend credentials: least privilege, no passthrough", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "toolgate-lp-"));
  const seen: { path: string; headers: IncomingHttpHeaders }[] = [];
  const backend = createServer((req, res) => {
    seen.push({ path: req.url ?? "", headers: req.headers });
    res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
  });
  let tokens: TokenServer;
  let issuer: DevIssuer;
  let running: RunningServer;
  const sink = memoryAuditSink();

  before(async () => {
    await new Promise<void>((resolve) => backend.listen(0, "127.0.0.1", resolve));
    const backendUrl = `http://127.0.0.1:${(backend.address() as AddressInfo).port}/`;
    tokens = await startTokenServer();
    tokens.registerClient("toolgate-orders", { secret: "s3cret-client", scopes: [] });
    process.env[SECRET_VAR] = "s3cret-client";
    process.env[STATIC_VAR] = "ledger-key-123";
    issuer = await devIssuer({ keyFile: path.join(dir, "keys.json") });
    const tools = [
      defineTool({
        name: "read_order",
        version: "1.0.0",
        description: "Reads an order as the signed-in user.",
        input: z.object({ id: z.string() }),
        scopes: ["orders:read"],
        sideEffect: "read",
        // Narrower than the provider's default: this tool only reads.
        backends: [{ name: "orders", scope: ["orders:read"] }, "ledger"],
        handler: async ({ id }, ctx) => {
          await ctx.backend("ledger").fetch(`ledger/${id}`);
          const response = await ctx.backend("orders").fetch(`orders/${id}`);
          return (await response.json()) as Record<string, unknown>;
        },
      }),
    ];
    running = await startServer(tools, {
      auth: issuer.verifier(),
      audit: { sinks: [sink], flushIntervalMs: 5 },
      backends: {
        orders: httpBackend({
          baseUrl: backendUrl,
          credential: tokenExchange({
            tokenUrl: tokens.url,
            clientId: "toolgate-orders",
            clientSecretFromEnv: SECRET_VAR,
            audience: ORDERS,
            scope: ["orders:read", "orders:write"],
          }),
        }),
        ledger: httpBackend({
          baseUrl: backendUrl,
          credential: staticCredential({ header: "x-api-key", valueFromEnv: STATIC_VAR }),
        }),
      },
    });
  });
  after(async () => {
    await running?.close();
    await tokens?.close();
    await new Promise((resolve) => backend.close(resolve));
    delete process.env[SECRET_VAR];
    delete process.env[STATIC_VAR];
    rmSync(dir, { recursive: true, force: true });
  });

  async function callAs(subject: string, allowed: string[]) {
    const token = await issuer.mint({
      sub: subject,
      scope: "orders:read",
      audience: running.url.href,
    });
    tokens.registerUser(token, { subject, audiences: { [ORDERS]: allowed } });
    const client = new Client({ name: "t", version: "1" });
    await client.connect(
      new StreamableHTTPClientTransport(running.url, {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    try {
      const result = await client.callTool({ name: "read_order", arguments: { id: "o-1" } });
      return { token, result };
    } finally {
      await client.close();
    }
  }

  it("exchanges the caller's token for a per-user, per-backend, narrowed token", async () => {
    const before = seen.length;
    const { token, result } = await callAs("alice", ["orders:read", "orders:write"]);
    assert.equal(result.isError, undefined, JSON.stringify(result));
    const calls = seen.slice(before);
    const orders = calls.find((c) => c.path === "/orders/o-1")!;
    const ledger = calls.find((c) => c.path === "/ledger/o-1")!;
    const bearer = /^Bearer (.+)$/.exec(orders.headers.authorization ?? "")?.[1];
    assert.ok(bearer, "the orders backend got a bearer token");
    const issued = tokens.issued.get(bearer);
    assert.deepEqual(
      { subject: issued?.subject, audience: issued?.audience, scope: issued?.scope },
      { subject: "alice", audience: ORDERS, scope: ["orders:read"] },
      "issued for alice, for this backend, narrowed to the tool's scope",
    );
    assert.equal(ledger.headers["x-api-key"], "ledger-key-123");
    assert.equal(ledger.headers.authorization, undefined, "the static backend gets only its key");
    for (const call of calls) {
      const text = JSON.stringify(call.headers);
      assert.equal(text.includes(token), false, "the caller's token never reaches a backend");
      for (const part of token.split(".")) assert.equal(text.includes(part), false);
    }
    const event = (await sink.waitFor(1)).at(-1)!;
    assert.deepEqual(
      event.backendCalls.map((c) => [c.name, c.status]),
      [
        ["ledger", 200],
        ["orders", 200],
      ],
    );
    assert.equal(JSON.stringify(sink.events).includes(token), false);
  });

  it("gives each user their own token, and refuses a user the token server refuses", async () => {
    const before = seen.length;
    const bob = await callAs("bob", ["orders:read"]);
    assert.equal(bob.result.isError, undefined);
    const bobBearer = /^Bearer (.+)$/.exec(
      seen.slice(before).find((c) => c.path === "/orders/o-1")!.headers.authorization ?? "",
    )?.[1];
    assert.equal(tokens.issued.get(bobBearer!)?.subject, "bob");

    const countBefore = seen.filter((c) => c.path === "/orders/o-1").length;
    const carol = await callAs("carol", []); // may not reach the orders service at all
    const error = (carol.result.structuredContent as { error: { type: string; message: string } })
      .error;
    assert.equal(error.type, "forbidden");
    assert.match(error.message, /orders/);
    assert.equal(
      seen.filter((c) => c.path === "/orders/o-1").length,
      countBefore,
      "no request without a token",
    );
  });
});
