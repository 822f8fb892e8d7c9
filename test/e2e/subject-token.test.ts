// The caller's raw token, kept for RFC 8693 token exchange (src/auth/subject-token.ts),
// belongs to one request: a verifier that hands the same principal object to several
// requests (its cache does; a custom verifier may) must neither keep the token alive
// with that object nor let one request's token replace another's.
import assert from "node:assert/strict";
import path from "node:path";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { after, describe, test } from "node:test";
import * as z from "zod";
import { defineTool, devIssuer, jwtVerifier, type Principal } from "../../src/index.js";
import { subjectTokenOf } from "../../src/auth/subject-token.js";
import { MCP_HEADERS, parseOne, rawRequest, toolsCall } from "../helpers/http.js";
import { freePort, startServer, startServerOn, type RunningServer } from "../helpers/server.js";

const servers: RunningServer[] = [];
after(() => Promise.all(servers.map((s) => s.close())));

/** Lets the test hold a call inside its handler until it says so. */
function gate() {
  let open!: () => void;
  let entered!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  const reached = new Promise<void>((resolve) => (entered = resolve));
  return { open, opened, entered, reached };
}

/** `peek` answers the subject token its call sees, before and after an optional wait. */
function peekTool(hold?: ReturnType<typeof gate>) {
  return defineTool({
    name: "peek",
    version: "1.0.0",
    description: "Returns the subject token its call carries.",
    input: z.object({ wait: z.boolean() }),
    scopes: [],
    sideEffect: "read",
    handler: async ({ wait }, ctx) => {
      const seen = [subjectTokenOf(ctx.principal) ?? "(none)"];
      if (wait && hold) {
        hold.entered();
        await hold.opened;
        seen.push(subjectTokenOf(ctx.principal) ?? "(none)");
      }
      return { seen };
    },
  });
}

async function peek(server: RunningServer, token: string, wait: boolean): Promise<string[]> {
  const res = await rawRequest({
    port: server.address.port,
    path: "/mcp",
    method: "POST",
    headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` },
    body: toolsCall("peek", { wait }),
  });
  assert.equal(res.status, 200, res.body);
  const reply = parseOne(res) as { result: { structuredContent: { seen: string[] } } };
  return reply.result.structuredContent.seen;
}

describe("the subject token belongs to its request", () => {
  test("one principal object for two tokens: each call keeps its own token", async () => {
    const shared: Principal = Object.freeze({
      issuer: "https://issuer.test",
      subject: "alice",
      scopes: Object.freeze([]),
      claims: Object.freeze({ sub: "alice" }),
      anonymous: false,
    });
    const hold = gate();
    const server = await startServer([peekTool(hold)], {
      auth: { verifier: { verify: () => Promise.resolve(shared) } },
    });
    servers.push(server);
    const first = peek(server, "token-a", true);
    await hold.reached;
    // The second request is verified (to the same object) while the first still runs.
    assert.deepEqual(await peek(server, "token-b", false), ["token-b"]);
    hold.open();
    assert.deepEqual(await first, ["token-a", "token-a"]);
    assert.equal(subjectTokenOf(shared), undefined, "the verifier's object carries no token");
  });

  test("a principal in jwtVerifier's cache does not keep the token alive", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "toolgate-subject-token-"));
    try {
      const issuer = await devIssuer({ keyFile: path.join(dir, "issuer.json"), env: {} });
      const port = await freePort();
      const resource = `http://127.0.0.1:${port}/mcp`;
      const verifier = jwtVerifier({
        issuer: issuer.issuer,
        audience: resource,
        jwks: issuer.jwks,
      });
      const server = await startServerOn(port, [peekTool()], { auth: { verifier } });
      servers.push(server);
      const token = await issuer.mint({ sub: "bob", audience: resource });
      // The first call verifies and caches; the second is answered from the cache.
      assert.deepEqual(await peek(server, token, false), [token]);
      assert.deepEqual(await peek(server, token, false), [token]);
      const cached = verifier.cached?.(token);
      assert.ok(cached, "the token's principal is cached");
      assert.equal(cached.subject, "bob");
      assert.equal(subjectTokenOf(cached), undefined, "the cached principal holds no token");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
