// The gateway's one handler: forward the validated call to its upstream and map what can
// go wrong onto the error contract. Reads are simple: cancel at the deadline, and any
// failure is retryable. Writes decide at-most-once: a call that was never sent is released
// (`unavailable`, retry with the same key), but once sent, the gateway never sends that
// operation again. It waits past the caller's deadline for the upstream's real answer
// (the idempotency stage stores it for retries), and if the answer never comes the stored
// outcome is "unknown": a `conflict` a retry with the same key replays.
import type { Tool } from "@modelcontextprotocol/client";
import type { CallToolResult } from "@modelcontextprotocol/server";
import {
  ToolError,
  conflict,
  invalidInput,
  notFound,
  timeout,
  unavailable,
} from "../errors/tool-error.js";
import { IDEMPOTENCY_META_KEY } from "../idempotency/key.js";
import { toolResult } from "../tool/result.js";
import type { RawToolResult, ToolContext, ToolDefinition } from "../tool/types.js";
import { isRecord } from "../util/is-record.js";
import {
  UpstreamLost,
  UpstreamNotSent,
  UpstreamProtocolError,
  isUpstreamTimeout,
  type UpstreamRuntime,
} from "./upstream.js";

// A claim outlives the deadline by this margin (idempotency stage); the late answer must
// be stored before the claim can be taken over, so the wait ends a second earlier.
const LEASE_MARGIN_MS = 5_000;
const SAVE_HEADROOM_MS = 1_000;

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
  const meta: Record<string, unknown> = {};
  // A toolgate upstream deduplicates by it too; other servers ignore unknown _meta keys.
  if (ctx.idempotencyKey !== undefined) meta[IDEMPOTENCY_META_KEY] = ctx.idempotencyKey;
  const call = {
    name: target.entry.name,
    entry: target.entry,
    arguments: isRecord(args) ? args : {},
    ...(Object.keys(meta).length > 0 ? { meta } : {}),
    principal: ctx.principal,
  };
  if (tool.sideEffect === "read" || !tool.idempotency) {
    try {
      const result = await target.upstream.call({
        ...call,
        signal: ctx.signal,
        timeoutMs: Math.max(1, ctx.deadline - Date.now()),
      });
      return toolResult(result);
    } catch (error) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      throw readFailure(error, target, tool);
    }
  }

  // A write: once sent, wait for the real answer up to just before the claim could be
  // taken over, even after the caller was answered `timeout` at its deadline.
  const startedAt = ctx.deadline - target.timeoutMs;
  const leaseMs = Math.max(tool.idempotency.leaseMs, target.timeoutMs + LEASE_MARGIN_MS);
  const waitUntil = startedAt + leaseMs - SAVE_HEADROOM_MS;
  const late = AbortSignal.timeout(Math.max(1, waitUntil - Date.now()));
  let result: CallToolResult;
  try {
    result = await target.upstream.call({
      ...call,
      signal: late,
      timeoutMs: Math.max(1, waitUntil - Date.now()),
    });
  } catch (error) {
    // Thrown before anything was sent: the upstream credential could not be had.
    if (error instanceof ToolError) throw error;
    if (error instanceof UpstreamNotSent) {
      throw unavailable(notSentMessage(target, error), error.retryAfterMs, error);
    }
    if (error instanceof UpstreamProtocolError) throw protocolFailure(error, target, tool);
    ctx.log.warn(
      { reason: (error as Error).message },
      "write forwarded upstream got no answer: stored as outcome unknown, never resent",
    );
    throw outcomeUnknown(target, tool, error);
  }
  return toolResult(result);
}

function notSentMessage(target: ForwardTarget, error: UpstreamNotSent): string {
  return `${error.message} Nothing was sent to it; retry with the same arguments shortly.`;
}

function readFailure(error: unknown, target: ForwardTarget, tool: ToolDefinition): ToolError {
  if (error instanceof ToolError) return error; // from the upstream credential
  if (error instanceof UpstreamNotSent)
    return unavailable(notSentMessage(target, error), error.retryAfterMs, error);
  if (error instanceof UpstreamProtocolError) return protocolFailure(error, target, tool);
  if (isUpstreamTimeout(error)) {
    return timeout(
      `${tool.name} did not answer within ${target.timeoutMs} ms. It is safe to retry.`,
    );
  }
  const name = target.upstream.name;
  return unavailable(
    error instanceof UpstreamLost
      ? `The upstream server '${name}' stopped before it answered. It is safe to retry shortly.`
      : `The upstream server '${name}' could not be reached. Retry shortly.`,
    Math.max(500, target.upstream.retryAfterMs()),
    error,
  );
}

/**
 * The upstream answered with a JSON-RPC error: it refused the request rather than
 * running it. Its message is the upstream's, meant for clients; it is kept short.
 */
function protocolFailure(
  error: UpstreamProtocolError,
  target: ForwardTarget,
  tool: ToolDefinition,
): ToolError {
  const said = error.message.slice(0, 300);
  if (error.code === -32602) {
    return invalidInput(
      `The upstream server '${target.upstream.name}' refused the arguments: ${said}`,
    );
  }
  if (error.code === -32601) {
    return notFound(
      `The upstream server '${target.upstream.name}' no longer offers ${tool.name}. List the tools again.`,
    );
  }
  return new ToolError("internal", undefined, { cause: error });
}

function outcomeUnknown(target: ForwardTarget, tool: ToolDefinition, error: unknown): ToolError {
  const how =
    error instanceof UpstreamLost ? "stopped before it answered" : "did not answer in time";
  return conflict(
    `The upstream server '${target.upstream.name}' ${how} ${tool.name}, so whether it took ` +
      "effect is unknown. toolgate will not send this operation again under the same " +
      "idempotency key: check whether it happened (e.g. with a read tool) before starting a " +
      "new operation with a new key.",
    { reason: "outcome_unknown", upstream: target.upstream.name },
  );
}
