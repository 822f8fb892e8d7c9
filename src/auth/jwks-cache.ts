// Where the JWT verifier's keys come from: a remote JWKS (cached, with a last-known-good
// fallback), a fixed JWKS, or fixed public keys.
import { KeyObject, createPublicKey, type webcrypto } from "node:crypto";
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  jwksCache,
  type ExportedJWKSCache,
  type JSONWebKeySet,
  type JWKSCacheInput,
  type JWTVerifyGetKey,
} from "jose";

/** The signing keys could not be obtained (endpoint down, slow, or answering garbage). */
export class KeySetUnavailable extends Error {
  override readonly name = "KeySetUnavailable";
}

export interface RemoteKeySetOptions {
  url: URL;
  timeoutMs: number;
  /** After a successful fetch, an unknown `kid` triggers no refetch for this long. */
  cooldownMs: number;
  /** Keys are refetched once they are this old. */
  cacheMaxAgeMs: number;
  /** How long past `cacheMaxAgeMs` the last good keys still verify while refetches fail. */
  staleIfErrorMs: number;
}

/**
 * Errors from jose's local key lookup: the key set was fetched, it just has no key for
 * this token. Anything else out of the remote resolver (timeout, non-200, bad JSON, a
 * malformed set, a network error) means the key set could not be fetched.
 */
function isKeyLookupError(err: unknown): boolean {
  return (
    err instanceof errors.JWKSNoMatchingKey ||
    err instanceof errors.JWKSMultipleMatchingKeys ||
    err instanceof errors.JOSENotSupported ||
    err instanceof errors.JWKInvalid
  );
}

/**
 * jose's remote JWK Set (cache, one refetch on an unknown `kid`, rate limited by the
 * cooldown) plus a last-known-good fallback: when a refetch fails, the keys from the
 * last successful fetch keep verifying for `staleIfErrorMs` more, so an outage of the
 * authorization server's JWKS endpoint does not take every tool down with it. While
 * failing, the endpoint is retried at most once per cooldown instead of on every call,
 * so calls do not each wait out the fetch timeout.
 *
 *   fetch ok ------ cacheMaxAge ------|------ staleIfError ------|
 *   keys used as-is                   | refetch; if it fails,    | refetch must succeed,
 *                                     | last good keys still used| else `unavailable`
 *
 * A token whose `kid` is not in the stale keys is refused as `unavailable` (the set may
 * have rotated; we cannot tell), never accepted.
 */
export function remoteKeySet(options: RemoteKeySetOptions): JWTVerifyGetKey {
  // jose writes `{ uat, jwks }` here after every successful fetch: our last-known-good copy.
  const store: Partial<ExportedJWKSCache> = {};
  const remote = createRemoteJWKSet(options.url, {
    timeoutDuration: options.timeoutMs,
    cooldownDuration: options.cooldownMs,
    cacheMaxAge: options.cacheMaxAgeMs,
    [jwksCache]: store as JWKSCacheInput,
  });
  let failedAt = Number.NEGATIVE_INFINITY;
  let stale: { uat: number; getKey: JWTVerifyGetKey } | undefined;

  function lastGoodKeys(now: number): JWTVerifyGetKey | undefined {
    const { uat, jwks } = store;
    if (uat === undefined || jwks === undefined) return undefined;
    if (now - uat > options.cacheMaxAgeMs + options.staleIfErrorMs) return undefined;
    if (stale?.uat !== uat) stale = { uat, getKey: createLocalJWKSet(jwks) };
    return stale.getKey;
  }

  async function fromLastGood(
    getKey: JWTVerifyGetKey,
    args: Parameters<JWTVerifyGetKey>,
    cause: unknown,
  ) {
    try {
      return await getKey(...args);
    } catch (err) {
      if (err instanceof errors.JWKSNoMatchingKey) {
        throw new KeySetUnavailable("The signing key is not in the cached key set.", { cause });
      }
      throw err;
    }
  }

  return async function getKey(...args: Parameters<JWTVerifyGetKey>) {
    const now = Date.now();
    const fallback = lastGoodKeys(now);
    if (fallback && now - failedAt < options.cooldownMs) {
      return fromLastGood(fallback, args, undefined);
    }
    try {
      return await remote(...args);
    } catch (err) {
      if (isKeyLookupError(err)) throw err;
      failedAt = Date.now();
      if (fallback) return fromLastGood(fallback, args, err);
      throw new KeySetUnavailable("The JSON Web Key Set could not be fetched.", { cause: err });
    }
  };
}

/** A configured public key: a Node KeyObject, a WebCrypto CryptoKey, or an SPKI PEM string. */
export type PublicKeyInput = KeyObject | webcrypto.CryptoKey | string;

/**
 * Normalises a configured key to a public KeyObject, refusing secrets (an HMAC secret
 * next to public keys is the alg-confusion setup) and private keys (a verifier has no
 * business holding one). Throws TypeError: this runs at construction.
 */
export function toPublicKeyObject(input: PublicKeyInput, where: string): KeyObject {
  let key: KeyObject;
  if (typeof input === "string") {
    if (!input.includes("-----BEGIN PUBLIC KEY-----")) {
      throw new TypeError(`${where} must be an SPKI PEM ("-----BEGIN PUBLIC KEY-----").`);
    }
    try {
      key = createPublicKey({ key: input, format: "pem" });
    } catch {
      throw new TypeError(`${where} is not a readable SPKI PEM public key.`);
    }
  } else if (input instanceof KeyObject) {
    key = input;
  } else {
    try {
      key = KeyObject.from(input);
    } catch {
      throw new TypeError(`${where} must be a KeyObject, a CryptoKey or an SPKI PEM string.`);
    }
  }
  if (key.type !== "public") {
    throw new TypeError(`${where} must be a public key (got a ${key.type} key).`);
  }
  return key;
}

/** Checks the fixed key set at construction: public keys only, and well formed. */
export function localKeySet(jwks: JSONWebKeySet): JWTVerifyGetKey {
  if (typeof jwks !== "object" || jwks === null || !Array.isArray(jwks.keys)) {
    throw new TypeError("jwtVerifier: jwks must be a JSON Web Key Set ({ keys: [...] }).");
  }
  for (const jwk of jwks.keys) {
    if (jwk.kty === "oct" || "d" in jwk) {
      throw new TypeError(
        "jwtVerifier: jwks must hold public keys only (no secret or private keys).",
      );
    }
  }
  try {
    return createLocalJWKSet(jwks);
  } catch {
    throw new TypeError("jwtVerifier: jwks is not a valid JSON Web Key Set.");
  }
}
