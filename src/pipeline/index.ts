// `toolgate/pipeline`: the call pipeline a server runs every tool call through: compose,
// the default stages, each stage factory with its options, and the Stage and CallContext
// types for writing your own stage.
export { compose } from "./compose.js";
// defaultStages, idempotency and rateLimit are built above pipeline/ (src/stages/); this
// subpath entry is the package's façade and gathers them (test/unit/import-graph.test.ts).
export { defaultStages } from "../stages/default-stages.js";
export type { DefaultStagesOptions } from "../stages/default-stages.js";
export type { CallContext, CallRecord, CallState, Next, Stage, Transport } from "./types.js";
export { withState } from "./context.js";
export { execute, DEFAULT_TIMEOUT_MS } from "./stages/execute.js";
export type { ExecuteOptions } from "./stages/execute.js";
export { mapErrors } from "./stages/map-errors.js";
export { requestId } from "./stages/request-id.js";
export type { RequestIdOptions } from "./stages/request-id.js";
export { resolveTool } from "./stages/resolve-tool.js";
export type { ResolveToolOptions } from "./stages/resolve-tool.js";
export { validateInput } from "./stages/validate-input.js";
export { validateOutput } from "./stages/validate-output.js";
export { authorize } from "./stages/authorize.js";
export type { AuthorizeOptions } from "./stages/authorize.js";
export { idempotency, rateLimit } from "../stages/store-stages.js";
export type { IdempotencyStageOptions } from "../idempotency/stage.js";
export type { IdempotencyOptions } from "../tool/idempotency-options.js";
export type { RateLimitStageOptions } from "../ratelimit/stage.js";
export type { RateLimitOptions, RateSpec } from "../tool/rate-limit-options.js";
