// The subpath entries as a user imports them (`from "toolgate/pipeline"` and so on, which
// package.json `exports` maps to the builds of these index files). Compile-only: `npm run
// typecheck` fails when an entry gains or loses a value, or when the types a stage, store,
// sink or gateway author relies on change shape. Each entry's full list, types included,
// is docs/api.md (test/packaging/exports.test.ts checks it).
import type * as z from "zod";
import type { CallToolResult } from "@modelcontextprotocol/server";
import type { ToolDefinition, ToolServer, ToolServerOptions, ToolSpec } from "../../src/index.js";
import type { AuditOptions, AuditSink, MemoryAuditSink } from "../../src/audit/index.js";
import type { createAuditor, memoryAuditSink, sqliteAuditSink } from "../../src/audit/index.js";
import type { AuditEvent, FollowAuditOptions } from "../../src/audit/index.js";
import type { followAudit, sqliteAuditReader } from "../../src/audit/index.js";
import type { AuthError, AuthOption, TokenVerifier } from "../../src/auth/index.js";
import type { BackendUse } from "../../src/backends/index.js";
import type { ContractLock, ContractReport, ToolContract } from "../../src/contract/index.js";
import type { contractOf, diffLocks, lockOf, readLock } from "../../src/contract/index.js";
import type { WireError } from "../../src/errors/index.js";
import type { readWireError, toErrorResult } from "../../src/errors/index.js";
import type { Gateway, GatewayOptions, LoadedConfig } from "../../src/gateway/index.js";
import type { createGateway, loadGatewayConfig } from "../../src/gateway/index.js";
import type { CallContext, CallRecord, CallState, Next, Stage } from "../../src/pipeline/index.js";
import type { compose, defaultStages, withState } from "../../src/pipeline/index.js";
import type { HttpOptions, ListeningAddress, Logger } from "../../src/server/index.js";
import type { IdempotencyStore, RateLimitStore, ToolgateStore } from "../../src/stores/index.js";
import type { memoryStore, sqliteStore } from "../../src/stores/index.js";
import type { Equal, Expect, Extends } from "./expect.js";
import type * as ServerEntry from "../../src/server/index.js";
import type * as ErrorsEntry from "../../src/errors/index.js";
import type * as AuthEntry from "../../src/auth/index.js";
import type * as BackendsEntry from "../../src/backends/index.js";
import type * as PipelineEntry from "../../src/pipeline/index.js";
import type * as StoresEntry from "../../src/stores/index.js";
import type * as AuditEntry from "../../src/audit/index.js";
import type * as ContractEntry from "../../src/contract/index.js";
import type * as GatewayEntry from "../../src/gateway/index.js";

// Each entry's values, exactly.
export type ServerValues = Expect<
  Equal<
    keyof typeof ServerEntry,
    | "createLogger"
    | "DEFAULT_MAX_BODY_BYTES"
    | "MAX_COMPLETION_VALUES"
    | "MAX_SUBSCRIPTIONS_PER_UNIT"
    | "silentLogger"
  >
>;
export type ErrorsValues = Expect<
  Equal<
    keyof typeof ErrorsEntry,
    "ERROR_TYPE_NAMES" | "ERROR_TYPES" | "isErrorType" | "readWireError" | "toErrorResult"
  >
>;
export type AuthValues = Expect<
  Equal<
    keyof typeof AuthEntry,
    | "ANONYMOUS_PRINCIPAL"
    | "AuthError"
    | "buildResourceMetadata"
    | "DEFAULT_DEV_KEY_FILE"
    | "DEFAULT_DEV_TOKEN_TTL_SEC"
    | "DEFAULT_JWT_ALGORITHMS"
    | "DEFAULT_SCOPE_CLAIM"
    | "DEFAULT_TENANT_CLAIM"
    | "DEV_ISSUER"
    | "isTokenVerifier"
    | "MAX_DEV_TOKEN_TTL_SEC"
    | "resourceMetadataUrl"
  >
>;
/** toolgate/backends holds types only. */
export type BackendsValues = Expect<Equal<keyof typeof BackendsEntry, never>>;
export type PipelineValues = Expect<
  Equal<
    keyof typeof PipelineEntry,
    | "authorize"
    | "compose"
    | "DEFAULT_TIMEOUT_MS"
    | "defaultStages"
    | "execute"
    | "idempotency"
    | "mapErrors"
    | "rateLimit"
    | "requestId"
    | "resolveTool"
    | "validateInput"
    | "validateOutput"
    | "withState"
  >
>;
export type StoresValues = Expect<
  Equal<
    keyof typeof StoresEntry,
    "DEFAULT_STORE_PATH" | "memoryStore" | "sqliteStore" | "StoreUnavailable"
  >
>;
export type AuditValues = Expect<
  Equal<
    keyof typeof AuditEntry,
    | "AUDIT_SINK_SPECS"
    | "auditSinkFromSpec"
    | "createAuditor"
    | "createRedactor"
    | "DEFAULT_AUDIT_FILE"
    | "fileAuditSink"
    | "followAudit"
    | "loggerAuditSink"
    | "memoryAuditSink"
    | "REDACTED"
    | "sqliteAuditReader"
    | "sqliteAuditSink"
    | "stdoutAuditSink"
  >
>;
export type ContractValues = Expect<
  Equal<
    keyof typeof ContractEntry,
    | "contractOf"
    | "DEFAULT_LOCK_FILE"
    | "diffLocks"
    | "diffSchemas"
    | "formatLock"
    | "lockOf"
    | "readLock"
  >
>;
export type GatewayValues = Expect<
  Equal<
    keyof typeof GatewayEntry,
    "ConfigError" | "createGateway" | "loadGatewayConfig" | "parseGatewayConfig"
  >
>;

// toolgate/pipeline: a stage of your own is a plain function over the call's context.
export type StageShape = Expect<
  Equal<Stage, (ctx: CallContext, next: Next) => Promise<CallToolResult>>
>;
export type DefaultStages = Expect<Equal<ReturnType<typeof defaultStages>, Stage[]>>;
export type Compose = Expect<
  Equal<typeof compose, (stages: readonly Stage[]) => (ctx: CallContext) => Promise<CallToolResult>>
>;
export type ServerStages = Expect<Equal<ToolServerOptions["stages"], Stage[] | undefined>>;
// `next` continues with the same context, or with one that carries what the stage learned.
export type NextShape = Expect<Equal<Next, (ctx?: CallContext) => Promise<CallToolResult>>>;
export type WithState = Expect<
  Equal<typeof withState, (ctx: CallContext, state: Partial<CallState>) => CallContext>
>;
export type ContextCarriesState = Expect<Extends<CallContext, CallState>>;
export type ContextRecord = Expect<Equal<CallContext["record"], CallRecord>>;

// The request is immutable: a stage derives a new context instead of writing a field.
export function immutableContext(ctx: CallContext, state: CallState): void {
  // @ts-expect-error: the request's fields are readonly
  ctx.toolName = "other";
  // @ts-expect-error: learned state is readonly too; pass it on with withState
  ctx.tool = state.tool;
  // @ts-expect-error: so is the call's id
  ctx.requestId = "r";
  // @ts-expect-error: the record is one object per call; its fields are what may change
  ctx.record = { ...ctx.record };
  // @ts-expect-error: stages may not derive request fields
  withState(ctx, { toolName: "other" });
  // What happened during the call is written to the record (the audit reads it).
  ctx.record.upstream = "upstream";
  ctx.record.idempotency = "executed";
  ctx.record.backendCalls.push({ name: "db", status: "ok", ms: 1 });
}

// toolgate/stores: one store holds idempotency records and rate-limit counters.
export type StoreIsBoth = Expect<Extends<ToolgateStore, IdempotencyStore & RateLimitStore>>;
export type MemoryStore = Expect<Equal<typeof memoryStore, () => ToolgateStore>>;
export type SqliteStore = Expect<Equal<ReturnType<typeof sqliteStore>, ToolgateStore>>;
export type ServerStore = Expect<Equal<ToolServerOptions["store"], IdempotencyStore | undefined>>;

// toolgate/audit: sinks plug into createToolServer's `audit` option.
export type MemorySinkIsSink = Expect<Extends<MemoryAuditSink, AuditSink>>;
export type MemorySink = Expect<Equal<typeof memoryAuditSink, () => MemoryAuditSink>>;
export type SqliteSinkIsSink = Expect<Extends<ReturnType<typeof sqliteAuditSink>, AuditSink>>;
export type ServerAudit = Expect<
  Equal<ToolServerOptions["audit"], AuditOptions | false | undefined>
>;
export type Auditor = Expect<Extends<Parameters<typeof createAuditor>[0], object>>;
// followAudit follows what sqliteAuditReader (or postgresAuditReader) reads, in batches.
export type FollowsReader = Expect<
  Extends<ReturnType<typeof sqliteAuditReader>, Parameters<typeof followAudit>[0]>
>;
export type FollowOptions = Expect<
  Equal<Parameters<typeof followAudit>[1], FollowAuditOptions | undefined>
>;
export type FollowYields = Expect<
  Equal<ReturnType<typeof followAudit>, AsyncGenerator<AuditEvent[], void, undefined>>
>;

// toolgate/auth: a custom verifier fails with AuthError; the auth option takes it.
export type VerifierIsAuthOption = Expect<Extends<TokenVerifier, AuthOption>>;
export type ServerAuth = Expect<Equal<ToolServerOptions["auth"], AuthOption | undefined>>;
export type AuthErrorIsError = Expect<Extends<InstanceType<typeof AuthError>, Error>>;

// toolgate/errors: the wire format round-trips through a result.
export type ReadWireError = Expect<
  Equal<typeof readWireError, (result: CallToolResult) => WireError | undefined>
>;
export type ToErrorResult = Expect<Equal<ReturnType<typeof toErrorResult>, CallToolResult>>;

// toolgate/contract: snapshots of tool definitions, diffed into a report.
export type ContractOf = Expect<Equal<typeof contractOf, (tool: ToolDefinition) => ToolContract>>;
export type LockOf = Expect<
  Equal<typeof lockOf, (contracts: readonly ToolContract[]) => ContractLock>
>;
export type ReadLock = Expect<Equal<typeof readLock, (file: string) => Promise<ContractLock>>>;
export type DiffLocks = Expect<Equal<ReturnType<typeof diffLocks>, ContractReport>>;

// toolgate/gateway: from options or a config file, to a running gateway.
export type CreateGateway = Expect<Equal<Parameters<typeof createGateway>[0], GatewayOptions>>;
export type GatewayReturns = Expect<Equal<ReturnType<typeof createGateway>, Promise<Gateway>>>;
export type LoadConfig = Expect<Equal<ReturnType<typeof loadGatewayConfig>, Promise<LoadedConfig>>>;
export type LoadedOptions = Expect<Equal<LoadedConfig["options"], GatewayOptions>>;

// toolgate/server: the HTTP options and the handle's address.
export type ServerHttp = Expect<Equal<ToolServerOptions["http"], HttpOptions | undefined>>;
export type ServerLogger = Expect<Equal<ToolServerOptions["logger"], Logger | undefined>>;
export type Listen = Expect<Equal<ReturnType<ToolServer["listen"]>, Promise<ListeningAddress>>>;

// toolgate/backends: what a tool's `backends` list holds.
export type Backends = Expect<
  Equal<ToolSpec<z.ZodObject, undefined>["backends"], readonly BackendUse[] | undefined>
>;
