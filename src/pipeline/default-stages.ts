import { execute, type ExecuteOptions } from "./stages/execute.js";
import { mapErrors } from "./stages/map-errors.js";
import { requestId } from "./stages/request-id.js";
import { resolveTool } from "./stages/resolve-tool.js";
import { validateInput } from "./stages/validate-input.js";
import { validateOutput } from "./stages/validate-output.js";
import type { Stage } from "./types.js";

/**
 * The default order of the architecture page. Later stages (authorize, rate limit,
 * idempotency, audit) slot in between these.
 */
export function defaultStages(options: ExecuteOptions = {}): Stage[] {
  return [
    requestId(),
    mapErrors(),
    resolveTool(),
    validateInput(),
    validateOutput(),
    execute(options),
  ];
}
