import { requestIdV7 } from "../../util/request-id.js";
import type { Stage } from "../types.js";
import { markStage } from "../stage-roles.js";
import { withState } from "../context.js";

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
    const id = generate();
    // The audit event carries the id the call's log lines carry.
    ctx.record.requestId = id;
    return next(
      withState(ctx, { requestId: id, log: ctx.log.child({ requestId: id, tool: ctx.toolName }) }),
    );
  };
  return markStage(stage, { role: "requestId" });
}
