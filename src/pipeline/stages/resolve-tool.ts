import { notFound } from "../../errors/tool-error.js";
import type { Stage } from "../types.js";

/** Finds the tool the call names; an unknown name is `not_found`. */
export function resolveTool(): Stage {
  return function resolveToolStage(ctx, next) {
    const tool = ctx.lookup(ctx.toolName);
    if (!tool) {
      const shown = ctx.toolName.length > 128 ? `${ctx.toolName.slice(0, 128)}...` : ctx.toolName;
      throw notFound(`No tool is named '${shown}'. Call tools/list to see the tools you can use.`);
    }
    ctx.tool = tool;
    return next();
  };
}
