// Real keys (generated per run), real signed tokens, and the one assertion every refusal
// goes through: the right AuthError code, and a message that leaks nothing.
import assert from "node:assert/strict";
import { SignJWT, base64url, exportJWK, generateKeyPair, type JWK } from "jose";
import type { webcrypto } from "node:crypto";
import { AuthError, type AuthErrorCode } from "../../../src/auth/verifier.js";

export const ISSUER = "https://auth.example.test";
export const AUDIENCE = "https://tools.example.test/mcp";

export interface TestKey {
  alg: "RS256" | "ES256";
  kid: string;
  privateKey: webcrypto.CryptoKey;
  publicKey: webcrypto.CryptoKey;
  /** The public JWK as a JWKS endpoint serves it (kid, alg, use). */
  jwk: JWK;
}

export async function makeKey(alg: "RS256" | "ES256", kid: string): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: "sig" };
  return { alg, kid, privateKey, publicKey, jwk };
}

export const nowSec = () => Math.floor(Date.now() / 1000);

/** A valid access token's claims; override or delete (value undefined) any of them. */
export function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = nowSec();
  const base: Record<string, unknown> = {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: "user-42",
    iat,
    exp: iat + 600,
    scope: "orders:read orders:write",
    client_id: "agent-7",
    tenant: "acme",
  };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete base[k];
    else base[k] = v;
  }
  return base;
}

export function sign(
  key: TestKey,
  payload: Record<string, unknown> = claims(),
  header: { kid?: string; typ?: string } = {},
): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, kid: header.kid ?? key.kid, ...header })
    .sign(key.privateKey);
}

const encodeJson = (value: unknown) => base64url.encode(JSON.stringify(value));

/** An unsecured JWT (RFC 7519 §6), built by hand: jose refuses to make one for verification. */
export function unsignedToken(payload: Record<string, unknown> = claims()): string {
  return `${encodeJson({ alg: "none", typ: "JWT" })}.${encodeJson(payload)}.`;
}

/** Replaces the payload, keeping the original header and signature. */
export function withPayload(token: string, payload: Record<string, unknown>): string {
  const [header, , signature] = token.split(".");
  return `${header}.${encodeJson(payload)}.${signature}`;
}

/**
 * Awaits a refusal: an AuthError with `code`, a message matching `message`, and none
 * of the token, its parts, or the given claim values in the message.
 */
export async function assertRefused(
  promise: Promise<unknown>,
  code: AuthErrorCode,
  options: { token?: string; message?: RegExp; secrets?: readonly string[] } = {},
): Promise<AuthError> {
  const err: unknown = await promise.then(
    (value) => assert.fail(`expected a refusal, got ${JSON.stringify(value)}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof AuthError, `expected AuthError, got ${String(err)}`);
  assert.equal(err.code, code, `code for: ${err.message}`);
  if (options.message) assert.match(err.message, options.message);
  const leaks = [
    ...(options.token === undefined ? [] : [options.token, ...options.token.split(".")]),
    ...(options.secrets ?? []),
  ].filter((s) => s.length >= 4);
  for (const leak of leaks) {
    assert.ok(!err.message.includes(leak), `message leaks "${leak}": ${err.message}`);
  }
  return err;
}
