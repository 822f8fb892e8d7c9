// The package root as a tool author imports it (`from "toolgate"`, which package.json
// `exports` maps to the build of src/index.ts). Compile-only: `npm run typecheck` fails
// when a value is added to or removed from the root, when a name that moved to a subpath
// entry comes back, or when the types an author relies on change shape.
import type * as z from "zod";
import type { CallToolResult } from "@modelcontextprotocol/server";
import type {
  BackendClient,
  BackendDefinition,
  CallOptions,
  CredentialProvider,
  DevIssuer,
  DevIssuerOptions,
  ErrorType,
  FieldIssue,
  HttpBackendOptions,
  InferArgs,
  IntrospectionVerifierOptions,
  JwtVerifierOptions,
  Principal,
  PromptDefinition,
  ResourceDefinition,
  ResourceTemplateDefinition,
  SideEffect,
  ToolContext,
  ToolDefinition,
  ToolErrorOptions,
  ToolHandler,
  ToolServer,
  ToolServerOptions,
  ToolSpec,
} from "../../src/index.js";
import type {
  clientCredentials,
  createToolServer,
  definePrompt,
  defineResource,
  defineResourceTemplate,
  defineTool,
  devIssuer,
  httpBackend,
  introspectionVerifier,
  invalidInput,
  isToolError,
  jwtVerifier,
  notFound,
  staticCredential,
  tokenExchange,
  ToolError,
  toolResult,
} from "../../src/index.js";
import type { TokenVerifier } from "../../src/auth/index.js";
import type { Equal, Expect, Extends } from "./expect.js";
import type * as Root from "../../src/index.js";

/** The root's values, exactly. A new one belongs in a subpath entry unless authors need it. */
export type RootValues = Expect<
  Equal<
    keyof typeof Root,
    | "clientCredentials"
    | "conflict"
    | "createToolServer"
    | "definePrompt"
    | "defineResource"
    | "defineResourceTemplate"
    | "defineTool"
    | "devIssuer"
    | "forbidden"
    | "httpBackend"
    | "inProgress"
    | "introspectionVerifier"
    | "invalidInput"
    | "isToolError"
    | "jwtVerifier"
    | "notFound"
    | "rateLimited"
    | "staticCredential"
    | "timeout"
    | "tokenExchange"
    | "ToolError"
    | "toolResult"
    | "unauthenticated"
    | "unavailable"
  >
>;

// Types that moved to subpath entries are not at the root any more.
// @ts-expect-error: Stage is in toolgate/pipeline
export type NoStage = Root.Stage;
// @ts-expect-error: CallContext is in toolgate/pipeline
export type NoCallContext = Root.CallContext;
// @ts-expect-error: IdempotencyStore is in toolgate/stores
export type NoIdempotencyStore = Root.IdempotencyStore;
// @ts-expect-error: AuditSink is in toolgate/audit
export type NoAuditSink = Root.AuditSink;
// @ts-expect-error: GatewayOptions is in toolgate/gateway
export type NoGatewayOptions = Root.GatewayOptions;
// @ts-expect-error: ContractLock is in toolgate/contract
export type NoContractLock = Root.ContractLock;
// @ts-expect-error: TokenVerifier is in toolgate/auth
export type NoTokenVerifier = Root.TokenVerifier;
// @ts-expect-error: WireError is in toolgate/errors
export type NoWireError = Root.WireError;
// @ts-expect-error: Logger is in toolgate/server
export type NoLogger = Root.Logger;

// Tools: a spec's input schema types the handler's arguments; defineTool's result is what
// createToolServer takes.
type OrderInput = z.ZodObject<{ order_id: z.ZodString; amount_cents: z.ZodOptional<z.ZodNumber> }>;
export type ArgsFromZod = Expect<
  Equal<InferArgs<OrderInput>, { order_id: string; amount_cents?: number | undefined }>
>;
export type HandlerGetsContext = Expect<
  Equal<Parameters<ToolHandler<OrderInput, undefined>>[1], ToolContext>
>;
export type ContextHasPrincipal = Expect<Equal<ToolContext["principal"], Principal>>;
export type ContextHasSignal = Expect<Equal<ToolContext["signal"], AbortSignal>>;
export type ContextBackend = Expect<Equal<ReturnType<ToolContext["backend"]>, BackendClient>>;
export type SideEffects = Expect<Equal<SideEffect, "read" | "write">>;
export type SpecSideEffect = Expect<
  Equal<ToolSpec<OrderInput, undefined>["sideEffect"], SideEffect>
>;
export type DefineToolReturns = Expect<Equal<ReturnType<typeof defineTool>, ToolDefinition>>;
export type ToolResultWraps = Expect<Equal<Parameters<typeof toolResult>[0], CallToolResult>>;

// The server: options in, a handle out.
export type ServerTakes = Expect<
  Equal<Parameters<typeof createToolServer>, [options: ToolServerOptions]>
>;
export type ServerReturns = Expect<Equal<ReturnType<typeof createToolServer>, ToolServer>>;
export type ServerTools = Expect<Equal<ToolServerOptions["tools"], readonly ToolDefinition[]>>;
export type ServerResources = Expect<
  Equal<ToolServerOptions["resources"], readonly ResourceDefinition[] | undefined>
>;
export type ServerTemplates = Expect<
  Equal<ToolServerOptions["resourceTemplates"], readonly ResourceTemplateDefinition[] | undefined>
>;
export type ServerPrompts = Expect<
  Equal<ToolServerOptions["prompts"], readonly PromptDefinition[] | undefined>
>;
export type ServerBackends = Expect<
  Equal<ToolServerOptions["backends"], Readonly<Record<string, BackendDefinition>> | undefined>
>;
export type CallToolOptions = Expect<
  Equal<NonNullable<Parameters<ToolServer["callTool"]>[2]>, CallOptions>
>;
export type CallToolReturns = Expect<
  Equal<ReturnType<ToolServer["callTool"]>, Promise<CallToolResult>>
>;

// Errors: every typed constructor makes a ToolError; the types are the registry's.
export type ErrorTypes = Expect<
  Equal<
    ErrorType,
    | "invalid_input"
    | "unauthenticated"
    | "forbidden"
    | "not_found"
    | "conflict"
    | "in_progress"
    | "rate_limited"
    | "timeout"
    | "unavailable"
    | "internal"
  >
>;
export type NotFoundMakes = Expect<
  Equal<typeof notFound, (message: string) => InstanceType<typeof ToolError>>
>;
export type IsToolErrorGuards = Expect<
  Equal<typeof isToolError, (value: unknown) => value is InstanceType<typeof ToolError>>
>;
export type ToolErrorType = Expect<Equal<InstanceType<typeof ToolError>["type"], ErrorType>>;
export type InvalidInputIssues = Expect<
  Equal<NonNullable<Parameters<typeof invalidInput>[1]>, FieldIssue[]>
>;
export type ErrorOptionsDetails = Expect<
  Equal<ToolErrorOptions["details"], Record<string, unknown> | undefined>
>;

// Auth: each verifier takes its options and is a TokenVerifier (toolgate/auth).
export type JwtVerifier = Expect<
  Equal<typeof jwtVerifier, (options: JwtVerifierOptions) => TokenVerifier>
>;
export type IntrospectionVerifier = Expect<
  Equal<typeof introspectionVerifier, (options: IntrospectionVerifierOptions) => TokenVerifier>
>;
export type DevIssuerMakes = Expect<
  Equal<typeof devIssuer, (options?: DevIssuerOptions) => Promise<DevIssuer>>
>;
export type DevIssuerVerifies = Expect<
  Equal<DevIssuer["verifier"], (audience?: string) => TokenVerifier>
>;

// Backends and credentials.
export type HttpBackend = Expect<
  Equal<typeof httpBackend, (options: HttpBackendOptions) => BackendDefinition>
>;
export type StaticIsProvider = Expect<
  Extends<ReturnType<typeof staticCredential>, CredentialProvider>
>;
export type ClientCredentialsIsProvider = Expect<
  Extends<ReturnType<typeof clientCredentials>, CredentialProvider>
>;
export type TokenExchangeIsProvider = Expect<
  Extends<ReturnType<typeof tokenExchange>, CredentialProvider>
>;

// Resources and prompts.
export type DefineResource = Expect<Equal<ReturnType<typeof defineResource>, ResourceDefinition>>;
export type DefineResourceTemplate = Expect<
  Equal<ReturnType<typeof defineResourceTemplate>, ResourceTemplateDefinition>
>;
export type DefinePrompt = Expect<Equal<ReturnType<typeof definePrompt>, PromptDefinition>>;
