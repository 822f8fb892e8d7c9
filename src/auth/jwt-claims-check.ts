// The claims half of a JWT check (RFC 7519 §4.1, RFC 9068 §4), run on the payload of a
// JWS whose signature verified. It does what jose's claims-set validation did for
// jwtVerifier (same order, same rules, so the same refusal messages) plus this
// project's own rules: `sub` a non-empty string, `iat` not in the future, and a
// maximum lifetime so that only short-lived tokens are accepted.
import { claimError } from "./claims.js";
import { malformedToken, parseJsonObject } from "./jws-verify.js";
import { AuthError } from "./verifier.js";

export interface ClaimRules {
  /** Accepted `iss` values. */
  issuers: readonly string[];
  /** `aud` must be this string or an array containing it. */
  audience: string;
  /** Allowed clock skew for `exp`, `nbf` and `iat`, in seconds. */
  toleranceSec: number;
  /** Longest accepted `exp - iat`, in seconds. */
  maxLifetimeSec: number;
  /** Required `typ` header, compared as a media type; undefined: not checked. */
  typ: string | undefined;
}

export interface CheckedClaims {
  claims: Record<string, unknown>;
  issuer: string;
  subject: string;
  /** Epoch seconds. */
  exp: number;
}

/**
 * RFC 7515 §4.1.9: `typ` is a media type whose "application/" prefix may be left out,
 * compared case-insensitively ("AT+JWT" is "application/at+jwt").
 */
function normalizeTyp(value: string): string {
  const lower = value.toLowerCase();
  return value.includes("/") ? lower : `application/${lower}`;
}

/** Checked for presence first, in this order (jose's: the first one missing is named). */
const REQUIRED = ["iss", "aud", "sub", "iat", "exp"] as const;

function audienceNames(aud: unknown, audience: string): boolean {
  if (typeof aud === "string") return aud === audience;
  return Array.isArray(aud) && aud.includes(audience);
}

/**
 * Parses and checks the claims of a verified JWS. Throws AuthError (invalid_token) with
 * a message naming the claim and never its value: messages reach the client.
 */
export function checkClaims(
  header: Readonly<Record<string, unknown>>,
  payload: Uint8Array,
  rules: ClaimRules,
  nowMs = Date.now(),
): CheckedClaims {
  const claims = parseJsonObject(payload);
  if (claims === undefined) throw malformedToken();
  if (
    rules.typ !== undefined &&
    (typeof header.typ !== "string" || normalizeTyp(header.typ) !== normalizeTyp(rules.typ))
  ) {
    throw new AuthError("invalid_token", 'The token\'s "typ" header is not accepted here.');
  }
  for (const claim of REQUIRED) {
    if (!Object.hasOwn(claims, claim)) {
      throw new AuthError("invalid_token", `The token has no "${claim}" claim.`);
    }
  }
  const { iss, aud, sub, iat, nbf, exp } = claims;
  if (!rules.issuers.includes(iss as string)) throw claimError("iss", "is not an accepted issuer");
  if (!audienceNames(aud, rules.audience)) throw claimError("aud", "does not name this resource");

  // Whole seconds, as NumericDate comparisons in jose; the `iat` check below is not.
  const now = Math.floor(nowMs / 1000);
  const tolerance = rules.toleranceSec;
  // A non-numeric `iat`/`nbf` has always been reported with the "future" wording.
  if (typeof iat !== "number") throw claimError("iat", "is in the future");
  const notYetValid = "is in the future: the token is not valid yet";
  if (nbf !== undefined && (typeof nbf !== "number" || nbf > now + tolerance)) {
    throw claimError("nbf", notYetValid);
  }
  if (typeof exp !== "number") throw claimError("exp", "is not valid");
  if (exp <= now - tolerance) throw new AuthError("invalid_token", "The token has expired.");

  if (typeof sub !== "string" || sub === "") throw claimError("sub", "is malformed");
  // `iss` is one of the configured strings by now; kept as the type guard it was.
  if (typeof iss !== "string") {
    throw new AuthError("invalid_token", "The token's claims are not valid.");
  }
  if (iat > nowMs / 1000 + tolerance) throw claimError("iat", "is in the future");
  if (exp - iat > rules.maxLifetimeSec) {
    throw new AuthError(
      "invalid_token",
      `The token's lifetime (exp - iat) is over the ${rules.maxLifetimeSec} s this server accepts.`,
    );
  }
  return { claims, issuer: iss, subject: sub, exp };
}
