import type { KeyObject } from "node:crypto";
import { errors, type JSONWebKeySet, type JWTVerifyGetKey } from "jose";
import {
  cancelled,
  cancellationOfOptions,
  endpointOption,
  intOption,
  nonEmptyString,
  resolveClaimMapping,
  toPrincipal,
  untilAborted,
  type ClaimMapping,
} from "./claims.js";
import {
  KeySetUnavailable,
  localKeySet,
  remoteKeySet,
  toPublicKeyObject,
  type PublicKeyInput,
} from "./jwks-cache.js";
import { checkClaims, type ClaimRules } from "./jwt-claims-check.js";
import { malformedToken, unknownSigningKey, verifyJws, type JwsKeySource } from "./jws-verify.js";
import type { Principal } from "./principal.js";
import { PrincipalCache } from "./principal-cache.js";
import { AuthError, type TokenVerifier, type VerifyOptions } from "./verifier.js";

export interface JwtVerifierOptions extends ClaimMapping {
  /** Accepted `iss` values (RFC 7519 §4.1.1). */
  issuer: string | readonly string[];
  /** This server's resource URL (RFC 8707); `aud` must contain it exactly. */
  audience: string;
  /** Exactly one key source: a JWKS URL (cached, refetched on an unknown `kid`)... */
  jwksUrl?: string | URL;
  /** ...a fixed JSON Web Key Set... */
  jwks?: JSONWebKeySet;
  /** ...or fixed public keys (`kid` is not consulted; each key that fits `alg` is tried). */
  publicKeys?: readonly PublicKeyInput[];
  /** Allowed `alg` values. Default RS256, ES256, PS256, EdDSA. Never "none" or HS*. */
  algorithms?: readonly string[];
  /** Allowed clock skew for `exp`, `nbf` and `iat`. Default 30 s. */
  clockToleranceSec?: number;
  /** Longest accepted `exp - iat`: only short-lived tokens are accepted. Default 3600 s. */
  maxTokenLifetimeSec?: number;
  /** Bound on one JWKS fetch. Default 5000 ms. */
  jwksTimeoutMs?: number;
  /** After a fetch, an unknown `kid` triggers no refetch for this long. Default 30 000 ms. */
  jwksCooldownMs?: number;
  /** Keys are refetched once this old. Default 600 000 ms (10 min). */
  jwksCacheMaxAgeMs?: number;
  /** How long past max age the last good keys still verify while refetches fail. Default 1 h. */
  jwksStaleIfErrorMs?: number;
  /**
   * Required `typ` header, e.g. "at+jwt" (RFC 9068 §2.1), so that an ID token signed by
   * the same issuer is not taken for an access token. Default: not checked, because
   * many servers (Entra ID, Keycloak) send "JWT".
   */
  typ?: string;
  /** Accept an http:// jwksUrl off loopback: lets anyone on the path forge tokens. */
  dangerouslyAllowHttp?: boolean;
  /**
   * Verified tokens are remembered (by SHA-256, never the token itself) so a client
   * sending the same token again skips the signature check: at most this long, and never
   * past the token's `exp`. A signing key removed from the JWKS stops verifying its
   * tokens after at most this long. Default 60; 0 turns the cache off.
   */
  cacheTtlSec?: number;
  /**
   * Bound on remembered tokens; the least recently used goes first. While the cache
   * turns over completely within a minute, one new token in eight is admitted
   * (see PrincipalCache). Default 10 000.
   */
  cacheMaxEntries?: number;
}

type IntOption = {
  [K in keyof JwtVerifierOptions]-?: JwtVerifierOptions[K] extends number | undefined ? K : never;
}[keyof JwtVerifierOptions];

export const DEFAULT_JWT_ALGORITHMS: readonly string[] = Object.freeze([
  "RS256",
  "ES256",
  "PS256",
  "EdDSA",
]);
const SUPPORTED_ALGORITHMS = new Set(
  ["RS", "PS", "ES"]
    .flatMap((f) => [256, 384, 512].map((b) => `${f}${b}`))
    .concat("EdDSA", "Ed25519"),
);

/**
 * "none" means unsigned; HS* verifies with a shared secret, and a verifier whose keys
 * are public would accept tokens "signed" with that public key (alg confusion).
 * https://www.rfc-editor.org/rfc/rfc8725#section-3.1
 */
function resolveAlgorithms(value: readonly string[] | undefined): string[] {
  if (value === undefined) return [...DEFAULT_JWT_ALGORITHMS];
  if (!Array.isArray(value) || value.length === 0) {
    throw new TypeError("jwtVerifier: algorithms must be a non-empty array.");
  }
  for (const alg of value) {
    if (typeof alg === "string" && alg.toLowerCase() === "none") {
      throw new TypeError('jwtVerifier: algorithm "none" accepts unsigned tokens; it is refused.');
    }
    if (typeof alg === "string" && /^HS/i.test(alg)) {
      throw new TypeError(
        `jwtVerifier: algorithm "${alg}" is HMAC: with public keys it allows alg confusion (RFC 8725 §2.1); it is refused.`,
      );
    }
    if (typeof alg !== "string" || !SUPPORTED_ALGORITHMS.has(alg)) {
      throw new TypeError(
        `jwtVerifier: algorithm "${String(alg)}" is not a supported signature algorithm.`,
      );
    }
  }
  return value.map(String);
}

/**
 * The token's own faults are AuthErrors already (jws-verify.ts, jwt-claims-check.ts);
 * what is left comes from the key source. Safe messages only: never the token or keys.
 */
function toAuthError(err: unknown): AuthError {
  if (err instanceof AuthError) return err;
  if (err instanceof KeySetUnavailable || err instanceof errors.JWKSTimeout) {
    const message =
      "The authorization server's signing keys could not be fetched; try again later.";
    return new AuthError("unavailable", message, { cause: err });
  }
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) {
    return unknownSigningKey();
  }
  // e.g. a JWK the key set holds but WebCrypto cannot import.
  return malformedToken();
}

/**
 * Verifies JWT access tokens (RFC 9068) locally: signature against allow-listed
 * asymmetric algorithms, then `iss`, `aud`, `exp`, `nbf`, `iat`, `sub`, and a maximum
 * lifetime so that only short-lived tokens are accepted.
 * https://www.rfc-editor.org/rfc/rfc9068#section-4
 */
export function jwtVerifier(options: JwtVerifierOptions): TokenVerifier {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("jwtVerifier: options are required.");
  }
  const issuerList = typeof options.issuer === "string" ? [options.issuer] : options.issuer;
  if (!Array.isArray(issuerList) || issuerList.length === 0) {
    throw new TypeError("jwtVerifier: issuer must be a non-empty string or array of strings.");
  }
  const issuers = Object.freeze(issuerList.map((i) => nonEmptyString(i, "jwtVerifier: issuer")));
  const audience = nonEmptyString(options.audience, "jwtVerifier: audience");
  const algorithms = resolveAlgorithms(options.algorithms);
  const int = (name: IntOption, fallback: number, min: number) =>
    intOption(options[name], fallback, min, `jwtVerifier: ${name}`);
  const toleranceSec = int("clockToleranceSec", 30, 0);
  const maxLifetimeSec = int("maxTokenLifetimeSec", 3600, 1);
  const mapping = resolveClaimMapping(options, "jwtVerifier");
  const typ =
    options.typ === undefined ? undefined : nonEmptyString(options.typ, "jwtVerifier: typ");

  const sources = (["jwksUrl", "jwks", "publicKeys"] as const).filter(
    (k) => options[k] !== undefined,
  );
  if (sources.length !== 1) {
    throw new TypeError(
      `jwtVerifier: give exactly one key source (jwksUrl, jwks or publicKeys); got ${sources.length}.`,
    );
  }
  let getKey: JWTVerifyGetKey | undefined;
  let keys: KeyObject[] = [];
  if (options.jwksUrl !== undefined) {
    const url = endpointOption(
      options.jwksUrl,
      "jwtVerifier: jwksUrl",
      options.dangerouslyAllowHttp === true,
    );
    getKey = remoteKeySet({
      url,
      timeoutMs: int("jwksTimeoutMs", 5000, 1),
      cooldownMs: int("jwksCooldownMs", 30_000, 0),
      cacheMaxAgeMs: int("jwksCacheMaxAgeMs", 600_000, 0),
      staleIfErrorMs: int("jwksStaleIfErrorMs", 3_600_000, 0),
    });
  } else if (options.jwks !== undefined) {
    getKey = localKeySet(options.jwks);
  } else {
    const list = options.publicKeys;
    if (!Array.isArray(list) || list.length === 0) {
      throw new TypeError("jwtVerifier: publicKeys must be a non-empty array.");
    }
    keys = (list as readonly PublicKeyInput[]).map((k, i) =>
      toPublicKeyObject(k, `jwtVerifier: publicKeys[${i}]`),
    );
  }

  // Signature with node:crypto, keys found by jose (jws-verify.ts); then the claims.
  const source: JwsKeySource = getKey ? { getKey } : { keys };
  const allowed: ReadonlySet<string> = new Set(algorithms);
  const rules: ClaimRules = {
    issuers,
    audience,
    toleranceSec,
    maxLifetimeSec,
    typ,
  };

  async function check(token: string): Promise<Principal> {
    const { header, payload } = await verifyJws(token, allowed, source);
    const { claims, issuer, subject, exp } = checkClaims(header, payload, rules);
    return toPrincipal(claims, { issuer, subject, exp }, mapping);
  }

  const cacheTtlMs = int("cacheTtlSec", 60, 0) * 1000;
  const cache = cacheTtlMs > 0 ? new PrincipalCache(int("cacheMaxEntries", 10_000, 1)) : undefined;

  return {
    audience,
    issuers,
    cached(token: string): Principal | undefined {
      return cache && typeof token === "string" && token !== ""
        ? cache.get(PrincipalCache.keyOf(token), Date.now())
        : undefined;
    },
    async verify(token: string, verifyOptions: VerifyOptions = {}): Promise<Principal> {
      if (typeof token !== "string" || token === "") {
        throw new AuthError("invalid_request", "No bearer token was given.");
      }
      // Listened to without making an AbortSignal (see VerifyOptions.cancellation).
      const cancellation = cancellationOfOptions(verifyOptions);
      if (cancellation?.aborted) throw cancelled(cancellation);
      const key = cache ? PrincipalCache.keyOf(token) : "";
      const now = Date.now();
      const known = cache?.get(key, now);
      if (known) return known;
      try {
        const principal = await untilAborted(check(token), cancellation);
        // Only successes are remembered, and never past `exp` (no clock tolerance here).
        // Answered with the cache's own copy when admitted (see PrincipalCache.set).
        return cache && principal.expiresAt !== undefined
          ? cache.set(key, principal, Math.min(principal.expiresAt, now + cacheTtlMs))
          : principal;
      } catch (err) {
        throw toAuthError(err);
      }
    },
  };
}
