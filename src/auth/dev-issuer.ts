// A local token issuer for development and tests: mints short-lived ES256 access
// tokens from a key file on disk and verifies them, so auth can be exercised with no
// authorization server. It refuses to run in production.
import { randomUUID } from "node:crypto";
import { SignJWT } from "jose";
import type { JSONWebKeySet, JWK, JWTPayload } from "jose";
import { jwtVerifier } from "./jwt-verifier.js";
import { AuthError } from "./verifier.js";
import type { TokenVerifier, VerifyOptions } from "./verifier.js";
import { DEFAULT_DEV_KEY_FILE, loadOrCreateDevKeys, rememberAudience } from "./dev-keys.js";
import type { DevKeys } from "./dev-keys.js";

/** Dev tokens live at most this long; a leaked one is useless within the hour. */
export const MAX_DEV_TOKEN_TTL_SEC = 3600;
export const DEFAULT_DEV_TOKEN_TTL_SEC = 900;

// RFC 9068 section 2.1: JWT access tokens are typed "at+jwt", so an ID token or any
// other JWT signed with the same key is not accepted as an access token.
const ACCESS_TOKEN_TYP = "at+jwt";

export interface DevIssuerOptions {
  /** The key file; default `.toolgate/dev-issuer.json` under the working directory. */
  keyFile?: string;
  /** This server's URL. Recorded in the key file so `toolgate token` defaults to it. */
  audience?: string;
  /** Read for NODE_ENV; default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** The clock, epoch milliseconds; default `Date.now`. For tests. */
  now?: () => number;
}

export interface DevTokenClaims {
  sub: string;
  /** Space-separated string or a list; becomes the `scope` claim. */
  scope?: string | readonly string[];
  /** Lifetime in seconds; default 900, at most 3600. */
  ttlSec?: number;
  tenant?: string;
  /** Becomes the `client_id` claim. */
  clientId?: string;
  /** Default: the issuer's audience (from the options or the key file). */
  audience?: string;
}

export interface DevIssuer {
  readonly issuer: string;
  /** The public key only, as served at a JWKS endpoint. */
  readonly jwks: JSONWebKeySet;
  readonly audience?: string;
  mint(claims: DevTokenClaims): Promise<string>;
  /**
   * Verifies tokens from this issuer minted for `audience`; without one, for the
   * resource URL of the server that asks (so a server on a random port just works).
   */
  verifier(audience?: string): TokenVerifier;
}

export async function devIssuer(options: DevIssuerOptions = {}): Promise<DevIssuer> {
  checkOptions(options);
  // Checked before any file is touched: a dev key must never be created on a production host.
  if ((options.env ?? process.env).NODE_ENV === "production") {
    throw new Error(
      "devIssuer() is for development and tests; it refuses to run with NODE_ENV=production. " +
        "Configure jwtVerifier or introspectionVerifier.",
    );
  }
  const keyFile = options.keyFile ?? DEFAULT_DEV_KEY_FILE;
  const keys =
    options.audience === undefined
      ? await loadOrCreateDevKeys(keyFile)
      : await rememberAudience(keyFile, options.audience);
  const now = options.now ?? Date.now;
  // Frozen so no caller can add a key the verifiers would then trust.
  const jwks: JSONWebKeySet = Object.freeze({ keys: Object.freeze([keys.publicJwk]) as JWK[] });
  return Object.freeze({
    issuer: keys.issuer,
    jwks,
    ...(keys.audience === undefined ? {} : { audience: keys.audience }),
    mint: (claims: DevTokenClaims) => mint(keys, now, claims),
    verifier: (audience?: string) => createDevVerifier(keys.issuer, jwks, audience),
  });
}

async function mint(keys: DevKeys, now: () => number, claims: DevTokenClaims): Promise<string> {
  if (typeof claims !== "object" || claims === null) {
    throw new TypeError("mint(claims): claims must be an object");
  }
  requireString("mint(claims): sub", claims.sub);
  const ttlSec = claims.ttlSec ?? DEFAULT_DEV_TOKEN_TTL_SEC;
  if (!Number.isInteger(ttlSec) || ttlSec < 1 || ttlSec > MAX_DEV_TOKEN_TTL_SEC) {
    throw new TypeError(
      "mint(claims): ttlSec must be a whole number of seconds from 1 to " +
        `${MAX_DEV_TOKEN_TTL_SEC}; dev tokens are short-lived.`,
    );
  }
  const audience = claims.audience ?? keys.audience;
  if (audience === undefined) {
    throw new TypeError(
      "mint(claims): no audience. Pass claims.audience, or start the server once so it " +
        `records its URL in ${keys.file}.`,
    );
  }
  requireString("mint(claims): audience", audience);
  if (claims.tenant !== undefined) requireString("mint(claims): tenant", claims.tenant);
  if (claims.clientId !== undefined) requireString("mint(claims): clientId", claims.clientId);
  const scope = joinScope(claims.scope);

  const iat = Math.floor(now() / 1000);
  const payload: JWTPayload = {
    ...(scope === "" ? {} : { scope }),
    ...(claims.clientId === undefined ? {} : { client_id: claims.clientId }),
    ...(claims.tenant === undefined ? {} : { tenant: claims.tenant }),
  };
  return new SignJWT(payload)
    .setProtectedHeader({ alg: "ES256", kid: keys.kid, typ: ACCESS_TOKEN_TYP })
    .setIssuer(keys.issuer)
    .setSubject(claims.sub)
    .setAudience(audience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ttlSec)
    .setJti(randomUUID())
    .sign(keys.privateKey);
}

/**
 * The dev issuer's tokens are checked by the same `jwtVerifier` as production tokens,
 * with the dev rules on top: ES256 only, `typ: at+jwt`, at most one hour.
 */
function createDevVerifier(issuer: string, jwks: JSONWebKeySet, audience?: string): TokenVerifier {
  const forAudience = (aud: string) =>
    jwtVerifier({
      issuer,
      audience: aud,
      jwks,
      algorithms: ["ES256"],
      typ: ACCESS_TOKEN_TYP,
      maxTokenLifetimeSec: MAX_DEV_TOKEN_TTL_SEC,
    });
  if (audience !== undefined) {
    requireString("verifier(audience): audience", audience);
    return forAudience(audience);
  }
  const byResource = new Map<string, TokenVerifier>();
  return Object.freeze({
    issuers: Object.freeze([issuer]),
    cached(token: string, options: VerifyOptions = {}) {
      const verifier =
        options.resource === undefined ? undefined : byResource.get(options.resource);
      return verifier?.cached?.(token, options);
    },
    verify(token: string, options: VerifyOptions = {}) {
      if (options.resource === undefined) {
        return Promise.reject(
          new AuthError(
            "invalid_token",
            "This server has no resource URL to check the token's audience against.",
          ),
        );
      }
      let verifier = byResource.get(options.resource);
      if (!verifier) byResource.set(options.resource, (verifier = forAudience(options.resource)));
      return verifier.verify(token, options);
    },
  });
}

function joinScope(scope: string | readonly string[] | undefined): string {
  if (scope === undefined) return "";
  const list = typeof scope === "string" ? scope.split(/\s+/) : scope;
  for (const item of list) {
    if (typeof item !== "string" || (typeof scope !== "string" && /\s/.test(item))) {
      throw new TypeError(
        "mint(claims): scope must be a string or a list of scope names without spaces",
      );
    }
  }
  return list.filter(Boolean).join(" ");
}

function requireString(label: string, value: unknown): asserts value is string {
  if (typeof value !== "string" || value.trim() === "") {
    throw new TypeError(`${label} must be a non-empty string`);
  }
}

function checkOptions(options: DevIssuerOptions): void {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("devIssuer(options): options must be an object");
  }
  for (const key of ["keyFile", "audience"] as const) {
    const value = options[key];
    if (value !== undefined && (typeof value !== "string" || value.trim() === "")) {
      throw new TypeError(`devIssuer(options): ${key} must be a non-empty string`);
    }
  }
  if (options.env !== undefined && (typeof options.env !== "object" || options.env === null)) {
    throw new TypeError("devIssuer(options): env must be an object");
  }
  if (options.now !== undefined && typeof options.now !== "function") {
    throw new TypeError("devIssuer(options): now must be a function returning epoch milliseconds");
  }
}
