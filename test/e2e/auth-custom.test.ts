// A custom verifier through the one small interface, and how the HTTP layer treats
// verifiers that misbehave: hanging, throwing something that is not an AuthError.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as z from "zod";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { createToolServer, defineTool, type Principal, type ToolServer } from "../../src/index.js";
import { silentLogger } from "../../src/server/index.js";
import { AuthError } from "../../src/auth/index.js";

const SECRET_REASON = "db password=hunter2 at /srv/auth.ts:9";
let handlerRuns = 0;
let lastSignal: AbortSignal | undefined;

const whoami = defineTool({
  name: "whoami",
  version: "1.0.0",
  description: "Returns the caller's subject and scopes.",
  input: z.object({}),
  scopes: ["profile:read"],
  sideEffect: "read",
  handler: (_args, ctx) => {
    handlerRuns += 1;
    return { subject: ctx.principal.subject, scopes: [...ctx.principal.scopes] };
  },
});

const alice: Principal = {
  issuer: "https://issuer.test",
  subject: "alice",
  scopes: ["profile:read"],
  claims: { sub: "alice" },
  anonymous: false,
};

let server: ToolServer;
let url: string;

before(async () => {
  server = createToolServer({
    name: "custom-auth",
    version: "1.0.0",
    tools: [whoami],
    logger: silentLogger(),
    auth: {
      verifyTimeoutMs: 300,
      verifier: {
        verify(token, options) {
          lastSignal = options?.signal;
          if (token === "alice") return Promise.resolve(alice);
          if (token === "hang") return new Promise<Principal>(() => undefined);
          if (token === "explode") return Promise.reject(new Error(SECRET_REASON));
          return Promise.reject(new AuthError("invalid_token", "Unknown test token."));
        },
      },
    },
  });
  url = (await server.listen({ port: 0 })).url;
});
after(() => server.close());

async function post(token: string): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: "whoami", arguments: {} },
    }),
  });
}

describe("a custom verifier", () => {
  test("its principal reaches the handler (SDK client)", async () => {
    const client = new Client({ name: "t", version: "1" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(url), {
        requestInit: { headers: { authorization: "Bearer alice" } },
      }),
    );
    try {
      const result = await client.callTool({ name: "whoami", arguments: {} });
      assert.deepEqual(result.structuredContent, { subject: "alice", scopes: ["profile:read"] });
    } finally {
      await client.close();
    }
  });

  test("one that hangs is cut off at verifyTimeoutMs with 503, its signal aborted", async () => {
    const runs = handlerRuns;
    const started = Date.now();
    const res = await post("hang");
    assert.equal(res.status, 503);
    assert.ok(res.headers.get("retry-after"));
    assert.ok(Date.now() - started < 5_000, "answered near the 300 ms limit, not never");
    assert.equal(lastSignal?.aborted, true);
    assert.equal(handlerRuns, runs, "no handler ran");
  });

  test("one that throws a plain Error refuses the token without leaking the reason", async () => {
    const runs = handlerRuns;
    const res = await post("explode");
    const body = await res.text();
    assert.equal(res.status, 401);
    assert.match(res.headers.get("www-authenticate") ?? "", /error="invalid_token"/);
    assert.ok(!body.includes("hunter2") && !body.includes("/srv/"), body);
    assert.ok(!(res.headers.get("www-authenticate") ?? "").includes("hunter2"));
    assert.equal(handlerRuns, runs, "no handler ran");
  });

  test("its AuthError message becomes the error_description", async () => {
    const res = await post("who-knows");
    assert.equal(res.status, 401);
    assert.match(
      res.headers.get("www-authenticate") ?? "",
      /error_description="Unknown test token\."/,
    );
  });

  test("bad auth options are a TypeError at construction", () => {
    const make = (auth: unknown) => () =>
      createToolServer({
        name: "x",
        version: "1.0.0",
        tools: [whoami],
        logger: silentLogger(),
        auth: auth as never,
      });
    assert.throws(make({}), TypeError);
    assert.throws(make({ verify: "nope" }), TypeError);
    assert.throws(make({ verifier: { verify: () => null }, verifyTimeoutMs: 0 }), TypeError);
    assert.throws(make({ verifier: { verify: () => null }, resource: "not a url" }), TypeError);
  });
});
