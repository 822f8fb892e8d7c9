import type { Principal } from "./principal.js";
import type { Cancellation } from "../util/lazy-abort.js";

/**
 * Why a token was refused. `invalid_token` and `invalid_request` are the RFC 6750
 * error codes a 401 carries; `unavailable` means the verifier could not decide (JWKS
 * or introspection endpoint down) and the call fails closed, retryably.
 */
export type AuthErrorCode = "invalid_request" | "invalid_token" | "unavailable";

/**
 * A refusal by a verifier. `message` is safe to show the client (RFC 6750
 * `error_description`): it never contains the token, keys or claims.
 */
export class AuthError extends Error {
  override readonly name = "AuthError";
  readonly code: AuthErrorCode;
  constructor(code: AuthErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? {} : { cause: options.cause });
    this.code = code;
  }
}

export interface VerifyOptions {
  signal?: AbortSignal;
  /**
   * The same cancellation as `signal`, for a verifier that only stops waiting on it:
   * listening here creates no AbortSignal. toolgate's HTTP edge passes both, its `signal`
   * made only when read: on Node 20 every AbortSignal leaves ~1 KB in V8's old
   * generation, and with many distinct users every verified-token cache miss made one
   * (the 100,000-principal soak). toolgate's jwtVerifier reads this one.
   */
  cancellation?: Cancellation;
  /**
   * The resource URL of the server asking (RFC 8707). Verifiers configured with a fixed
   * `audience` check that; a verifier without one (the dev issuer's) checks this.
   */
  resource?: string;
}

/**
 * Turns a bearer token into a principal, or rejects with `AuthError`. Custom verifiers
 * implement only `verify`; the optional fields feed RFC 9728 metadata.
 */
export interface TokenVerifier {
  verify(token: string, options?: VerifyOptions): Promise<Principal>;
  /**
   * The principal `verify` would return right now without any I/O (a cached verdict),
   * or undefined: the HTTP layer asks this first and skips the timer and the abort
   * signal `verify` needs. Optional; never throws.
   */
  cached?(token: string, options?: VerifyOptions): Principal | undefined;
  /** The resource (audience) tokens must be issued for: this server's URL. */
  readonly audience?: string;
  /** Authorization servers that issue tokens accepted here. */
  readonly issuers?: readonly string[];
}

export function isTokenVerifier(value: unknown): value is TokenVerifier {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as TokenVerifier).verify === "function"
  );
}
