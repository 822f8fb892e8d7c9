// `toolgate/server`: createToolServer's HTTP, session, logging and metrics options, the
// limits it enforces, and the detail types of tools, resources and prompts (completion,
// client features, contents). createToolServer itself and the main authoring types are
// in the package root.
export { DEFAULT_MAX_BODY_BYTES } from "./http-server.js";
export type { HttpOptions, ListenOptions, ListeningAddress } from "./http-server.js";
export type { SessionOptions } from "./sessions.js";
export { createLogger, silentLogger } from "../log/logger.js";
export type { Logger } from "../log/logger.js";
export type { MetricsOptions, ToolMetrics } from "../observability/metrics.js";
export type { ToolAnnotationOptions } from "../tool/types.js";
export type { ClientFeatures } from "../tool/client-features.js";
export { MAX_COMPLETION_VALUES } from "./completion.js";
export type { Completer, CompletionContext } from "./completion.js";
export { MAX_SUBSCRIPTIONS_PER_UNIT } from "../resources/subscriptions.js";
export type { ResourceContents, ResourceReadValue } from "../resources/define-resource.js";
export type {
  PromptArgs,
  PromptArgumentSpec,
  PromptArgumentsInput,
  PromptGetValue,
  PromptMessages,
} from "../prompts/define-prompt.js";
