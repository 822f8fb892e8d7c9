// The auth attack battery over HTTP: real keys generated per run, a real JWKS endpoint
// and a real introspection endpoint on 127.0.0.1, real toolgate servers on 127.0.0.1,
// the official SDK client (legacy and auto) and raw node:http where the SDK cannot
// express the attack. Every refusal is checked exactly (HTTP status, WWW-Authenticate
// with error= and resource_metadata=, JSON-RPC error body), and so is the fact that no
// tool handler ran. Everything clients saw and everything the servers logged is kept,
// and the last test checks that no token, Authorization value or key material leaked.
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { InsufficientScopeError, SdkHttpError } from "@modelcontextprotocol/client";
import { SignJWT, exportJWK, exportPKCS8, exportSPKI, type JWK } from "jose";
import { introspectionVerifier, jwtVerifier, type JwtVerifierOptions } from "../../src/index.js";
import { type TokenVerifier } from "../../src/auth/index.js";
import {
  deadUrl,
  sendJson as stubJson,
  startStub,
  type StubServer,
} from "../auth/helpers/stub-server.js";
import {
  ISSUER,
  claims,
  makeKey,
  nowSec,
  sign,
  unsignedToken,
  withPayload,
  type TestKey,
} from "../auth/helpers/tokens.js";
import {
  AUTH_TOOL_SCOPES,
  READ_SCOPE,
  REFUND_SCOPE,
  createAuthTools,
  type AuthToolSet,
  type WhoamiResult,
} from "../fixtures/auth-tools.js";
import {
  MCP_HEADERS,
  jsonRpc,
  parseOne,
  rawRequest,
  toolsCall,
  type RawResponse,
} from "../helpers/http.js";
import { dig, digArray } from "../helpers/json.js";
import {
  CLIENT_MODES,
  EXPECTED_PROTOCOL,
  assertNoLeak,
  connectClientWithHeaders,
  expectToolError,
  freePort,
  startServerOn,
  type ClientMode,
  type ConnectedClient,
  type RunningServer,
  type StartOptions,
} from "../helpers/server.js";
import { memoryLogger } from "../unit/helpers/memory-logger.js";

const ALL_SCOPES = `${READ_SCOPE} ${REFUND_SCOPE}`;
const METADATA_PATH = "/.well-known/oauth-protected-resource/mcp";
/** The verifier's JWKS cooldown in the rotation test: a rotation is seen after this. */
const COOLDOWN_MS = 300;
const INTROSPECTION_CLIENT_ID = "toolgate-rs";
const INTROSPECTION_SECRET = `introspection-secret-${randomBytes(12).toString("hex")}`;

// ---------------------------------------------------------------------------------
// What the whole battery shares: keys, the server log, and what must never leak.

/** One pino logger for every server in the battery, kept in memory. */
const logs = memoryLogger();
/** Every response body and header, SDK result and SDK error message clients saw. */
const transcript: string[] = [];
/** Tokens, Authorization header values and key material: none may appear anywhere. */
const secrets = new Set<string>([INTROSPECTION_SECRET]);
const servers: RunningServer[] = [];
const stubs: StubServer[] = [];
const clients: ConnectedClient[] = [];

let rsa: TestKey;
/** Not in any JWKS until the rotation test publishes it. */
let rotated: TestKey;
/** Same kid as `rsa`, another key: only the signature differs. */
let attacker: TestKey;

before(async () => {
  [rsa, rotated, attacker] = await Promise.all([
    makeKey("RS256", "rsa-1"),
    makeKey("RS256", "rsa-2"),
    makeKey("RS256", "rsa-1"),
  ]);
  for (const key of [rsa, rotated, attacker]) {
    const jwk = await exportJWK(key.privateKey);
    for (const member of ["d", "p", "q", "dp", "dq", "qi"] as const) {
      const value = jwk[member];
      if (typeof value === "string") secrets.add(value);
    }
    // The PEM body of the private key, line by line (a log could hold any slice of it).
    for (const line of (await exportPKCS8(key.privateKey)).split("\n")) {
      if (!line.startsWith("-----") && line.length >= 32) secrets.add(line);
    }
  }
});

after(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  await Promise.allSettled(servers.map((s) => s.close()));
  await Promise.allSettled(stubs.map((s) => s.close()));
});

/** Registers a token (and its parts) as a secret. */
function remember(token: string): string {
  secrets.add(token);
  for (const part of token.split(".")) if (part.length >= 16) secrets.add(part);
  return token;
}

/** A JWT for `audience`, signed by `key`, with every scope unless overridden. */
async function mint(
  audience: string,
  overrides: Record<string, unknown> = {},
  key: TestKey = rsa,
  header: { kid?: string } = {},
): Promise<string> {
  return remember(
    await sign(key, claims({ aud: audience, scope: ALL_SCOPES, ...overrides }), header),
  );
}

const bearer = (token: string) => `Bearer ${token}`;

/** A JWKS endpoint serving `keys()` per request, recording when each fetch was answered. */
async function jwksStub(keys: () => JWK[]): Promise<StubServer & { fetchedAt: number[] }> {
  const fetchedAt: number[] = [];
  const stub = await startStub("/.well-known/jwks.json", (_req, res) => {
    fetchedAt.push(Date.now());
    stubJson(res, 200, { keys: keys() });
  });
  stubs.push(stub);
  return Object.assign(stub, { fetchedAt });
}

interface AuthServer extends RunningServer {
  tools: AuthToolSet;
  /** The MCP endpoint URL as a string: the resource and the tokens' audience. */
  resource: string;
}

/**
 * A toolgate server on a port chosen first, so that its verifier can be built with
 * the server's own URL as the audience.
 */
async function authServer(
  makeAuth: (resource: string) => NonNullable<StartOptions["auth"]>,
  options: Omit<StartOptions, "auth" | "logger"> = {},
): Promise<AuthServer> {
  const port = await freePort();
  const resource = `http://127.0.0.1:${port}/mcp`;
  const tools = createAuthTools();
  const running = await startServerOn(port, tools.tools, {
    ...options,
    auth: makeAuth(resource),
    logger: logs.log,
  });
  assert.equal(running.address.url, resource);
  servers.push(running);
  return Object.assign(running, { tools, resource });
}

function jwtAuth(jwksUrl: string, extra: Partial<JwtVerifierOptions> = {}) {
  return (resource: string): TokenVerifier =>
    jwtVerifier({ issuer: ISSUER, audience: resource, jwksUrl, ...extra });
}

// ---------------------------------------------------------------------------------
// Raw HTTP, and the exact shape of a refusal.

interface SendOptions {
  authorization?: string;
  method?: string;
  path?: string;
  body?: string;
  headers?: Record<string, string>;
}

/** One raw request to `server` (a tools/call of refund_order unless told otherwise). */
async function send(server: RunningServer, options: SendOptions = {}): Promise<RawResponse> {
  const method = options.method ?? "POST";
  const headers: Record<string, string> = { ...MCP_HEADERS, ...options.headers };
  if (options.authorization !== undefined) headers["authorization"] = options.authorization;
  const body =
    method === "POST" ? (options.body ?? toolsCall("refund_order", { id: "INV-1" })) : undefined;
  const response = await rawRequest({
    port: server.address.port,
    method,
    path: options.path ?? "/mcp",
    headers,
    ...(body === undefined ? {} : { body }),
  });
  transcript.push(JSON.stringify(response));
  return response;
}

/** RFC 6750 §3 challenge parameters (`name="value"` pairs after "Bearer"). */
function challengeParams(header: unknown): Record<string, string> {
  assert.equal(typeof header, "string", "a WWW-Authenticate header is required");
  const text = header as string;
  assert.match(text, /^Bearer /, `not a Bearer challenge: ${text}`);
  const params: Record<string, string> = {};
  for (const [, name, value] of text.matchAll(/([a-z_]+)="([^"]*)"/g)) params[name!] = value!;
  return params;
}

interface ExpectedRefusal {
  status: number;
  /** The challenge's `error`; undefined: the challenge must carry none (no credentials sent). */
  error: "invalid_request" | "invalid_token" | "insufficient_scope" | undefined;
  /** Matches the JSON-RPC message, which is also the challenge's error_description. */
  message?: RegExp;
}

/**
 * The exact refusal: status, a Bearer challenge with `error=` (or none) and
 * `resource_metadata=` pointing at this server's RFC 9728 document, and a JSON-RPC
 * error body whose message is the challenge's description.
 */
function assertChallenge(res: RawResponse, server: AuthServer, expected: ExpectedRefusal) {
  assert.equal(res.status, expected.status, `status; body: ${res.body}`);
  const params = challengeParams(res.headers["www-authenticate"]);
  assert.equal(params["error"], expected.error, `error in ${res.headers["www-authenticate"]}`);
  assert.equal(params["resource_metadata"], `${server.origin}${METADATA_PATH}`);
  assert.match(String(res.headers["content-type"]), /^application\/json/);
  const body = JSON.parse(res.body) as unknown;
  assert.equal(dig(body, "jsonrpc"), "2.0");
  assert.equal(dig(body, "id"), null);
  assert.equal(dig(body, "error", "code"), -32600);
  const message = dig(body, "error", "message");
  assert.equal(typeof message, "string");
  if (expected.error === undefined) {
    assert.equal(params["error_description"], undefined);
    assert.match(message as string, /requires a bearer token/);
  } else {
    // RFC 6750 §3 allows no '"' or '\\' in error_description: the server swaps them for "'".
    const quotable = (message as string).replace(/[^\x20-\x21\x23-\x5B\x5D-\x7E]/g, "'");
    assert.equal(params["error_description"], quotable, "description = JSON-RPC message");
  }
  if (expected.message) assert.match(message as string, expected.message);
  assertNoLeak(res.body);
  return params;
}

/** Runs `attack` and asserts that no tool handler of `server` ran meanwhile. */
async function noHandlerRuns<T>(server: AuthServer, attack: () => Promise<T>): Promise<T> {
  const ran = server.tools.probes.ran.length;
  const result = await attack();
  assert.deepEqual(server.tools.probes.ran.slice(ran), [], "a tool handler ran");
  return result;
}

/** The SDK client cannot even connect (both modes): the refusal status comes through. */
async function assertSdkRefused(
  server: AuthServer,
  headers: Record<string, string>,
  status: number,
): Promise<void> {
  for (const mode of CLIENT_MODES) {
    const error: unknown = await connectClientWithHeaders(server.url, mode, headers).then(
      async (conn) => {
        await conn.close();
        assert.fail(`${mode}: the SDK client connected`);
      },
      (e: unknown) => e,
    );
    assert.ok(error instanceof SdkHttpError, `${mode}: ${String(error)}`);
    assert.equal(error.status, status, `${mode}: ${error.message}`);
    transcript.push(error.message);
  }
}

async function connect(server: RunningServer, mode: ClientMode, token: string) {
  const conn = await connectClientWithHeaders(server.url, mode, { authorization: bearer(token) });
  clients.push(conn);
  assert.equal(conn.client.getNegotiatedProtocolVersion(), EXPECTED_PROTOCOL[mode]);
  return conn;
}

async function call(conn: ConnectedClient, name: string, args: Record<string, unknown> = {}) {
  const result = await conn.client.callTool({ name, arguments: args });
  transcript.push(JSON.stringify(result));
  return result;
}

async function listed(conn: ConnectedClient): Promise<string[]> {
  const { tools } = await conn.client.listTools();
  transcript.push(JSON.stringify(tools));
  return tools.map((t) => t.name).sort();
}

/** A raw tools/call answered 200 with a successful result. */
function assertCallServed(res: RawResponse): unknown {
  assert.equal(res.status, 200, res.body);
  const result = dig(parseOne(res), "result");
  assert.notEqual(dig(result, "isError"), true, JSON.stringify(result));
  return result;
}

// ---------------------------------------------------------------------------------

describe("HTTP auth (jwtVerifier): valid tokens and least privilege", () => {
  let jwks: StubServer;
  let server: AuthServer;

  before(async () => {
    jwks = await jwksStub(() => [rsa.jwk]);
    server = await authServer(jwtAuth(jwks.url));
  });

  for (const mode of CLIENT_MODES) {
    describe(`${mode} client`, () => {
      test("a token with every scope lists and calls every tool", async () => {
        const conn = await connect(server, mode, await mint(server.resource));
        assert.deepEqual(await listed(conn), ["list_orders", "refund_order", "whoami"]);
        const ran = server.tools.probes.ran.length;
        assert.deepEqual((await call(conn, "list_orders")).structuredContent, {
          orders: ["INV-2024-00001", "INV-2024-00002"],
        });
        assert.deepEqual((await call(conn, "refund_order", { id: "INV-7" })).structuredContent, {
          refunded: "INV-7",
        });
        assert.deepEqual(server.tools.probes.ran.slice(ran), ["list_orders", "refund_order"]);
      });

      test("the handler sees ctx.principal from the token's claims, never the token", async () => {
        const payload = claims({ aud: server.resource, scope: READ_SCOPE, sub: `user-${mode}` });
        const token = remember(await sign(rsa, payload));
        const conn = await connect(server, mode, token);
        const result = await call(conn, "whoami");
        const who = result.structuredContent as WhoamiResult;
        assert.deepEqual(who.principal, {
          issuer: ISSUER,
          subject: `user-${mode}`,
          tenant: "acme",
          clientId: "agent-7",
          scopes: [READ_SCOPE],
          expiresAt: (payload["exp"] as number) * 1000,
          claims: payload,
          anonymous: false,
        });
        // The context has no headers and no token: nothing a tool could pass on.
        assert.deepEqual(who.contextKeys, [
          "backend",
          "backendCall",
          "clientLog",
          "deadline",
          "elicit",
          "idempotencyKey",
          "log",
          "principal",
          "progress",
          "requestId",
          "sample",
          "signal",
          "tool",
        ]);
        const text = JSON.stringify(result);
        assert.ok(!text.includes(token), "the token reached the handler");
        for (const part of token.split(".")) assert.ok(!text.includes(part));
        assert.ok(!/authorization|bearer/i.test(JSON.stringify(who.logBindings)));
      });

      test("a token without refunds:write: forbidden with requiredScopes, list filtered", async () => {
        const conn = await connect(
          server,
          mode,
          await mint(server.resource, { scope: READ_SCOPE }),
        );
        assert.deepEqual(await listed(conn), ["list_orders", "whoami"]);
        await noHandlerRuns(server, async () => {
          const error = expectToolError(
            await call(conn, "refund_order", { id: "INV-1" }),
            "forbidden",
          );
          assert.deepEqual(error.details, { requiredScopes: [REFUND_SCOPE] });
          assert.equal(error.retryable, false);
          assert.match(error.message, /refund_order needs the scope\(s\) refunds:write/);
        });
      });

      test("a scope for another tool does not open this one", async () => {
        const conn = await connect(
          server,
          mode,
          await mint(server.resource, { scope: REFUND_SCOPE }),
        );
        assert.deepEqual(await listed(conn), ["refund_order", "whoami"]);
        await noHandlerRuns(server, async () => {
          const error = expectToolError(await call(conn, "list_orders"), "forbidden");
          assert.deepEqual(error.details, { requiredScopes: [READ_SCOPE] });
        });
      });

      test("a token with no scope at all sees and calls only scope-free tools", async () => {
        const conn = await connect(server, mode, await mint(server.resource, { scope: undefined }));
        assert.deepEqual(await listed(conn), ["whoami"]);
        await noHandlerRuns(server, async () => {
          expectToolError(await call(conn, "list_orders"), "forbidden");
          expectToolError(await call(conn, "refund_order", { id: "INV-1" }), "forbidden");
        });
        assert.equal((await call(conn, "whoami")).isError, undefined);
      });
    });
  }

  test("raw HTTP: a valid token is served (the control for every attack below)", async () => {
    const ran = server.tools.probes.ran.length;
    const result = assertCallServed(
      await send(server, { authorization: bearer(await mint(server.resource)) }),
    );
    assert.deepEqual(dig(result, "structuredContent"), { refunded: "INV-1" });
    assert.deepEqual(server.tools.probes.ran.slice(ran), ["refund_order"]);
  });

  test("the auth scheme is case-insensitive (RFC 7235): 'bearer <token>' is served", async () => {
    assertCallServed(
      await send(server, { authorization: `bearer ${await mint(server.resource)}` }),
    );
  });
});

describe("HTTP auth (jwtVerifier): attacks are refused before any handler runs", () => {
  let jwks: StubServer;
  let server: AuthServer;
  /** Another resource server trusting the same issuer and keys. */
  let other: AuthServer;

  before(async () => {
    jwks = await jwksStub(() => [rsa.jwk]);
    server = await authServer(jwtAuth(jwks.url));
    other = await authServer(jwtAuth(jwks.url));
  });

  test("no Authorization header: 401 with a challenge and no error code", async () => {
    await noHandlerRuns(server, async () => {
      assertChallenge(await send(server), server, { status: 401, error: undefined });
      assertChallenge(await send(server, { authorization: "" }), server, {
        status: 401,
        error: undefined,
      });
      // Every method: the SSE stream (GET) and session end (DELETE) are guarded too.
      for (const method of ["GET", "DELETE"]) {
        assertChallenge(await send(server, { method }), server, { status: 401, error: undefined });
      }
    });
    await assertSdkRefused(server, {}, 401);
  });

  // `Bearer abc,def` is also two comma-separated credentials (RFC 9110 §11.6.2: `def` can
  // be an auth-scheme alone), which the duplicate check answers first, with its own message.
  const malformed: [string, string, RegExp][] = [
    ["Basic credentials", "Basic dXNlcjpwYXNzd29yZA==", /must be 'Bearer <token>'/],
    ["'Bearer' with no token", "Bearer", /must be 'Bearer <token>'/],
    ["'Bearer a b' (two tokens)", "Bearer a b", /must be 'Bearer <token>'/],
    ["a token with characters outside b64token", "Bearer abc,def", /exactly one Authorization/],
  ];
  for (const [name, authorization, message] of malformed) {
    test(`malformed Authorization header (${name}): 400 invalid_request`, async () => {
      if (authorization.startsWith("Basic ")) secrets.add(authorization.slice(6));
      await noHandlerRuns(server, async () => {
        assertChallenge(await send(server, { authorization }), server, {
          status: 400,
          error: "invalid_request",
          message,
        });
      });
      await assertSdkRefused(server, { authorization }, 400);
    });
  }

  const attacks: {
    name: string;
    token: () => Promise<string>;
    message: RegExp;
    /** Claim values the refusal must not echo back. */
    values?: string[];
  }[] = [
    {
      name: 'alg "none" (unsigned)',
      token: () => Promise.resolve(remember(unsignedToken(claims({ aud: server.resource })))),
      message: /signing algorithm is not accepted/,
    },
    {
      name: "HS256 signed with the RSA public key (alg confusion)",
      token: async () => {
        const secret = new TextEncoder().encode(await exportSPKI(rsa.publicKey));
        return remember(
          await new SignJWT(claims({ aud: server.resource, scope: ALL_SCOPES }))
            .setProtectedHeader({ alg: "HS256", kid: rsa.kid })
            .sign(secret),
        );
      },
      message: /signing algorithm is not accepted/,
    },
    {
      name: "a tampered payload (scope raised, signature kept)",
      token: async () => {
        const original = await mint(server.resource, { scope: "" });
        return remember(withPayload(original, claims({ aud: server.resource, scope: ALL_SCOPES })));
      },
      message: /signature is not valid/,
    },
    {
      name: "a signature by another key under the real kid",
      token: () => mint(server.resource, {}, attacker),
      message: /signature is not valid/,
    },
    {
      name: "an unknown kid",
      token: () => mint(server.resource, {}, rotated),
      message: /unknown signing key/,
    },
    {
      name: "an expired token",
      token: () => mint(server.resource, { iat: nowSec() - 900, exp: nowSec() - 300 }),
      message: /^The token has expired\.$/,
    },
    {
      name: "nbf in the future",
      token: () => mint(server.resource, { nbf: nowSec() + 600 }),
      message: /"nbf" claim is in the future/,
    },
    {
      name: "a lifetime over the limit (2 h)",
      token: () => mint(server.resource, { exp: nowSec() + 7200 }),
      message: /lifetime \(exp - iat\) is over the 3600 s/,
    },
    {
      name: "a wrong issuer",
      token: () => mint(server.resource, { iss: "https://evil-issuer.example.test" }),
      message: /"iss" claim is not an accepted issuer/,
      values: ["evil-issuer"],
    },
    {
      name: "a wrong audience",
      token: () => mint("https://evil-resource.example.test/mcp"),
      message: /"aud" claim does not name this resource/,
      values: ["evil-resource"],
    },
    {
      name: "an audience of this server's origin without the MCP path",
      token: () => mint(server.origin),
      message: /"aud" claim does not name this resource/,
    },
    {
      name: "a token for another resource server (aud = its URL)",
      token: () => mint(other.resource),
      message: /"aud" claim does not name this resource/,
    },
    {
      name: "a string that is not a JWT",
      token: () => Promise.resolve(remember(randomBytes(24).toString("base64url"))),
      message: /malformed or its signature is not valid/,
    },
  ];
  for (const attack of attacks) {
    test(`${attack.name}: 401 invalid_token`, async () => {
      const token = await attack.token();
      const authorization = bearer(token);
      await noHandlerRuns(server, async () => {
        const res = await send(server, { authorization });
        assertChallenge(res, server, {
          status: 401,
          error: "invalid_token",
          message: attack.message,
        });
        assertNoLeak(res.headers["www-authenticate"] ?? "", token, ...(attack.values ?? []));
        assertNoLeak(res.body, token, ...(attack.values ?? []));
        // tools/list and initialize are refused the same way: nothing is listed either.
        for (const body of [jsonRpc("tools/list"), jsonRpc("initialize", {})]) {
          assertChallenge(await send(server, { authorization, body }), server, {
            status: 401,
            error: "invalid_token",
          });
        }
      });
      await assertSdkRefused(server, { authorization }, 401);
    });
  }

  test("the token for another resource is good there: the refusal is about the audience", async () => {
    const token = await mint(other.resource);
    assertCallServed(await send(other, { authorization: bearer(token) }));
    assertChallenge(await send(server, { authorization: bearer(token) }), server, {
      status: 401,
      error: "invalid_token",
    });
  });

  test("?access_token= in the URL: 400 invalid_request, even with a valid header", async () => {
    const token = await mint(server.resource);
    await noHandlerRuns(server, async () => {
      for (const authorization of [bearer(token), undefined]) {
        const res = await send(server, {
          path: `/mcp?access_token=${token}`,
          ...(authorization === undefined ? {} : { authorization }),
        });
        assertChallenge(res, server, {
          status: 400,
          error: "invalid_request",
          message: /never in the URL/,
        });
        assertNoLeak(res.body, token);
      }
      // Any value, even an empty one: the parameter itself is refused.
      assertChallenge(
        await send(server, { path: "/mcp?access_token=", authorization: bearer(token) }),
        server,
        { status: 400, error: "invalid_request" },
      );
    });
  });

  // jwtVerifier accepts exp up to clockToleranceSec late; the HTTP layer still refuses an
  // expired token with 401, the one answer that makes an OAuth client refresh.
  test("a token expired within the clock tolerance gets 401 invalid_token (so clients refresh)", async () => {
    const token = await mint(server.resource, { iat: nowSec() - 60, exp: nowSec() - 5 });
    await noHandlerRuns(server, async () => {
      assertChallenge(await send(server, { authorization: bearer(token) }), server, {
        status: 401,
        error: "invalid_token",
        message: /expired/,
      });
    });
  });
});

describe("HTTP auth: a token that expires while the request is on its way", () => {
  let jwks: StubServer;
  let server: AuthServer;
  before(async () => {
    jwks = await jwksStub(() => [rsa.jwk]);
    server = await authServer(jwtAuth(jwks.url, { clockToleranceSec: 0 }));
  });

  // The token is checked when the headers arrive; the body comes after its exp. The answer
  // must still be the 401 that makes an OAuth client refresh, not a tool result.
  test("gets 401 invalid_token, and nothing runs", async () => {
    const exp = nowSec() + 1;
    const token = await mint(server.resource, { iat: exp - 60, exp });
    await noHandlerRuns(server, async () => {
      const res = await rawRequest({
        port: server.address.port,
        headers: { ...MCP_HEADERS, authorization: bearer(token) },
        body: toolsCall("refund_order", { id: "INV-1" }),
        bodyAfterMs: exp * 1000 - Date.now() + 300,
      });
      assertChallenge(res, server, { status: 401, error: "invalid_token", message: /expired/ });
    });
  });
});

describe("HTTP auth (jwtVerifier): key rotation and JWKS outages", () => {
  test("an unknown kid is refused, then accepted once the JWKS rotates and the cooldown passes", async () => {
    let keys = [rsa.jwk];
    const jwks = await jwksStub(() => keys);
    const server = await authServer(jwtAuth(jwks.url, { jwksCooldownMs: COOLDOWN_MS }));
    assertCallServed(await send(server, { authorization: bearer(await mint(server.resource)) }));
    assert.equal(jwks.fetchedAt.length, 1);

    const token = await mint(server.resource, { sub: "rotated-user" }, rotated);
    await noHandlerRuns(server, async () => {
      assertChallenge(await send(server, { authorization: bearer(token) }), server, {
        status: 401,
        error: "invalid_token",
        message: /unknown signing key/,
      });
    });

    keys = [rsa.jwk, rotated.jwk];
    // Real time: jose refetches on an unknown kid only once the cooldown has passed.
    await sleep(Math.max(0, jwks.fetchedAt.at(-1)! + COOLDOWN_MS + 50 - Date.now()));
    const ran = server.tools.probes.ran.length;
    const res = await send(server, {
      authorization: bearer(token),
      body: toolsCall("whoami", {}),
    });
    assert.equal(
      dig(assertCallServed(res), "structuredContent", "principal", "subject"),
      "rotated-user",
    );
    assert.deepEqual(server.tools.probes.ran.slice(ran), ["whoami"]);
    // No refetch storm: consecutive fetches are at least a cooldown apart.
    const fetches = jwks.fetchedAt;
    assert.ok(fetches.length <= 3, `${fetches.length} JWKS fetches`);
    for (let i = 1; i < fetches.length; i++) {
      assert.ok(fetches[i]! - fetches[i - 1]! >= COOLDOWN_MS - 1, `fetches ${fetches.join(", ")}`);
    }
  });

  test("JWKS endpoint down: a warm verifier keeps working, a cold one fails closed with 503", async () => {
    const jwks = await jwksStub(() => [rsa.jwk]);
    // Cooldown 0: an unknown kid makes the verifier try the (dead) endpoint at once.
    const warm = await authServer(jwtAuth(jwks.url, { jwksCooldownMs: 0 }));
    const cold = await authServer(jwtAuth(jwks.url));
    assertCallServed(await send(warm, { authorization: bearer(await mint(warm.resource)) }));
    await jwks.close();

    // Cached keys: a new token from the same key still verifies.
    const fresh = await mint(warm.resource, { sub: "during-outage" });
    const served = await send(warm, {
      authorization: bearer(fresh),
      body: toolsCall("whoami", {}),
    });
    assert.equal(
      dig(assertCallServed(served), "structuredContent", "principal", "subject"),
      "during-outage",
    );

    // A kid the cached set does not have cannot be confirmed: refused as unavailable, not accepted.
    const unknownKid = await mint(warm.resource, {}, rotated);
    for (const [target, token] of [
      [cold, await mint(cold.resource)],
      [warm, unknownKid],
    ] as const) {
      await noHandlerRuns(target, async () => {
        const res = await send(target, { authorization: bearer(token) });
        assert.equal(res.status, 503, res.body);
        assert.equal(res.headers["retry-after"], "5");
        assert.equal(res.headers["www-authenticate"], undefined);
        assert.deepEqual(JSON.parse(res.body), {
          jsonrpc: "2.0",
          id: null,
          error: {
            code: -32000,
            message: "The authorization service is unavailable. Retry later.",
          },
        });
      });
    }
    await assertSdkRefused(cold, { authorization: bearer(await mint(cold.resource)) }, 503);
    const warned = logs
      .lines()
      .filter((l) => l["msg"] === "token verification unavailable; refusing (fail closed)");
    assert.ok(warned.length >= 2, "the outage is logged");
  });

  test("a cold verifier whose JWKS URL never answered: 503 for a valid token", async () => {
    const server = await authServer(jwtAuth(await deadUrl("/jwks")));
    await noHandlerRuns(server, async () => {
      const res = await send(server, { authorization: bearer(await mint(server.resource)) });
      assert.equal(res.status, 503);
      assert.equal(dig(JSON.parse(res.body), "error", "code"), -32000);
    });
  });
});

describe("HTTP auth (introspectionVerifier)", () => {
  let introspection: StubServer;
  let server: AuthServer;
  /** What the authorization server answers per token; unknown tokens are inactive. */
  const answers = new Map<string, Record<string, unknown>>();

  const opaque = () => remember(`opaque-${randomBytes(24).toString("base64url")}`);

  before(async () => {
    introspection = await startStub("/oauth2/introspect", (req, res) => {
      const token = new URLSearchParams(req.body).get("token") ?? "";
      stubJson(res, 200, answers.get(token) ?? { active: false });
    });
    stubs.push(introspection);
    server = await authServer((resource) =>
      introspectionVerifier({
        url: introspection.url,
        clientId: INTROSPECTION_CLIENT_ID,
        clientSecret: INTROSPECTION_SECRET,
        audience: resource,
        issuer: ISSUER,
      }),
    );
  });

  const active = (resource: string, extra: Record<string, unknown> = {}) => ({
    active: true,
    sub: "svc-9",
    scope: READ_SCOPE,
    client_id: "agent-i",
    exp: nowSec() + 600,
    aud: resource,
    iss: ISSUER,
    ...extra,
  });

  for (const mode of CLIENT_MODES) {
    test(`${mode} client: an active token is served, its scopes enforced`, async () => {
      const token = opaque();
      answers.set(token, active(server.resource));
      const conn = await connect(server, mode, token);
      assert.deepEqual(await listed(conn), ["list_orders", "whoami"]);
      const who = (await call(conn, "whoami")).structuredContent as WhoamiResult;
      assert.equal(who.principal.subject, "svc-9");
      assert.equal(who.principal.issuer, ISSUER);
      assert.equal(who.principal.clientId, "agent-i");
      assert.deepEqual(who.principal.scopes, [READ_SCOPE]);
      await noHandlerRuns(server, async () => {
        expectToolError(await call(conn, "refund_order", { id: "INV-1" }), "forbidden");
      });
    });
  }

  test("the resource server authenticates to the introspection endpoint with its credentials", () => {
    const request = introspection.requests.at(-1)!;
    assert.equal(request.method, "POST");
    const expected = Buffer.from(`${INTROSPECTION_CLIENT_ID}:${INTROSPECTION_SECRET}`).toString(
      "base64",
    );
    assert.equal(request.headers.authorization, `Basic ${expected}`);
  });

  test("active: false: 401 invalid_token, no handler runs", async () => {
    const token = opaque();
    answers.set(token, { active: false });
    await noHandlerRuns(server, async () => {
      assertChallenge(await send(server, { authorization: bearer(token) }), server, {
        status: 401,
        error: "invalid_token",
        message: /^The token is not active\.$/,
      });
    });
    await assertSdkRefused(server, { authorization: bearer(token) }, 401);
  });

  test("an active token for another resource: 401 invalid_token", async () => {
    const token = opaque();
    answers.set(token, active("https://elsewhere.example.test/mcp"));
    await noHandlerRuns(server, async () => {
      assertChallenge(await send(server, { authorization: bearer(token) }), server, {
        status: 401,
        error: "invalid_token",
        message: /"aud" claim does not name this resource/,
      });
    });
  });

  test("observed: a revocation is seen only when the cached answer expires (cacheTtlSec, 60 s)", async () => {
    const token = opaque();
    answers.set(token, active(server.resource, { scope: ALL_SCOPES }));
    assertCallServed(await send(server, { authorization: bearer(token) }));
    answers.set(token, { active: false });
    assertCallServed(await send(server, { authorization: bearer(token) }));
  });

  test("introspection endpoint down: 503 (fail closed), no handler runs", async () => {
    const token = opaque();
    answers.set(token, active(server.resource, { scope: ALL_SCOPES }));
    await introspection.close();
    await noHandlerRuns(server, async () => {
      const res = await send(server, { authorization: bearer(token) });
      assert.equal(res.status, 503, res.body);
      assert.equal(res.headers["retry-after"], "5");
      assert.equal(dig(JSON.parse(res.body), "error", "code"), -32000);
    });
    await assertSdkRefused(server, { authorization: bearer(token) }, 503);
  });
});

describe("RFC 9728 protected resource metadata", () => {
  let jwks: StubServer;
  let server: AuthServer;

  before(async () => {
    jwks = await jwksStub(() => [rsa.jwk]);
    server = await authServer(jwtAuth(jwks.url));
  });

  for (const path of [METADATA_PATH, "/.well-known/oauth-protected-resource"]) {
    test(`GET ${path} needs no token and describes the resource`, async () => {
      for (const authorization of [undefined, "Bearer not-even-a-jwt"]) {
        const res = await send(server, {
          method: "GET",
          path,
          ...(authorization === undefined ? {} : { authorization }),
        });
        assert.equal(res.status, 200, res.body);
        assert.match(String(res.headers["content-type"]), /^application\/json/);
        assert.deepEqual(JSON.parse(res.body), {
          resource: server.resource,
          authorization_servers: [ISSUER],
          scopes_supported: AUTH_TOOL_SCOPES,
          bearer_methods_supported: ["header"],
          resource_name: "toolgate-e2e",
        });
      }
    });
  }

  test("the challenge's resource_metadata URL serves that document", async () => {
    const params = challengeParams((await send(server)).headers["www-authenticate"]);
    const url = new URL(params["resource_metadata"]!);
    const res = await send(server, { method: "GET", path: url.pathname });
    assert.equal(dig(JSON.parse(res.body), "resource"), server.resource);
    assert.deepEqual(digArray(JSON.parse(res.body), "scopes_supported"), [
      "orders:read",
      "refunds:write",
    ]);
  });
});

describe("step-up (auth.stepUp): 403 insufficient_scope", () => {
  let jwks: StubServer;
  let server: AuthServer;

  before(async () => {
    jwks = await jwksStub(() => [rsa.jwk]);
    server = await authServer((resource) => ({
      verifier: jwtAuth(jwks.url)(resource),
      stepUp: true,
    }));
  });

  test("raw: a tools/call the token lacks scope for is 403 naming every scope needed", async () => {
    const token = await mint(server.resource, { scope: READ_SCOPE });
    await noHandlerRuns(server, async () => {
      const res = await send(server, { authorization: bearer(token) });
      const params = assertChallenge(res, server, {
        status: 403,
        error: "insufficient_scope",
        message: /^refund_order needs the scope\(s\) refunds:write\.$/,
      });
      assert.equal(params["scope"], `${READ_SCOPE} ${REFUND_SCOPE}`);
    });
    // What the token may do is still served, and listed as before.
    assertCallServed(
      await send(server, { authorization: bearer(token), body: toolsCall("list_orders", {}) }),
    );
    const list = await send(server, { authorization: bearer(token), body: jsonRpc("tools/list") });
    const names = digArray(parseOne(list), "result", "tools").map((t) => dig(t, "name"));
    assert.deepEqual(names, ["list_orders", "whoami"]);
  });

  for (const mode of CLIENT_MODES) {
    test(`${mode} client: callTool rejects with InsufficientScopeError`, async () => {
      const conn = await connect(server, mode, await mint(server.resource, { scope: READ_SCOPE }));
      await noHandlerRuns(server, async () => {
        const error: unknown = await conn.client
          .callTool({ name: "refund_order", arguments: { id: "INV-1" } })
          .then(
            (r) => assert.fail(`expected a refusal, got ${JSON.stringify(r)}`),
            (e: unknown) => e,
          );
        assert.ok(error instanceof InsufficientScopeError, String(error));
        assert.equal(error.requiredScope, `${READ_SCOPE} ${REFUND_SCOPE}`);
        assert.equal(error.resourceMetadataUrl?.href, `${server.origin}${METADATA_PATH}`);
        transcript.push(String(error.message));
      });
      assert.equal((await call(conn, "list_orders")).isError, undefined);
    });
  }
});

describe("sessions (http.sessions): a session id is bound to who opened it", () => {
  let jwks: StubServer;
  let server: AuthServer;
  let alice: ConnectedClient;
  let sessionId: string;

  before(async () => {
    jwks = await jwksStub(() => [rsa.jwk]);
    server = await authServer(jwtAuth(jwks.url), { http: { sessions: true } });
    alice = await connect(server, "legacy", await mint(server.resource, { sub: "alice" }));
    assert.ok(alice.transport.sessionId);
    sessionId = alice.transport.sessionId;
  });

  const inSession = (id: string) => ({ "mcp-session-id": id });

  test("bob's token with alice's session id: 404 on POST, GET and DELETE", async () => {
    const bob = bearer(await mint(server.resource, { sub: "bob" }));
    await noHandlerRuns(server, async () => {
      for (const method of ["POST", "GET", "DELETE"]) {
        const res = await send(server, {
          method,
          authorization: bob,
          headers: inSession(sessionId),
        });
        assert.equal(res.status, 404, `${method}: ${res.body}`);
        assert.deepEqual(JSON.parse(res.body), {
          jsonrpc: "2.0",
          id: null,
          error: {
            code: -32600,
            message: "Session not found. Start a new session with initialize.",
          },
        });
      }
    });
    // The same answer as for an id that never existed: bob learns nothing.
    const unknown = await send(server, { authorization: bob, headers: inSession(randomUUID()) });
    assert.equal(unknown.status, 404);
  });

  test("alice's session id with no token: 401", async () => {
    await noHandlerRuns(server, async () => {
      assertChallenge(await send(server, { headers: inSession(sessionId) }), server, {
        status: 401,
        error: undefined,
      });
    });
  });

  test("alice's session survives the attempts and still serves alice", async () => {
    const who = (await call(alice, "whoami")).structuredContent as WhoamiResult;
    assert.equal(who.principal.subject, "alice");
  });

  test("each request's own token decides: alice's narrower token in her session is forbidden", async () => {
    const narrow = bearer(await mint(server.resource, { sub: "alice", scope: READ_SCOPE }));
    await noHandlerRuns(server, async () => {
      const res = await send(server, { authorization: narrow, headers: inSession(sessionId) });
      assert.equal(res.status, 200, res.body);
      const error = expectToolError(dig(parseOne(res), "result"), "forbidden");
      assert.deepEqual(error.details, { requiredScopes: [REFUND_SCOPE] });
    });
    // And an expired token does not ride on the session.
    const expired = bearer(
      await mint(server.resource, { sub: "alice", iat: nowSec() - 900, exp: nowSec() - 300 }),
    );
    assertChallenge(
      await send(server, { authorization: expired, headers: inSession(sessionId) }),
      server,
      {
        status: 401,
        error: "invalid_token",
      },
    );
  });
});

describe("secrets never leak", () => {
  test("no token, Authorization value or key material in logs, error bodies or results", () => {
    const logged = logs.lines();
    assert.ok(logged.length > 0, "the servers logged something");
    assert.ok(transcript.length > 50, `only ${transcript.length} responses recorded`);
    const logText = JSON.stringify(logged);
    const seen = transcript.join("\n");
    for (const secret of secrets) {
      assert.ok(!logText.includes(secret), `the log contains a secret: ${secret.slice(0, 24)}...`);
      assert.ok(!seen.includes(secret), `a client saw a secret: ${secret.slice(0, 24)}...`);
    }
    assert.ok(!/Bearer [A-Za-z0-9]/.test(logText), "an Authorization header was logged");
    assert.ok(!/BEGIN (RSA )?PRIVATE KEY/.test(logText + seen));
  });
});
