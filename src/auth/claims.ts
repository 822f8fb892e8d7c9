// What both token verifiers share: the claims -> Principal mapping, safe refusal
// messages, cancellation, and the option checks their factories run when built.
import type { Principal } from "./principal.js";
import { AuthError, type VerifyOptions } from "./verifier.js";
import { cancellationOf, type Cancellation } from "../util/lazy-abort.js";
import { deepFreeze } from "../util/deep-freeze.js";

/** Claim names used to build a principal; both verifiers take them as options. */
export interface ClaimMapping {
  /** Where the scopes are. Default "scope"; "scp" is also read when the default is used. */
  scopeClaim?: string;
  /**
   * Where the tenant is. Default "tenant" (there is no standard claim; toolgate's dev
   * issuer uses this name). Set it per server, e.g. "tid" for Microsoft Entra ID,
   * "org_id" for Auth0 organizations.
   */
  tenantClaim?: string;
}

export const DEFAULT_SCOPE_CLAIM = "scope";
export const DEFAULT_TENANT_CLAIM = "tenant";

/** Validates the claim-name options; throws TypeError (factories call this when built). */
export function resolveClaimMapping(
  options: ClaimMapping,
  factory: string,
): Required<ClaimMapping> {
  for (const name of ["scopeClaim", "tenantClaim"] as const) {
    const value = options[name];
    if (value !== undefined && (typeof value !== "string" || value === "")) {
      throw new TypeError(`${factory}: ${name} must be a non-empty string.`);
    }
  }
  return {
    scopeClaim: options.scopeClaim ?? DEFAULT_SCOPE_CLAIM,
    tenantClaim: options.tenantClaim ?? DEFAULT_TENANT_CLAIM,
  };
}

/**
 * A refusal naming the claim and never its value: messages reach the client, and a
 * claim value (an email, a tenant) is not the client's to read back from an error.
 */
export function claimError(claim: string, problem: string): AuthError {
  return new AuthError("invalid_token", `The token's "${claim}" claim ${problem}.`);
}

function optionalString(claims: Readonly<Record<string, unknown>>, claim: string) {
  const value = claims[claim];
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value === "") throw claimError(claim, "is malformed");
  return value;
}

/**
 * Scopes from a space-delimited string (RFC 6749 §3.3, RFC 9068 §2.2.3, RFC 7662 §2.2)
 * or an array of strings (e.g. Okta's "scp"). A malformed claim refuses the token
 * rather than quietly granting nothing: a server that sends it is misconfigured.
 * https://www.rfc-editor.org/rfc/rfc6749#section-3.3
 */
export function readScopes(
  claims: Readonly<Record<string, unknown>>,
  scopeClaim: string,
): readonly string[] {
  let claim = scopeClaim;
  let value = claims[claim];
  if (value === undefined && scopeClaim === DEFAULT_SCOPE_CLAIM) {
    claim = "scp";
    value = claims[claim];
  }
  if (value === undefined) return [];
  let scopes: string[];
  if (typeof value === "string") scopes = value.split(" ");
  else if (Array.isArray(value) && value.every((s) => typeof s === "string")) scopes = value;
  else throw claimError(claim, "is malformed");
  return [...new Set(scopes.filter((s) => s !== ""))];
}

export interface VerifiedIdentity {
  issuer: string;
  subject: string;
  /** Epoch seconds, as in the `exp` claim. */
  exp: number;
}

/**
 * The one claims -> Principal mapping both verifiers use. Claims are frozen all the
 * way down: a cached principal is shared by calls, and no tool may edit another's view.
 * `client_id` is RFC 9068 §2.2 / RFC 7662 §2.2; `azp` is the OpenID Connect fallback.
 */
export function toPrincipal(
  claims: Record<string, unknown>,
  identity: VerifiedIdentity,
  mapping: Required<ClaimMapping>,
): Principal {
  const tenant = optionalString(claims, mapping.tenantClaim);
  const clientId = optionalString(claims, "client_id") ?? optionalString(claims, "azp");
  const scopes = readScopes(claims, mapping.scopeClaim);
  return Object.freeze({
    issuer: identity.issuer,
    subject: identity.subject,
    ...(tenant === undefined ? {} : { tenant }),
    ...(clientId === undefined ? {} : { clientId }),
    scopes: Object.freeze(scopes),
    expiresAt: identity.exp * 1000,
    claims: deepFreeze(claims),
    anonymous: false,
  });
}

// Option checks both verifier factories share. They throw TypeError: bad options fail
// when the verifier is built, not on the first request.

/** An integer in [min, 2^31-1] (timers cannot take more), or the default when undefined. */
export function intOption(
  value: number | undefined,
  fallback: number,
  min: number,
  where: string,
): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > 2_147_483_647) {
    throw new TypeError(`${where} must be an integer >= ${min}.`);
  }
  return value;
}

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * An endpoint the verifier trusts for keys or token state must be HTTPS: over plain HTTP
 * anyone on the path can serve their own keys or answer `active: true`. Loopback is
 * exempt (local development, tests); `dangerouslyAllowHttp` lifts the rule.
 */
export function endpointOption(value: unknown, where: string, allowHttp: boolean): URL {
  let url: URL;
  try {
    url = new URL(value as string | URL);
  } catch {
    throw new TypeError(`${where} must be an absolute URL.`);
  }
  if (url.protocol === "https:") return url;
  if (url.protocol === "http:" && (allowHttp || LOOPBACK.has(url.hostname))) return url;
  throw new TypeError(
    `${where} must use https (http only on loopback, or with dangerouslyAllowHttp).`,
  );
}

export function nonEmptyString(value: unknown, where: string): string {
  if (typeof value !== "string" || value === "") {
    throw new TypeError(`${where} must be a non-empty string.`);
  }
  return value;
}

/** A verification the caller abandoned (its signal aborted): fails closed, retryably. */
export function cancelled(cancellation: { readonly reason: unknown }): AuthError {
  return new AuthError("unavailable", "The token check was cancelled.", {
    cause: cancellation.reason,
  });
}

/** What a verifier listens to: VerifyOptions' `cancellation`, else its `signal`. */
export function cancellationOfOptions(options: VerifyOptions): Cancellation | undefined {
  if (options.cancellation !== undefined) return options.cancellation;
  return options.signal === undefined ? undefined : cancellationOf(options.signal);
}

/**
 * The caller stops waiting when it cancels. The work itself is not aborted: a JWKS fetch
 * is shared by concurrent calls, and is bounded by its own timeout.
 */
export function untilAborted<T>(
  work: Promise<T>,
  cancellation: Cancellation | undefined,
): Promise<T> {
  if (cancellation === undefined) return work;
  return new Promise<T>((resolve, reject) => {
    const off = cancellation.onAbort(() => reject(cancelled(cancellation)));
    work.then(resolve, reject).finally(off);
  });
}
