import { invalidInput, type FieldIssue } from "../../errors/tool-error.js";
import type { Stage } from "../types.js";
import { requireTool } from "./require-tool.js";
import { nonJsonIssue } from "../../validation/json-value.js";
import { markStage } from "../stage-roles.js";
import { withState } from "../context.js";

const MAX_ISSUES = 50;

/**
 * Re-validates every call's arguments against the tool's schema: the schema guides
 * the model but does not bind it. Missing arguments are validated as `{}`. Values JSON
 * cannot carry faithfully (Infinity, lone surrogates, `__proto__` keys) are refused first.
 */
export function validateInput(): Stage {
  const stage: Stage = function validateInputStage(ctx, next) {
    const tool = requireTool(ctx, "validateInput");
    const notJson = nonJsonIssue(ctx.rawArguments);
    if (notJson) throw invalidInput(summarize(tool.name, [notJson]), [notJson]);
    const outcome = tool.parseInput(ctx.rawArguments ?? {});
    if (!outcome.ok) {
      const message = outcome.message ?? summarize(tool.name, outcome.issues);
      throw invalidInput(message, outcome.issues.slice(0, MAX_ISSUES));
    }
    return next(withState(ctx, { args: outcome.value }));
  };
  return markStage(stage, { role: "validateInput" });
}

function summarize(toolName: string, issues: readonly FieldIssue[]): string {
  const shown = issues.slice(0, 3).map((i) => {
    const where = i.path === "" ? "the arguments" : i.path;
    // "must be a string (expected: string)" says nothing new; keep `expected` when it adds.
    const addsToMessage = i.expected !== undefined && !i.message.endsWith(i.expected);
    return `${where} ${i.message}${addsToMessage ? ` (expected: ${i.expected})` : ""}`;
  });
  const more = issues.length > 3 ? `; and ${issues.length - 3} more` : "";
  return `Invalid arguments for ${toolName}: ${shown.join("; ")}${more}. Fix these fields and call again.`;
}
