import type { IdempotencyStore } from "../idempotency/store.js";
import type { RateLimitStore } from "../ratelimit/store.js";

/**
 * What every built-in store is (memory, SQLite, Redis, PostgreSQL): idempotency records
 * and rate-limit buckets side by side, so one store serves both stages.
 */
export type ToolgateStore = IdempotencyStore & RateLimitStore;
