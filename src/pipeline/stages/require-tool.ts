import type { ToolDefinition } from "../../tool/types.js";
import type { CallContext } from "../types.js";

/** Stages after `resolveTool` need the tool; a pipeline ordered otherwise is a bug. */
export function requireTool(ctx: CallContext, stage: string): ToolDefinition {
  if (!ctx.tool) throw new Error(`Stage ${stage} runs before resolveTool; fix the pipeline order.`);
  return ctx.tool;
}

/** The call's one deadline (epoch ms), fixed by `resolveTool`. */
export function requireDeadline(ctx: CallContext, stage: string): number {
  if (ctx.deadline === undefined)
    throw new Error(`Stage ${stage} runs before resolveTool; fix the pipeline order.`);
  return ctx.deadline;
}
