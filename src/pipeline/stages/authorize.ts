import { missingScopes } from "../../auth/scopes.js";
import { ToolError, forbidden } from "../../errors/tool-error.js";
import type { Stage } from "../types.js";
import { requireTool } from "./require-tool.js";
import { markStage } from "../stage-roles.js";

export interface AuthorizeOptions {
  /** Refuse anonymous callers. True when the server has an auth verifier. */
  requireAuthentication: boolean;
}

/**
 * Least privilege: the caller's token must carry every scope the tool declares. On
 * HTTP the token was verified (expiry included) when the request arrived and answered
 * with a 401 if it failed, which is what makes OAuth clients refresh; here the principal
 * is checked per call, which also catches a stdio token that expired mid-session.
 */
export function authorize(options: AuthorizeOptions): Stage {
  if (typeof options?.requireAuthentication !== "boolean") {
    throw new TypeError("authorize: requireAuthentication must be a boolean.");
  }
  const { requireAuthentication } = options;
  const stage: Stage = function authorizeStage(ctx, next) {
    if (!requireAuthentication) return next();
    const { principal } = ctx;
    if (principal.anonymous) {
      throw new ToolError(
        "unauthenticated",
        "This server requires a valid access token. Provide one and reconnect.",
      );
    }
    // On HTTP the request was complete, and its token valid, when it was accepted: a token
    // that expires while the call runs is not turned into a tool result the client would
    // not refresh on.
    const expired = principal.expiresAt !== undefined && principal.expiresAt <= Date.now();
    if (expired && ctx.transport !== "http") {
      throw new ToolError(
        "unauthenticated",
        "The access token has expired. Get a fresh token and reconnect.",
      );
    }
    const tool = requireTool(ctx, "authorize");
    const missing = missingScopes(tool.scopes, principal.scopes);
    if (missing.length > 0) {
      throw forbidden(
        `${tool.name} needs the scope(s) ${missing.join(", ")}, which this token does not grant. ` +
          "Ask the user to authorize them; do not retry with the same token.",
        [...tool.scopes],
      );
    }
    return next();
  };
  return markStage(stage, { role: "authorize", enforcesScopes: requireAuthentication });
}
