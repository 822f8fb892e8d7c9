import type { Principal } from "./principal.js";

// The caller's raw token, kept beside (never inside) its verified principal, for one
// purpose: RFC 8693 token exchange by a backend credential provider. Handlers cannot
// reach it (no ToolContext field leads here), logs never see it, and it is dropped with
// the principal object.
const tokens = new WeakMap<Principal, string>();

/**
 * The principal one request carries: a shallow copy of the verified one, with the
 * request's token beside it. Why a copy: verifiers hand one principal object to every
 * request with the same token (their caches do, and a custom verifier may return one
 * object for several tokens). Keyed on that shared object, the token lived as long as the
 * cache held the principal (with it the whole Authorization header it was sliced from:
 * 10,000 headers of old-generation memory at the default cache size, most of the
 * 100,000-principal soak's peak), and a second request could replace the token a first
 * one was still exchanging. The copy dies with its request, and the token with it.
 */
export function principalForRequest(principal: Principal, token: string): Principal {
  if (principal.anonymous) return principal;
  const own: Principal = Object.freeze({ ...principal });
  tokens.set(own, token);
  return own;
}

/** For a principal that lives as long as its token (stdio: one per process). */
export function rememberSubjectToken(principal: Principal, token: string): void {
  if (!principal.anonymous) tokens.set(principal, token);
}

export function subjectTokenOf(principal: Principal): string | undefined {
  return tokens.get(principal);
}
