import type { Principal } from "./principal.js";
import { isTokenVerifier, type TokenVerifier } from "./verifier.js";

export interface AuthConfig {
  verifier: TokenVerifier;
  /**
   * This server's resource identifier (RFC 8707), the audience tokens must carry.
   * Default: the verifier's `audience`, else the URL the server listens on.
   */
  resource?: string;
  /** Authorization servers advertised in RFC 9728 metadata. Default: the verifier's issuers. */
  authorizationServers?: string[];
  /**
   * Answer a `tools/call` the token lacks scopes for with HTTP 403 `insufficient_scope`
   * (so an OAuth client can step up), instead of a `forbidden` tool result. Default false.
   */
  stepUp?: boolean;
  /** Longest a token verification may take on HTTP before the request gets 503. Default 10 000 ms. */
  verifyTimeoutMs?: number;
  /** stdio: the token to verify. Default: the `TOOLGATE_TOKEN` environment variable. */
  stdioToken?: string;
  /** stdio: a fixed local principal instead of a token (a single-user desktop setup). */
  stdioPrincipal?: Principal;
}

/** `auth:` accepts a verifier alone or the full configuration. */
export type AuthOption = TokenVerifier | AuthConfig;

export interface ResolvedAuth {
  verifier: TokenVerifier;
  resource: string | undefined;
  authorizationServers: string[];
  stepUp: boolean;
  verifyTimeoutMs: number;
  stdioToken: string | undefined;
  stdioPrincipal: Principal | undefined;
}

export function resolveAuth(
  option: AuthOption,
  env: NodeJS.ProcessEnv = process.env,
): ResolvedAuth {
  const config: AuthConfig = isTokenVerifier(option) ? { verifier: option } : option;
  if (typeof config !== "object" || config === null || !isTokenVerifier(config.verifier)) {
    throw new TypeError(
      "auth must be a token verifier (jwtVerifier, introspectionVerifier...) or { verifier, ... }.",
    );
  }
  const resource = config.resource ?? config.verifier.audience;
  if (resource !== undefined && !URL.canParse(resource)) {
    throw new TypeError(`auth.resource must be an absolute URL (got '${resource}').`);
  }
  const servers = config.authorizationServers ?? [...(config.verifier.issuers ?? [])];
  if (!Array.isArray(servers) || !servers.every((s) => typeof s === "string")) {
    throw new TypeError("auth.authorizationServers must be an array of URLs.");
  }
  if (config.stdioPrincipal !== undefined && config.stdioPrincipal.anonymous) {
    throw new TypeError("auth.stdioPrincipal must be a real principal, not the anonymous one.");
  }
  return {
    verifier: config.verifier,
    resource,
    authorizationServers: servers,
    stepUp: config.stepUp ?? false,
    verifyTimeoutMs: positiveInteger(config.verifyTimeoutMs ?? 10_000, "auth.verifyTimeoutMs"),
    stdioToken: config.stdioToken ?? env["TOOLGATE_TOKEN"],
    stdioPrincipal: config.stdioPrincipal,
  };
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value <= 0)
    throw new TypeError(`${name} must be a positive integer.`);
  return value;
}
