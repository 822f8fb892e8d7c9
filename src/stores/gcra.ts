// The GCRA of src/ratelimit/store.ts in exact integer arithmetic, shared by every store
// (memory and the refusal path of the SQL stores run it here; the SQL upsert and the
// Redis script are the same steps, line for line).
//
// `interval = windowMs / limit` is often not a whole number of ms (60 000 / 7), and
// floats would make "a burst of exactly `limit`" depend on rounding. So a TAT is kept
// as a whole ms `tat` plus a remainder `rem` in [0, limit): TAT = tat + rem / limit ms.
// Adding the interval is then `rem + windowMs` split into whole ms and a new remainder,
// and every comparison is exact. (A key whose limit changed keeps its whole ms and a
// remainder clamped below the new limit: off by less than 1 ms.)
import type { RateLimitInput, RateLimitOutcome } from "../ratelimit/store.js";

/** A stored TAT: `tat + rem / limit` epoch ms. */
export interface GcraState {
  readonly tat: number;
  readonly rem: number;
}

/** One step: the new TAT (stored only when allowed) and whether the call is allowed. */
export interface GcraStep extends GcraState {
  readonly allowed: boolean;
}

/** The TAT a key gets when it has no row (or an expired one): always allowed. */
export function gcraFirst(input: RateLimitInput): GcraStep {
  return gcraStep(undefined, input);
}

/** `tat = max(stored, now)`, `newTat = tat + interval`, `allowed = newTat - now <= windowMs`. */
export function gcraStep(stored: GcraState | undefined, input: RateLimitInput): GcraStep {
  const { now, limit, windowMs } = input;
  const live = stored !== undefined && stored.tat >= now;
  const tat = live ? stored.tat : now;
  const rem = live ? Math.min(stored.rem, limit - 1) : 0;
  const sum = rem + windowMs;
  const newRem = sum % limit; // exact for integers below 2^53
  const newTat = tat + (sum - newRem) / limit;
  const ahead = newTat - now;
  return {
    allowed: ahead < windowMs || (ahead === windowMs && newRem === 0),
    tat: newTat,
    rem: newRem,
  };
}

/** When a key's row may be deleted: the TAT rounded up to whole ms. */
export function gcraExpiresAt(state: GcraState): number {
  return state.rem > 0 ? state.tat + 1 : state.tat;
}

/** The outcome of a step (`state` is the new TAT whether or not it was stored). */
export function gcraOutcome(input: RateLimitInput, step: GcraStep): RateLimitOutcome {
  const { now, limit, windowMs } = input;
  const ahead = step.tat - now; // newTat - now = ahead + rem / limit
  if (step.allowed) {
    // floor((windowMs - (newTat - now)) / interval) = floor(((windowMs - ahead) * limit - rem) / windowMs)
    const slack = BigInt(windowMs - ahead) * BigInt(limit) - BigInt(step.rem);
    return { allowed: true, remaining: Number(slack / BigInt(windowMs)) };
  }
  // newTat - windowMs - now with one rounding (the numerator is below windowMs + limit
  // unless the caller's clock went back a long way).
  const late = (ahead - windowMs) * limit + step.rem;
  const retryAfterMs = Number.isSafeInteger(late)
    ? late / limit
    : ahead - windowMs + step.rem / limit;
  return { allowed: false, retryAfterMs };
}
