// The one scope rule of toolgate (least privilege): who may use a tool, resource, template or
// prompt guarded by `scopes`. Every way in asks here and renders the answer in its own
// wire format: the authorize stage as a typed tool error, resources/prompts/completions as
// a JSON-RPC error, tools/list and resources/list by leaving out what the caller may not
// use, and HTTP step-up as a 403 challenge.
import type { Principal } from "./principal.js";

/** The scopes of `required` that `granted` lacks (least privilege: all are needed). */
export function missingScopes(required: readonly string[], granted: readonly string[]): string[] {
  if (required.length === 0) return [];
  const have = new Set(granted);
  return required.filter((scope) => !have.has(scope));
}

/** Why a caller may not use something: the error type of the contract, and what to say. */
export type AccessDenial =
  | { readonly type: "unauthenticated"; readonly message: string }
  | {
      readonly type: "forbidden";
      readonly message: string;
      /** Every scope the thing needs (the client asks the user for these). */
      readonly requiredScopes: readonly string[];
    };

export interface AccessOptions {
  /**
   * The token was verified, expiry included, when its request arrived (HTTP): a token that
   * expires while the request is served is not refused mid-request (an HTTP client only
   * refreshes on a 401, which a result cannot be). False for stdio and in-process calls.
   */
  readonly verifiedOnArrival?: boolean;
  /** The clock (epoch ms). */
  readonly now?: number;
}

/**
 * Whether `principal` may use `what` (a tool name, "Reading test://x", "Prompt 'p'"),
 * guarded by `scopes`, on a server that verifies callers. Undefined when it may.
 */
export function accessDenial(
  principal: Principal,
  scopes: readonly string[],
  what: string,
  options: AccessOptions = {},
): AccessDenial | undefined {
  if (principal.anonymous) {
    return {
      type: "unauthenticated",
      message: "This server requires a valid access token. Provide one and reconnect.",
    };
  }
  const expired =
    principal.expiresAt !== undefined && principal.expiresAt <= (options.now ?? Date.now());
  if (expired && options.verifiedOnArrival !== true) {
    return {
      type: "unauthenticated",
      message: "The access token has expired. Get a fresh token and reconnect.",
    };
  }
  const missing = missingScopes(scopes, principal.scopes);
  if (missing.length === 0) return undefined;
  return {
    type: "forbidden",
    message:
      `${what} needs the scope(s) ${missing.join(", ")}, which this token does not grant. ` +
      "Ask the user to authorize them; do not retry with the same token.",
    requiredScopes: [...scopes],
  };
}

/** Whether a listing shows something guarded by `scopes` to `principal` (same rule). */
export function mayUse(principal: Principal, scopes: readonly string[]): boolean {
  return accessDenial(principal, scopes, "") === undefined;
}
