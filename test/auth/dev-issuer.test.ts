import assert from "node:assert/strict";
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { SignJWT, importJWK } from "jose";
import { devIssuer } from "../../src/auth/dev-issuer.js";
import { AuthError } from "../../src/auth/verifier.js";

const AUD = "http://127.0.0.1:3000/mcp";
const POSIX = process.platform !== "win32";

let dir: string;
let counter = 0;
/** A fresh key file path in the suite's temp folder (nested, so the folder is created too). */
const freshKeyFile = () => path.join(dir, `case-${++counter}`, "dev-issuer.json");

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "toolgate-dev-issuer-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function rejectsInvalidToken(promise: Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof AuthError, `expected AuthError, got ${String(err)}`);
    assert.equal(err.code, "invalid_token");
    assert.match(err.message, message);
    return true;
  });
}

describe("dev issuer key file", () => {
  it("is created owner-only and reused by later instances", async () => {
    const keyFile = freshKeyFile();
    const first = await devIssuer({ keyFile });
    if (POSIX) {
      assert.equal((await stat(keyFile)).mode & 0o777, 0o600);
      assert.equal((await stat(path.dirname(keyFile))).mode & 0o777, 0o700);
    }
    const second = await devIssuer({ keyFile });
    assert.equal(first.jwks.keys.length, 1);
    assert.equal(second.jwks.keys[0]!.kid, first.jwks.keys[0]!.kid);
    const contents = JSON.parse(await readFile(keyFile, "utf8"));
    assert.equal(contents.kid, first.jwks.keys[0]!.kid);
    assert.equal(contents.issuer, first.issuer);
  });

  it("publishes only public key members", async () => {
    const { jwks } = await devIssuer({ keyFile: freshKeyFile() });
    const [key] = jwks.keys;
    assert.deepEqual(Object.keys(key!).sort(), ["alg", "crv", "kid", "kty", "use", "x", "y"]);
    assert.equal(key!.alg, "ES256");
    assert.ok(Object.isFrozen(jwks) && Object.isFrozen(jwks.keys));
  });

  it("creates exactly one key when five instances start at once", async () => {
    const keyFile = freshKeyFile();
    const issuers = await Promise.all(Array.from({ length: 5 }, () => devIssuer({ keyFile })));
    const kids = new Set(issuers.map((issuer) => issuer.jwks.keys[0]!.kid));
    assert.equal(kids.size, 1);
    // Every instance can verify every other's tokens: they really share one key.
    const token = await issuers[0]!.mint({ sub: "alice", audience: AUD });
    for (const issuer of issuers) await issuer.verifier(AUD).verify(token);
    // No temp files are left behind.
    assert.deepEqual(await readdir(path.dirname(keyFile)), ["dev-issuer.json"]);
  });

  it("names the file and the fix when the file is malformed", async () => {
    const cases = ["{not json", "[]", JSON.stringify({ issuer: "x", kid: "k" })];
    for (const text of cases) {
      const keyFile = path.join(dir, `malformed-${++counter}.json`);
      await writeFile(keyFile, text);
      await assert.rejects(devIssuer({ keyFile }), (err: Error) => {
        assert.ok(err.message.includes(keyFile), err.message);
        assert.match(err.message, /malformed/);
        assert.match(err.message, /Delete it to generate new keys/);
        return true;
      });
    }
  });

  it("remembers the audience a server registers", async () => {
    const keyFile = freshKeyFile();
    assert.equal((await devIssuer({ keyFile })).audience, undefined);
    const server = await devIssuer({ keyFile, audience: AUD });
    assert.equal(server.audience, AUD);
    const later = await devIssuer({ keyFile });
    assert.equal(later.audience, AUD);
    assert.equal(later.jwks.keys[0]!.kid, server.jwks.keys[0]!.kid);
    const token = await later.mint({ sub: "alice" });
    assert.equal((await server.verifier(AUD).verify(token)).subject, "alice");
    if (POSIX) assert.equal((await stat(keyFile)).mode & 0o777, 0o600);
  });
});

describe("devIssuer()", () => {
  it("refuses NODE_ENV=production before touching the disk", async () => {
    const keyFile = freshKeyFile();
    await assert.rejects(devIssuer({ keyFile, env: { NODE_ENV: "production" } }), {
      message:
        "devIssuer() is for development and tests; it refuses to run with NODE_ENV=production. " +
        "Configure jwtVerifier or introspectionVerifier.",
    });
    await assert.rejects(stat(keyFile), { code: "ENOENT" });
  });

  it("checks its options with TypeError", async () => {
    await assert.rejects(devIssuer({ keyFile: "" }), TypeError);
    await assert.rejects(devIssuer({ audience: 42 as unknown as string }), TypeError);
    await assert.rejects(devIssuer({ now: "soon" as unknown as () => number }), TypeError);
  });
});

describe("mint and verify", () => {
  it("round-trips into the right principal", async () => {
    const issuer = await devIssuer({ keyFile: freshKeyFile(), audience: AUD });
    const token = await issuer.mint({
      sub: "alice",
      scope: ["orders:read", "refunds:write"],
      tenant: "acme",
      clientId: "agent-7",
      ttlSec: 600,
    });
    const verifier = issuer.verifier(AUD);
    assert.equal(verifier.audience, AUD);
    assert.deepEqual(verifier.issuers, [issuer.issuer]);
    const principal = await verifier.verify(token);
    assert.equal(principal.issuer, issuer.issuer);
    assert.equal(principal.subject, "alice");
    assert.equal(principal.tenant, "acme");
    assert.equal(principal.clientId, "agent-7");
    assert.deepEqual(principal.scopes, ["orders:read", "refunds:write"]);
    assert.equal(principal.anonymous, false);
    const { iat, exp } = principal.claims as { iat: number; exp: number };
    assert.equal(exp, iat + 600);
    assert.equal(principal.expiresAt, exp * 1000);
    assert.ok(Object.isFrozen(principal) && Object.isFrozen(principal.claims));
    assert.ok(Object.isFrozen(principal.scopes));
    assert.equal(principal.claims.scope, "orders:read refunds:write");
  });

  it("leaves optional principal fields out when the token has none", async () => {
    const issuer = await devIssuer({ keyFile: freshKeyFile() });
    const principal = await issuer
      .verifier(AUD)
      .verify(await issuer.mint({ sub: "bob", audience: AUD }));
    assert.deepEqual(principal.scopes, []);
    assert.equal("tenant" in principal, false);
    assert.equal("clientId" in principal, false);
    assert.equal(principal.claims.exp, (principal.claims.iat as number) + 900);
  });

  it("refuses a token minted for another audience", async () => {
    const issuer = await devIssuer({ keyFile: freshKeyFile() });
    const token = await issuer.mint({ sub: "alice", audience: "http://127.0.0.1:4000/mcp" });
    await rejectsInvalidToken(issuer.verifier(AUD).verify(token), /"aud" claim/);
  });

  it("peeks at its cache per resource: a verdict for one audience never answers another", async () => {
    const issuer = await devIssuer({ keyFile: freshKeyFile() });
    const verifier = issuer.verifier();
    const token = await issuer.mint({ sub: "alice", audience: AUD });
    assert.equal(verifier.cached?.(token, { resource: AUD }), undefined);
    const principal = await verifier.verify(token, { resource: AUD });
    assert.equal(verifier.cached?.(token, { resource: AUD }), principal);
    assert.equal(verifier.cached?.(token, { resource: "http://127.0.0.1:4000/mcp" }), undefined);
    assert.equal(verifier.cached?.(token), undefined, "no resource, no answer");
  });

  it("refuses an expired token", async () => {
    const keyFile = freshKeyFile();
    const twoHoursAgo = await devIssuer({ keyFile, now: () => Date.now() - 2 * 3600_000 });
    const token = await twoHoursAgo.mint({ sub: "alice", audience: AUD, ttlSec: 3600 });
    const current = await devIssuer({ keyFile });
    await rejectsInvalidToken(current.verifier(AUD).verify(token), /expired/);
  });

  it("refuses a token signed by another dev key file", async () => {
    const ours = await devIssuer({ keyFile: freshKeyFile() });
    const theirs = await devIssuer({ keyFile: freshKeyFile() });
    assert.notEqual(ours.jwks.keys[0]!.kid, theirs.jwks.keys[0]!.kid);
    const token = await theirs.mint({ sub: "mallory", audience: AUD });
    await rejectsInvalidToken(ours.verifier(AUD).verify(token), /unknown signing key/);
  });

  it("refuses garbage, a tampered payload and an empty token without echoing them", async () => {
    const issuer = await devIssuer({ keyFile: freshKeyFile() });
    const verifier = issuer.verifier(AUD);
    const [header, , signature] = (await issuer.mint({ sub: "alice", audience: AUD })).split(".");
    const forged = Buffer.from(JSON.stringify({ sub: "root", aud: AUD })).toString("base64url");
    for (const token of ["not-a-jwt", `${header}.${forged}.${signature}`, ""]) {
      await assert.rejects(verifier.verify(token), (err: unknown) => {
        // An empty token is a malformed request (RFC 6750 invalid_request), the rest invalid tokens.
        assert.ok(err instanceof AuthError);
        assert.equal(err.code, token === "" ? "invalid_request" : "invalid_token");
        if (token !== "") assert.ok(!err.message.includes(token));
        return true;
      });
    }
  });

  it("refuses tokens with this key that break the dev rules (lifetime, typ)", async () => {
    const keyFile = freshKeyFile();
    const issuer = await devIssuer({ keyFile });
    const { privateJwk, kid } = JSON.parse(await readFile(keyFile, "utf8"));
    const key = await importJWK(privateJwk, "ES256");
    const sign = (typ: string, ttl: number) =>
      new SignJWT({})
        .setProtectedHeader({ alg: "ES256", kid, typ })
        .setIssuer(issuer.issuer)
        .setSubject("alice")
        .setAudience(AUD)
        .setIssuedAt()
        .setExpirationTime(Math.floor(Date.now() / 1000) + ttl)
        .sign(key);
    const verifier = issuer.verifier(AUD);
    assert.equal((await verifier.verify(await sign("at+jwt", 60))).subject, "alice");
    await rejectsInvalidToken(
      verifier.verify(await sign("at+jwt", 7200)),
      /lifetime \(exp - iat\) is over the 3600 s/,
    );
    await rejectsInvalidToken(verifier.verify(await sign("JWT", 60)), /"typ" header/);
  });

  it("refuses lifetimes over an hour, and other bad claims, with TypeError", async () => {
    const issuer = await devIssuer({ keyFile: freshKeyFile(), audience: AUD });
    await assert.rejects(issuer.mint({ sub: "alice", ttlSec: 3601 }), {
      name: "TypeError",
      message: /short-lived/,
    });
    await issuer.mint({ sub: "alice", ttlSec: 3600 });
    await assert.rejects(issuer.mint({ sub: "alice", ttlSec: 0 }), TypeError);
    await assert.rejects(issuer.mint({ sub: "alice", ttlSec: 1.5 }), TypeError);
    await assert.rejects(issuer.mint({ sub: "" }), TypeError);
    await assert.rejects(issuer.mint({ sub: "alice", scope: ["has space"] }), TypeError);
    assert.throws(() => issuer.verifier(""), TypeError);
  });

  it("needs an audience from somewhere", async () => {
    const issuer = await devIssuer({ keyFile: freshKeyFile() });
    await assert.rejects(issuer.mint({ sub: "alice" }), {
      name: "TypeError",
      message: /no audience/,
    });
  });
});
