// The operations behind resources/read, prompts/get and completion/complete, as the
// pipeline's stages see them. The architecture page: every way in is an adapter that runs
// the one composed pipeline, so a resource read is authorized, bounded by its one deadline,
// error-mapped and audited by the same stages as a tool call. Stages work on a
// ToolDefinition; an operation is one, with what a read means for each stage: scopes for
// authorize, `timeoutMs` for resolveTool, `parseInput` for validateInput, `sideEffect:
// "read"` and no idempotency, output schema or own budgets (so idempotency, validateOutput
// and the per-tool rateLimit buckets pass it through; the server's budgets still count it).
import type { ValidationOutcome } from "../validation/validator.js";
import { toolResult } from "./result.js";
import type { ToolContext, ToolDefinition } from "./types.js";

export interface OperationSpec {
  /**
   * Unique among the server's operations and never a tool's name (tool names have no ':'):
   * "resource:test://x", "prompt:review". It is the audit event's `tool` and the metrics label.
   */
  readonly name: string;
  readonly scopes: readonly string[];
  readonly timeoutMs: number | undefined;
  /** Checks the request's parameters (validateInput runs it): the handler's args, or what is wrong. */
  readonly parseInput: (raw: unknown) => ValidationOutcome<unknown>;
  /**
   * Runs the definition's function and returns its answer in its wire shape (resource
   * contents, prompt messages, completion values): that becomes the result's
   * `structuredContent`, which the adapter returns as is (no JSON round trip).
   */
  readonly run: (
    args: unknown,
    ctx: ToolContext,
  ) => Record<string, unknown> | Promise<Record<string, unknown>>;
}

const NO_BACKENDS: ToolDefinition["backends"] = new Map();
const ANY_OBJECT = Object.freeze({ type: "object" });

/** An operation as a ToolDefinition the stages can run. Not listed by tools/list. */
export function defineOperation(spec: OperationSpec): ToolDefinition {
  const wrap = (value: Record<string, unknown>) =>
    toolResult({ content: [], structuredContent: value });
  return Object.freeze({
    name: spec.name,
    // Resources and prompts have no contract version of their own.
    version: "",
    title: undefined,
    description: "",
    scopes: spec.scopes,
    sideEffect: "read",
    timeoutMs: spec.timeoutMs,
    annotations: Object.freeze({ readOnlyHint: true }),
    idempotency: undefined,
    backends: NO_BACKENDS,
    rateLimit: undefined,
    inputSchema: ANY_OBJECT,
    outputSchema: undefined,
    deprecated: undefined,
    parseInput: spec.parseInput,
    checkOutput: undefined,
    handler: (args: unknown, ctx: ToolContext) => thenMap(spec.run(args, ctx), wrap),
  } satisfies ToolDefinition);
}

/**
 * `map` applied to a value or to what a promise of it resolves to. A synchronous answer
 * stays synchronous: execute then needs no timer or race for it.
 */
export function thenMap<T, U>(value: T | PromiseLike<T>, map: (value: T) => U): U | Promise<U> {
  const thenable =
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function";
  return thenable ? Promise.resolve(value).then(map) : map(value as T);
}
