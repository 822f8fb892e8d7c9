// The client kit: retry-safe tool calls over the official SDK `Client`, for hosts and
// agent harnesses. One `call` is one logical operation: every attempt of it carries the
// same idempotency key, retries follow the error contract (or, for transport failures,
// only what is safe to repeat), and it ends with a typed result within one deadline.
import { randomUUID } from "node:crypto";
import type { CallToolRequest, CallToolResult, Tool } from "@modelcontextprotocol/client";
import { IDEMPOTENCY_ARGUMENT, IDEMPOTENCY_META_KEY } from "../idempotency/key.js";
import { classifyThrown, type ClassifiedFailure } from "./failure.js";
import { policyFrom, unlisted, type ToolCallPolicy } from "./policy.js";
import {
  errorOfResult,
  isReplay,
  valueOf,
  type ToolCallAttempt,
  type ToolCallError,
  type ToolCallFailure,
  type ToolCallResult,
} from "./result.js";
import { targetCalls, type SdkV2ClientTarget, type ToolClientTarget } from "./target.js";

export interface RetryOptions {
  /** `tools/call` requests per operation, the first one included. Default 4. */
  maxAttempts?: number;
  /** The first backoff step, doubled on each retry. Default 200 ms. */
  initialDelayMs?: number;
  /**
   * The cap of one backoff wait (full jitter: a random wait up to the step). A server's
   * `retryAfterMs` is honoured as given, bounded only by the operation's deadline.
   * Default 5 000 ms.
   */
  maxDelayMs?: number;
}

export interface ToolClientOptions {
  retry?: RetryOptions;
  /** The deadline of one operation: every attempt and every wait. Default 60 000 ms. */
  timeoutMs?: number;
  /**
   * How long one attempt may wait for its answer (never past the operation's deadline).
   * Past it, the attempt counts as a transport timeout (it may have been applied).
   * Default 30 000 ms.
   */
  attemptTimeoutMs?: number;
  /** Makes the idempotency key of a new operation. Default `crypto.randomUUID()`. */
  generateKey?: () => string;
  /**
   * Treat `idempotentHint: true` on another server's write tool as retry-safe. Default
   * false: annotations from a server you do not control are hints, not guarantees.
   */
  trustIdempotentHint?: boolean;
  /** The jitter source, a number in [0, 1). For tests. Default `Math.random`. */
  random?: () => number;
}

export interface ToolCallOptions {
  /**
   * The operation's idempotency key (1-255 printable ASCII characters). Pass the
   * `idempotencyKey` of an earlier result to resume that operation: the server replays
   * its result instead of applying it again. Default: a new key per `call`.
   */
  operationId?: string;
  /** Cancels the operation: the attempt in flight and any wait. */
  signal?: AbortSignal;
  /** This operation's deadline instead of the client's `timeoutMs`. */
  timeoutMs?: number;
  /** More `params._meta` for every attempt (e.g. `traceparent`). */
  meta?: Record<string, unknown>;
}

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

interface Settings {
  maxAttempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
  timeoutMs: number;
  attemptTimeoutMs: number;
  generateKey: () => string;
  trustIdempotentHint: boolean;
  random: () => number;
}

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

/**
 * The kit's verdict on a failure: `retryable` only when calling again cannot apply the
 * operation twice (a retry-safe call, or a failure that proves nothing ran).
 */
function settle(failure: ClassifiedFailure, policy: ToolCallPolicy): ToolCallError {
  const error = { ...failure.error };
  if (error.retryable && !policy.retrySafe && failure.applied !== "no") {
    error.retryable = false;
    error.applied = "unknown";
  }
  return error;
}

function cancelledFailure(signal: AbortSignal | undefined, what: string): ClassifiedFailure {
  const reason: unknown = signal?.reason;
  const why =
    reason instanceof Error ? reason.message : typeof reason === "string" ? reason : undefined;
  return {
    error: {
      type: "cancelled",
      message: `${what} was cancelled by the caller${why ? ` (${why})` : ""}; if it was already sent, it may or may not have taken effect.`,
      retryable: false,
      source: "client",
      applied: "unknown",
    },
    applied: "unknown",
    transient: false,
  };
}

function deadlineFailure(name: string, timeoutMs: number): ClassifiedFailure {
  return {
    error: {
      type: "timeout",
      message: `${name} did not finish within its deadline of ${timeoutMs} ms; it may or may not have taken effect.`,
      retryable: true,
      details: { cause: "DEADLINE" },
      source: "client",
      applied: "unknown",
    },
    applied: "unknown",
    // The operation's time is spent: no further attempt.
    transient: false,
  };
}

function clientError(message: string): ToolCallError {
  return { type: "invalid_input", message, retryable: false, source: "client", applied: "no" };
}

/**
 * A failed result: `rate_limited` is refused before anything runs; other errors may follow
 * a run. A replayed error (`_meta["toolgate/idempotent-replay"]`) is the stored answer of
 * this operation: the same key gets it again, so no retry can help, whatever the stored
 * error's `retryable` said (an older server stored retryable errors too).
 */
function failureOfResult(result: CallToolResult): ClassifiedFailure {
  const error = errorOfResult(result);
  const replayed = isReplay(result);
  if (replayed) error.retryable = false;
  return {
    error,
    applied: error.type === "rate_limited" && !replayed ? "no" : "unknown",
    transient: error.retryable,
  };
}

/** Exponential backoff with full jitter: a random wait up to min(maxDelay, initial * 2^(n-1)). */
function backoff(settings: Settings, retry: number): number {
  const step = Math.min(settings.maxDelayMs, settings.initialDelayMs * 2 ** (retry - 1));
  return Math.floor(settings.random() * step);
}

/** Waits `ms`; resolves true when `signal` aborted first. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (aborted: boolean) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      resolve(aborted);
    };
    const onAbort = () => done(true);
    const timer = setTimeout(() => done(false), ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function resolveSettings(options: ToolClientOptions): Settings {
  const retry = options.retry ?? {};
  const maxAttempts = retry.maxAttempts ?? 4;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new TypeError("createToolClient: retry.maxAttempts must be an integer >= 1.");
  }
  const initialDelayMs = retry.initialDelayMs ?? 200;
  if (!Number.isFinite(initialDelayMs) || initialDelayMs < 0) {
    throw new TypeError("createToolClient: retry.initialDelayMs must be a number >= 0.");
  }
  return {
    maxAttempts,
    initialDelayMs,
    maxDelayMs: positive(retry.maxDelayMs ?? 5_000, "retry.maxDelayMs"),
    timeoutMs: positive(options.timeoutMs ?? 60_000, "timeoutMs"),
    attemptTimeoutMs: positive(options.attemptTimeoutMs ?? 30_000, "attemptTimeoutMs"),
    generateKey: options.generateKey ?? randomUUID,
    trustIdempotentHint: options.trustIdempotentHint ?? false,
    random: options.random ?? Math.random,
  };
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new TypeError(`createToolClient: ${name} must be a positive number of milliseconds.`);
  }
  return value;
}
