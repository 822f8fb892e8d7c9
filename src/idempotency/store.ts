/**
 * The persistence contract of the idempotency layer (see the design page
 * `idempotency.md`). Every store implements exactly this interface and passes one
 * shared contract suite against the real server (memory, SQLite, Redis, PostgreSQL).
 *
 * Timeline of one key (times are the caller's `now`, so tests can use a fake clock):
 *
 *   claim ──────────── lease ends ────────── retention ends
 *     │  in_progress       │ (owner crashed?)     │
 *     │  owner A           │ claim by B with the  │ the key is free again
 *     │                    │ same fingerprint     │ (any fingerprint)
 *     │                    │ takes over: owner B  │
 *     └─ complete(A) ──────┴─ A's complete/release now change nothing
 *          completed: replayed until retention ends
 *
 * Every write is one atomic conditional operation: never read-then-write.
 */
import type { Logger } from "../log/logger.js";

export type RecordState = "in_progress" | "completed";

export interface IdempotencyRecord {
  readonly state: RecordState;
  /** SHA-256 (hex) of the canonical JSON of the validated arguments. */
  readonly fingerprint: string;
  readonly ownerToken: string;
  /** Epoch ms at which an `in_progress` claim may be taken over. */
  readonly leaseExpiresAt: number;
  /** Epoch ms after which the record no longer exists for toolgate (retention). */
  readonly expiresAt: number;
  /** The exact serialized MCP `CallToolResult` (JSON text), once completed. */
  readonly result?: string;
  readonly createdAt: number;
  readonly completedAt?: number;
}

export interface ClaimInput {
  /** Opaque key of the record: a hash of (issuer, subject/tenant, tool, key). */
  readonly scope: string;
  readonly fingerprint: string;
  /** A fresh random token identifying this claimant. */
  readonly ownerToken: string;
  readonly now: number;
  readonly leaseMs: number;
  /** How long the record lives (from `now` for the claim, from completion once completed). */
  readonly retentionMs: number;
}

/**
 * `claimed`: the caller owns the key and must complete or release it (`takeover` when it
 * replaced an expired lease of the same fingerprint). `existing`: a live record stands
 * (completed, in progress with a live lease, or any state with another fingerprint);
 * it was not changed.
 */
export type ClaimOutcome =
  | { readonly kind: "claimed"; readonly takeover: boolean }
  | { readonly kind: "existing"; readonly record: IdempotencyRecord };

export interface CompleteInput {
  readonly scope: string;
  readonly ownerToken: string;
  /** JSON text of the result to replay. */
  readonly result: string;
  readonly now: number;
  readonly retentionMs: number;
}

export interface IdempotencyStore {
  /** A short name for logs and errors ("sqlite", "redis"...). */
  readonly name: string;
  /**
   * Atomically claims `scope`: inserts an `in_progress` record owned by `ownerToken`
   * when there is none or the one there is past retention, or takes over an
   * `in_progress` record of the same fingerprint whose lease has ended.
   */
  claim(input: ClaimInput): Promise<ClaimOutcome>;
  /** The live record (not past retention at `now`), if any. */
  get(scope: string, now: number): Promise<IdempotencyRecord | undefined>;
  /** Stores the result, only if `ownerToken` still owns an `in_progress` record. */
  complete(input: CompleteInput): Promise<boolean>;
  /** Deletes the claim, only if `ownerToken` still owns an `in_progress` record. */
  release(scope: string, ownerToken: string): Promise<boolean>;
  /** Removes records past retention; returns how many. */
  sweep(now: number): Promise<number>;
  close(): Promise<void>;
}

/** A store failure (connection lost, timeout...). The layer fails closed on it: `unavailable`. */
export class StoreUnavailable extends Error {
  override readonly name = "StoreUnavailable";
}

/**
 * A hold on a store whose lifetime several stages share (the default store): the first
 * `open` takes the hold (opening the store if nobody holds it), `release` gives it back,
 * and the store closes when its last holder releases. A store passed in by the user is
 * never leased: toolgate does not close it.
 */
export interface StoreLease<S> {
  open(log: Logger): Promise<S>;
  release(): Promise<void>;
}
