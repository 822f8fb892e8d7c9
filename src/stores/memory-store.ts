// The in-process store: tests and single-process development only. State lives in a Map
// and is lost on exit; several processes do not share it. Same semantics as the other
// stores (it passes the same contract suites), so it is the one to read first.
import {
  StoreUnavailable,
  type ClaimInput,
  type ClaimOutcome,
  type CompleteInput,
  type IdempotencyRecord,
} from "../idempotency/store.js";
import type { RateLimitInput, RateLimitOutcome } from "../ratelimit/store.js";
import { gcraExpiresAt, gcraOutcome, gcraStep, type GcraState } from "./gcra.js";
import {
  checkClaim,
  checkComplete,
  checkNow,
  checkRateLimit,
  checkRelease,
  checkScope,
} from "./store-input.js";
import type { ToolgateStore } from "./store-types.js";

type MutableRecord = { -readonly [K in keyof IdempotencyRecord]: IdempotencyRecord[K] };

/** A record past retention (`expiresAt <= now`) no longer exists for toolgate. */
function isLive(record: IdempotencyRecord, now: number): boolean {
  return record.expiresAt > now;
}

function snapshot(record: IdempotencyRecord): IdempotencyRecord {
  return Object.freeze({ ...record });
}

/** Runs `fn` now; its result, or what it throws, settles the returned promise. */
function settle<T>(fn: () => T): Promise<T> {
  return new Promise((resolve) => resolve(fn()));
}

export function memoryStore(): ToolgateStore {
  const records = new Map<string, MutableRecord>();
  /** Rate-limit TATs by key; a bucket whose `expiresAt <= now` is as good as absent. */
  const buckets = new Map<string, GcraState & { expiresAt: number }>();
  let closed = false;

  function assertOpen(): void {
    if (closed) throw new StoreUnavailable("the memory idempotency store is closed");
  }

  // Each operation reads and writes with no `await` in between, so it is atomic on the
  // event loop, like one conditional write in a database.
  function claim(input: ClaimInput): ClaimOutcome {
    checkClaim(input);
    assertOpen();
    const { scope, fingerprint, ownerToken, now } = input;
    const current = records.get(scope);
    let takeover = false;
    if (current && isLive(current, now)) {
      const leaseEnded =
        current.state === "in_progress" &&
        current.leaseExpiresAt <= now &&
        current.fingerprint === fingerprint;
      if (!leaseEnded) return { kind: "existing", record: snapshot(current) };
      takeover = true;
    }
    records.set(scope, {
      state: "in_progress",
      fingerprint,
      ownerToken,
      leaseExpiresAt: now + input.leaseMs,
      expiresAt: now + input.retentionMs,
      createdAt: now,
    });
    return { kind: "claimed", takeover };
  }

  function get(scope: string, now: number): IdempotencyRecord | undefined {
    checkScope(scope);
    checkNow(now);
    assertOpen();
    const current = records.get(scope);
    return current && isLive(current, now) ? snapshot(current) : undefined;
  }

  function complete(input: CompleteInput): boolean {
    checkComplete(input);
    assertOpen();
    const current = records.get(input.scope);
    if (
      current?.state !== "in_progress" ||
      current.ownerToken !== input.ownerToken ||
      !isLive(current, input.now)
    ) {
      return false;
    }
    current.state = "completed";
    current.result = input.result;
    current.completedAt = input.now;
    current.expiresAt = input.now + input.retentionMs;
    return true;
  }

  function release(scope: string, ownerToken: string): boolean {
    checkRelease(scope, ownerToken);
    assertOpen();
    const current = records.get(scope);
    if (current?.state !== "in_progress" || current.ownerToken !== ownerToken) return false;
    records.delete(scope);
    return true;
  }

  function consume(input: RateLimitInput): RateLimitOutcome {
    checkRateLimit(input);
    assertOpen();
    const step = gcraStep(buckets.get(input.key), input);
    if (step.allowed) {
      buckets.set(input.key, { tat: step.tat, rem: step.rem, expiresAt: gcraExpiresAt(step) });
    }
    return gcraOutcome(input, step);
  }

  function sweepBuckets(now: number): number {
    let removed = 0;
    for (const [key, bucket] of buckets) {
      if (bucket.expiresAt <= now) {
        buckets.delete(key);
        removed += 1;
      }
    }
    return removed;
  }

  /** Removes records past retention and rate-limit buckets past their TAT; counts both. */
  function sweep(now: number): number {
    checkNow(now);
    assertOpen();
    let removed = 0;
    for (const [scope, record] of records) {
      if (!isLive(record, now)) {
        records.delete(scope);
        removed += 1;
      }
    }
    return removed + sweepBuckets(now);
  }

  return {
    name: "memory",
    claim: (input) => settle(() => claim(input)),
    get: (scope, now) => settle(() => get(scope, now)),
    complete: (input) => settle(() => complete(input)),
    release: (scope, ownerToken) => settle(() => release(scope, ownerToken)),
    sweep: (now) => settle(() => sweep(now)),
    consume: (input) => settle(() => consume(input)),
    close: () =>
      settle(() => {
        closed = true;
        records.clear();
        buckets.clear();
      }),
  };
}
