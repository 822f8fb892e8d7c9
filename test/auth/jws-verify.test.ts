// Differential test of the node:crypto verification path: every token of a corpus of
// valid, tampered and malformed JWTs (helpers/jws-corpus.ts) goes through the public
// jwtVerifier and through the jose-based verification it replaced
// (helpers/jose-reference.ts), under several key sources and options. Both must accept
// the same tokens with the same principal, and refuse the rest with the same AuthError
// code and message. The allowed differences: the strict base64url rule (cases marked
// strictOnly), and RSA-PSS public keys, which jose on Node 20 could not use (last test).
import assert from "node:assert/strict";
import { createPublicKey, type KeyObject } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from "jose";
import { remoteKeySet } from "../../src/auth/jwks-cache.js";
import { verifyJws } from "../../src/auth/jws-verify.js";
import { jwtVerifier, type JwtVerifierOptions } from "../../src/auth/jwt-verifier.js";
import type { Principal } from "../../src/auth/principal.js";
import { AuthError } from "../../src/auth/verifier.js";
import { joseReference, type ReferenceOptions } from "./helpers/jose-reference.js";
import { ALL_ALGORITHMS, OTHER_ISSUER, buildCorpus, type Case } from "./helpers/jws-corpus.js";
import { jwksOf, makeKeys, makeRawKey, rawJws, type Keys } from "./helpers/raw-jws.js";
import { sendJson, startStub, type StubServer } from "./helpers/stub-server.js";
import { AUDIENCE, ISSUER, claims, nowSec } from "./helpers/tokens.js";

type Outcome = { principal: Principal } | { code: string; message: string };

async function outcome(verification: Promise<Principal>): Promise<Outcome> {
  try {
    return { principal: await verification };
  } catch (err) {
    assert.ok(err instanceof AuthError, `not an AuthError: ${String(err)}`);
    return { code: err.code, message: err.message };
  }
}

const MALFORMED = {
  code: "invalid_token",
  message: "The token is malformed or its signature is not valid.",
};

/** A verifier pair: the public jwtVerifier (cache off) and the jose reference. */
interface Setup {
  name: string;
  verify: (token: string) => Promise<Principal>;
  reference: (token: string) => Promise<Principal>;
}

type Common = Omit<ReferenceOptions, "getKey" | "keys">;

function setup(
  name: string,
  common: Common,
  source: { jwks: JSONWebKeySet } | { keys: KeyObject[] } | { url: string },
): Setup {
  const options = { ...common, cacheTtlSec: 0 } as JwtVerifierOptions;
  let getKey: JWTVerifyGetKey | undefined;
  if ("jwks" in source) {
    options.jwks = source.jwks;
    getKey = createLocalJWKSet(source.jwks);
  } else if ("url" in source) {
    options.jwksUrl = source.url;
    const timing = { timeoutMs: 5000, cooldownMs: 30_000, cacheMaxAgeMs: 600_000 };
    getKey = remoteKeySet({ url: new URL(source.url), ...timing, staleIfErrorMs: 3_600_000 });
  } else {
    options.publicKeys = source.keys;
  }
  const verifier = jwtVerifier(options);
  const reference = joseReference(getKey ? { ...common, getKey } : { ...common, ...source });
  return { name, verify: (t) => verifier.verify(t), reference };
}

let keys: Keys;
let corpus: Case[];
let jwksServer: StubServer;
before(async () => {
  keys = makeKeys();
  corpus = await buildCorpus(keys);
  jwksServer = await startStub("/jwks", (_req, res) => sendJson(res, 200, jwksOf(keys)));
});
after(() => jwksServer.close());

describe("node:crypto JWS verification vs jose (differential)", () => {
  const all: Common = { issuer: ISSUER, audience: AUDIENCE, algorithms: ALL_ALGORITHMS };
  let setups: Setup[];
  before(() => {
    const k = keys;
    setups = [
      setup("jwks, every algorithm", all, { jwks: jwksOf(k) }),
      setup("remote jwksUrl, every algorithm", all, { url: jwksServer.url }),
      setup(
        "jwks, default algorithms, typ at+jwt, two issuers, no clock tolerance, 900 s lifetime",
        {
          issuer: [ISSUER, OTHER_ISSUER],
          audience: AUDIENCE,
          algorithms: ["RS256", "ES256", "PS256", "EdDSA"],
          typ: "at+jwt",
          clockToleranceSec: 0,
          maxTokenLifetimeSec: 900,
        },
        { jwks: jwksOf(k) },
      ),
      setup("publicKeys RSA, P-256, P-384, Ed25519", all, {
        keys: [k.rsa, k.p256, k.p384, k.ed].map((x) => x.publicKey),
      }),
      setup("publicKeys P-384 only", all, { keys: [k.p384.publicKey] }),
      setup("publicKeys RSA then RSA 1024", all, {
        keys: [k.rsa.publicKey, k.rsaSmall.publicKey],
      }),
      setup("publicKeys RSA 1024 then RSA", all, {
        keys: [k.rsaSmall.publicKey, k.rsa.publicKey],
      }),
    ];
  });

  it("accepts and refuses exactly what jose accepts and refuses, with the same messages", async () => {
    const mismatches: string[] = [];
    const tally = { accepted: 0, refused: 0, strict: 0 };
    for (const s of setups) {
      for (const c of corpus) {
        const [ours, theirs] = [
          await outcome(s.verify(c.token)),
          await outcome(s.reference(c.token)),
        ];
        if (c.strictOnly) {
          // jose's lenient base64url decoded it, then accepted it or refused it for
          // something later (typ, key). The strict path refuses it where the segment is
          // decoded: as malformed, or as jose did for whatever failed before that.
          if ("principal" in theirs) tally.strict++;
          const refusal = JSON.stringify(ours);
          const allowed = [JSON.stringify(MALFORMED), JSON.stringify(theirs)];
          if ("principal" in ours || !allowed.includes(refusal)) {
            mismatches.push(`${s.name} / ${c.name}: strict rule not applied: ${refusal}`);
          }
          continue;
        }
        try {
          assert.deepEqual(ours, theirs);
          if ("principal" in ours) tally.accepted++;
          else tally.refused++;
        } catch {
          mismatches.push(`${s.name} / ${c.name}: ours ${brief(ours)}, jose ${brief(theirs)}`);
        }
      }
    }
    assert.deepEqual(mismatches, []);
    // The corpus means something: many acceptances, more refusals, every strict case seen.
    assert.ok(tally.accepted >= 100, `accepted ${tally.accepted}`);
    assert.ok(tally.refused >= 800, `refused ${tally.refused}`);
    assert.ok(tally.strict >= 20, `strict-only ${tally.strict}`);
  });

  it("refuses the classic attacks with the message each had", async () => {
    const [jwks, p384Only] = [setups[0]!, setups[4]!];
    const expect: [Setup, string, string][] = [
      [jwks, 'alg "none", no signature', "The token's signing algorithm is not accepted."],
      [jwks, "HS256 keyed with the PEM", "The token's signing algorithm is not accepted."],
      [jwks, "kid unknown", "The token is signed with an unknown signing key."],
      [
        jwks,
        "ES256 header on the P-384 key (curve confusion)",
        "The token is signed with an unknown signing key.",
      ],
      [
        p384Only,
        "ES256 header on the P-384 key (curve confusion)",
        "The token is signed with an unknown signing key.",
      ],
      [jwks, "RSA 1024-bit key", MALFORMED.message],
      [jwks, "ES256 with a DER signature", MALFORMED.message],
      [jwks, "crit naming an unknown extension", MALFORMED.message],
      [jwks, "crit b64 with b64 false (unencoded payload)", MALFORMED.message],
      [jwks, "forger's key under the real kid", MALFORMED.message],
      [
        jwks,
        "lifetime 3601 s",
        "The token's lifetime (exp - iat) is over the 3600 s this server accepts.",
      ],
      [jwks, "aud another", 'The token\'s "aud" claim does not name this resource.'],
    ];
    for (const [s, name, message] of expect) {
      const c = corpus.find((x) => x.name === name);
      assert.ok(c, `no corpus case "${name}"`);
      assert.deepEqual(
        await outcome(s.verify(c.token)),
        { code: "invalid_token", message },
        `${s.name} / ${name}`,
      );
    }
  });
});

function brief(o: Outcome): string {
  return "principal" in o
    ? `accepted (sub ${String(o.principal.subject)})`
    : `${o.code}: ${o.message}`;
}

describe("node:crypto JWS verification: time edges (the clock is read, never mocked)", () => {
  it("exp, nbf, iat and the lifetime cap at their exact edges, with and without tolerance", async () => {
    const ec = makeRawKey("p256", "ec-t");
    const jwks = { keys: [ec.jwk] };
    for (let attempt = 0; ; attempt++) {
      // Tokens are made for second T, then checked within T; a slow run retries.
      const T = nowSec() + 1;
      const results: string[] = [];
      const checks: (() => Promise<void>)[] = [];
      for (const tol of [30, 0]) {
        const common = {
          issuer: ISSUER,
          audience: AUDIENCE,
          algorithms: ["ES256"],
          clockToleranceSec: tol,
        };
        const s = setup(`tolerance ${tol}`, common, { jwks });
        const edges: [string, Record<string, unknown>, boolean][] = [
          ["exp = now - tolerance", { iat: T - tol - 600, exp: T - tol }, false],
          ["exp = now - tolerance + 1", { iat: T - tol - 599, exp: T - tol + 1 }, true],
          ["nbf = now + tolerance", { nbf: T + tol }, true],
          ["nbf = now + tolerance + 1", { nbf: T + tol + 1 }, false],
          ["iat = now + tolerance", { iat: T + tol, exp: T + tol + 600 }, true],
          ["iat = now + tolerance + 1", { iat: T + tol + 1, exp: T + tol + 601 }, false],
          ["exp - iat = 3600", { iat: T, exp: T + 3600 }, true],
          ["exp - iat = 3601", { iat: T, exp: T + 3601 }, false],
        ];
        for (const [name, overrides, accepted] of edges) {
          const token = rawJws(
            { alg: "ES256", kid: "ec-t" },
            claims(overrides),
            ec.privateKey,
            "ES256",
          );
          checks.push(async () => {
            const [ours, theirs] = [
              await outcome(s.verify(token)),
              await outcome(s.reference(token)),
            ];
            if ("principal" in ours !== accepted)
              results.push(`${s.name} / ${name}: ${brief(ours)}`);
            if (JSON.stringify(ours) !== JSON.stringify(theirs)) {
              results.push(`${s.name} / ${name}: ours ${brief(ours)}, jose ${brief(theirs)}`);
            }
          });
        }
      }
      await sleep(Math.max(0, T * 1000 - Date.now() + 1));
      for (const check of checks) await check();
      if (nowSec() === T) {
        assert.deepEqual(results, []);
        return;
      }
      assert.ok(attempt < 5, "could not run the edge checks within one second five times");
    }
  });
});

describe("node:crypto JWS verification: beyond jose", () => {
  it("refuses a key from the key source that does not fit alg (jose's JWKS never hands one)", async () => {
    // Defence in depth: were the JWKS selection ever to return the P-384 key for an
    // ES256 token, the signature (valid for that key) must still not be accepted.
    const p384 = makeRawKey("p384", "ec-384");
    const token = rawJws({ alg: "ES256", kid: "ec-384" }, claims(), p384.privateKey, "ES256");
    const getKey = () => Promise.resolve(p384.publicKey);
    await assert.rejects(verifyJws(token, new Set(["ES256"]), { getKey }), (err: unknown) => {
      assert.ok(err instanceof AuthError);
      assert.equal(err.message, MALFORMED.message);
      return true;
    });
  });

  it("verifies PS256 with an RSA-PSS public key (jose on Node 20 could not use one) and no RS256", async () => {
    const pss = makeRawKey("rsa-pss", "pss-1");
    const spki = pss.publicKey.export({ format: "pem", type: "spki" }).toString();
    const verifier = jwtVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ["PS256", "RS256"],
      publicKeys: [spki],
    });
    assert.equal(createPublicKey(spki).asymmetricKeyType, "rsa-pss");
    const ps = rawJws({ alg: "PS256" }, claims(), pss.privateKey, "PS256");
    assert.equal((await verifier.verify(ps)).subject, "user-42");
    const rs = rawJws({ alg: "RS256" }, claims(), makeRawKey("rsa", "x").privateKey, "RS256");
    assert.deepEqual(await outcome(verifier.verify(rs)), {
      code: "invalid_token",
      message: "The token is signed with an unknown signing key.",
    });
  });
});
