import { notFound } from "../../errors/tool-error.js";
import type { Stage } from "../types.js";
import { markStage } from "../stage-roles.js";
import { withState } from "../context.js";

export interface ResolveToolOptions {
  /** Deadline of tools that set no `timeoutMs`. Default 30 000 ms. */
  defaultTimeoutMs?: number;
}

/** The deadline of tools that set none, when the server sets none either. */
export const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_TIMEOUT_MS = 2_147_483_647; // setTimeout's limit

/**
 * Finds the tool the call names (an unknown name is `not_found`) and fixes the call's one
 * deadline: when the call arrived plus the tool's `timeoutMs` (or the default). Every
 * later stage reads `ctx.deadline` (store waits, the handler's signal, an upstream's
 * timeout); none computes its own.
 */
export function resolveTool(options: ResolveToolOptions = {}): Stage {
  const defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (
    !Number.isInteger(defaultTimeoutMs) ||
    defaultTimeoutMs <= 0 ||
    defaultTimeoutMs > MAX_TIMEOUT_MS
  ) {
    throw new TypeError(
      "resolveTool: defaultTimeoutMs must be a positive integer number of milliseconds.",
    );
  }
  const stage: Stage = function resolveToolStage(ctx, next) {
    const tool = ctx.lookup(ctx.toolName);
    if (!tool) {
      const shown = ctx.toolName.length > 128 ? `${ctx.toolName.slice(0, 128)}...` : ctx.toolName;
      throw notFound(`No tool is named '${shown}'. Call tools/list to see the tools you can use.`);
    }
    return next(
      withState(ctx, { tool, deadline: ctx.startedAt + (tool.timeoutMs ?? defaultTimeoutMs) }),
    );
  };
  return markStage(stage, { role: "resolveTool" });
}
