// The oracle of the differential test (jws-verify.test.ts): how jwtVerifier verified a
// token before it moved to node:crypto, i.e. jose's jwtVerify with the options it was
// given, the checks it ran after jose, and the mapping of jose's errors to AuthError.
// Copied from src/auth/jwt-verifier.ts and jwks-cache.ts as of 5b839a0 and frozen: a
// difference between this and the new path is what the test is there to find, so do
// not "fix" this file to make it agree.
import type { KeyObject } from "node:crypto";
import {
  errors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
} from "jose";
import { claimError, toPrincipal } from "../../../src/auth/claims.js";
import { KeySetUnavailable } from "../../../src/auth/jwks-cache.js";
import type { Principal } from "../../../src/auth/principal.js";
import { AuthError } from "../../../src/auth/verifier.js";

export interface ReferenceOptions {
  issuer: string | readonly string[];
  audience: string;
  algorithms: readonly string[];
  clockToleranceSec?: number;
  maxTokenLifetimeSec?: number;
  typ?: string;
  /** A jose key resolver (createLocalJWKSet, or jwks-cache.ts remoteKeySet)... */
  getKey?: JWTVerifyGetKey;
  /** ...or fixed public keys. */
  keys?: readonly KeyObject[];
}

const CLAIM_PROBLEMS: Readonly<Record<string, string>> = {
  iss: "is not an accepted issuer",
  aud: "does not name this resource",
  nbf: "is in the future: the token is not valid yet",
  iat: "is in the future",
  sub: "is malformed",
};

function toAuthError(err: unknown): AuthError {
  if (err instanceof AuthError) return err;
  if (err instanceof KeySetUnavailable || err instanceof errors.JWKSTimeout) {
    const message =
      "The authorization server's signing keys could not be fetched; try again later.";
    return new AuthError("unavailable", message, { cause: err });
  }
  if (err instanceof errors.JWTExpired) {
    return new AuthError("invalid_token", "The token has expired.");
  }
  if (err instanceof errors.JWTClaimValidationFailed) {
    const { claim, reason } = err;
    if (claim === "typ") {
      return new AuthError("invalid_token", 'The token\'s "typ" header is not accepted here.');
    }
    if (!Object.hasOwn(CLAIM_PROBLEMS, claim) && claim !== "exp") {
      return new AuthError("invalid_token", "The token's claims are not valid.");
    }
    if (reason === "missing") {
      return new AuthError("invalid_token", `The token has no "${claim}" claim.`);
    }
    return claimError(claim, CLAIM_PROBLEMS[claim] ?? "is not valid");
  }
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) {
    return new AuthError("invalid_token", "The token is signed with an unknown signing key.");
  }
  if (err instanceof errors.JOSEAlgNotAllowed) {
    return new AuthError("invalid_token", "The token's signing algorithm is not accepted.");
  }
  return new AuthError("invalid_token", "The token is malformed or its signature is not valid.");
}

const CURVES: Readonly<Record<string, string>> = {
  ES256: "prime256v1",
  ES384: "secp384r1",
  ES512: "secp521r1",
};

function keyFitsAlgorithm(key: KeyObject, alg: unknown): boolean {
  if (typeof alg !== "string") return false;
  const type = key.asymmetricKeyType;
  if (alg.startsWith("RS")) return type === "rsa";
  if (alg.startsWith("PS")) return type === "rsa" || type === "rsa-pss";
  const curve = CURVES[alg];
  if (curve !== undefined) return type === "ec" && key.asymmetricKeyDetails?.namedCurve === curve;
  if (alg === "EdDSA" || alg === "Ed25519") return type === "ed25519";
  return false;
}

async function verifyWithKeys(
  token: string,
  keys: readonly KeyObject[],
  options: JWTVerifyOptions,
) {
  let failure: unknown = new errors.JWKSNoMatchingKey();
  for (const key of keys) {
    try {
      return await jwtVerify(
        token,
        (header) => {
          if (!keyFitsAlgorithm(key, header.alg)) throw new errors.JWKSNoMatchingKey();
          return key;
        },
        options,
      );
    } catch (err) {
      if (err instanceof errors.JWSSignatureVerificationFailed) failure = err;
      else if (!(err instanceof errors.JWKSNoMatchingKey)) throw err;
    }
  }
  throw failure;
}

/** The old jwtVerifier's verify with its cache off: a principal, or a rejected AuthError. */
export function joseReference(options: ReferenceOptions): (token: string) => Promise<Principal> {
  const issuers = typeof options.issuer === "string" ? [options.issuer] : [...options.issuer];
  const toleranceSec = options.clockToleranceSec ?? 30;
  const maxLifetimeSec = options.maxTokenLifetimeSec ?? 3600;
  const mapping = { scopeClaim: "scope", tenantClaim: "tenant" };
  const joseOptions: JWTVerifyOptions = {
    issuer: issuers,
    audience: options.audience,
    algorithms: [...options.algorithms],
    clockTolerance: toleranceSec,
    requiredClaims: ["exp", "iat", "sub"],
    ...(options.typ === undefined ? {} : { typ: options.typ }),
  };

  function principalOf(payload: JWTPayload): Principal {
    const { iss, sub, exp, iat } = payload;
    if (typeof sub !== "string" || sub === "") throw claimError("sub", "is malformed");
    if (typeof iss !== "string" || typeof exp !== "number" || typeof iat !== "number") {
      throw new AuthError("invalid_token", "The token's claims are not valid.");
    }
    if (iat > Date.now() / 1000 + toleranceSec) throw claimError("iat", "is in the future");
    if (exp - iat > maxLifetimeSec) {
      throw new AuthError(
        "invalid_token",
        `The token's lifetime (exp - iat) is over the ${maxLifetimeSec} s this server accepts.`,
      );
    }
    return toPrincipal(payload, { issuer: iss, subject: sub, exp }, mapping);
  }

  return async (token) => {
    try {
      const { payload } = options.getKey
        ? await jwtVerify(token, options.getKey, joseOptions)
        : await verifyWithKeys(token, options.keys ?? [], joseOptions);
      return principalOf(payload);
    } catch (err) {
      throw toAuthError(err);
    }
  };
}
