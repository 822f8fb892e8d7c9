/**
 * One rate-limit decision, made atomically by the store (so several processes sharing
 * the store share budgets). The algorithm is GCRA (generic cell rate algorithm): each
 * key keeps one "theoretical arrival time" (TAT); a bucket allows `limit` calls at once
 * and then one call every `windowMs / limit` ms.
 *
 *   interval = windowMs / limit
 *   tat      = max(stored TAT or now, now)
 *   newTat   = tat + interval
 *   allowed  = newTat - now <= windowMs     (then store newTat; the key may expire at newTat)
 *   refused  -> retryAfterMs = newTat - windowMs - now (> 0), stored TAT unchanged
 *   remaining (when allowed) = floor((windowMs - (newTat - now)) / interval)
 */
export interface RateLimitInput {
  /** The bucket, e.g. a hash of principal and tool. At most 255 printable ASCII characters. */
  readonly key: string;
  /** Calls allowed per window (also the largest burst). Positive integer. */
  readonly limit: number;
  /** The window in ms. Positive integer. */
  readonly windowMs: number;
  /** The caller's clock, epoch ms (stores never read their own clock, so fake clocks work). */
  readonly now: number;
}

export type RateLimitOutcome =
  | { readonly allowed: true; readonly remaining: number }
  | { readonly allowed: false; readonly retryAfterMs: number };

/** Implemented by every built-in store (memory, SQLite, Redis, PostgreSQL). */
export interface RateLimitStore {
  consume(input: RateLimitInput): Promise<RateLimitOutcome>;
}

export function isRateLimitStore(value: unknown): value is RateLimitStore {
  return typeof (value as Partial<RateLimitStore> | null)?.consume === "function";
}
