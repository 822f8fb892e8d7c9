// `npx tsx bench/jwt-verify.ts`: the CPU cost of one JWT verification on a verified-token
// cache miss (many distinct users: every call pays the signature check), per algorithm,
// through the public `jwtVerifier(...).verify` with its cache off (`cacheTtlSec: 0`),
// with a fixed JWKS (the path a fetched JWKS takes once cached) and with `publicKeys`,
// next to bare jose `jwtVerify` (WebCrypto) and bare `node:crypto` verify as references.
// CPU µs per verification (process.cpuUsage, user + system), so other processes on a
// shared machine skew the figures less than wall time would. Runs are interleaved over
// ROUNDS and the median kept. Not a test: nothing is asserted. A few seconds in all.
import { createPublicKey, verify, type KeyObject } from "node:crypto";
import { SignJWT, exportJWK, generateKeyPair, jwtVerify, type JWK } from "jose";
import { jwtVerifier } from "../src/auth/jwt-verifier.js";

const TOKENS = 100; // distinct tokens per algorithm (distinct sub and jti)
const CALLS = 300; // verifications per measured run, cycling through the tokens
const ROUNDS = 3;
const LEAD_IN = 50; // untimed calls before each measured run
const ISSUER = "https://auth.bench.test";
const AUDIENCE = "https://tools.bench.test/mcp";
const ALGS = ["RS256", "ES256", "PS256", "EdDSA"] as const;
type Alg = (typeof ALGS)[number];

interface Fixture {
  alg: Alg;
  tokens: string[];
  run: Record<string, (token: string) => unknown>;
}

/** node:crypto's parameters for `alg`: the floor any JS verification path pays. */
function nodeVerify(alg: Alg, key: KeyObject) {
  const hash = alg === "EdDSA" ? null : "sha256";
  const options =
    alg === "ES256"
      ? { key, dsaEncoding: "ieee-p1363" as const }
      : alg === "PS256"
        ? { key, padding: 6, saltLength: 32 } // RSA_PKCS1_PSS_PADDING
        : { key };
  return (token: string) => {
    const dot = token.lastIndexOf(".");
    const input = Buffer.from(token.slice(0, dot));
    if (!verify(hash, input, options, Buffer.from(token.slice(dot + 1), "base64url"))) {
      throw new Error("bench: node:crypto refused a valid token");
    }
  };
}

async function fixture(alg: Alg): Promise<Fixture> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: `${alg}-1`, alg, use: "sig" };
  const iat = Math.floor(Date.now() / 1000);
  const tokens = await Promise.all(
    Array.from({ length: TOKENS }, (_, i) =>
      new SignJWT({ sub: `user-${i}`, jti: `t-${i}`, scope: "orders:read" })
        .setProtectedHeader({ alg, kid: jwk.kid!, typ: "at+jwt" })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt(iat)
        .setExpirationTime(iat + 900)
        .sign(privateKey),
    ),
  );
  const base = { issuer: ISSUER, audience: AUDIENCE, algorithms: [alg], cacheTtlSec: 0 };
  const viaJwks = jwtVerifier({ ...base, jwks: { keys: [jwk] } });
  const viaKeys = jwtVerifier({ ...base, publicKeys: [publicKey] });
  const nodeKey = createPublicKey({ key: jwk as never, format: "jwk" });
  const joseOptions = { issuer: ISSUER, audience: AUDIENCE, algorithms: [alg] };
  return {
    alg,
    tokens,
    run: {
      "jose jwtVerify": (t) => jwtVerify(t, publicKey, joseOptions),
      "jwtVerifier jwks": (t) => viaJwks.verify(t),
      "jwtVerifier publicKeys": (t) => viaKeys.verify(t),
      "node:crypto verify": nodeVerify(alg, nodeKey),
    },
  };
}

/** CPU µs per call of `fn` over CALLS sequential calls. */
async function measure(fn: Fixture["run"][string], tokens: string[]): Promise<number> {
  // Untimed lead-in: what ran just before (a thread-pool path or a synchronous one)
  // otherwise shows in the first calls of the next path.
  for (let i = 0; i < LEAD_IN; i++) await fn(tokens[i % tokens.length]!);
  const start = process.cpuUsage();
  for (let i = 0; i < CALLS; i++) await fn(tokens[i % tokens.length]!);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / CALLS;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const fixtures = await Promise.all(ALGS.map(fixture));
const results = new Map<string, number[]>();
// Warm-up: JIT, key imports and conversions happen once, before anything is measured.
for (const f of fixtures) for (const fn of Object.values(f.run)) await measure(fn, f.tokens);
for (let round = 0; round < ROUNDS; round++) {
  for (const f of fixtures) {
    for (const [name, fn] of Object.entries(f.run)) {
      const key = `${f.alg}\t${name}`;
      results.set(key, [...(results.get(key) ?? []), await measure(fn, f.tokens)]);
    }
  }
}
const names = Object.keys(fixtures[0]!.run);
console.log(
  `CPU µs per verification (median of ${ROUNDS} runs of ${CALLS}; ${TOKENS} distinct tokens, cache off)`,
);
console.log(["alg", ...names].map((s) => s.padEnd(24)).join(""));
for (const f of fixtures) {
  const row = names.map((n) =>
    median(results.get(`${f.alg}\t${n}`)!)
      .toFixed(1)
      .padEnd(24),
  );
  console.log([f.alg.padEnd(24), ...row].join(""));
}
