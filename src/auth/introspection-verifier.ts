import { PrincipalCache } from "./principal-cache.js";
import {
  cancelled,
  claimError,
  endpointOption,
  intOption,
  nonEmptyString,
  resolveClaimMapping,
  toPrincipal,
  type ClaimMapping,
} from "./claims.js";
import type { Principal } from "./principal.js";
import { AuthError, type TokenVerifier, type VerifyOptions } from "./verifier.js";
import { isRecord } from "../util/is-record.js";

export interface IntrospectionVerifierOptions extends ClaimMapping {
  /** The authorization server's introspection endpoint (RFC 7662 §2). */
  url: string | URL;
  /** This resource server's client credentials at the authorization server. */
  clientId: string;
  clientSecret: string;
  /** This server's resource URL (RFC 8707). When the response has `aud`, it must contain it. */
  audience: string;
  /** When set, a response's `iss` must equal it; it is also the issuer when `iss` is absent. */
  issuer?: string;
  /** How long an active token's answer is reused, capped by its `exp`. Default 60; 0 = no cache. */
  cacheTtlSec?: number;
  /**
   * Bound on cached answers; the least recently used goes first. While the cache
   * turns over completely within a minute, one new token in eight is admitted
   * (see PrincipalCache). Default 10 000.
   */
  cacheMaxEntries?: number;
  /** Bound on one introspection request, body included. Default 5000 ms. */
  timeoutMs?: number;
  /** Accept an http:// url off loopback: sends the client secret and tokens in clear. */
  dangerouslyAllowHttp?: boolean;
}

/**
 * Client credentials are form-urlencoded before they are joined for HTTP Basic, so a
 * secret containing ":" or non-ASCII still round-trips.
 * https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
 */
function basicAuth(clientId: string, clientSecret: string): string {
  const encode = (s: string) => new URLSearchParams({ v: s }).toString().slice(2);
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString("base64")}`;
}

function unavailable(message: string, cause?: unknown): AuthError {
  return new AuthError("unavailable", `${message} Try again later.`, { cause });
}

/**
 * Verifies opaque (or any) access tokens by asking the authorization server
 * (RFC 7662). Fails closed: when the endpoint is down, slow or answers garbage, the
 * token is refused as `unavailable` (retryable), never accepted. Only active answers
 * are cached; an inactive one is asked again, so that garbage tokens cannot fill the
 * cache and push out the good ones.
 * https://www.rfc-editor.org/rfc/rfc7662
 */
export function introspectionVerifier(options: IntrospectionVerifierOptions): TokenVerifier {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("introspectionVerifier: options are required.");
  }
  const where = (name: string) => `introspectionVerifier: ${name}`;
  const url = endpointOption(options.url, where("url"), options.dangerouslyAllowHttp === true);
  const authorization = basicAuth(
    nonEmptyString(options.clientId, where("clientId")),
    nonEmptyString(options.clientSecret, where("clientSecret")),
  );
  const audience = nonEmptyString(options.audience, where("audience"));
  const issuer =
    options.issuer === undefined ? undefined : nonEmptyString(options.issuer, where("issuer"));
  const cacheTtlMs = intOption(options.cacheTtlSec, 60, 0, where("cacheTtlSec")) * 1000;
  const cache = new PrincipalCache(
    intOption(options.cacheMaxEntries, 10_000, 1, where("cacheMaxEntries")),
  );
  const timeoutMs = intOption(options.timeoutMs, 5000, 1, where("timeoutMs"));
  const mapping = resolveClaimMapping(options, "introspectionVerifier");

  // https://www.rfc-editor.org/rfc/rfc7662#section-2.1
  async function introspect(token: string, signal: AbortSignal | undefined) {
    const deadline = AbortSignal.timeout(timeoutMs);
    const fetchSignal = signal === undefined ? deadline : AbortSignal.any([deadline, signal]);
    const failed = (what: string, cause: unknown) =>
      signal?.aborted === true
        ? cancelled(signal)
        : unavailable(
            deadline.aborted ? "The introspection endpoint did not answer in time." : what,
            cause,
          );
    let response: Response;
    try {
      response = await fetch(url, {
        method: "POST",
        headers: {
          authorization,
          "content-type": "application/x-www-form-urlencoded",
          accept: "application/json",
        },
        body: new URLSearchParams({ token, token_type_hint: "access_token" }).toString(),
        // A redirect would replay the client secret and the token to another URL.
        redirect: "error",
        signal: fetchSignal,
      });
    } catch (err) {
      throw failed("The introspection endpoint could not be reached.", err);
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      throw unavailable(`The introspection endpoint answered HTTP ${response.status}.`);
    }
    let body: unknown;
    try {
      body = await response.json();
    } catch (err) {
      throw failed("The introspection endpoint's answer is not JSON.", err);
    }
    // https://www.rfc-editor.org/rfc/rfc7662#section-2.2: "active" is the one required member.
    if (!isRecord(body) || typeof body.active !== "boolean") {
      throw unavailable('The introspection endpoint\'s answer has no boolean "active".');
    }
    return body;
  }

  function principalOf(body: Record<string, unknown>): Principal {
    // Why a token is inactive (expired, revoked, unknown) is not ours to tell (§2.2).
    if (body.active !== true) throw new AuthError("invalid_token", "The token is not active.");
    const { exp, aud, iss, sub, client_id: clientId } = body;
    // A token without an expiry could be cached and honoured forever: refused.
    if (typeof exp !== "number" || !Number.isFinite(exp)) throw claimError("exp", "is missing");
    if (exp * 1000 <= Date.now()) throw new AuthError("invalid_token", "The token has expired.");
    // RFC 8707: a token for another resource is refused. Many servers omit `aud`.
    if (aud !== undefined) {
      const list: unknown = typeof aud === "string" ? [aud] : aud;
      if (!Array.isArray(list)) throw claimError("aud", "is malformed");
      if (!list.includes(audience)) throw claimError("aud", "does not name this resource");
    }
    if (iss !== undefined && typeof iss !== "string") throw claimError("iss", "is malformed");
    if (issuer !== undefined && iss !== undefined && iss !== issuer) {
      throw claimError("iss", "is not an accepted issuer");
    }
    // RFC 9068 §2.2: with no resource owner (client credentials), the client is the subject.
    const subject = sub ?? clientId;
    if (typeof subject !== "string" || subject === "") throw claimError("sub", "is missing");
    return toPrincipal(body, { issuer: iss ?? issuer ?? url.origin, subject, exp }, mapping);
  }

  return {
    audience,
    ...(issuer === undefined ? {} : { issuers: Object.freeze([issuer]) }),
    cached(token: string): Principal | undefined {
      return cacheTtlMs > 0 && typeof token === "string" && token !== ""
        ? cache.get(PrincipalCache.keyOf(token), Date.now())
        : undefined;
    },
    async verify(token: string, verifyOptions: VerifyOptions = {}): Promise<Principal> {
      if (typeof token !== "string" || token === "") {
        throw new AuthError("invalid_request", "No bearer token was given.");
      }
      const { signal } = verifyOptions;
      if (signal?.aborted) throw cancelled(signal);
      const key = cacheTtlMs > 0 ? PrincipalCache.keyOf(token) : "";
      const hit = key === "" ? undefined : cache.get(key, Date.now());
      if (hit !== undefined) return hit;
      const principal = principalOf(await introspect(token, signal));
      // The entry never outlives the token: expiresAt is the token's `exp`.
      const until = Math.min(Date.now() + cacheTtlMs, principal.expiresAt ?? 0);
      // The cache's own copy when admitted (a second call gets the same object).
      return key === "" ? principal : cache.set(key, principal, until);
    },
  };
}
