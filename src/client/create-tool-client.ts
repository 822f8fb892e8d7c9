// The client kit: retry-safe tool calls over the official SDK `Client`, for hosts and
// agent harnesses. One `call` is one logical operation: every attempt of it carries the
// same idempotency key, retries follow the error contract (or, for transport failures,
// only what is safe to repeat), and it ends with a typed result within one deadline.
import type { CallToolRequest, CallToolResult, Tool } from "@modelcontextprotocol/client";
import { IDEMPOTENCY_META_KEY } from "../idempotency/key.js";
import { IDEMPOTENCY_ARGUMENT } from "../tool/idempotency-options.js";
import {
  cancelledFailure,
  clientError,
  deadlineFailure,
  failureOfResult,
  settle,
} from "./call-failures.js";
import { classifyThrown } from "./failure.js";
import type { ClassifiedFailure } from "./failure-kinds.js";
import { policyFrom, unlisted, type ToolCallPolicy } from "./policy.js";
import {
  isReplay,
  valueOf,
  type ToolCallAttempt,
  type ToolCallError,
  type ToolCallFailure,
  type ToolCallResult,
} from "./result.js";
import { backoff, sleep } from "./retry-wait.js";
import { targetCalls, type SdkV2ClientTarget, type ToolClientTarget } from "./target.js";
import {
  positive,
  resolveSettings,
  type ToolCallOptions,
  type ToolClientOptions,
} from "./tool-client-options.js";

export interface ToolClient {
  /**
   * Calls a tool as one logical operation and returns a typed result; it never throws
   * for a failed call. See `ToolCallResult`.
   */
  call<T = unknown>(
    name: string,
    args?: Record<string, unknown>,
    options?: ToolCallOptions,
  ): Promise<ToolCallResult<T>>;
  /** The server's tools (cached; `refresh: true` asks again); rejects when they cannot be read. */
  listTools(options?: { refresh?: boolean; signal?: AbortSignal }): Promise<Tool[]>;
  /** How `call` treats the tool (lists the tools first when needed). */
  policyOf(name: string, options?: { signal?: AbortSignal }): Promise<ToolCallPolicy>;
  /** Forgets the cached tool list (e.g. on `notifications/tools/list_changed`). */
  invalidate(): void;
  readonly client: ToolClientTarget;
}

const KEY_FORMAT = /^[\x20-\x7E]{1,255}$/;

// The first overload types a target written inline (`callTool(params, options)`, as v2's);
// the second takes a `Client` of either SDK.
/**
 * Wraps an SDK `Client` (v2 `@modelcontextprotocol/client` or v1
 * `@modelcontextprotocol/sdk`; connected, or connected later) in retry-safe tool calls:
 *
 * ```ts
 * const tools = createToolClient(client, { retry: { maxAttempts: 4, maxDelayMs: 2_000 } });
 * const refund = await tools.call("issue_refund", { order_id, amount_cents, reason });
 * if (!refund.ok) return errorForModel("issue_refund", refund.error);
 * ```
 */
export function createToolClient(
  client: SdkV2ClientTarget,
  options?: ToolClientOptions,
): ToolClient;
export function createToolClient(client: ToolClientTarget, options?: ToolClientOptions): ToolClient;
export function createToolClient(
  client: ToolClientTarget,
  options: ToolClientOptions = {},
): ToolClient {
  const settings = resolveSettings(options);
  const calls = targetCalls(client);
  let cache: Map<string, Tool> | undefined;

  async function fetchListing(
    signal: AbortSignal | undefined,
    deadline: number,
  ): Promise<Map<string, Tool> | ClassifiedFailure> {
    for (let attempt = 1; ; attempt++) {
      const remaining = deadline - Date.now();
      try {
        const tools = await calls.listTools({
          timeout: Math.max(1, Math.min(settings.attemptTimeoutMs, remaining)),
          ...(signal ? { signal } : {}),
        });
        cache = new Map(tools.map((tool) => [tool.name, tool]));
        return cache;
      } catch (thrown) {
        const failure = classifyThrown(thrown, "tools/list");
        if (signal?.aborted) return cancelledFailure(signal, "tools/list");
        if (!failure.transient || attempt >= settings.maxAttempts) return failure;
        const wait = failure.error.retryAfterMs ?? backoff(settings, attempt);
        if (Date.now() + wait >= deadline) return failure;
        if (await sleep(wait, signal)) return cancelledFailure(signal, "tools/list");
      }
    }
  }

  /** The tool's policy; lists the tools when they are not cached or do not name it. */
  async function resolvePolicy(
    name: string,
    signal: AbortSignal | undefined,
    deadline: number,
  ): Promise<{ policy: ToolCallPolicy; fromCache: boolean } | ClassifiedFailure> {
    const cached = cache?.get(name);
    if (cached) return { policy: policyFrom(cached, settings), fromCache: true };
    const listing = await fetchListing(signal, deadline);
    if (!(listing instanceof Map)) {
      // A server that cannot list (no tools capability, a JSON-RPC refusal) still gets the
      // call, treated as an unlisted tool. A listing that failed on the way, or whose
      // credentials were refused (HTTP 401/403, a failing token source: the call would be
      // refused too, and a token refresh would be asked for twice), is the call's failure.
      const refusedCredentials =
        listing.error.source !== "protocol" &&
        (listing.error.type === "unauthenticated" || listing.error.type === "forbidden");
      if (listing.transient || listing.error.type === "cancelled" || refusedCredentials) {
        return listing;
      }
      return { policy: unlisted(name), fromCache: false };
    }
    const tool = listing.get(name);
    return { policy: tool ? policyFrom(tool, settings) : unlisted(name), fromCache: false };
  }

  async function call<T>(
    name: string,
    args: Record<string, unknown> = {},
    callOptions: ToolCallOptions = {},
  ): Promise<ToolCallResult<T>> {
    const { signal, operationId } = callOptions;
    const timeoutMs = positive(callOptions.timeoutMs ?? settings.timeoutMs, "timeoutMs");
    const deadline = Date.now() + timeoutMs;
    const attempts: ToolCallAttempt[] = [];
    let key: string | undefined;
    const fail = (error: ToolCallError, result?: CallToolResult): ToolCallFailure => ({
      ok: false,
      error,
      replayed: result !== undefined && isReplay(result),
      ...(result ? { result } : {}),
      ...(key === undefined ? {} : { idempotencyKey: key }),
      attempts,
    });

    if (signal?.aborted) return fail(cancelledFailure(signal, name).error);
    if (operationId !== undefined && !KEY_FORMAT.test(operationId)) {
      return fail(
        clientError(
          "operationId must be 1-255 printable ASCII characters (it is sent as the idempotency key).",
        ),
      );
    }
    const resolved = await resolvePolicy(name, signal, deadline);
    if (!("policy" in resolved)) {
      // The tool list could not be read: the call was not sent.
      return fail({ ...resolved.error, applied: "no" });
    }
    const { policy, fromCache } = resolved;

    // One key per logical operation, the same on every attempt. A tool the list does not
    // name (e.g. one this token may not see yet) gets the key only when the caller named
    // the operation, so that operation can be resumed once the user grants access.
    let sentArgs = args;
    if (policy.sendsKey || (!policy.listed && operationId !== undefined)) {
      const fromArgs = args[IDEMPOTENCY_ARGUMENT];
      const argKey = typeof fromArgs === "string" ? fromArgs : undefined;
      if (operationId !== undefined && argKey !== undefined && argKey !== operationId) {
        return fail(
          clientError(
            `operationId and the ${IDEMPOTENCY_ARGUMENT} argument name two different keys; send one key per operation.`,
          ),
        );
      }
      key = operationId ?? argKey ?? settings.generateKey();
      if (policy.keyArgument) sentArgs = { ...args, [IDEMPOTENCY_ARGUMENT]: key };
    }
    const meta: Record<string, unknown> = { ...callOptions.meta };
    if (key !== undefined) meta[IDEMPOTENCY_META_KEY] = key;
    const params = {
      name,
      arguments: sentArgs,
      ...(Object.keys(meta).length > 0 ? { _meta: meta } : {}),
    };

    for (let retries = 0; ;) {
      if (!calls.connected()) {
        return fail(settle(classifyThrown(new Error("Not connected"), name), policy));
      }
      const startedAt = Date.now();
      const attempt: ToolCallAttempt = { startedAt, durationMs: 0 };
      if (key !== undefined) attempt.idempotencyKey = key;
      attempts.push(attempt);

      const outcome = await attemptCall(params, signal, deadline, timeoutMs);
      attempt.durationMs = Date.now() - startedAt;
      if ("result" in outcome && outcome.result.isError !== true) {
        const { result } = outcome;
        return {
          ok: true,
          value: valueOf(result) as T,
          replayed: isReplay(result),
          result,
          ...(key === undefined ? {} : { idempotencyKey: key }),
          attempts,
        };
      }
      const failure = "result" in outcome ? failureOfResult(outcome.result) : outcome;
      const result = "result" in outcome ? outcome.result : undefined;
      const error = (attempt.error = settle(failure, policy));
      if (fromCache && error.source === "protocol") cache = undefined; // the list may be stale

      const retryAllowed = failure.transient && (policy.retrySafe || failure.applied === "no");
      if (!retryAllowed || attempts.length >= settings.maxAttempts) return fail(error, result);
      const wait = error.retryAfterMs ?? backoff(settings, ++retries);
      // A wait that would pass the deadline is not started: the last error is the answer.
      if (Date.now() + wait >= deadline) return fail(error, result);
      if (await sleep(wait, signal)) return fail(cancelledFailure(signal, name).error, result);
    }
  }

  /** One `tools/call` request, bounded by the attempt timeout and the operation's deadline. */
  async function attemptCall(
    params: CallToolRequest["params"],
    signal: AbortSignal | undefined,
    deadline: number,
    timeoutMs: number,
  ): Promise<{ result: CallToolResult } | ClassifiedFailure> {
    const remaining = deadline - Date.now();
    try {
      const result = await calls.callTool(params, {
        timeout: Math.max(1, Math.min(settings.attemptTimeoutMs, remaining)),
        ...(signal ? { signal } : {}),
      });
      return { result };
    } catch (thrown) {
      if (signal?.aborted) return cancelledFailure(signal, params.name);
      if (Date.now() >= deadline - 1) return deadlineFailure(params.name, timeoutMs);
      return classifyThrown(thrown, params.name);
    }
  }

  return {
    client,
    call,
    async listTools({ refresh = false, signal } = {}) {
      if (cache && !refresh) return [...cache.values()];
      const listing = await fetchListing(signal, Date.now() + settings.timeoutMs);
      if (!(listing instanceof Map)) throw new Error(listing.error.message);
      return [...listing.values()];
    },
    async policyOf(name, { signal } = {}) {
      const resolved = await resolvePolicy(name, signal, Date.now() + settings.timeoutMs);
      if (!("policy" in resolved)) throw new Error(resolved.error.message);
      return resolved.policy;
    },
    invalidate() {
      cache = undefined;
    },
  };
}
