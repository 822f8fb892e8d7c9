// The second half of the idempotency stage (the design page idempotency.md, rules 3-6):
// once a call holds the claim, run it once and persist its outcome before answering;
// keep the claim for a handler still running past the deadline, and store what it ends
// with; release the claim when the outcome is not one to replay.
import type { CallToolResult } from "@modelcontextprotocol/server";
import { toErrorResult } from "../errors/to-result.js";
import { isToolError, unavailable } from "../errors/tool-error.js";
import type { Logger } from "../log/logger.js";
import { lateOutcomeOf } from "../pipeline/late-outcome.js";
import type { ToolDefinition } from "../tool/types.js";
import { TIMED_OUT, within } from "../util/deadline.js";
import { isStoredErrorType, isStoredOutcome } from "./outcome-policy.js";
import type { IdempotencyStore } from "./store.js";

/** Only the call's logger is needed here. */
interface CallLog {
  readonly log: Logger;
}

// A store call always gets this long, even at or just past the deadline: the bound is for
// a store that hangs, not for one that answers in a millisecond a little late.
const MIN_STORE_WAIT_MS = 100;
export const storeWaitUntil = (deadlineAt: number) =>
  Math.max(deadlineAt, Date.now() + MIN_STORE_WAIT_MS);

export interface Ownership {
  scope: string;
  ownerToken: string;
  retentionMs: number;
  now: () => number;
  tool: ToolDefinition;
  /** Real time (epoch ms) at which the claim may be taken over: saving is pointless after. */
  leaseEndsAt: number;
  /** The call's deadline (epoch ms): the caller is answered by then, saved or not. */
  deadlineAt: number;
}

/** Runs the operation once and persists its outcome before answering (rules 3-6). */
export async function runOnce(
  ctx: CallLog,
  next: () => Promise<CallToolResult>,
  store: IdempotencyStore,
  own: Ownership,
) {
  let result: CallToolResult;
  try {
    result = await next();
  } catch (error) {
    if (isToolError(error) && isStoredErrorType(error.type)) {
      result = toErrorResult(error, { structured: own.tool.outputSchema === undefined });
    } else {
      const late = lateOutcomeOf(error);
      if (late) settleLater(ctx, late, store, own);
      else await release(ctx, store, own);
      throw error;
    }
  }
  // A result that reports a retryable or caller-dependent error (a handler's isError
  // result, an upstream's typed error) is answered as it is, and not stored (rule 5).
  if (!isStoredOutcome(result)) {
    await release(ctx, store, own);
    return result;
  }
  const serialized = JSON.stringify(result);
  const save = () =>
    store.complete({
      scope: own.scope,
      ownerToken: own.ownerToken,
      result: serialized,
      now: own.now(),
      retentionMs: own.retentionMs,
    });
  const saving = save();
  // A store that hangs must not hold the caller past the deadline: it is answered
  // `unavailable` then, and this save (or the retries after it) carries on, so a retry
  // with the same key replays the result once it lands.
  const outcome = await within(saving, storeWaitUntil(own.deadlineAt)).then(
    (value) => value,
    (error: unknown) => ({ error }),
  );
  if (outcome === TIMED_OUT) {
    ctx.log.warn("the idempotency store did not save a result by the deadline; still trying");
    // Resolving false means the claim is no longer ours: nothing left to save.
    void saving.then(
      () => undefined,
      () => keepSaving(ctx, save, own.leaseEndsAt),
    );
  } else if (typeof outcome === "object") {
    ctx.log.error(
      { err: outcome.error },
      "could not persist an idempotent result; retrying in the background",
    );
    // The store may be back in a moment: keep trying while the claim is ours, so a retry
    // with the same key replays this result instead of running the operation again.
    void keepSaving(ctx, save, own.leaseEndsAt);
  }
  const saved = outcome === true;
  // Never hand out a result a retry could not replay: the caller retries with the same key.
  if (!saved) {
    throw unavailable(
      `The result of ${own.tool.name} could not be saved. Retry with the same idempotency key.`,
      1000,
    );
  }
  return result;
}

/**
 * The caller already got `timeout`, but the handler is still running: keep the claim
 * until it settles, then store its real outcome, so a retry replays it instead of
 * doing the work twice (rule 6).
 */
function settleLater(
  ctx: CallLog,
  late: Promise<CallToolResult>,
  store: IdempotencyStore,
  own: Ownership,
) {
  const persist = (result: CallToolResult) =>
    store.complete({
      scope: own.scope,
      ownerToken: own.ownerToken,
      result: JSON.stringify(result),
      now: own.now(),
      retentionMs: own.retentionMs,
    });
  late
    .then(async (result) => {
      if (!isStoredOutcome(result)) return release(ctx, store, own);
      await persist(result);
    })
    .catch(async (error: unknown) => {
      if (isToolError(error) && isStoredErrorType(error.type))
        return void (await persist(
          toErrorResult(error, { structured: own.tool.outputSchema === undefined }),
        ));
      await release(ctx, store, own);
    })
    .catch((error: unknown) =>
      ctx.log.error({ err: error }, "could not settle a timed-out idempotent call"),
    );
}

/** Retries a failed save with backoff until it lands, ownership is lost, or the lease ends. */
async function keepSaving(ctx: CallLog, save: () => Promise<boolean>, leaseEndsAt: number) {
  for (let delay = 250; Date.now() + delay < leaseEndsAt; delay = Math.min(delay * 2, 5_000)) {
    await new Promise((resolve) => setTimeout(resolve, delay).unref());
    try {
      const saved = await save();
      if (saved) ctx.log.info("persisted an idempotent result after a store failure");
      return;
    } catch {
      // still down: try again after a longer pause
    }
  }
  ctx.log.warn("gave up persisting an idempotent result; a retry after the lease runs it again");
}

export async function release(
  ctx: CallLog,
  store: IdempotencyStore,
  own: Pick<Ownership, "scope" | "ownerToken">,
): Promise<void> {
  // Best effort: if this fails, the lease expires and a retry takes the claim over.
  await store.release(own.scope, own.ownerToken).catch((error: unknown) => {
    ctx.log.warn(
      { err: error },
      "could not release an idempotency claim; it frees itself when its lease ends",
    );
  });
}
