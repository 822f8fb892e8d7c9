// The public idempotency() and rateLimit() factories: the stages of idempotency/ and
// ratelimit/ with the default store as their fallback. The fallback is wired here, one
// layer above both the stages and stores/, because stores/ implements the interfaces those
// folders declare: a stage that opened SQLite itself would make the two folders import
// each other (test/unit/import-graph.test.ts checks the folders).
import { makeIdempotencyStage, type IdempotencyStageOptions } from "../idempotency/stage.js";
import type { Stage } from "../pipeline/types.js";
import { makeRateLimitStage, type RateLimitStageOptions } from "../ratelimit/stage.js";
import { leaseDefaultStore } from "../stores/default-store.js";

/**
 * Makes write tools retry-safe (the design page `idempotency.md`). Without `store`, the
 * records live in the default SQLite store, opened on first use and shared by every stage
 * of this process built without one; the server running the stage releases it on close.
 */
export function idempotency(options: IdempotencyStageOptions = {}): Stage {
  return makeIdempotencyStage(options, leaseDefaultStore());
}

/**
 * Budgets per caller and per tool, counted in the store. Without `store`, in the default
 * SQLite store, opened when a call first has a budget to count and shared like
 * idempotency()'s; the server running the stage releases it on close.
 */
export function rateLimit(options: RateLimitStageOptions = {}): Stage {
  return makeRateLimitStage(options, leaseDefaultStore());
}
