import { requestIdV7 } from "../../util/request-id.js";
import type { Stage } from "../types.js";
import { markStage } from "../stage-roles.js";

export interface RequestIdOptions {
  /** Makes the id of one call. Default: a time-ordered UUID (version 7). */
  generate?: () => string;
}

/** Gives every call an id and binds it, with the tool name, to the call's logger. */
export function requestId(options: RequestIdOptions = {}): Stage {
  const generate = options.generate ?? (() => requestIdV7());
  if (typeof generate !== "function")
    throw new TypeError("requestId: generate must be a function.");
  const stage: Stage = function requestIdStage(ctx, next) {
    ctx.requestId = generate();
    ctx.log = ctx.log.child({ requestId: ctx.requestId, tool: ctx.toolName });
    return next();
  };
  return markStage(stage, { role: "requestId" });
}
