// The store for several hosts sharing one Redis. Claim, complete and release are Lua
// scripts (atomic); a record is a hash whose key expires (PEXPIRE) a margin after its
// retention, but toolgate decides expiry itself by comparing `exp` with the caller's clock.
// Rate-limit buckets are hashes under `<keyPrefix>rl:`, advanced by one Lua script each.
import type { Redis } from "ioredis";
import {
  StoreUnavailable,
  type ClaimInput,
  type ClaimOutcome,
  type CompleteInput,
  type IdempotencyRecord,
} from "../idempotency/store.js";
import type { RateLimitInput, RateLimitOutcome } from "../ratelimit/store.js";
import { gcraOutcome } from "./gcra.js";
import { importPeer } from "./optional-peer.js";
import { CLAIM, COMPLETE, CONSUME, RELEASE, type RedisScript } from "./redis-scripts.js";
import {
  checkClaim,
  checkComplete,
  checkNow,
  checkRateLimit,
  checkRelease,
  checkScope,
} from "./store-input.js";
import type { ToolgateStore } from "./store-types.js";

/** `url` (the store owns and closes that client) or a `client` the caller keeps and closes. */
export type RedisConnection = { readonly url: string } | { readonly client: Redis };

export interface RedisStoreOptions {
  /** Prefix of every key (rate-limit buckets are under `<keyPrefix>rl:`). Default "toolgate:idem:". */
  readonly keyPrefix?: string;
  /** For a client made from `url`: a command with no reply after this fails. Default 2000. */
  readonly commandTimeoutMs?: number;
  /** For a client made from `url`: how long to wait for a connection. Default 2000. */
  readonly connectTimeoutMs?: number;
}

/** Keys live this long past their retention so hosts with skewed clocks still see them. */
const EXPIRY_MARGIN_MS = 5 * 60_000;
/**
 * A bucket's key expires this long after its TAT. Expired or not, the script reads the TAT
 * against the caller's clock; the margin only keeps a bucket for hosts whose clock lags.
 */
const BUCKET_EXPIRY_MARGIN_MS = 1_000;
/** Rate-limit buckets live apart from idempotency records (whose keys are bare scopes). */
const BUCKET_NAMESPACE = "rl:";

// Server states that pass; toolgate fails closed on them (`unavailable`, retryable).
const TRANSIENT_REPLY = /^(LOADING|BUSY|READONLY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|OOM|NOREPLICAS)/;

function toStoreError(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  // A ReplyError is the server refusing a command; any other error is the connection.
  if (err.name === "ReplyError" && !TRANSIENT_REPLY.test(err.message)) return err;
  return new StoreUnavailable(`redis idempotency store: ${err.message}`, { cause: err });
}

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new TypeError(`redisStore: \`${name}\` must be a positive integer`);
  }
  return value;
}

function toRecord(hash: Record<string, string>): IdempotencyRecord {
  const { state, fp, owner, lease, exp, result, created, completed } = hash;
  if ((state !== "in_progress" && state !== "completed") || !fp || !owner) {
    throw new Error(`redis idempotency store: malformed record (state ${String(state)})`);
  }
  return Object.freeze({
    state,
    fingerprint: fp,
    ownerToken: owner,
    leaseExpiresAt: Number(lease),
    expiresAt: Number(exp),
    ...(result === undefined ? {} : { result }),
    createdAt: Number(created),
    ...(completed === undefined ? {} : { completedAt: Number(completed) }),
  });
}

/** EVAL returns HGETALL as a flat [field, value, ...] list. */
function pairs(list: unknown[]): Record<string, string> {
  const hash: Record<string, string> = {};
  for (let i = 0; i + 1 < list.length; i += 2) hash[String(list[i])] = String(list[i + 1]);
  return hash;
}

export function redisStore(
  connection: RedisConnection,
  options: RedisStoreOptions = {},
): ToolgateStore {
  const keyPrefix = options.keyPrefix ?? "toolgate:idem:";
  if (typeof keyPrefix !== "string")
    throw new TypeError("redisStore: `keyPrefix` must be a string");
  const commandTimeout = positiveInt("commandTimeoutMs", options.commandTimeoutMs, 2000);
  const connectTimeout = positiveInt("connectTimeoutMs", options.connectTimeoutMs, 2000);
  if ("client" in connection) {
    if (typeof connection.client?.evalsha !== "function") {
      throw new TypeError("redisStore: `client` must be an ioredis client");
    }
  } else if (typeof connection.url !== "string" || !/^rediss?:\/\//.test(connection.url)) {
    throw new TypeError("redisStore: `url` must be a redis:// or rediss:// URL");
  }
  const ownsClient = !("client" in connection);
  let client: Redis | undefined = "client" in connection ? connection.client : undefined;
  let creating: Promise<Redis> | undefined;
  let connecting: Promise<void> | undefined;
  let waitingForReady: Promise<void> | undefined;
  let lastError: Error | undefined;
  let closed = false;

  async function createClient(url: string): Promise<Redis> {
    const { Redis } = await importPeer(
      "ioredis",
      "the redis idempotency store",
      () => import("ioredis"),
    );
    // Fail fast while the server is down (no offline queue, one attempt per command):
    // the layer fails closed and the agent retries later. ioredis keeps reconnecting.
    const created = new Redis(url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout,
      commandTimeout,
    });
    created.on("error", (err: Error) => (lastError = err));
    created.on("ready", () => (lastError = undefined));
    return created;
  }

  function waitForReady(redis: Redis): Promise<void> {
    waitingForReady ??= new Promise<void>((resolve, reject) => {
      const done = (err?: Error) => {
        clearTimeout(timer);
        redis.off("ready", onReady);
        redis.off("end", onEnd);
        waitingForReady = undefined;
        if (err) reject(err);
        else resolve();
      };
      const onReady = () => done();
      const onEnd = () => done(new Error("the connection ended"));
      const timer = setTimeout(
        () => done(new Error(`not connected after ${connectTimeout} ms (${redis.status})`)),
        connectTimeout,
      );
      redis.once("ready", onReady);
      redis.once("end", onEnd);
    });
    return waitingForReady;
  }

  async function connected(): Promise<Redis> {
    if (closed) throw new StoreUnavailable("the redis idempotency store is closed");
    if (!client && "url" in connection) {
      creating ??= createClient(connection.url);
      client = await creating;
    }
    const redis = client!;
    try {
      if (redis.status === "wait") {
        connecting ??= redis.connect().finally(() => (connecting = undefined));
        await connecting;
      } else if (redis.status === "end") throw new Error("the connection was closed");
      else if (redis.status !== "ready" && redis.options.enableOfflineQueue === false) {
        await waitForReady(redis);
      }
    } catch (err) {
      const cause = lastError ?? err;
      throw new StoreUnavailable(
        `redis idempotency store: cannot connect: ${(cause as Error).message}`,
        { cause },
      );
    }
    return redis;
  }

  async function runScript(s: RedisScript, key: string, args: string[]): Promise<unknown> {
    const redis = await connected();
    try {
      return await redis.evalsha(s.sha, 1, key, ...args);
    } catch (err) {
      if (!(err instanceof Error && err.message.startsWith("NOSCRIPT"))) throw toStoreError(err);
    }
    // First use on this server (or after SCRIPT FLUSH): EVAL loads the script.
    try {
      return await redis.eval(s.lua, 1, key, ...args);
    } catch (err) {
      throw toStoreError(err);
    }
  }

  return {
    name: "redis",

    async claim(input: ClaimInput): Promise<ClaimOutcome> {
      checkClaim(input);
      const { now, leaseMs, retentionMs } = input;
      const px = Math.max(leaseMs, retentionMs) + EXPIRY_MARGIN_MS;
      const reply = await runScript(CLAIM, keyPrefix + input.scope, [
        input.fingerprint,
        input.ownerToken,
        String(now),
        String(now + leaseMs),
        String(now + retentionMs),
        String(px),
      ]);
      if (Array.isArray(reply)) return { kind: "existing", record: toRecord(pairs(reply)) };
      return { kind: "claimed", takeover: reply === 1 };
    },

    async get(scope: string, now: number): Promise<IdempotencyRecord | undefined> {
      checkScope(scope);
      checkNow(now);
      const redis = await connected();
      let hash: Record<string, string>;
      try {
        hash = await redis.hgetall(keyPrefix + scope);
      } catch (err) {
        throw toStoreError(err);
      }
      if (hash.state === undefined || !(Number(hash.exp) > now)) return undefined;
      return toRecord(hash);
    },

    async complete(input: CompleteInput): Promise<boolean> {
      checkComplete(input);
      const { now, retentionMs } = input;
      const reply = await runScript(COMPLETE, keyPrefix + input.scope, [
        input.ownerToken,
        input.result,
        String(now),
        String(now + retentionMs),
        String(retentionMs + EXPIRY_MARGIN_MS),
      ]);
      return reply === 1;
    },

    async release(scope: string, ownerToken: string): Promise<boolean> {
      checkRelease(scope, ownerToken);
      return (await runScript(RELEASE, keyPrefix + scope, [ownerToken])) === 1;
    },

    async consume(input: RateLimitInput): Promise<RateLimitOutcome> {
      checkRateLimit(input);
      const { now, limit, windowMs } = input;
      const reply = await runScript(CONSUME, keyPrefix + BUCKET_NAMESPACE + input.key, [
        String(now),
        String(limit),
        String(windowMs),
        String(BUCKET_EXPIRY_MARGIN_MS),
      ]);
      if (!Array.isArray(reply) || reply.length !== 3 || !reply.every(Number.isSafeInteger)) {
        throw new Error(`redis store: unexpected consume reply ${JSON.stringify(reply)}`);
      }
      const [allowed, ahead, rem] = reply as [number, number, number];
      return gcraOutcome(input, { allowed: allowed === 1, tat: now + ahead, rem });
    },

    /** A no-op: Redis deletes keys itself (PEXPIRE), and expired ones are invisible before. */
    sweep(now: number): Promise<number> {
      return new Promise((resolve) => {
        checkNow(now);
        resolve(0);
      });
    },

    async close(): Promise<void> {
      closed = true;
      if (!ownsClient) return;
      const redis = client ?? (await creating?.catch(() => undefined));
      if (!redis || redis.status === "end") return;
      if (redis.status !== "ready") return redis.disconnect();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
