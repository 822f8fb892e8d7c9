// Token verifiers against real keys, real signed tokens and real HTTP servers (JWKS and
// introspection on 127.0.0.1): every attack case must be refused with the right code and
// a message that does not echo the token.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { SignJWT, exportSPKI, type JWK } from "jose";
import { introspectionVerifier } from "../../src/auth/introspection-verifier.js";
import { jwtVerifier, type JwtVerifierOptions } from "../../src/auth/jwt-verifier.js";
import { deadUrl, sendJson, startStub, type StubServer } from "./helpers/stub-server.js";
import {
  AUDIENCE,
  ISSUER,
  assertRefused,
  claims,
  makeKey,
  nowSec,
  sign,
  unsignedToken,
  withPayload,
  type TestKey,
} from "./helpers/tokens.js";

let rsa: TestKey;
let ec: TestKey;
let rotated: TestKey;
let attacker: TestKey;
const servers: StubServer[] = [];

before(async () => {
  [rsa, ec, rotated, attacker] = await Promise.all([
    makeKey("RS256", "rsa-1"),
    makeKey("ES256", "ec-1"),
    makeKey("RS256", "rsa-2"),
    makeKey("RS256", "rsa-1"), // same kid as the real key: only the signature differs
  ]);
});
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

/** A JWKS endpoint serving `keys()` (read per request, so a test can rotate them). */
async function jwksServer(keys: () => JWK[]): Promise<StubServer> {
  const server = await startStub("/.well-known/jwks.json", (_req, res) =>
    sendJson(res, 200, { keys: keys() }),
  );
  servers.push(server);
  return server;
}

/** These tests are about keys: the verified-token cache would answer for them (see below). */
function remoteVerifier(url: string, options: Partial<JwtVerifierOptions> = {}) {
  return jwtVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUrl: url,
    cacheTtlSec: 0,
    ...options,
  });
}

describe("jwtVerifier: verified-token cache", () => {
  it("answers a token it verified again without the keys, and never a new one", async () => {
    const server = await jwksServer(() => [rsa.jwk]);
    const verifier = remoteVerifier(server.url, {
      cacheTtlSec: 60,
      jwksCacheMaxAgeMs: 1,
      jwksStaleIfErrorMs: 0,
    });
    const token = await sign(rsa);
    assert.equal(verifier.cached?.(token), undefined, "nothing is known before a verify");
    const first = await verifier.verify(token);
    assert.equal(verifier.cached?.(token), first, "the synchronous peek sees the verdict");
    await server.close();
    await sleep(5);
    // The keys are gone (and stale keys are not allowed): only the cache can answer.
    assert.equal(await verifier.verify(token), first);
    await assertRefused(
      verifier.verify(await sign(rsa, { ...claims(), sub: "someone-else" })),
      "unavailable",
    );
    // A bad token is never remembered as good, however often it is sent.
    await assertRefused(verifier.verify(`${token.slice(0, -4)}AAAA`), "unavailable");
    assert.equal(verifier.cached?.(`${token.slice(0, -4)}AAAA`), undefined);
    assert.equal(verifier.cached?.(""), undefined);
  });

  it("forgets a token at its exp, and everything with cacheTtlSec 0", async () => {
    const verifier = jwtVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwks: { keys: [rsa.jwk] },
      clockToleranceSec: 0,
    });
    const now = Math.floor(Date.now() / 1000);
    const shortLived = await sign(rsa, { ...claims(), iat: now, exp: now + 1 });
    assert.ok(await verifier.verify(shortLived));
    assert.ok(verifier.cached?.(shortLived));
    await sleep(Math.max(0, (now + 1) * 1000 + 50 - Date.now()));
    assert.equal(verifier.cached?.(shortLived), undefined, "never past exp");
    await assertRefused(verifier.verify(shortLived), "invalid_token", { message: /expired/ });

    const server = await jwksServer(() => [rsa.jwk]);
    const uncached = remoteVerifier(server.url, { jwksCacheMaxAgeMs: 1, jwksStaleIfErrorMs: 0 });
    const token = await sign(rsa);
    assert.ok(await uncached.verify(token));
    assert.equal(uncached.cached?.(token), undefined);
    await server.close();
    await sleep(5);
    await assertRefused(uncached.verify(token), "unavailable");
  });
});

describe("jwtVerifier: valid tokens", () => {
  it("verifies RS256 and ES256 tokens from a JWKS endpoint and builds the principal", async () => {
    const server = await jwksServer(() => [rsa.jwk, ec.jwk]);
    const verifier = remoteVerifier(server.url);
    assert.equal(verifier.audience, AUDIENCE);
    assert.deepEqual(verifier.issuers, [ISSUER]);

    const payload = claims();
    const principal = await verifier.verify(await sign(rsa, payload));
    assert.equal(principal.issuer, ISSUER);
    assert.equal(principal.subject, "user-42");
    assert.equal(principal.tenant, "acme");
    assert.equal(principal.clientId, "agent-7");
    assert.deepEqual(principal.scopes, ["orders:read", "orders:write"]);
    assert.equal(principal.expiresAt, (payload.exp as number) * 1000);
    assert.equal(principal.anonymous, false);
    assert.equal(principal.claims.sub, "user-42");
    assert.ok(Object.isFrozen(principal) && Object.isFrozen(principal.claims));
    assert.ok(Object.isFrozen(principal.scopes));

    const fromEc = await verifier.verify(await sign(ec));
    assert.equal(fromEc.subject, "user-42");
    assert.equal(server.requests.length, 1, "one JWKS fetch serves both keys");
  });

  it("reads scopes from an scp array, azp as client, and configured claim names", async () => {
    const verifier = jwtVerifier({ issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [rsa.jwk] } });
    const payload = claims({
      scope: undefined,
      scp: ["a", "b", "a"],
      client_id: undefined,
      azp: "x",
    });
    const principal = await verifier.verify(await sign(rsa, payload));
    assert.deepEqual(principal.scopes, ["a", "b"]);
    assert.equal(principal.clientId, "x");

    const custom = jwtVerifier({
      issuer: [ISSUER, "https://other-issuer.test"],
      audience: AUDIENCE,
      jwks: { keys: [rsa.jwk] },
      scopeClaim: "permissions",
      tenantClaim: "tid",
    });
    const p2 = await custom.verify(await sign(rsa, claims({ permissions: ["p:1"], tid: "t-9" })));
    assert.deepEqual(p2.scopes, ["p:1"]);
    assert.equal(p2.tenant, "t-9");
  });

  it("accepts an aud array that contains this resource", async () => {
    const verifier = jwtVerifier({ issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [rsa.jwk] } });
    const payload = claims({ aud: ["https://other.example.test/api", AUDIENCE] });
    assert.equal((await verifier.verify(await sign(rsa, payload))).subject, "user-42");
  });

  it("verifies with publicKeys given as PEM (SPKI) or CryptoKey, with any kid", async () => {
    const verifier = jwtVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      publicKeys: [await exportSPKI(ec.publicKey), rsa.publicKey],
    });
    assert.equal((await verifier.verify(await sign(rsa))).subject, "user-42");
    assert.equal(
      (await verifier.verify(await sign(ec, claims(), { kid: "whatever" }))).subject,
      "user-42",
    );
    const token = await sign(attacker);
    await assertRefused(verifier.verify(token), "invalid_token", { token, message: /signature/ });
  });

  it("requires the typ header when configured (RFC 9068 at+jwt)", async () => {
    const verifier = jwtVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwks: { keys: [rsa.jwk] },
      typ: "at+jwt",
    });
    assert.ok(await verifier.verify(await sign(rsa, claims(), { typ: "at+jwt" })));
    const token = await sign(rsa, claims(), { typ: "JWT" });
    await assertRefused(verifier.verify(token), "invalid_token", {
      token,
      message: /"typ" header/,
    });
  });
});

describe("jwtVerifier: attacks and bad tokens", () => {
  let verifier: ReturnType<typeof jwtVerifier>;
  let pemVerifier: ReturnType<typeof jwtVerifier>;
  before(async () => {
    const server = await jwksServer(() => [rsa.jwk, ec.jwk]);
    verifier = remoteVerifier(server.url);
    pemVerifier = jwtVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      publicKeys: [await exportSPKI(rsa.publicKey)],
    });
  });

  it('refuses alg "none" (an unsigned token)', async () => {
    const token = unsignedToken();
    await assertRefused(verifier.verify(token), "invalid_token", { token, message: /algorithm/ });
    await assertRefused(pemVerifier.verify(token), "invalid_token", { token });
  });

  it("refuses HS256 signed with the RSA public key (PEM or JWK bytes) as the secret", async () => {
    const pem = await exportSPKI(rsa.publicKey);
    for (const secret of [pem, JSON.stringify(rsa.jwk)]) {
      const token = await new SignJWT(claims())
        .setProtectedHeader({ alg: "HS256", kid: rsa.kid })
        .sign(new TextEncoder().encode(secret));
      await assertRefused(verifier.verify(token), "invalid_token", { token, message: /algorithm/ });
      await assertRefused(pemVerifier.verify(token), "invalid_token", { token });
    }
  });

  it("refuses a hand-made HS256 token whose MAC key is the PEM", async () => {
    const pem = await exportSPKI(rsa.publicKey);
    const [header, payload] = unsignedToken().split(".");
    const h = Buffer.from(JSON.stringify({ alg: "HS256", typ: "JWT" })).toString("base64url");
    const mac = createHmac("sha256", pem).update(`${h}.${payload}`).digest("base64url");
    const token = `${h}.${payload}.${mac}`;
    assert.notEqual(header, h);
    await assertRefused(pemVerifier.verify(token), "invalid_token", { token });
  });

  it("refuses a tampered payload (claims changed, signature kept)", async () => {
    const original = await sign(rsa, claims({ scope: "orders:read" }));
    const token = withPayload(original, claims({ scope: "orders:read admin" }));
    await assertRefused(verifier.verify(token), "invalid_token", { token, message: /signature/ });
    await assertRefused(pemVerifier.verify(token), "invalid_token", { token });
  });

  it("refuses a token signed with another key under a known kid", async () => {
    const token = await sign(attacker);
    await assertRefused(verifier.verify(token), "invalid_token", { token, message: /signature/ });
  });

  it("refuses malformed and empty tokens", async () => {
    await assertRefused(verifier.verify("not-a-jwt"), "invalid_token");
    await assertRefused(verifier.verify("a.b.c"), "invalid_token");
    await assertRefused(verifier.verify(""), "invalid_request");
  });

  const cases: [string, Record<string, unknown>, RegExp][] = [
    ["expired", { iat: nowSec() - 900, exp: nowSec() - 300 }, /^The token has expired\.$/],
    ["nbf in the future", { nbf: nowSec() + 600 }, /"nbf".*not valid yet/],
    [
      "iat in the future",
      { iat: nowSec() + 600, exp: nowSec() + 900 },
      /"iat" claim is in the future/,
    ],
    ["lifetime over the limit (2 h)", { exp: nowSec() + 7200 }, /lifetime.*3600 s/],
    ["missing exp", { exp: undefined }, /no "exp" claim/],
    ["missing iat", { iat: undefined }, /no "iat" claim/],
    ["missing sub", { sub: undefined }, /no "sub" claim/],
    ["empty sub", { sub: "" }, /"sub" claim is malformed/],
    ["wrong issuer", { iss: "https://evil.example.test" }, /"iss" claim is not an accepted issuer/],
    ["missing issuer", { iss: undefined }, /no "iss" claim/],
    ["wrong audience", { aud: "https://evil-resource.test/mcp" }, /"aud" claim does not name/],
    [
      "aud array naming only another resource",
      { aud: ["https://evil-resource.test/mcp"] },
      /"aud"/,
    ],
    ["a malformed scope claim", { scope: 42 }, /"scope" claim is malformed/],
    ["a non-string tenant", { tenant: ["a", "b"] }, /"tenant" claim is malformed/],
  ];
  for (const [name, overrides, message] of cases) {
    it(`refuses a token with ${name}`, async () => {
      const payload = claims(overrides);
      const token = await sign(rsa, payload);
      // Claim values (the bad issuer, the other audience) never appear in the message.
      const secrets = Object.values(overrides)
        .flat()
        .filter((v): v is string => typeof v === "string");
      await assertRefused(verifier.verify(token), "invalid_token", { token, message, secrets });
    });
  }

  it("allows clock skew within clockToleranceSec", async () => {
    const token = await sign(
      rsa,
      claims({ nbf: nowSec() + 10, iat: nowSec() + 10, exp: nowSec() + 20 }),
    );
    assert.ok(await verifier.verify(token));
    const strict = remoteVerifier((await jwksServer(() => [rsa.jwk])).url, {
      clockToleranceSec: 0,
    });
    await assertRefused(strict.verify(token), "invalid_token", { token });
  });

  it("answers unavailable (cancelled) when the caller's signal has aborted", async () => {
    const token = await sign(rsa);
    const err = await assertRefused(
      verifier.verify(token, { signal: AbortSignal.abort() }),
      "unavailable",
    );
    assert.match(err.message, /cancelled/);
  });
});

describe("jwtVerifier: remote JWKS", () => {
  it("refuses an unknown kid, then accepts it once the JWKS rotates (refetch)", async () => {
    let keys = [rsa.jwk];
    const server = await jwksServer(() => keys);
    const verifier = remoteVerifier(server.url, { jwksCooldownMs: 0 });
    assert.ok(await verifier.verify(await sign(rsa)));
    const token = await sign(rotated);
    await assertRefused(verifier.verify(token), "invalid_token", {
      token,
      message: /unknown signing key/,
    });
    assert.equal(server.requests.length, 2, "the unknown kid triggered one refetch");

    keys = [rsa.jwk, rotated.jwk];
    assert.equal((await verifier.verify(token)).subject, "user-42");
    assert.equal(server.requests.length, 3);
  });

  it("does not refetch on every unknown kid within the cooldown (no refetch storm)", async () => {
    let keys = [rsa.jwk];
    const server = await jwksServer(() => keys);
    const verifier = remoteVerifier(server.url); // default cooldown 30 s
    assert.ok(await verifier.verify(await sign(rsa)));
    const tokens = await Promise.all(
      Array.from({ length: 25 }, (_, i) => sign(rsa, claims(), { kid: `random-${i}` })),
    );
    await Promise.all(
      tokens.map((token) =>
        assertRefused(verifier.verify(token), "invalid_token", {
          token,
          message: /unknown signing key/,
        }),
      ),
    );
    for (const token of tokens.slice(0, 5))
      await assertRefused(verifier.verify(token), "invalid_token");
    assert.equal(server.requests.length, 1);
    // The price of the cooldown: a rotation is seen only once it has passed.
    keys = [rsa.jwk, rotated.jwk];
    await assertRefused(verifier.verify(await sign(rotated)), "invalid_token");
    assert.equal(server.requests.length, 1);
  });

  it("keeps verifying with cached keys when the JWKS endpoint goes down", async () => {
    const server = await jwksServer(() => [rsa.jwk]);
    const verifier = remoteVerifier(server.url);
    assert.ok(await verifier.verify(await sign(rsa)));
    await server.close();
    assert.equal((await verifier.verify(await sign(rsa))).subject, "user-42");
  });

  it("uses the last good keys past max age while refetches fail, within jwksStaleIfErrorMs", async () => {
    const server = await jwksServer(() => [rsa.jwk]);
    const lenient = remoteVerifier(server.url, { jwksCacheMaxAgeMs: 1 });
    const strict = remoteVerifier(server.url, { jwksCacheMaxAgeMs: 1, jwksStaleIfErrorMs: 0 });
    assert.ok(await lenient.verify(await sign(rsa)));
    assert.ok(await strict.verify(await sign(rsa)));
    await server.close();
    await sleep(5);
    assert.equal((await lenient.verify(await sign(rsa))).subject, "user-42");
    assert.equal((await lenient.verify(await sign(rsa))).subject, "user-42");
    // A kid not in the stale keys cannot be confirmed: refused, retryably.
    await assertRefused(lenient.verify(await sign(rotated)), "unavailable");
    await assertRefused(strict.verify(await sign(rsa)), "unavailable", { message: /signing keys/ });
  });

  it("answers unavailable when the JWKS endpoint is down and nothing is cached", async () => {
    const verifier = remoteVerifier(await deadUrl("/jwks"));
    const token = await sign(rsa);
    await assertRefused(verifier.verify(token), "unavailable", {
      token,
      message: /try again later/,
    });
  });

  it("answers unavailable when the JWKS endpoint answers 500 or garbage", async () => {
    const server = await startStub("/jwks", (_req, res) => sendJson(res, 500, { error: "boom" }));
    servers.push(server);
    await assertRefused(remoteVerifier(server.url).verify(await sign(rsa)), "unavailable");
    server.respond = (_req, res) => sendJson(res, 200, "<html>not json");
    await assertRefused(remoteVerifier(server.url).verify(await sign(rsa)), "unavailable");
    server.respond = (_req, res) => sendJson(res, 200, { keys: "nope" });
    await assertRefused(remoteVerifier(server.url).verify(await sign(rsa)), "unavailable");
  });

  it("answers unavailable within the timeout when the JWKS endpoint hangs", async () => {
    const server = await startStub("/jwks", () => undefined); // never answers
    servers.push(server);
    const verifier = remoteVerifier(server.url, { jwksTimeoutMs: 200 });
    const started = Date.now();
    await assertRefused(verifier.verify(await sign(rsa)), "unavailable");
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 150 && elapsed < 2000, `took ${elapsed} ms`);
  });
});

describe("jwtVerifier: options are checked when built", () => {
  const base = { issuer: ISSUER, audience: AUDIENCE };
  const jwks = () => ({ keys: [rsa.jwk] });
  const bad: [string, () => unknown, RegExp][] = [
    ["no key source", () => jwtVerifier(base), /exactly one key source.*got 0/],
    [
      "two key sources",
      () => jwtVerifier({ ...base, jwks: jwks(), jwksUrl: "https://a.test/jwks" }),
      /got 2/,
    ],
    [
      'alg "none"',
      () => jwtVerifier({ ...base, jwks: jwks(), algorithms: ["RS256", "none"] }),
      /unsigned/,
    ],
    ["HS256", () => jwtVerifier({ ...base, jwks: jwks(), algorithms: ["HS256"] }), /alg confusion/],
    [
      "an unknown alg",
      () => jwtVerifier({ ...base, jwks: jwks(), algorithms: ["RS1"] }),
      /not a supported/,
    ],
    ["no algorithms", () => jwtVerifier({ ...base, jwks: jwks(), algorithms: [] }), /non-empty/],
    [
      "a missing audience",
      () => jwtVerifier({ issuer: ISSUER, jwks: jwks() } as never),
      /audience/,
    ],
    [
      "a missing issuer",
      () => jwtVerifier({ audience: AUDIENCE, jwks: jwks() } as never),
      /issuer/,
    ],
    ["an empty issuer list", () => jwtVerifier({ ...base, issuer: [], jwks: jwks() }), /issuer/],
    [
      "an http jwksUrl off loopback",
      () => jwtVerifier({ ...base, jwksUrl: "http://idp.test/jwks" }),
      /https/,
    ],
    ["a relative jwksUrl", () => jwtVerifier({ ...base, jwksUrl: "/jwks" }), /absolute URL/],
    [
      "a secret in jwks",
      () => jwtVerifier({ ...base, jwks: { keys: [{ kty: "oct", k: "c2VjcmV0" }] } }),
      /public keys only/,
    ],
    [
      "a private JWK",
      () => jwtVerifier({ ...base, jwks: { keys: [{ ...rsa.jwk, d: "x" }] } }),
      /public keys only/,
    ],
    [
      "a private key in publicKeys",
      () => jwtVerifier({ ...base, publicKeys: [rsa.privateKey] }),
      /must be a public key/,
    ],
    ["a non-PEM string key", () => jwtVerifier({ ...base, publicKeys: ["secret"] }), /SPKI PEM/],
    [
      "a negative tolerance",
      () => jwtVerifier({ ...base, jwks: jwks(), clockToleranceSec: -1 }),
      /clockToleranceSec/,
    ],
    [
      "an empty scopeClaim",
      () => jwtVerifier({ ...base, jwks: jwks(), scopeClaim: "" }),
      /scopeClaim/,
    ],
  ];
  for (const [name, build, message] of bad) {
    it(`throws TypeError for ${name}`, () => {
      assert.throws(build, (err: unknown) => err instanceof TypeError && message.test(err.message));
    });
  }

  it("accepts http on loopback and with dangerouslyAllowHttp", () => {
    assert.ok(jwtVerifier({ ...base, jwksUrl: "http://127.0.0.1:1/jwks" }));
    assert.ok(
      jwtVerifier({ ...base, jwksUrl: "http://idp.test/jwks", dangerouslyAllowHttp: true }),
    );
  });
});

describe("introspectionVerifier", () => {
  const CLIENT_ID = "tools-rs";
  const CLIENT_SECRET = "s3cr:t é";
  let server: StubServer;
  /** token -> the JSON the endpoint answers for it. */
  const answers = new Map<string, unknown>();
  before(async () => {
    server = await startStub("/introspect", (req, res) => {
      const token = new URLSearchParams(req.body).get("token") ?? "";
      sendJson(res, 200, answers.get(token) ?? { active: false });
    });
    servers.push(server);
  });
  const active = (overrides: Record<string, unknown> = {}) => ({
    active: true,
    ...claims(overrides),
  });
  const make = (options: Partial<Parameters<typeof introspectionVerifier>[0]> = {}) =>
    introspectionVerifier({
      url: server.url,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      audience: AUDIENCE,
      ...options,
    });
  const requestsFor = (token: string) =>
    server.requests.filter((r) => new URLSearchParams(r.body).get("token") === token).length;

  it("maps an active answer to a principal, posting the token with HTTP Basic client auth", async () => {
    answers.set("tok-active-1", active());
    const verifier = make({ issuer: ISSUER });
    assert.equal(verifier.audience, AUDIENCE);
    assert.deepEqual(verifier.issuers, [ISSUER]);
    const principal = await verifier.verify("tok-active-1");
    assert.equal(principal.subject, "user-42");
    assert.equal(principal.issuer, ISSUER);
    assert.equal(principal.clientId, "agent-7");
    assert.equal(principal.tenant, "acme");
    assert.deepEqual(principal.scopes, ["orders:read", "orders:write"]);
    assert.equal(principal.anonymous, false);
    assert.ok(Object.isFrozen(principal.claims));

    const req = server.requests.at(-1)!;
    assert.equal(req.method, "POST");
    assert.match(String(req.headers["content-type"]), /^application\/x-www-form-urlencoded/);
    const basic = String(req.headers.authorization);
    assert.match(basic, /^Basic /);
    // RFC 6749 §2.3.1: each part form-urlencoded, then joined with ":".
    assert.equal(Buffer.from(basic.slice(6), "base64").toString(), "tools-rs:s3cr%3At+%C3%A9");
    const form = new URLSearchParams(req.body);
    assert.equal(form.get("token"), "tok-active-1");
    assert.equal(form.get("token_type_hint"), "access_token");
  });

  it("refuses an inactive token, and asks again next time (no negative cache)", async () => {
    const token = "tok-inactive-1";
    await assertRefused(make().verify(token), "invalid_token", { token, message: /not active/ });
    const verifier = make();
    await assertRefused(verifier.verify(token), "invalid_token", { token });
    await assertRefused(verifier.verify(token), "invalid_token", { token });
    assert.equal(requestsFor(token), 3);
  });

  it("caches an active answer: a second verify makes no request", async () => {
    answers.set("tok-cached", active());
    const verifier = make();
    assert.equal(verifier.cached?.("tok-cached"), undefined);
    const first = await verifier.verify("tok-cached");
    assert.equal(verifier.cached?.("tok-cached"), first);
    const second = await verifier.verify("tok-cached");
    assert.equal(second, first);
    assert.equal(requestsFor("tok-cached"), 1);
    // Other tokens never hit that entry.
    await assertRefused(verifier.verify("tok-cached-other"), "invalid_token");
    const uncached = make({ cacheTtlSec: 0 });
    await uncached.verify("tok-cached");
    await uncached.verify("tok-cached");
    assert.equal(requestsFor("tok-cached"), 3);
  });

  it("never serves a cached answer past the token's exp", async () => {
    const exp = nowSec() + 1;
    answers.set("tok-short", active({ iat: exp - 60, exp }));
    const verifier = make({ cacheTtlSec: 60 });
    await verifier.verify("tok-short");
    assert.ok(verifier.cached?.("tok-short"));
    await sleep(Math.max(0, exp * 1000 - Date.now()) + 200);
    assert.equal(verifier.cached?.("tok-short"), undefined);
    await assertRefused(verifier.verify("tok-short"), "invalid_token", { message: /expired/ });
    assert.equal(requestsFor("tok-short"), 2, "the expired entry was not used");
  });

  it("evicts the least recently used entry beyond cacheMaxEntries", async () => {
    for (const t of ["lru-a", "lru-b", "lru-c"]) answers.set(t, active());
    const verifier = make({ cacheMaxEntries: 2 });
    await verifier.verify("lru-a");
    await verifier.verify("lru-b");
    await verifier.verify("lru-a"); // a is now the most recent
    await verifier.verify("lru-c"); // evicts b
    await verifier.verify("lru-a");
    await verifier.verify("lru-b");
    assert.deepEqual(["lru-a", "lru-b", "lru-c"].map(requestsFor), [1, 2, 1]);
  });

  const refusals: [string, Record<string, unknown>, RegExp][] = [
    ["no exp", { exp: undefined }, /"exp" claim is missing/],
    ["an exp in the past", { exp: nowSec() - 5 }, /expired/],
    ["an aud for another resource", { aud: "https://evil-resource.test/mcp" }, /"aud"/],
    ["an aud array without this resource", { aud: ["https://evil-resource.test/mcp"] }, /"aud"/],
    ["another issuer", { iss: "https://evil.example.test" }, /"iss"/],
    ["neither sub nor client_id", { sub: undefined, client_id: undefined }, /"sub"/],
  ];
  for (const [name, overrides, message] of refusals) {
    it(`refuses an active answer with ${name}`, async () => {
      const token = `tok-${name.replace(/\W+/g, "-")}`;
      answers.set(token, active(overrides));
      const secrets = Object.values(overrides)
        .flat()
        .filter((v): v is string => typeof v === "string");
      await assertRefused(make({ issuer: ISSUER }).verify(token), "invalid_token", {
        token,
        message,
        secrets,
      });
    });
  }

  it("accepts answers without aud or iss, and a client-credentials token without sub", async () => {
    answers.set("tok-bare", active({ aud: undefined, iss: undefined }));
    const p = await make({ issuer: ISSUER }).verify("tok-bare");
    assert.equal(p.issuer, ISSUER);
    answers.set("tok-client", active({ sub: undefined, client_id: "batch-job" }));
    assert.equal((await make().verify("tok-client")).subject, "batch-job");
  });

  it("fails closed (unavailable) on 500, redirects, bad JSON, no active, down, slow", async () => {
    const broken = await startStub("/introspect", (_req, res) =>
      sendJson(res, 500, { error: "x" }),
    );
    servers.push(broken);
    const verifier = make({ url: broken.url, timeoutMs: 200 });
    const token = "tok-broken";
    await assertRefused(verifier.verify(token), "unavailable", { token, message: /HTTP 500/ });
    broken.respond = (_req, res) =>
      res.writeHead(307, { location: "https://elsewhere.test/" }).end();
    await assertRefused(verifier.verify(token), "unavailable", { token });
    broken.respond = (_req, res) => sendJson(res, 200, "{not json");
    await assertRefused(verifier.verify(token), "unavailable", { token, message: /not JSON/ });
    broken.respond = (_req, res) => sendJson(res, 200, { active: "true", sub: "x" });
    await assertRefused(verifier.verify(token), "unavailable", { token, message: /"active"/ });
    broken.respond = (_req, res) => sendJson(res, 200, [true]);
    await assertRefused(verifier.verify(token), "unavailable", { token });

    broken.respond = () => undefined; // hangs
    const started = Date.now();
    await assertRefused(verifier.verify(token), "unavailable", { token, message: /in time/ });
    assert.ok(Date.now() - started < 2000);

    const down = make({ url: await deadUrl("/introspect") });
    await assertRefused(down.verify(token), "unavailable", {
      token,
      message: /could not be reached/,
    });
  });

  it("answers unavailable (cancelled) when the caller's signal aborts mid-request", async () => {
    const slow = await startStub("/introspect", () => undefined);
    servers.push(slow);
    const verifier = make({ url: slow.url });
    const controller = new AbortController();
    const pending = verifier.verify("tok-slow", { signal: controller.signal });
    setTimeout(() => controller.abort(new Error("client went away")), 50);
    await assertRefused(pending, "unavailable", { message: /cancelled/ });
  });

  it("throws TypeError for bad options when built", () => {
    const good = { url: server.url, clientId: "c", clientSecret: "s", audience: AUDIENCE };
    const bad: Record<string, unknown>[] = [
      { url: undefined },
      { url: "http://idp.test/introspect" },
      { clientId: "" },
      { clientSecret: undefined },
      { audience: undefined },
      { issuer: "" },
      { cacheTtlSec: -1 },
      { cacheMaxEntries: 0 },
      { timeoutMs: 1.5 },
      { tenantClaim: 3 },
    ];
    for (const patch of bad) {
      assert.throws(
        () => introspectionVerifier({ ...good, ...patch }),
        TypeError,
        JSON.stringify(patch),
      );
    }
  });
});
