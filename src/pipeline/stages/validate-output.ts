import { randomUUID } from "node:crypto";
import { ToolError } from "../../errors/tool-error.js";
import type { Stage } from "../types.js";
import { requireTool } from "./require-tool.js";
import { markStage } from "../stage-roles.js";

/**
 * Checks a successful result against the tool's declared output schema. A handler
 * that returns the wrong shape is a server bug: the caller gets `internal`, the
 * mismatch is logged, and the wrong data never reaches the model.
 */
export function validateOutput(): Stage {
  const stage: Stage = async function validateOutputStage(ctx, next) {
    const result = await next();
    const tool = requireTool(ctx, "validateOutput");
    if (!tool.checkOutput || result.isError) return result;
    const outcome =
      result.structuredContent === undefined
        ? { ok: false as const, issues: [{ path: "", message: "structuredContent is missing" }] }
        : tool.checkOutput(result.structuredContent);
    if (outcome.ok) return result;
    const incidentId = randomUUID();
    ctx.log.error(
      { incidentId, issues: outcome.issues },
      "tool returned output that does not match its output schema",
    );
    throw new ToolError("internal", undefined, { incidentId });
  };
  return markStage(stage, { role: "validateOutput" });
}
