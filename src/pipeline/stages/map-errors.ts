import { toErrorResult, toToolError } from "../../errors/to-result.js";
import type { Stage } from "../types.js";

/**
 * Everything thrown below this stage leaves as one typed, safe result: a `ToolError`
 * as written, anything else as `internal` with an incident id (cause logged here).
 */
export function mapErrors(): Stage {
  return async function mapErrorsStage(ctx, next) {
    try {
      return await next();
    } catch (thrown) {
      return toErrorResult(toToolError(thrown, ctx.log, { tool: ctx.toolName }));
    }
  };
}
