import type { ResolvedIdempotency } from "../tool/idempotency-options.js";

// A claim outlives the call's deadline by this margin, so a handler (or an upstream) that
// answers right at the deadline can still persist its result before the claim may be
// taken over by a retry.
const LEASE_MARGIN_MS = 5_000;

/** How long a claim is held: the tool's lease, and at least its deadline plus the margin. */
export function claimLeaseMs(settings: ResolvedIdempotency, timeoutMs: number): number {
  return Math.max(settings.leaseMs, timeoutMs + LEASE_MARGIN_MS);
}
