import { createHash } from "node:crypto";
import { rateLimited } from "../errors/tool-error.js";
import { requireDeadline, requireTool } from "../pipeline/stages/require-tool.js";
import type { Principal } from "../auth/principal.js";
import type { Stage } from "../pipeline/types.js";
import {
  resolveRateLimits,
  type Rate,
  type RateLimitOptions,
  type ResolvedRateLimits,
} from "../tool/rate-limit-options.js";
import { isRateLimitStore, type RateLimitOutcome, type RateLimitStore } from "./store.js";
import { TIMED_OUT, within } from "../util/deadline.js";
import { markStage } from "../pipeline/stage-roles.js";
import type { Logger } from "../log/logger.js";
import type { StoreLease } from "../idempotency/store.js";

/**
 * The longest a call waits for the budget store (and at most half the time left before
 * its deadline): past it the store counts as down and the call goes on uncounted (fail
 * open), so a hanging store cannot use up the call's deadline.
 */
const STORE_WAIT_MS = 1_000;

export interface RateLimitStageOptions {
  /**
   * Budgets for every call, `{ perPrincipal: "60/min", perTool: "600/min" }` (or resolved
   * with `resolveRateLimits`); tools add their own.
   */
  server?: RateLimitOptions | ResolvedRateLimits;
  /**
   * Where budgets are counted, or a function that opens it on first use. Default: the
   * SQLite default store, opened when a call first has a budget to count (shared by every
   * stage of this process built without a store).
   */
  store?: RateLimitStore | (() => Promise<RateLimitStore>);
  /** The clock (epoch ms) handed to the store. For tests. */
  now?: () => number;
}

/** At most one "store is failing" warning per stage per this many ms (real time). */
const WARN_EVERY_MS = 10_000;

/** Which budget a bucket counts; also the first part of its key, so kinds never collide. */
type BucketKind = "server/principal" | "server/tool" | "tool/principal" | "tool/tool";

interface Bucket {
  readonly kind: BucketKind;
  readonly rate: Rate;
  readonly key: string;
  /** The caller's own budget (consumed first), or one shared by all callers. */
  readonly perPrincipal: boolean;
}

/**
 * Budgets per caller and per tool (the server's and the tool's own), counted with GCRA in
 * the store so every process sharing the store shares them. A call over any budget is
 * refused with `rate_limited` and when to retry; nothing after this stage runs.
 *
 * The caller's own budgets are consumed first (together), the budgets shared by all
 * callers only if those allowed the call: a caller hammering past its own budget must not
 * use up a tool's shared budget with calls that are refused anyway. A refused call may
 * still have used a unit of another budget consumed with it (the store has no refund).
 *
 * `fallback` is the store used without `options.store`: the public `rateLimit()`
 * (stages/store-stages.ts) passes a lease on the default store, taken on first use and
 * given back in the stage's `close`. A store of the options is never closed here.
 */
export function makeRateLimitStage(
  options: RateLimitStageOptions = {},
  fallback?: StoreLease<RateLimitStore>,
): Stage {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("rateLimit expects an options object: { server?, store?, now? }.");
  }
  const given = options.store;
  if (given !== undefined && typeof given !== "function" && typeof given?.consume !== "function") {
    throw new TypeError(
      "rateLimit: store must be a RateLimitStore (every built-in store is one) or a function that opens one.",
    );
  }
  if (given === undefined && fallback === undefined) {
    throw new TypeError("rateLimit: pass a store (toolgate/pipeline's rateLimit() has one).");
  }
  if (options.now !== undefined && typeof options.now !== "function") {
    throw new TypeError("rateLimit: now must be a function returning epoch ms.");
  }
  const server = checkLimits(options.server);
  const now = options.now ?? Date.now;
  let opened: Promise<RateLimitStore> | undefined;
  const store = (log: Logger) =>
    (opened ??= (
      given === undefined
        ? openFallback(fallback!, log)
        : typeof given === "function"
          ? given()
          : Promise.resolve(given)
    ).catch((error: unknown) => {
      // A store that failed to open is tried again on a later call, not given up on.
      opened = undefined;
      throw error;
    }));
  let warnedAt = -Infinity;

  const stage: Stage = async function rateLimitStage(ctx, next) {
    const tool = requireTool(ctx, "rateLimit");
    const buckets = bucketsOf(ctx.principal, tool.name, server, tool.rateLimit);
    if (buckets.length === 0) return next();

    let worst: Refusal | undefined;
    const left = requireDeadline(ctx, "rateLimit") - Date.now();
    const waitUntil = Date.now() + Math.min(STORE_WAIT_MS, Math.max(0, left / 2));
    const inTime = async <T>(work: Promise<T>): Promise<T> => {
      const outcome = await within(work, waitUntil);
      if (outcome === TIMED_OUT) throw new Error("the rate-limit store did not answer in time");
      return outcome;
    };
    try {
      const s = await inTime(store(ctx.log));
      const at = now();
      const consume = async (phase: Bucket[]) =>
        worstOf(
          phase,
          await inTime(
            Promise.all(
              phase.map((b) =>
                s.consume({ key: b.key, limit: b.rate.limit, windowMs: b.rate.windowMs, now: at }),
              ),
            ),
          ),
        );
      worst = await consume(buckets.filter((b) => b.perPrincipal));
      if (!worst) worst = await consume(buckets.filter((b) => !b.perPrincipal));
    } catch (error) {
      // Fail OPEN, unlike idempotency (which fails closed): a limiter that is down must
      // not take every tool down with it, and letting calls through only loses the
      // budget for a while, whereas running a write twice cannot be undone. The outage
      // is logged (at most once per 10 s, not once per call) so it gets noticed.
      if (Date.now() - warnedAt >= WARN_EVERY_MS) {
        warnedAt = Date.now();
        ctx.log.warn(
          { err: error },
          "rate-limit store unavailable: calls are let through without counting budgets",
        );
      }
      return next();
    }

    if (worst) {
      throw rateLimited(refusal(worst.bucket, tool.name, worst.retryAfterMs), worst.retryAfterMs);
    }
    return next();
  };
  // A store given as an object is open from the start; an opener's, once it has run.
  const openedStore = () =>
    opened ?? (typeof given === "object" ? Promise.resolve(given) : undefined);
  const close = async () => {
    if (given !== undefined) return; // the user's store: theirs to close
    opened = undefined;
    await fallback?.release();
  };
  return markStage(stage, { role: "rateLimit", openedStore, close });
}

interface Refusal {
  readonly bucket: Bucket;
  /** Whole ms, at least 1. */
  readonly retryAfterMs: number;
}

/** The refusal with the longest wait, if any bucket refused. */
function worstOf(buckets: Bucket[], outcomes: RateLimitOutcome[]): Refusal | undefined {
  let worst: Refusal | undefined;
  outcomes.forEach((outcome, i) => {
    if (outcome.allowed) return;
    const retryAfterMs = Math.max(1, Math.ceil(outcome.retryAfterMs));
    if (!worst || retryAfterMs > worst.retryAfterMs) worst = { bucket: buckets[i]!, retryAfterMs };
  });
  return worst;
}

/** The applicable buckets of a call: the server's, then the tool's. */
function bucketsOf(
  principal: Principal,
  tool: string,
  server: ResolvedRateLimits | undefined,
  own: ResolvedRateLimits | undefined,
): Bucket[] {
  const { issuer, subject } = principal;
  const buckets: Bucket[] = [];
  const add = (kind: BucketKind, rate: Rate | undefined, parts: string[]) => {
    if (rate) {
      const perPrincipal = kind.endsWith("/principal");
      buckets.push({ kind, rate, key: keyOf(kind, parts), perPrincipal });
    }
  };
  add("server/principal", server?.perPrincipal, [issuer, subject]);
  add("server/tool", server?.perTool, [tool]);
  add("tool/principal", own?.perPrincipal, [tool, issuer, subject]);
  add("tool/tool", own?.perTool, [tool]);
  return buckets;
}

/**
 * `rl:` and 22 characters of base64url SHA-256 (132 bits) over the kind and the parts,
 * joined with NUL (which no issuer, subject or tool name contains): short, fixed-length,
 * and free of anything identifying in the store.
 */
export function keyOf(kind: string, parts: readonly string[]): string {
  const digest = createHash("sha256")
    .update([kind, ...parts].join("\u0000"))
    .digest("base64url");
  return `rl:${digest.slice(0, 22)}`;
}

/** What the model reads: which budget, and when to try again. */
function refusal(bucket: Bucket, tool: string, retryAfterMs: number): string {
  const budget = budgetText(bucket.rate);
  const retry = `Retry in ${retryText(retryAfterMs)}.`;
  switch (bucket.kind) {
    case "server/principal":
      return `You have used your budget of ${budget} to this server. ${retry}`;
    case "tool/principal":
      return `You have used your budget of ${budget} to ${tool}. ${retry}`;
    case "server/tool":
    case "tool/tool":
      return `The budget of ${budget} to ${tool}, shared by all callers, is used up. ${retry}`;
  }
}

/** "60/min calls", or "10 calls per 60000 ms" for a rate given as `{ limit, windowMs }`. */
function budgetText(rate: Rate): string {
  return /^\d+\/[a-z]+$/.test(rate.text)
    ? `${rate.text} calls`
    : `${rate.limit} calls per ${rate.windowMs} ms`;
}

function retryText(ms: number): string {
  return ms < 1_000 ? `${ms} ms` : `${Math.ceil(ms / 1_000)} s`;
}

/** The default store (SQLite) is a rate-limit store too, as every built-in store is. */
async function openFallback(fallback: StoreLease<RateLimitStore>, log: Logger) {
  const store = await fallback.open(log);
  if (!isRateLimitStore(store)) throw new Error("the default store cannot count rate limits");
  return store;
}

function checkLimits(
  given: RateLimitOptions | ResolvedRateLimits | undefined,
): ResolvedRateLimits | undefined {
  if (given === undefined) return undefined;
  // Budgets as written ("60/min") are resolved here; resolved ones are checked below.
  const resolved =
    typeof given === "object" &&
    given !== null &&
    [given.perPrincipal, given.perTool].every(
      (rate) => rate === undefined || (typeof rate === "object" && rate !== null && "text" in rate),
    );
  const limits = resolved
    ? (given as ResolvedRateLimits)
    : resolveRateLimits(given as RateLimitOptions, "rateLimit: server");
  if (limits === undefined) return undefined;
  const ok = (rate: unknown) =>
    rate === undefined ||
    (typeof rate === "object" &&
      rate !== null &&
      Number.isSafeInteger((rate as Rate).limit) &&
      (rate as Rate).limit >= 1 &&
      Number.isSafeInteger((rate as Rate).windowMs) &&
      (rate as Rate).windowMs >= 1 &&
      typeof (rate as Rate).text === "string");
  if (
    typeof limits !== "object" ||
    limits === null ||
    !ok(limits.perPrincipal) ||
    !ok(limits.perTool)
  ) {
    throw new TypeError(
      'rateLimit: server must be budgets such as { perPrincipal: "60/min", perTool: "600/min" }.',
    );
  }
  return limits.perPrincipal || limits.perTool ? limits : undefined;
}
