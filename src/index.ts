// Every public export by name (no `export *`), so the API surface is reviewable here.
export { defineTool } from "./tool/define-tool.js";
export { toolResult } from "./tool/result.js";
export type {
  InferArgs,
  InferReturn,
  RawToolResult,
  SideEffect,
  ToolAnnotationOptions,
  ToolContext,
  ToolDefinition,
  ToolHandler,
  ToolSpec,
} from "./tool/types.js";
export { createToolServer } from "./server/create-tool-server.js";
export type { CallOptions, ToolServer, ToolServerOptions } from "./server/create-tool-server.js";
export { DEFAULT_MAX_BODY_BYTES } from "./server/http-server.js";
export type { HttpOptions, ListenOptions, ListeningAddress } from "./server/http-server.js";
export type { SessionOptions } from "./server/sessions.js";
export { ERROR_TYPES, ERROR_TYPE_NAMES, isErrorType } from "./errors/registry.js";
export type { ErrorType } from "./errors/registry.js";
export {
  ToolError,
  conflict,
  forbidden,
  inProgress,
  invalidInput,
  isToolError,
  notFound,
  rateLimited,
  timeout,
  unauthenticated,
  unavailable,
} from "./errors/tool-error.js";
export type { FieldIssue, ToolErrorOptions } from "./errors/tool-error.js";
export { ERROR_META_KEY, readWireError, toErrorResult } from "./errors/to-result.js";
export type { ErrorResultOptions, WireError } from "./errors/to-result.js";
export { compose } from "./pipeline/compose.js";
export { defaultStages } from "./pipeline/default-stages.js";
export type { DefaultStagesOptions } from "./pipeline/default-stages.js";
export { execute, DEFAULT_TIMEOUT_MS } from "./pipeline/stages/execute.js";
export type { ExecuteOptions } from "./pipeline/stages/execute.js";
export { mapErrors } from "./pipeline/stages/map-errors.js";
export { requestId } from "./pipeline/stages/request-id.js";
export type { RequestIdOptions } from "./pipeline/stages/request-id.js";
export { resolveTool } from "./pipeline/stages/resolve-tool.js";
export { validateInput } from "./pipeline/stages/validate-input.js";
export { validateOutput } from "./pipeline/stages/validate-output.js";
export type { CallContext, Next, Stage, Transport } from "./pipeline/types.js";
export { ANONYMOUS_PRINCIPAL } from "./auth/principal.js";
export type { Principal } from "./auth/principal.js";
export { AuthError, isTokenVerifier } from "./auth/verifier.js";
export type { AuthErrorCode, TokenVerifier, VerifyOptions } from "./auth/verifier.js";
export type { AuthConfig, AuthOption } from "./auth/auth-options.js";
export { jwtVerifier, DEFAULT_JWT_ALGORITHMS } from "./auth/jwt-verifier.js";
export type { JwtVerifierOptions } from "./auth/jwt-verifier.js";
export { introspectionVerifier } from "./auth/introspection-verifier.js";
export type { IntrospectionVerifierOptions } from "./auth/introspection-verifier.js";
export { DEFAULT_SCOPE_CLAIM, DEFAULT_TENANT_CLAIM } from "./auth/claims.js";
export type { ClaimMapping } from "./auth/claims.js";
export type { PublicKeyInput } from "./auth/jwks-cache.js";
export { devIssuer, DEFAULT_DEV_TOKEN_TTL_SEC, MAX_DEV_TOKEN_TTL_SEC } from "./auth/dev-issuer.js";
export type { DevIssuer, DevIssuerOptions, DevTokenClaims } from "./auth/dev-issuer.js";
export { DEFAULT_DEV_KEY_FILE, DEV_ISSUER } from "./auth/dev-keys.js";
export { buildResourceMetadata, resourceMetadataUrl } from "./auth/resource-metadata.js";
export type { ResourceMetadata } from "./auth/resource-metadata.js";
export { authorize } from "./pipeline/stages/authorize.js";
export type { AuthorizeOptions } from "./pipeline/stages/authorize.js";
export { createLogger, silentLogger } from "./log/logger.js";
export { idempotency } from "./idempotency/stage.js";
export type { IdempotencyStageOptions } from "./idempotency/stage.js";
export type { IdempotencyOptions } from "./idempotency/options.js";
export { IDEMPOTENCY_ARGUMENT, IDEMPOTENCY_META_KEY, REPLAY_META_KEY } from "./idempotency/key.js";
export { StoreUnavailable } from "./idempotency/store.js";
export type {
  ClaimInput,
  ClaimOutcome,
  CompleteInput,
  IdempotencyRecord,
  IdempotencyStore,
  RecordState,
} from "./idempotency/store.js";
export { DEFAULT_STORE_PATH } from "./idempotency/default-store.js";
export { memoryStore } from "./stores/memory-store.js";
export { sqliteStore } from "./stores/sqlite-store.js";
export type { SqliteStoreOptions } from "./stores/sqlite-store.js";
export type { Logger } from "./log/logger.js";
export { createAuditor } from "./audit/auditor.js";
export type { Auditor, AuditorOptions, SinkStatus } from "./audit/auditor.js";
export type {
  AuditEvent,
  AuditOutcome,
  AuditPrincipal,
  BackendCallRecord,
  IdempotencyDisposition,
} from "./audit/event.js";
export type { AuditQuery, AuditReader, AuditRow, AuditSink } from "./audit/sink.js";
export type { AuditOptions } from "./audit/options.js";
export { DEFAULT_AUDIT_FILE } from "./audit/options.js";
export { loggerAuditSink } from "./audit/log-sink.js";
export { memoryAuditSink } from "./audit/sinks/memory-sink.js";
export type { MemoryAuditSink } from "./audit/sinks/memory-sink.js";
export type { MetricsOptions, ToolMetrics } from "./observability/metrics.js";
export type { BackendCallInit } from "./observability/backend-call.js";
export { auditSinkFromSpec, AUDIT_SINK_SPECS } from "./audit/sink-spec.js";
export { sqliteAuditSink, sqliteAuditReader } from "./audit/sinks/sqlite-sink.js";
export type {
  SqliteAuditSinkOptions,
  SqliteAuditReaderOptions,
} from "./audit/sinks/sqlite-sink.js";
export { fileAuditSink } from "./audit/sinks/file-sink.js";
export { stdoutAuditSink } from "./audit/sinks/stdout-sink.js";
export { createRedactor, REDACTED } from "./audit/redact.js";
export { httpBackend } from "./backends/http-backend.js";
export type {
  BackendDefinition,
  BreakerState,
  HttpBackendOptions,
} from "./backends/http-backend.js";
export type { BackendClient, BackendRequestInit } from "./backends/client.js";
export type { CredentialProvider, CredentialRequest } from "./backends/credential.js";
export type { BackendUse } from "./tool/types.js";
export type { RateLimitOptions, RateSpec } from "./ratelimit/options.js";
export type { RateLimitInput, RateLimitOutcome, RateLimitStore } from "./ratelimit/store.js";
export { staticCredential, clientCredentials, tokenExchange } from "./backends/credentials.js";
export type {
  ClientCredentialsOptions,
  StaticCredentialOptions,
  TokenExchangeOptions,
} from "./backends/credentials.js";
export { rateLimit } from "./ratelimit/stage.js";
export type { RateLimitStageOptions } from "./ratelimit/stage.js";
export type { ToolgateStore } from "./stores/store-types.js";
export { contractOf, lockOf } from "./contract/snapshot.js";
export { diffLocks } from "./contract/diff.js";
export { diffSchemas } from "./contract/schema-diff.js";
export type { SchemaChange, SchemaDiffOptions, SchemaDirection } from "./contract/schema-diff.js";
export { formatLock, readLock } from "./contract/lock-file.js";
export type {
  ChangeKind,
  ContractChange,
  ContractLock,
  ContractReport,
  Deprecation,
  ToolContract,
} from "./contract/types.js";
export { defineResource, defineResourceTemplate } from "./resources/define-resource.js";
export type {
  ResourceContents,
  ResourceContext,
  ResourceDefinition,
  ResourceReadValue,
  ResourceSpec,
  ResourceTemplateDefinition,
  ResourceTemplateSpec,
} from "./resources/define-resource.js";
export { MAX_SUBSCRIPTIONS_PER_UNIT } from "./resources/subscriptions.js";
export { definePrompt } from "./prompts/define-prompt.js";
export type {
  PromptArgs,
  PromptArgumentSpec,
  PromptArgumentsInput,
  PromptContext,
  PromptDefinition,
  PromptGetValue,
  PromptMessages,
  PromptSpec,
} from "./prompts/define-prompt.js";
export { MAX_COMPLETION_VALUES } from "./server/completion.js";
export type { Completer, CompletionContext } from "./server/completion.js";
export type { ClientFeatures } from "./tool/client-features.js";
export { createGateway } from "./gateway/entry.js";
export { DEFAULT_LOCK_FILE } from "./contract/lock-file.js";
export type { Gateway, QuarantinedTool, UpstreamStatus } from "./gateway/create-gateway.js";
export type {
  GatewayOptions,
  PinningOptions,
  StdioUpstream,
  ToolPolicy,
  UpstreamOptions,
} from "./gateway/options.js";
export { loadGatewayConfig, parseGatewayConfig } from "./gateway/entry.js";
export { ConfigError } from "./gateway/config/config-error.js";
export type { ConfigIssue, LoadedConfig } from "./gateway/config/load-config.js";
