import { randomUUID } from "node:crypto";
import type { CallToolResult } from "@modelcontextprotocol/server";
import {
  ToolError,
  conflict,
  inProgress,
  invalidInput,
  isToolError,
  unavailable,
} from "../errors/tool-error.js";
import { requireDeadline, requireTool } from "../pipeline/stages/require-tool.js";
import { withState } from "../pipeline/context.js";
import type { CallContext, Stage } from "../pipeline/types.js";
import type { ToolDefinition } from "../tool/types.js";
import { REPLAY_META_KEY, derivedKeyOf, extractKey, fingerprintOf, scopeOf } from "./key.js";
import { IDEMPOTENCY_ARGUMENT, type ResolvedIdempotency } from "../tool/idempotency-options.js";
import { claimLeaseMs } from "./lease.js";
import { release, runOnce, storeWaitUntil } from "./persist-outcome.js";
import type { IdempotencyRecord, IdempotencyStore, StoreLease } from "./store.js";
import { TIMED_OUT, within } from "../util/deadline.js";
import { markStage } from "../pipeline/stage-roles.js";
import type { Logger } from "../log/logger.js";

export interface IdempotencyStageOptions {
  /**
   * The store, or a function that opens it on first use. Default: the SQLite default store
   * (`.toolgate/idempotency.sqlite`), opened on first use and shared by every stage of this
   * process built without a store.
   */
  store?: IdempotencyStore | (() => Promise<IdempotencyStore>);
  /** Moved to `resolveTool({ defaultTimeoutMs })`: leases and waits follow the call's deadline. */
  defaultTimeoutMs?: never;
  /** The clock (epoch ms). For tests. */
  now?: () => number;
  /** How often a duplicate call checks whether the running one has finished. Default 50 ms. */
  pollIntervalMs?: number;
}

/**
 * Makes write tools retry-safe (the design page `idempotency.md`): claim the key
 * atomically, run once, persist the result before answering, replay it to duplicates.
 * Every store failure fails closed: the handler does not run, the caller gets
 * `unavailable` and may retry with the same key.
 *
 * `fallback` is the store used without `options.store`: the public `idempotency()`
 * (stages/store-stages.ts) passes a lease on the default store, which this stage takes on
 * first use and gives back in its `close` (stage-roles). A store of the options is never
 * closed here.
 */
export function makeIdempotencyStage(
  options: IdempotencyStageOptions = {},
  fallback?: StoreLease<IdempotencyStore>,
): Stage {
  if (typeof options !== "object" || options === null)
    throw new TypeError("idempotency expects an options object: { store? }.");
  if ((options as { defaultTimeoutMs?: unknown }).defaultTimeoutMs !== undefined) {
    throw new TypeError(
      "idempotency: defaultTimeoutMs moved to resolveTool({ defaultTimeoutMs }) " +
        "(or defaultStages({ defaultTimeoutMs })): leases and waits follow the call's one deadline.",
    );
  }
  const now = options.now ?? Date.now;
  const pollMs = options.pollIntervalMs ?? 50;
  const given = options.store;
  if (given !== undefined && typeof given !== "function" && typeof given?.claim !== "function") {
    throw new TypeError(
      "idempotency: store must be an IdempotencyStore or a function that opens one.",
    );
  }
  if (given === undefined && fallback === undefined) {
    throw new TypeError("idempotency: pass a store (toolgate/pipeline's idempotency() has one).");
  }
  let opened: Promise<IdempotencyStore> | undefined;
  const store = (log: Logger) =>
    (opened ??= (
      given === undefined
        ? fallback!.open(log)
        : typeof given === "function"
          ? given()
          : Promise.resolve(given)
    ).catch((error: unknown) => {
      // A store that failed to open is tried again on the next call, not given up on.
      opened = undefined;
      throw error;
    }));

  const stage: Stage = async function idempotencyStage(ctx, next) {
    const tool = requireTool(ctx, "idempotency");
    const settings = tool.idempotency;
    if (!settings) return next();
    const key = keyOf(ctx, tool, settings);
    const scope = scopeOf(ctx.principal, tool.name, key);
    const fingerprint = fingerprintOf(ctx.args);
    const idempotencyKey = derivedKeyOf(scope);
    // Waiting is measured in real time (the `now` option only dates records).
    const deadlineAt = requireDeadline(ctx, "idempotency");
    const leaseMs = claimLeaseMs(settings, deadlineAt - ctx.startedAt);
    const waitUntil = Math.min(Date.now() + settings.waitMs, deadlineAt);
    const ownerToken = randomUUID();
    const s = await guard(store(ctx.log), "open", deadlineAt);

    for (;;) {
      const claiming = s.claim({
        scope,
        fingerprint,
        ownerToken,
        now: now(),
        leaseMs,
        // A running claim must outlive its lease, even with a short retention.
        retentionMs: Math.max(settings.retentionMs, leaseMs),
      });
      const claim = await guard(claiming, "claim", deadlineAt, () => {
        // The caller was told nothing ran; a claim that lands after all is given back.
        void claiming.then(
          (late) => (late.kind === "claimed" ? release(ctx, s, { scope, ownerToken }) : undefined),
          () => undefined,
        );
      });
      if (claim.kind === "claimed") {
        if (claim.takeover)
          ctx.log.warn("took over an idempotency claim whose lease had ended (its owner crashed?)");
        ctx.record.idempotency = "executed";
        return runOnce(ctx, () => next(withState(ctx, { idempotencyKey })), s, {
          scope,
          ownerToken,
          retentionMs: settings.retentionMs,
          now,
          tool,
          leaseEndsAt: Date.now() + leaseMs,
          deadlineAt,
        });
      }
      const { record } = claim;
      if (record.fingerprint !== fingerprint) {
        ctx.record.idempotency = "conflict";
        throw reusedKey(tool.name);
      }
      if (record.state === "completed") {
        ctx.record.idempotency = "replayed";
        return replay(record);
      }
      // The same operation is running elsewhere: wait for it (bounded), then replay.
      if (Date.now() + pollMs > waitUntil || ctx.signal.aborted) {
        ctx.record.idempotency = "in_progress";
        throw inProgress(
          `The same ${tool.name} operation is still running. Retry with the same key shortly to get its result.`,
          Math.max(pollMs, Math.min(1000, record.leaseExpiresAt - now())),
        );
      }
      await sleep(pollMs, ctx.signal);
    }
  };
  // A store given as an object is open from the start; an opener's, once it has run.
  const openedStore = () =>
    opened ?? (typeof given === "object" ? Promise.resolve(given) : undefined);
  const close = async () => {
    if (given !== undefined) return; // the user's store: theirs to close
    opened = undefined;
    await fallback?.release();
  };
  return markStage(stage, { role: "idempotency", openedStore, close });
}

function keyOf(ctx: CallContext, tool: ToolDefinition, settings: ResolvedIdempotency): string {
  const key = extractKey({ meta: ctx.meta, headers: ctx.headers, rawArguments: ctx.rawArguments });
  if (key !== undefined) return key;
  if (!settings.required) {
    ctx.log.warn(
      "write tool called without an idempotency key: generated one, so retries are not deduplicated",
    );
    return randomUUID();
  }
  const where = settings.argument
    ? `the '${IDEMPOTENCY_ARGUMENT}' argument`
    : `_meta["toolgate/idempotency-key"]`;
  throw invalidInput(
    `${tool.name} changes state, so it needs an idempotency key in ${where}: a new random value ` +
      "(e.g. a UUID) for a new operation, the same value when retrying one.",
    settings.argument
      ? [
          {
            path: `/${IDEMPOTENCY_ARGUMENT}`,
            message: "is required",
            expected: "a string of 1-255 printable ASCII characters",
          },
        ]
      : undefined,
  );
}

function replay(record: IdempotencyRecord): CallToolResult {
  const stored = JSON.parse(record.result ?? "null") as CallToolResult | null;
  if (!stored) throw new ToolError("internal", undefined, { incidentId: randomUUID() });
  return { ...stored, _meta: { ...stored._meta, [REPLAY_META_KEY]: true } };
}

function reusedKey(toolName: string): ToolError {
  return conflict(
    `This idempotency key was already used for a ${toolName} call with different arguments. ` +
      "Use a new key for a new operation, or resend the original arguments to get its result.",
  );
}

/**
 * Store trouble fails closed: nothing runs, and the caller may retry with the same key.
 * A store that does not answer by the call's deadline is trouble too (`onLate` then deals
 * with its answer, should it come).
 */
async function guard<T>(
  work: Promise<T>,
  step: string,
  deadlineAt: number,
  onLate?: () => void,
): Promise<T> {
  try {
    const outcome = await within(work, storeWaitUntil(deadlineAt));
    if (outcome !== TIMED_OUT) return outcome;
    onLate?.();
    throw unavailable(
      "The idempotency store did not answer within the call's deadline, so the operation was not started. Retry with the same key.",
      1000,
      { step },
    );
  } catch (error) {
    if (isToolError(error)) throw error;
    throw unavailable(
      "The idempotency store is unavailable, so the operation was not started. Retry with the same key.",
      1000,
      { step, error },
    );
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
