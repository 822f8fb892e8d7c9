import { errorResultForTool, toErrorResult, toToolError } from "../../errors/to-result.js";
import type { CallContext, Stage } from "../types.js";
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
      return toErrorResult(error, { structured: toolOf(ctx)?.outputSchema === undefined });
    }
    return result.isError === true ? errorResultForTool(result, toolOf(ctx)) : result;
  };
  return markStage(stage, { role: "mapErrors" });
}

/**
 * The tool the call names. This stage runs before resolveTool, so the tool that stage
 * passes on never reaches it: it asks the same lookup (a failed result is the only use).
 */
function toolOf(ctx: CallContext) {
  return ctx.tool ?? ctx.lookup(ctx.toolName);
}
