import { notFound } from "../../errors/tool-error.js";
import type { Stage } from "../types.js";
import { markStage } from "../stage-roles.js";

/** Finds the tool the call names; an unknown name is `not_found`. */
export function resolveTool(): Stage {
  const stage: Stage = function resolveToolStage(ctx, next) {
    const tool = ctx.lookup(ctx.toolName);
    if (!tool) {
      const shown = ctx.toolName.length > 128 ? `${ctx.toolName.slice(0, 128)}...` : ctx.toolName;
      throw notFound(`No tool is named '${shown}'. Call tools/list to see the tools you can use.`);
    }
    ctx.tool = tool;
    return next();
  };
  return markStage(stage, { role: "resolveTool" });
}
