// Checks shared by every store: a bad argument is a bug in the caller, so it throws a
// TypeError at once instead of reaching a database as NaN or a float.
import type { ClaimInput, CompleteInput } from "../idempotency/store.js";
import type { RateLimitInput } from "../ratelimit/store.js";

function requireText(what: string, value: unknown): void {
  if (typeof value !== "string" || value.length === 0) {
    throw new TypeError(`${what} must be a non-empty string`);
  }
}

/** Epoch ms and durations are stored as 64-bit integers (SQL BIGINT). */
function requireTime(what: string, value: unknown, min: number): void {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
    throw new TypeError(`${what} must be a safe integer >= ${min}, got ${String(value)}`);
  }
}

export function checkScope(scope: unknown): void {
  requireText("scope", scope);
}

export function checkNow(now: unknown): void {
  requireTime("now", now, 0);
}

export function checkClaim(input: ClaimInput): void {
  requireText("scope", input.scope);
  requireText("fingerprint", input.fingerprint);
  requireText("ownerToken", input.ownerToken);
  requireTime("now", input.now, 0);
  requireTime("leaseMs", input.leaseMs, 1);
  requireTime("retentionMs", input.retentionMs, 1);
  requireTime("now + retentionMs", input.now + Math.max(input.leaseMs, input.retentionMs), 0);
}

export function checkComplete(input: CompleteInput): void {
  requireText("scope", input.scope);
  requireText("ownerToken", input.ownerToken);
  if (typeof input.result !== "string") throw new TypeError("result must be a string");
  requireTime("now", input.now, 0);
  requireTime("retentionMs", input.retentionMs, 1);
  requireTime("now + retentionMs", input.now + input.retentionMs, 0);
}

export function checkRelease(scope: unknown, ownerToken: unknown): void {
  requireText("scope", scope);
  requireText("ownerToken", ownerToken);
}

// A rate-limit key: what the stage derives ("rl:" and a hash), or any caller's bucket name.
const RATE_KEY = /^[\x20-\x7E]{1,255}$/;
/** Limits keep every step of the GCRA in exact integers (SQL BIGINT, Lua doubles). */
const MAX_LIMIT = 2 ** 31 - 1;

export function checkRateLimit(input: RateLimitInput): void {
  if (typeof input !== "object" || input === null) {
    throw new TypeError("consume expects { key, limit, windowMs, now }");
  }
  if (typeof input.key !== "string" || !RATE_KEY.test(input.key)) {
    throw new TypeError("key must be 1-255 printable ASCII characters");
  }
  requireTime("limit", input.limit, 1);
  if (input.limit > MAX_LIMIT) {
    throw new TypeError(`limit must be at most ${MAX_LIMIT}, got ${input.limit}`);
  }
  requireTime("windowMs", input.windowMs, 1);
  requireTime("now", input.now, 0);
  requireTime("now + 2 * windowMs", input.now + 2 * input.windowMs, 0);
}
