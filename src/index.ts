// The package root: what a tool author writes a server with (tools, resources, prompts,
// errors, auth verifiers, backends). Every export is named (no `export *`) so the surface
// is reviewable here, and test/packaging/exports.test.ts fails when it grows past 60
// names: the rest of the API lives in subpath entries (docs/api.md lists them):
// toolgate/server, toolgate/errors, toolgate/auth, toolgate/backends, toolgate/pipeline,
// toolgate/stores, toolgate/audit, toolgate/contract, toolgate/gateway, toolgate/client.
export { defineTool } from "./tool/define-tool.js";
export { toolResult } from "./tool/result.js";
export type {
  InferArgs,
  InferReturn,
  RawToolResult,
  SideEffect,
  ToolContext,
  ToolDefinition,
  ToolHandler,
  ToolSpec,
} from "./tool/types.js";
export { createToolServer } from "./server/create-tool-server.js";
export type { CallOptions, ToolServer, ToolServerOptions } from "./server/create-tool-server.js";
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
export type { Principal } from "./auth/principal.js";
export { jwtVerifier } from "./auth/jwt-verifier.js";
export type { JwtVerifierOptions } from "./auth/jwt-verifier.js";
export { introspectionVerifier } from "./auth/introspection-verifier.js";
export type { IntrospectionVerifierOptions } from "./auth/introspection-verifier.js";
export { devIssuer } from "./auth/dev-issuer.js";
export type { DevIssuer, DevIssuerOptions } from "./auth/dev-issuer.js";
export { httpBackend } from "./backends/http-backend.js";
export type { BackendDefinition, HttpBackendOptions } from "./backends/http-backend.js";
export type { BackendClient } from "./backends/client.js";
export type { CredentialProvider } from "./backends/credential.js";
export { staticCredential, clientCredentials, tokenExchange } from "./backends/credentials.js";
export type {
  ClientCredentialsOptions,
  StaticCredentialOptions,
  TokenExchangeOptions,
} from "./backends/credentials.js";
export { defineResource, defineResourceTemplate } from "./resources/define-resource.js";
export type {
  ResourceContext,
  ResourceDefinition,
  ResourceSpec,
  ResourceTemplateDefinition,
  ResourceTemplateSpec,
} from "./resources/define-resource.js";
export { definePrompt } from "./prompts/define-prompt.js";
export type { PromptContext, PromptDefinition, PromptSpec } from "./prompts/define-prompt.js";
