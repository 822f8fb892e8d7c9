import { ANONYMOUS_PRINCIPAL, type Principal } from "../auth/principal.js";
import type { ResolvedAuth } from "../auth/auth-options.js";
import { rememberSubjectToken } from "../auth/subject-token.js";
import type { Logger } from "../log/logger.js";

/**
 * stdio has no HTTP 401: the identity comes from the environment (MCP authorization spec:
 * stdio servers retrieve credentials from the environment). A missing or invalid token
 * leaves the connection anonymous, and every call answers `unauthenticated`.
 */
export async function resolveStdioPrincipal(auth: ResolvedAuth, log: Logger): Promise<Principal> {
  if (auth.stdioPrincipal) return auth.stdioPrincipal;
  if (auth.stdioToken === undefined || auth.stdioToken === "") {
    log.warn("auth is on but TOOLGATE_TOKEN is not set: every stdio call will be refused");
    return ANONYMOUS_PRINCIPAL;
  }
  try {
    const principal = await auth.verifier.verify(
      auth.stdioToken,
      auth.resource === undefined ? {} : { resource: auth.resource },
    );
    rememberSubjectToken(principal, auth.stdioToken);
    return principal;
  } catch (error) {
    log.warn(
      { reason: (error as Error).message },
      "TOOLGATE_TOKEN was refused: every stdio call will be refused",
    );
    return ANONYMOUS_PRINCIPAL;
  }
}
