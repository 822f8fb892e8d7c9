import type { CallToolResult, ToolAnnotations } from "@modelcontextprotocol/server";
import type * as z from "zod";
import type { Principal } from "../auth/principal.js";
import type { Logger } from "../log/logger.js";
import type { JsonSchema, SchemaInput } from "../validation/json-schema.js";
import type { ValidationOutcome } from "../validation/validator.js";
import type { IdempotencyOptions, ResolvedIdempotency } from "./idempotency-options.js";
import type { RateLimitOptions, ResolvedRateLimits } from "./rate-limit-options.js";
import type { BackendCallInit, BackendClient } from "./backend-client.js";
import type { Deprecation } from "./deprecation.js";
import type { ClientFeatures } from "./client-features.js";

export type { Deprecation } from "./deprecation.js";

export type SideEffect = "read" | "write";

/**
 * What a handler receives besides its arguments. The client features (`progress`,
 * `clientLog`, `sample`, `elicit`: see `ClientFeatures`) talk to the MCP client that made
 * the call; for in-process calls they are no-ops, or throw for requests.
 */
export interface ToolContext extends ClientFeatures {
  /** Aborts at the call's deadline or when the client cancels. Pass it to every I/O call. */
  readonly signal: AbortSignal;
  readonly requestId: string;
  /** Who the call is for. Anonymous until an auth verifier is configured. */
  readonly principal: Principal;
  /** A child logger bound to this call (request id, tool). Goes to the server log only. */
  readonly log: Logger;
  /** Epoch milliseconds at which the call's deadline passes. */
  readonly deadline: number;
  /**
   * For idempotent write tools: a key derived from the caller's, stable across retries of
   * this operation and unique to it. Send it downstream (e.g. as `Idempotency-Key`) so a
   * backend deduplicates too.
   */
  readonly idempotencyKey: string | undefined;
  readonly tool: { readonly name: string; readonly version: string };
  /**
   * Makes one request to a backend so it is observed: a child trace span, `init.headers`
   * to send with it (W3C `traceparent`), `init.signal` (the call's), and an entry in the
   * call's audit event (name, status, ms). Return the fetch `Response` to record its status.
   */
  backendCall<T>(name: string, run: (init: BackendCallInit) => Promise<T> | T): Promise<T>;
  /**
   * A backend this tool declared in `backends`: bounded, retried when safe, behind a
   * circuit breaker, with this tool's least-privilege credential. Asking for a backend the
   * tool did not declare throws (a programming error, answered as `internal`).
   */
  backend(name: string): BackendClient;
}

/** A backend a tool uses, optionally narrowing the scopes its credential asks for. */
export type BackendUse = string | { readonly name: string; readonly scope?: readonly string[] };

declare const rawResultBrand: unique symbol;
/** A hand-built MCP result (e.g. image content), returned through `toolResult(...)`. */
export interface RawToolResult {
  readonly [rawResultBrand]: true;
  readonly result: CallToolResult;
}

export type JsonObject = Record<string, unknown>;

export type InferArgs<I> = I extends z.ZodType ? z.output<I> : JsonObject;
/**
 * What a handler may return: its output (validated against `output` when declared), a
 * `CallToolResult` as the SDK's examples build it (`{ content: [...] }`, `isError` for a
 * failure; passed through as it is), or `toolResult(...)`.
 */
export type InferReturn<O> = [O] extends [undefined]
  ? string | number | boolean | null | JsonObject | unknown[] | RawToolResult | CallToolResult
  : (O extends z.ZodType ? z.input<O> : JsonObject) | RawToolResult | CallToolResult;

export type ToolHandler<I, O> = (
  args: InferArgs<I>,
  ctx: ToolContext,
) => Promise<InferReturn<O>> | InferReturn<O>;

/** Annotations a tool author may set; `readOnlyHint` is derived from `sideEffect`. */
export type ToolAnnotationOptions = Pick<
  ToolAnnotations,
  "title" | "destructiveHint" | "idempotentHint" | "openWorldHint"
>;

export interface ToolSpec<I extends SchemaInput, O extends SchemaInput | undefined> {
  /** 1-128 characters: letters, digits, `_`, `-`, `.`. */
  name: string;
  /** The contract version (semver). Change it whenever the schema or description changes. */
  version: string;
  title?: string;
  /** Written for the model: what the tool does, when to use it, what the arguments mean. */
  description: string;
  input: I;
  output?: O;
  /** Scopes the caller's token must carry (least privilege). `[]` for none. */
  scopes: readonly string[];
  sideEffect: SideEffect;
  /** Deadline of one call in milliseconds (default: the server's, 30 000). */
  timeoutMs?: number;
  annotations?: ToolAnnotationOptions;
  /**
   * Write tools are idempotent by default: each call needs a key, results are persisted
   * and replayed. Tune it here, or `false` for a write that is naturally idempotent.
   */
  idempotency?: IdempotencyOptions | false;
  /** The server's backends this tool may call (`ctx.backend(name)`); none by default. */
  backends?: readonly BackendUse[];
  /** This tool's budgets, on top of the server's: `{ perPrincipal: "10/min", perTool: "600/min" }`. */
  rateLimit?: RateLimitOptions;
  /**
   * Marks the tool deprecated: it keeps working, its description gets a notice for the
   * model, tools/list carries it in `_meta["toolgate/deprecated"]`, and every call that runs
   * logs a warning. `since` is a version or ISO date; `removeAfter` an ISO date (YYYY-MM-DD).
   */
  deprecated?: Deprecation;
  handler: ToolHandler<I, O>;
}

/** A defined tool: immutable, schemas converted and compiled once. */
export interface ToolDefinition {
  readonly name: string;
  readonly version: string;
  readonly title: string | undefined;
  /** The description as published: with the deprecation notice appended, if deprecated. */
  readonly description: string;
  readonly scopes: readonly string[];
  readonly sideEffect: SideEffect;
  readonly timeoutMs: number | undefined;
  readonly annotations: Readonly<ToolAnnotations>;
  /** Idempotency settings; undefined for read tools and `idempotency: false`. */
  readonly idempotency: ResolvedIdempotency | undefined;
  /** Declared backends by name, with the scopes this tool asks for (undefined: the provider's). */
  readonly backends: ReadonlyMap<string, { readonly scope: readonly string[] | undefined }>;
  readonly rateLimit: ResolvedRateLimits | undefined;
  readonly inputSchema: Readonly<JsonSchema>;
  readonly outputSchema: Readonly<JsonSchema> | undefined;
  /** Set when the tool is deprecated (still callable; see `ToolSpec.deprecated`). */
  readonly deprecated: Deprecation | undefined;
  /** Validates (and for zod tools, parses) raw arguments. */
  readonly parseInput: (raw: unknown) => ValidationOutcome<unknown>;
  /** Validates structured output when an output schema is declared. */
  readonly checkOutput: ((value: unknown) => ValidationOutcome<unknown>) | undefined;
  readonly handler: (args: unknown, ctx: ToolContext) => unknown;
  /** More argument names (any depth) the audit log masks for this tool (gateway policy `redact`). */
  readonly redactKeys?: readonly string[];
}
