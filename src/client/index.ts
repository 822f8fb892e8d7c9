// `toolgate/client`: retry-safe tool calls for hosts and agent harnesses, over the
// official SDK `Client`: v2 (`@modelcontextprotocol/client`, an optional peer dependency of
// toolgate needed only by this entry point) or v1 (`@modelcontextprotocol/sdk`).
export { createToolClient, type ToolClient } from "./create-tool-client.js";
export {
  type RetryOptions,
  type ToolCallOptions,
  type ToolClientOptions,
} from "./tool-client-options.js";
export { policyFrom, type ToolCallPolicy } from "./policy.js";
export {
  type SdkV1ClientTarget,
  type SdkV2ClientTarget,
  type TargetRequestOptions,
  type ToolClientTarget,
} from "./target.js";
export { BearerTokenError, bearerAuth, type BearerTokenSource } from "./bearer-auth.js";
export {
  contractError,
  errorOfResult,
  isReplay,
  valueOf,
  type ToolCallAttempt,
  type ToolCallError,
  type ToolCallErrorSource,
  type ToolCallErrorType,
  type ToolCallFailure,
  type ToolCallResult,
  type ToolCallSuccess,
} from "./result.js";
export { errorForModel } from "./agent-text.js";
export { ERROR_META_KEY } from "../errors/to-result.js";
export { IDEMPOTENCY_META_KEY, REPLAY_META_KEY } from "../idempotency/key.js";
export { IDEMPOTENCY_ARGUMENT } from "../tool/idempotency-options.js";
