import { randomUUID } from "node:crypto";
import type { CallToolResult } from "@modelcontextprotocol/server";
import { ToolError } from "../../errors/tool-error.js";
import type { ToolDefinition } from "../../tool/types.js";
import type { Logger } from "../../log/logger.js";
import type { Stage } from "../types.js";
import { requireTool } from "./require-tool.js";
import { markStage } from "../stage-roles.js";
import { attachLateOutcome, lateOutcomeOf } from "../late-outcome.js";

/**
 * Checks a successful result against the tool's declared output schema. A handler
 * that returns the wrong shape is a server bug: the caller gets `internal`, the
 * mismatch is logged, and the wrong data never reaches the model. A result that comes
 * late (the caller was already answered `timeout`) is checked here too, on its way to
 * the idempotency stage that stores it: one output check, in this stage only.
 */
export function validateOutput(): Stage {
  const stage: Stage = async function validateOutputStage(ctx, next) {
    const tool = requireTool(ctx, "validateOutput");
    let result: CallToolResult;
    try {
      result = await next();
    } catch (error) {
      const late = lateOutcomeOf(error);
      if (late && tool.checkOutput && typeof error === "object" && error !== null)
        attachLateOutcome(
          error,
          late.then((r) => checked(r, tool, ctx.log)),
        );
      throw error;
    }
    return checked(result, tool, ctx.log);
  };
  return markStage(stage, { role: "validateOutput" });
}

function checked(result: CallToolResult, tool: ToolDefinition, log: Logger): CallToolResult {
  if (!tool.checkOutput || result.isError) return result;
  const outcome =
    result.structuredContent === undefined
      ? { ok: false as const, issues: [{ path: "", message: "structuredContent is missing" }] }
      : tool.checkOutput(result.structuredContent);
  if (outcome.ok) return result;
  const incidentId = randomUUID();
  log.error(
    { incidentId, issues: outcome.issues },
    "tool returned output that does not match its output schema",
  );
  throw new ToolError("internal", undefined, { incidentId });
}
