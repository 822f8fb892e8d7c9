import { idempotency, type IdempotencyStageOptions } from "../idempotency/stage.js";
import { authorize } from "./stages/authorize.js";
import { execute, type ExecuteOptions } from "./stages/execute.js";
import { mapErrors } from "./stages/map-errors.js";
import { requestId } from "./stages/request-id.js";
import { resolveTool } from "./stages/resolve-tool.js";
import { validateInput } from "./stages/validate-input.js";
import { validateOutput } from "./stages/validate-output.js";
import type { Stage } from "./types.js";

export interface DefaultStagesOptions extends ExecuteOptions {
  /** Refuse anonymous callers and enforce tool scopes (true when `auth` is configured). */
  requireAuthentication?: boolean;
  /** The idempotency stage's options; without them write tools run without it. */
  idempotency?: IdempotencyStageOptions;
}

/**
 * The default order of the architecture page. Later stages (rate limit, idempotency,
 * audit) slot in between these.
 */
export function defaultStages(options: DefaultStagesOptions = {}): Stage[] {
  const { requireAuthentication = false, idempotency: idempotencyOptions, ...execution } = options;
  return [
    requestId(),
    mapErrors(),
    resolveTool(),
    authorize({ requireAuthentication }),
    validateInput(),
    ...(idempotencyOptions ? [idempotency(idempotencyOptions)] : []),
    validateOutput(),
    execute(execution),
  ];
}
