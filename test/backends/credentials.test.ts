// Credential providers against a real token endpoint on 127.0.0.1 (see
// fixtures/token-server.ts): static secrets from the environment, client credentials and
// token exchange, their caches, and how every token endpoint failure is answered.
import assert from "node:assert/strict";
import { inspect } from "node:util";
import { after, afterEach, beforeEach, describe, it } from "node:test";
import type { Principal } from "../../src/auth/principal.js";
import { ANONYMOUS_PRINCIPAL } from "../../src/auth/principal.js";
import type { CredentialRequest } from "../../src/backends/credential.js";
import {
  clientCredentials,
  staticCredential,
  tokenExchange,
  type ClientCredentialsOptions,
  type TokenExchangeOptions,
} from "../../src/backends/credentials.js";
import { isToolError, type ToolError } from "../../src/errors/tool-error.js";
import { TokenCache } from "../../src/backends/token-cache.js";
import {
  ACCESS_TOKEN_TYPE,
  TOKEN_EXCHANGE_GRANT,
  deadTokenUrl,
  startTokenServer,
  type TokenServer,
} from "./fixtures/token-server.js";

const SECRET_VAR = "TOOLGATE_TEST_CLIENT_SECRET";
const CLIENT_SECRET = "s3cret:with/odd+chars é";
const ALICE_TOKEN = "alice-access-token-0123456789";
const BOB_TOKEN = "bob-access-token-9876543210";
const ORDERS_AUDIENCE = "https://orders.example";

let server: TokenServer;
const envVars: string[] = [];

function setEnv(name: string, value: string) {
  process.env[name] = value;
  envVars.push(name);
}

beforeEach(async () => {
  server = await startTokenServer();
  server.registerClient("toolgate", {
    secret: CLIENT_SECRET,
    scopes: ["orders:read", "orders:write", "refunds:write"],
  });
  server.registerUser(ALICE_TOKEN, {
    subject: "alice",
    audiences: { [ORDERS_AUDIENCE]: ["orders:read", "orders:write"] },
  });
  server.registerUser(BOB_TOKEN, {
    subject: "bob",
    audiences: { [ORDERS_AUDIENCE]: ["orders:read"] },
  });
  setEnv(SECRET_VAR, CLIENT_SECRET);
});
afterEach(async () => {
  await server.close();
  for (const name of envVars.splice(0)) delete process.env[name];
});
after(() => {
  for (const name of envVars.splice(0)) delete process.env[name];
});

function principal(subject: string, expiresAt?: number): Principal {
  return Object.freeze({
    issuer: "https://issuer.example",
    subject,
    scopes: [],
    claims: { sub: subject },
    anonymous: false,
    ...(expiresAt === undefined ? {} : { expiresAt }),
  });
}

function request(overrides: Partial<CredentialRequest> = {}): CredentialRequest {
  return {
    principal: ANONYMOUS_PRINCIPAL,
    subjectToken: undefined,
    scope: undefined,
    signal: new AbortController().signal,
    backend: "orders",
    ...overrides,
  };
}

function userRequest(token: string, subject: string, overrides: Partial<CredentialRequest> = {}) {
  return request({ principal: principal(subject), subjectToken: token, ...overrides });
}

function cc(options: Partial<ClientCredentialsOptions> = {}) {
  return clientCredentials({
    tokenUrl: server.url,
    clientId: "toolgate",
    clientSecretFromEnv: SECRET_VAR,
    scope: ["orders:read", "orders:write"],
    ...options,
  });
}

function te(options: Partial<TokenExchangeOptions> = {}) {
  return tokenExchange({
    tokenUrl: server.url,
    clientId: "toolgate",
    clientSecretFromEnv: SECRET_VAR,
    audience: ORDERS_AUDIENCE,
    ...options,
  });
}

/** The token in an `authorization: Bearer <token>` header set. */
function bearer(headers: Record<string, string>): string {
  assert.deepEqual(Object.keys(headers), ["authorization"]);
  const match = /^Bearer (\S+)$/.exec(headers.authorization!);
  assert.ok(match, `not a Bearer header: ${headers.authorization}`);
  return match[1]!;
}

/** A clock tests move by hand. */
function manualClock(start = 1_700_000_000_000) {
  const clock = { t: start, now: () => clock.t };
  return clock;
}

async function waitFor(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) assert.fail("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail("expected a rejection");
}

async function toolError(promise: Promise<unknown>, type: ToolError["type"]): Promise<ToolError> {
  const error = await rejection(promise);
  assert.ok(isToolError(error), `expected a ToolError, got ${inspect(error)}`);
  assert.equal(error.type, type, error.message);
  return error;
}

/** A plain Error: the pipeline answers `internal` with an incident id and logs its message. */
async function plainError(promise: Promise<unknown>): Promise<Error> {
  const error = await rejection(promise);
  assert.ok(
    error instanceof Error && !isToolError(error),
    `expected a plain Error: ${inspect(error)}`,
  );
  return error;
}

describe("staticCredential", () => {
  it("sends the secret from the environment, with the scheme when given", async () => {
    setEnv("TOOLGATE_TEST_API_KEY", "key-123");
    const bearerKey = staticCredential({ valueFromEnv: "TOOLGATE_TEST_API_KEY", scheme: "Bearer" });
    assert.equal(bearerKey.kind, "static");
    assert.deepEqual(await bearerKey.headers(request()), { authorization: "Bearer key-123" });

    const apiKey = staticCredential({ header: "X-Api-Key", valueFromEnv: "TOOLGATE_TEST_API_KEY" });
    assert.deepEqual(await apiKey.headers(request()), { "x-api-key": "key-123" });

    // Read once, at creation: a later change of the variable does not matter.
    process.env.TOOLGATE_TEST_API_KEY = "changed";
    assert.deepEqual(await apiKey.headers(request()), { "x-api-key": "key-123" });
    // Each call gets its own object; the provider itself shows no secret.
    const first = await apiKey.headers(request());
    first["x-api-key"] = "tampered";
    assert.deepEqual(await apiKey.headers(request()), { "x-api-key": "key-123" });
    assert.ok(!JSON.stringify(apiKey).includes("key-123"));
    assert.ok(!inspect(apiKey, { showHidden: true }).includes("key-123"));
  });

  it("fails at startup, naming the variable, when it is missing or empty", () => {
    delete process.env.TOOLGATE_TEST_MISSING;
    assert.throws(
      () => staticCredential({ valueFromEnv: "TOOLGATE_TEST_MISSING" }),
      (e: unknown) => e instanceof TypeError && e.message.includes("TOOLGATE_TEST_MISSING"),
    );
    setEnv("TOOLGATE_TEST_EMPTY", "");
    assert.throws(
      () => staticCredential({ valueFromEnv: "TOOLGATE_TEST_EMPTY" }),
      (e: unknown) => e instanceof TypeError && e.message.includes("TOOLGATE_TEST_EMPTY"),
    );
  });

  it("refuses bad header names, schemes and values, and secrets in the options", () => {
    setEnv("TOOLGATE_TEST_API_KEY", "key-123");
    const valueFromEnv = "TOOLGATE_TEST_API_KEY";
    for (const header of ["bad header", "x-key:", "", "Host", "content-length"]) {
      assert.throws(() => staticCredential({ header, valueFromEnv }), TypeError, header);
    }
    assert.throws(() => staticCredential({ valueFromEnv, scheme: "Bearer x" }), TypeError);
    setEnv("TOOLGATE_TEST_NEWLINE", "key-123\n");
    assert.throws(
      () => staticCredential({ valueFromEnv: "TOOLGATE_TEST_NEWLINE" }),
      (e: unknown) =>
        e instanceof TypeError &&
        e.message.includes("TOOLGATE_TEST_NEWLINE") &&
        !e.message.includes("key-123"),
    );
    const withSecret = { valueFromEnv, value: "key-123" } as unknown as Parameters<
      typeof staticCredential
    >[0];
    assert.throws(
      () => staticCredential(withSecret),
      (e: unknown) =>
        e instanceof TypeError &&
        /environment variable/.test(e.message) &&
        !e.message.includes("key-123"),
    );
  });
});

describe("clientCredentials", () => {
  it("authenticates with HTTP Basic, asks for the configured scope and caches the token", async () => {
    const provider = cc({ audience: "orders-api" });
    assert.equal(provider.kind, "client_credentials");
    const token = bearer(await provider.headers(request()));
    assert.equal(server.requests.length, 1);
    const sent = server.requests[0]!;
    assert.equal(sent.clientAuth, "client_secret_basic");
    assert.equal(sent.params.grant_type, "client_credentials");
    assert.equal(sent.params.scope, "orders:read orders:write");
    assert.equal(sent.params.audience, "orders-api");
    assert.equal(sent.params.client_secret, undefined);
    assert.deepEqual(server.issued.get(token), {
      grantType: "client_credentials",
      clientId: "toolgate",
      audience: "orders-api",
      scope: ["orders:read", "orders:write"],
    });

    assert.equal(bearer(await provider.headers(request())), token);
    assert.equal(server.requests.length, 1, "the second call is served from the cache");
  });

  it("authenticates with client_secret_post when asked", async () => {
    const provider = clientCredentials({
      tokenUrl: server.url,
      clientId: "toolgate",
      clientSecretFromEnv: SECRET_VAR,
      authMethod: "client_secret_post",
    });
    const token = bearer(await provider.headers(request()));
    const sent = server.requests[0]!;
    assert.equal(sent.clientAuth, "client_secret_post");
    assert.equal(sent.headers.authorization, undefined);
    assert.equal(sent.params.client_id, "toolgate");
    assert.equal(sent.params.client_secret, CLIENT_SECRET);
    assert.equal(sent.params.scope, undefined, "no scope configured: none asked for");
    assert.deepEqual(server.issued.get(token)?.scope, [
      "orders:read",
      "orders:write",
      "refunds:write",
    ]);
  });

  it("reuses a token until shortly before expires_in, and 5 minutes without it", async () => {
    const clock = manualClock();
    server.expiresIn = 60; // margin: 10 % = 6 s
    const provider = cc({ now: clock.now });
    const first = bearer(await provider.headers(request()));
    clock.t += 53_000;
    assert.equal(bearer(await provider.headers(request())), first);
    clock.t += 2_000; // 55 s: inside the margin
    const second = bearer(await provider.headers(request()));
    assert.notEqual(second, first);
    assert.equal(server.requests.length, 2);

    server.expiresIn = 3600; // margin: 30 s (10 % would be 6 min)
    const hourly = cc({ now: clock.now });
    const h1 = bearer(await hourly.headers(request()));
    clock.t += 3_569_000;
    assert.equal(bearer(await hourly.headers(request())), h1);
    clock.t += 2_000;
    assert.notEqual(bearer(await hourly.headers(request())), h1);

    server.expiresIn = undefined;
    const noExpiry = cc({ now: clock.now });
    const n1 = bearer(await noExpiry.headers(request()));
    clock.t += 299_000;
    assert.equal(bearer(await noExpiry.headers(request())), n1);
    clock.t += 2_000;
    assert.notEqual(bearer(await noExpiry.headers(request())), n1);
  });

  it("expires with the real clock too (expires_in 1 s)", async () => {
    server.expiresIn = 1;
    const provider = cc();
    const first = bearer(await provider.headers(request()));
    assert.equal(bearer(await provider.headers(request())), first);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.notEqual(bearer(await provider.headers(request())), first);
    assert.equal(server.requests.length, 2);
  });

  it("shares one token request among concurrent calls (single flight)", async () => {
    server.delayMs = 50;
    const provider = cc();
    const all = await Promise.all(Array.from({ length: 10 }, () => provider.headers(request())));
    assert.equal(server.requests.length, 1);
    assert.equal(new Set(all.map(bearer)).size, 1);
  });

  it("fetches a new token after invalidate", async () => {
    const provider = cc();
    const first = bearer(await provider.headers(request()));
    provider.invalidate(request());
    const second = bearer(await provider.headers(request()));
    assert.notEqual(second, first);
    assert.equal(server.requests.length, 2);
    assert.equal(bearer(await provider.headers(request())), second);
    assert.equal(server.requests.length, 2);
  });

  it("gives a tool's narrower scope its own token with exactly that scope", async () => {
    const provider = cc();
    const broad = bearer(await provider.headers(request()));
    const narrow = bearer(await provider.headers(request({ scope: ["orders:read"] })));
    assert.notEqual(narrow, broad);
    assert.deepEqual(server.issued.get(narrow)?.scope, ["orders:read"]);
    assert.equal(server.requests[1]!.params.scope, "orders:read");
    // Separate cache entries, each reused; scope order and duplicates do not matter.
    assert.equal(bearer(await provider.headers(request())), broad);
    assert.equal(bearer(await provider.headers(request({ scope: ["orders:read"] }))), narrow);
    const both = ["orders:write", "orders:read", "orders:write"];
    assert.equal(bearer(await provider.headers(request({ scope: both }))), broad);
    assert.equal(server.requests.length, 2);
    // Invalidating the narrow entry leaves the broad one.
    provider.invalidate(request({ scope: ["orders:read"] }));
    assert.equal(bearer(await provider.headers(request())), broad);
    assert.notEqual(bearer(await provider.headers(request({ scope: ["orders:read"] }))), narrow);
  });

  it("refuses a tool scope beyond the configured one as misconfiguration", async () => {
    const provider = cc();
    const error = await plainError(provider.headers(request({ scope: ["refunds:write"] })));
    assert.match(error.message, /refunds:write/);
    assert.equal(server.requests.length, 0);
  });

  it("answers forbidden when the server refuses the scope", async () => {
    const provider = cc({ scope: ["admin"] });
    const error = await toolError(provider.headers(request()), "forbidden");
    assert.match(error.message, /orders \(invalid_scope\)/);
    assert.ok(error.cause instanceof Error);
  });

  it("checks its options when created, naming the field", () => {
    const bad: [Partial<ClientCredentialsOptions>, RegExp][] = [
      [{ tokenUrl: "ftp://127.0.0.1/token" }, /tokenUrl/],
      [{ tokenUrl: "not a url" }, /tokenUrl/],
      [{ tokenUrl: "https://user:pw@as.example/token" }, /tokenUrl/],
      [{ clientId: "" }, /clientId/],
      [{ clientSecretFromEnv: "TOOLGATE_TEST_NOT_SET" }, /TOOLGATE_TEST_NOT_SET/],
      [{ authMethod: "private_key_jwt" as "client_secret_post" }, /authMethod/],
      [{ scope: ["two words"] }, /scope/],
      [{ timeoutMs: 0 }, /timeoutMs/],
      [{ audience: "" }, /audience/],
    ];
    for (const [options, field] of bad) {
      assert.throws(
        () => cc(options),
        (e: unknown) => e instanceof TypeError && field.test(e.message),
        inspect(options),
      );
    }
    assert.throws(
      () => cc({ clientSecret: CLIENT_SECRET } as Partial<ClientCredentialsOptions>),
      (e: unknown) =>
        e instanceof TypeError &&
        /clientSecretFromEnv/.test(e.message) &&
        !e.message.includes(CLIENT_SECRET),
    );
  });
});

describe("tokenExchange", () => {
  it("exchanges the user's token for a token for this backend and this user", async () => {
    const provider = te({ scope: ["orders:read"], resource: "https://orders.example/api" });
    assert.equal(provider.kind, "token_exchange");
    const headers = await provider.headers(userRequest(ALICE_TOKEN, "alice"));
    const token = bearer(headers);
    assert.ok(!JSON.stringify(headers).includes(ALICE_TOKEN), "the caller's token is not sent on");
    assert.notEqual(token, ALICE_TOKEN);
    assert.deepEqual(server.issued.get(token), {
      grantType: TOKEN_EXCHANGE_GRANT,
      clientId: "toolgate",
      subject: "alice",
      audience: ORDERS_AUDIENCE,
      resource: "https://orders.example/api",
      scope: ["orders:read"],
    });
    const sent = server.requests[0]!;
    assert.equal(sent.clientAuth, "client_secret_basic");
    assert.deepEqual(sent.params, {
      grant_type: TOKEN_EXCHANGE_GRANT,
      subject_token: ALICE_TOKEN,
      subject_token_type: ACCESS_TOKEN_TYPE,
      requested_token_type: ACCESS_TOKEN_TYPE,
      audience: ORDERS_AUDIENCE,
      resource: "https://orders.example/api",
      scope: "orders:read",
    });
    // Cached for this user.
    assert.equal(bearer(await provider.headers(userRequest(ALICE_TOKEN, "alice"))), token);
    assert.equal(server.requests.length, 1);
  });

  it("gives different users different tokens, each with what that user may get", async () => {
    const provider = te();
    const alice = bearer(await provider.headers(userRequest(ALICE_TOKEN, "alice")));
    const bob = bearer(await provider.headers(userRequest(BOB_TOKEN, "bob")));
    assert.notEqual(alice, bob);
    assert.equal(server.issued.get(alice)?.subject, "alice");
    assert.deepEqual(server.issued.get(alice)?.scope, ["orders:read", "orders:write"]);
    assert.equal(server.issued.get(bob)?.subject, "bob");
    assert.deepEqual(server.issued.get(bob)?.scope, ["orders:read"]);
    assert.equal(server.requests.length, 2);
    for (const headers of [
      await provider.headers(userRequest(ALICE_TOKEN, "alice")),
      await provider.headers(userRequest(BOB_TOKEN, "bob")),
    ]) {
      const text = JSON.stringify(headers);
      assert.ok(!text.includes(ALICE_TOKEN) && !text.includes(BOB_TOKEN));
    }
    assert.equal(server.requests.length, 2);
  });

  it("answers unauthenticated for a call without a signed-in user, without asking", async () => {
    const provider = te();
    const error = await toolError(provider.headers(request()), "unauthenticated");
    assert.match(error.message, /signed-in user/);
    assert.match(error.message, /orders/);
    assert.equal(server.requests.length, 0);
  });

  it("answers forbidden when the authorization server refuses the exchange", async () => {
    // The audience is not one this user may have.
    const elsewhere = te({ audience: "https://payroll.example" });
    const target = await toolError(
      elsewhere.headers(userRequest(ALICE_TOKEN, "alice")),
      "forbidden",
    );
    assert.equal(
      target.message,
      "The authorization server would not give this user access to orders (invalid_target).",
    );
    assert.ok(target.cause instanceof Error && /invalid_target/.test(target.cause.message));

    // Bob may not have orders:write.
    const writer = te({ scope: ["orders:write"] });
    const scope = await toolError(writer.headers(userRequest(BOB_TOKEN, "bob")), "forbidden");
    assert.match(scope.message, /\(invalid_scope\)/);
    // Alice may: the refusal is per user, and not cached.
    bearer(await writer.headers(userRequest(ALICE_TOKEN, "alice")));

    // A subject token the server does not know.
    const grant = await toolError(
      te().headers(userRequest("forged-token", "mallory")),
      "forbidden",
    );
    assert.match(grant.message, /\(invalid_grant\)/);
    for (const error of [target, scope, grant]) {
      assert.ok(!error.message.includes(ALICE_TOKEN) && !error.message.includes("forged-token"));
    }
    // The server echoed the forged token in its error_description; the logged cause has it redacted.
    assert.ok(grant.cause instanceof Error);
    assert.match(grant.cause.message, /\[redacted\]/);
    assert.ok(!grant.cause.message.includes("forged-token"));
  });

  it("narrows per tool: exactly the narrower scope, in its own cache entry", async () => {
    const provider = te();
    const full = bearer(await provider.headers(userRequest(ALICE_TOKEN, "alice")));
    const narrow = bearer(
      await provider.headers(userRequest(ALICE_TOKEN, "alice", { scope: ["orders:read"] })),
    );
    assert.notEqual(full, narrow);
    assert.deepEqual(server.issued.get(narrow)?.scope, ["orders:read"]);
    assert.equal(
      bearer(await provider.headers(userRequest(ALICE_TOKEN, "alice", { scope: ["orders:read"] }))),
      narrow,
    );
    assert.equal(server.requests.length, 2);
  });

  it("never caches past the subject's own expiry, and refuses an expired subject", async () => {
    const clock = manualClock();
    const provider = te({ now: clock.now });
    const expiresAt = clock.t + 10_000; // the exchanged token would last an hour
    const req = () =>
      userRequest(ALICE_TOKEN, "alice", { principal: principal("alice", expiresAt) });
    const first = bearer(await provider.headers(req()));
    clock.t += 9_000;
    assert.equal(bearer(await provider.headers(req())), first);
    clock.t += 1_000;
    await toolError(provider.headers(req()), "unauthenticated");
    assert.equal(server.requests.length, 1);
  });

  it("invalidate forgets only that user's token; single flight per user", async () => {
    server.delayMs = 50;
    const provider = te();
    const calls = [
      ...Array.from({ length: 5 }, () => provider.headers(userRequest(ALICE_TOKEN, "alice"))),
      ...Array.from({ length: 5 }, () => provider.headers(userRequest(BOB_TOKEN, "bob"))),
    ];
    const tokens = (await Promise.all(calls)).map(bearer);
    assert.equal(server.requests.length, 2);
    assert.equal(new Set(tokens.slice(0, 5)).size, 1);
    assert.equal(new Set(tokens.slice(5)).size, 1);
    const [alice, bob] = [tokens[0]!, tokens[5]!];

    provider.invalidate(userRequest(ALICE_TOKEN, "alice"));
    assert.notEqual(bearer(await provider.headers(userRequest(ALICE_TOKEN, "alice"))), alice);
    assert.equal(bearer(await provider.headers(userRequest(BOB_TOKEN, "bob"))), bob);
    assert.equal(server.requests.length, 3);
  });

  it("checks its options when created", () => {
    assert.throws(() => te({ audience: "" }), /audience/);
    assert.throws(() => te({ resource: "relative/path" }), /resource/);
    assert.throws(() => te({ tokenUrl: "file:///etc/passwd" }), /tokenUrl/);
    assert.throws(
      () => te({ clientSecretFromEnv: "TOOLGATE_TEST_NOT_SET" }),
      /TOOLGATE_TEST_NOT_SET/,
    );
  });
});

describe("token endpoint failures", () => {
  const providers = {
    clientCredentials: (o: Partial<ClientCredentialsOptions> = {}) => cc(o),
    tokenExchange: (o: Partial<TokenExchangeOptions> = {}) => te(o),
  };
  const call = (kind: keyof typeof providers, provider: ReturnType<typeof cc | typeof te>) =>
    provider.headers(kind === "tokenExchange" ? userRequest(ALICE_TOKEN, "alice") : request());

  for (const kind of Object.keys(providers) as (keyof typeof providers)[]) {
    describe(kind, () => {
      it("answers unavailable (retryable) when the endpoint is down", async () => {
        const provider = providers[kind]({ tokenUrl: await deadTokenUrl() });
        const error = await toolError(call(kind, provider), "unavailable");
        assert.equal(error.retryable, true);
        assert.equal(error.retryAfterMs, 1000);
        assert.ok(error.cause !== undefined, "the network error is kept as the cause");
        assert.match(error.message, /authorization server for orders could not be reached/);
        assert.ok(!/ECONNREFUSED|127\.0\.0\.1/.test(error.message));
      });

      it("answers unavailable on a 5xx, and recovers without caching the failure", async () => {
        server.fail = "500";
        const provider = providers[kind]();
        const error = await toolError(call(kind, provider), "unavailable");
        assert.equal(error.retryAfterMs, 1000);
        assert.ok(error.cause instanceof Error && /HTTP 500/.test(error.cause.message));
        server.fail = undefined;
        bearer(await call(kind, provider));
        assert.equal(server.requests.length, 2);
      });

      it("answers unavailable within the timeout when the endpoint hangs", async () => {
        server.fail = "hang";
        const provider = providers[kind]({ timeoutMs: 200 });
        const started = performance.now();
        const error = await toolError(call(kind, provider), "unavailable");
        const elapsed = performance.now() - started;
        assert.ok(elapsed >= 150 && elapsed < 2000, `took ${elapsed} ms`);
        assert.match(error.message, /did not answer within 200 ms/);
      });

      it("fails as misconfiguration (plain Error) on invalid_client", async () => {
        setEnv("TOOLGATE_TEST_WRONG_SECRET", "not-the-secret");
        const provider = providers[kind]({ clientSecretFromEnv: "TOOLGATE_TEST_WRONG_SECRET" });
        const error = await plainError(call(kind, provider));
        assert.match(error.message, /invalid_client/);
        assert.match(error.message, /TOOLGATE_TEST_WRONG_SECRET/);
        assert.ok(!error.message.includes("not-the-secret"));
        assert.ok(!error.message.includes(ALICE_TOKEN));
      });

      it("fails as misconfiguration on a success answer without an access_token", async () => {
        server.fail = "no_access_token";
        const missing = await plainError(call(kind, providers[kind]()));
        assert.match(missing.message, /access_token/);
        server.fail = "not_json";
        const html = await plainError(call(kind, providers[kind]()));
        assert.match(html.message, /not a JSON object/);
      });

      it("stops waiting when the call is cancelled, with the call's own reason", async () => {
        server.fail = "hang";
        const provider = providers[kind]({ timeoutMs: 5000 });
        const controller = new AbortController();
        const pending = provider.headers(
          kind === "tokenExchange"
            ? userRequest(ALICE_TOKEN, "alice", { signal: controller.signal })
            : request({ signal: controller.signal }),
        );
        const reason = new Error("deadline");
        setTimeout(() => controller.abort(reason), 50);
        const started = performance.now();
        assert.equal(await rejection(pending), reason);
        assert.ok(performance.now() - started < 1000);
        // Nobody else waited on it: the token request itself was stopped.
        await waitFor(() => server.abandoned === 1);
      });
    });
  }

  it("a misconfigured exchange client (unauthorized_client) is a plain Error", async () => {
    server.registerClient("no-exchange", {
      secret: CLIENT_SECRET,
      scopes: [],
      tokenExchange: false,
    });
    const provider = te({ clientId: "no-exchange" });
    const error = await plainError(provider.headers(userRequest(ALICE_TOKEN, "alice")));
    assert.match(error.message, /unauthorized_client/);
  });

  it("invalid_grant from the endpoint is forbidden", async () => {
    server.fail = "invalid_grant";
    await toolError(te().headers(userRequest(ALICE_TOKEN, "alice")), "forbidden");
  });

  it("one cancelled caller does not fail the others sharing its token request", async () => {
    server.delayMs = 100;
    const provider = cc();
    const controller = new AbortController();
    const cancelled = provider.headers(request({ signal: controller.signal }));
    const waiting = provider.headers(request());
    setTimeout(() => controller.abort(new Error("gone")), 20);
    assert.match(String(await rejection(cancelled)), /gone/);
    bearer(await waiting);
    assert.equal(server.requests.length, 1);
    assert.equal(server.abandoned, 0, "the shared request went on for the other caller");
  });
});

describe("TokenCache", () => {
  it("is bounded: expired entries go first, then the least recently used", async () => {
    const clock = manualClock();
    const cache = new TokenCache({ now: clock.now, maxEntries: 2 });
    const signal = new AbortController().signal;
    let fetched = 0;
    const fetcher = (token: string, ttl: number) => () => {
      fetched += 1;
      return Promise.resolve({ token, until: clock.t + ttl });
    };
    await cache.get("a", fetcher("A", 60_000), signal);
    await cache.get("b", fetcher("B", 1_000), signal);
    await cache.get("a", fetcher("A2", 60_000), signal); // hit: "a" is now most recent
    clock.t += 2_000; // "b" has expired
    await cache.get("c", fetcher("C", 60_000), signal);
    assert.equal(cache.size, 2);
    assert.equal(await cache.get("a", fetcher("A3", 60_000), signal), "A");
    await cache.get("d", fetcher("D", 60_000), signal); // evicts "c", the least recent
    assert.equal(await cache.get("a", fetcher("A4", 60_000), signal), "A");
    assert.equal(await cache.get("c", fetcher("C2", 60_000), signal), "C2");
    assert.equal(fetched, 5);
  });
});
