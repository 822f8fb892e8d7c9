// `toolgate/stores`: where idempotency records and rate-limit counters live: the
// in-memory and SQLite stores and the interfaces a store implements. The Redis and
// PostgreSQL stores are toolgate/stores/redis and toolgate/stores/postgres (optional peers).
export { memoryStore } from "./memory-store.js";
export { sqliteStore } from "./sqlite-store.js";
export type { SqliteStoreOptions } from "./sqlite-store.js";
export type { ToolgateStore } from "./store-types.js";
export { DEFAULT_STORE_PATH } from "./default-store.js";
export { StoreUnavailable } from "../idempotency/store.js";
export type {
  ClaimInput,
  ClaimOutcome,
  CompleteInput,
  IdempotencyRecord,
  IdempotencyStore,
  RecordState,
} from "../idempotency/store.js";
export type { RateLimitInput, RateLimitOutcome, RateLimitStore } from "../ratelimit/store.js";
