import { idempotency, type IdempotencyStageOptions } from "../idempotency/stage.js";
import { rateLimit, type RateLimitStageOptions } from "../ratelimit/stage.js";
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
  /** The rate-limit stage's options; without them no budgets are counted. */
  rateLimit?: RateLimitStageOptions;
  /** Runs right after authorization, before anything is counted or claimed (the gateway's quarantine). */
  guard?: Stage;
}

/**
 * The default order of the architecture page. Observation (audit, metrics, spans) wraps
 * the whole list in the server, so it is not a stage here.
 */
export function defaultStages(options: DefaultStagesOptions = {}): Stage[] {
  const {
    requireAuthentication = false,
    idempotency: idempotencyOptions,
    rateLimit: rateLimitOptions,
    guard,
    ...execution
  } = options;
  return [
    requestId(),
    mapErrors(),
    resolveTool(),
    authorize({ requireAuthentication }),
    ...(guard ? [guard] : []),
    ...(rateLimitOptions ? [rateLimit(rateLimitOptions)] : []),
    validateInput(),
    ...(idempotencyOptions ? [idempotency(idempotencyOptions)] : []),
    validateOutput(),
    execute(execution),
  ];
}
