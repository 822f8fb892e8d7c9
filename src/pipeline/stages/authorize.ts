import { accessDenial } from "../../auth/scopes.js";
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
    const tool = requireTool(ctx, "authorize");
    // On HTTP the token was verified (expiry included) when the request arrived.
    const denial = accessDenial(ctx.principal, tool.scopes, ctx.label ?? tool.name, {
      verifiedOnArrival: ctx.transport === "http",
    });
    if (denial?.type === "forbidden") throw forbidden(denial.message, [...denial.requiredScopes]);
    if (denial) throw new ToolError(denial.type, denial.message);
    return next();
  };
  return markStage(stage, { role: "authorize", enforcesScopes: requireAuthentication });
}
