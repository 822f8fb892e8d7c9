// The gateway's one handler: forward the validated call to its upstream and map what can
// go wrong onto the error contract (the rules, at-most-once for writes, are in
// upstream-outcome.ts). Reads are simple: cancel at the deadline, and any failure is
// retryable. Writes: a call that was never sent is released (retry with the same key);
// once sent, the gateway waits past the caller's deadline for the upstream's real answer
// (the idempotency stage stores it for retries), and if none comes within the claim's
// lease, what it answers depends on whether the upstream deduplicates by the key.
import type { Tool } from "@modelcontextprotocol/client";
import type { CallToolResult } from "@modelcontextprotocol/server";
import { maskSecretsInText } from "../audit/redact.js";
import { IDEMPOTENCY_META_KEY } from "../idempotency/key.js";
import { toolResult } from "../tool/result.js";
import type { RawToolResult, ToolContext, ToolDefinition } from "../tool/types.js";
import { isRecord } from "../util/is-record.js";
import { LazyAbort, signalSourceOf } from "../util/lazy-abort.js";
import {
  answerLost,
  forwardFailure,
  forwardResult,
  type ForwardSituation,
} from "./upstream-outcome.js";
import { claimLeaseMs } from "../idempotency/lease.js";
import type { UpstreamRuntime } from "./upstream-types.js";

// The late answer must be stored before the claim (claimLeaseMs, the idempotency stage's)
// can be taken over, so the wait ends a second earlier.
const SAVE_HEADROOM_MS = 1_000;
/** `_meta` key a toolgate server puts on each tool it lists. */
const SIDE_EFFECT_META_KEY = "toolgate/sideEffect";

export interface ForwardTarget {
  readonly upstream: UpstreamRuntime;
  /** The tool's tools/list entry at the upstream (its name is without the prefix). */
  readonly entry: Tool;
  /** The tool's effective deadline, ms (always set for gateway tools). */
  readonly timeoutMs: number;
}

export async function forward(
  target: ForwardTarget,
  tool: ToolDefinition,
  args: unknown,
  ctx: ToolContext,
): Promise<RawToolResult> {
  const upstream = target.upstream;
  const argumentsOf = isRecord(args) ? args : {};
  // A toolgate upstream deduplicates by it too; other servers ignore unknown _meta keys.
  const key = ctx.idempotencyKey;

  if (tool.sideEffect === "read" || !tool.idempotency) {
    // The handler's own cancellation (the deadline, the client going away), read without
    // creating its AbortSignal.
    const cancellation = signalSourceOf(ctx);
    const timeoutMs = Math.max(1, ctx.deadline - Date.now());
    try {
      const result = await upstream.call(
        key === undefined
          ? {
              name: target.entry.name,
              entry: target.entry,
              arguments: argumentsOf,
              principal: ctx.principal,
              cancellation,
              timeoutMs,
            }
          : {
              name: target.entry.name,
              entry: target.entry,
              arguments: argumentsOf,
              meta: { [IDEMPOTENCY_META_KEY]: key },
              principal: ctx.principal,
              cancellation,
              timeoutMs,
            },
      );
      return shape(target, tool, result);
    } catch (error) {
      if (cancellation.aborted) throw cancellation.reason;
      throw forwardFailure(error, situation(target, tool, false));
    }
  }

  // A write: once sent, wait for the real answer up to just before the claim could be
  // taken over, even after the caller was answered `timeout` at its deadline.
  const startedAt = ctx.deadline - target.timeoutMs;
  const leaseMs = claimLeaseMs(tool.idempotency, target.timeoutMs);
  const waitUntil = startedAt + leaseMs - SAVE_HEADROOM_MS;
  const late = new LazyAbort();
  const leaseTimer = setTimeout(
    () => late.abort(new DOMException("The claim's lease is ending.", "TimeoutError")),
    Math.max(1, waitUntil - Date.now()),
  );
  leaseTimer.unref();
  let result: CallToolResult;
  try {
    result = await upstream.call({
      name: target.entry.name,
      entry: target.entry,
      arguments: argumentsOf,
      ...(key === undefined ? {} : { meta: { [IDEMPOTENCY_META_KEY]: key } }),
      principal: ctx.principal,
      cancellation: late,
      timeoutMs: Math.max(1, waitUntil - Date.now()),
    });
  } catch (error) {
    const failure = forwardFailure(error, situation(target, tool, late.aborted));
    if (answerLost(error))
      ctx.log.warn(
        { reason: (error as Error).message, answered: failure.type },
        honoursIdempotencyKey(target)
          ? "write forwarded upstream got no answer: released, the upstream deduplicates a resend"
          : "write forwarded upstream got no answer: stored as outcome unknown, never resent",
      );
    throw failure;
  } finally {
    clearTimeout(leaseTimer);
  }
  return shape(target, tool, result);
}

/** An answered result as the model gets it (upstream-outcome.ts's forwardResult). */
function shape(target: ForwardTarget, tool: ToolDefinition, result: CallToolResult) {
  // The common case: not an error, passed through as it is (forwardResult changes errors only).
  if (result.isError !== true) return toolResult(result);
  return toolResult(
    forwardResult(result, {
      upstream: target.upstream.name,
      tool,
      honoursKey: honoursIdempotencyKey(target),
      redact: target.upstream.options.redactErrors !== false,
    }),
  );
}

function situation(
  target: ForwardTarget,
  tool: ToolDefinition,
  leaseEnded: boolean,
): ForwardSituation {
  const upstream = target.upstream;
  return {
    upstream: upstream.name,
    tool,
    timeoutMs: target.timeoutMs,
    honoursKey: honoursIdempotencyKey(target),
    leaseEnded,
    retryAfterMs: upstream.retryAfterMs(),
    mask: upstream.options.redactErrors === false ? (text) => text : maskSecretsInText,
  };
}

/**
 * Whether resending a write under the same derived key is safe: the config says so, or the
 * tool is a toolgate write tool that takes keys. A toolgate server lists each tool with
 * `_meta["toolgate/sideEffect"]`, and marks a write `idempotentHint: true` when it
 * deduplicates by `_meta["toolgate/idempotency-key"]` (the client kit reads it the same
 * way); a write with `idempotency: false` does not, and gets at-most-once.
 */
export function honoursIdempotencyKey(target: ForwardTarget): boolean {
  const configured = target.upstream.options.honoursIdempotencyKey;
  if (configured !== undefined) return configured;
  const meta: unknown = target.entry._meta;
  return (
    isRecord(meta) &&
    meta[SIDE_EFFECT_META_KEY] === "write" &&
    target.entry.annotations?.idempotentHint === true
  );
}
