import type { Principal } from "./principal.js";

// The caller's raw token, kept beside (never inside) its verified principal, for one
// purpose: RFC 8693 token exchange by a backend credential provider. Handlers cannot
// reach it (no ToolContext field leads here), logs never see it, and it is dropped with
// the principal object.
const tokens = new WeakMap<Principal, string>();

export function rememberSubjectToken(principal: Principal, token: string): void {
  if (!principal.anonymous) tokens.set(principal, token);
}

export function subjectTokenOf(principal: Principal): string | undefined {
  return tokens.get(principal);
}
