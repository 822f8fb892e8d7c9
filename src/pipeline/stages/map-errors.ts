import { errorResultForTool, toErrorResult, toToolError } from "../../errors/to-result.js";
import type { Stage } from "../types.js";
import { markStage } from "../stage-roles.js";

/**
 * Everything thrown below this stage leaves as one typed, safe result: a `ToolError`
 * as written, anything else as `internal` with an incident id (cause logged here).
 * A failed result of a tool that declares an `outputSchema` leaves without
 * `structuredContent` (the error contract: clients validate it against that schema even
 * on errors); the typed error travels in `_meta` and the text.
 */
export function mapErrors(): Stage {
  const stage: Stage = async function mapErrorsStage(ctx, next) {
    let result;
    try {
      result = await next();
    } catch (thrown) {
      const error = toToolError(thrown, ctx.log, { tool: ctx.toolName });
      return toErrorResult(error, { structured: ctx.tool?.outputSchema === undefined });
    }
    return errorResultForTool(result, ctx.tool);
  };
  return markStage(stage, { role: "mapErrors" });
}
