// `toolgate/client`: retry-safe tool calls for hosts and agent harnesses, over the
// official SDK `Client` (`@modelcontextprotocol/client`, an optional peer dependency of
// toolgate needed only by this entry point).
export {
  createToolClient,
  policyFrom,
  type RetryOptions,
  type ToolCallOptions,
  type ToolCallPolicy,
  type ToolClient,
  type ToolClientOptions,
  type ToolClientTarget,
} from "./create-tool-client.js";
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
export { IDEMPOTENCY_ARGUMENT, IDEMPOTENCY_META_KEY, REPLAY_META_KEY } from "../idempotency/key.js";
