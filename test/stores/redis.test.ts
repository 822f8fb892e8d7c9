import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { StoreUnavailable } from "../../src/idempotency/store.js";
import { redisStore } from "../../src/stores/redis-store.js";
import { redisAdmin } from "../helpers/services.js";
import { describeRateLimitContract } from "./rate-limit-contract.js";
import { T0, claimInput, describeStoreContract, newScope } from "./store-contract.js";

const URL = process.env["TOOLGATE_TEST_REDIS_URL"];
const SKIP = URL ? false : "set TOOLGATE_TEST_REDIS_URL=redis://127.0.0.1:6379/15 to enable";
const RUN_PREFIX = `toolgate:test:${process.pid}:${randomUUID()}:`;

const adminClient = () => redisAdmin(URL!);

async function deleteKeys(admin: Redis, prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await admin.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    if (keys.length > 0) await admin.del(...keys);
    cursor = next;
  } while (cursor !== "0");
}

let harnesses = 0;
const factory = async () => {
  const admin = await adminClient();
  const keyPrefix = `${RUN_PREFIX}${(harnesses += 1)}:`;
  const store = redisStore({ url: URL! }, { keyPrefix });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await deleteKeys(admin, keyPrefix);
      await admin.quit();
    },
  };
};

describeStoreContract("redis", factory, { skip: SKIP, sweeps: false });
describeRateLimitContract("redis", factory, { skip: SKIP, sweeps: false });

describe("redis store", { skip: SKIP }, () => {
  let admin: Redis;
  before(async () => {
    admin = await adminClient();
  });
  after(async () => {
    if (!admin) return;
    await deleteKeys(admin, RUN_PREFIX);
    await admin.quit();
  });
  const keyPrefix = `${RUN_PREFIX}specific:`;

  it("keys expire in Redis a margin after retention; toolgate decides expiry itself", async () => {
    const store = redisStore({ url: URL! }, { keyPrefix });
    const input = claimInput(newScope(), { retentionMs: 10_000 });
    await store.claim(input);
    const ttl = await admin.pttl(keyPrefix + input.scope);
    assert.ok(ttl > 10_000 && ttl <= 10_000 + 5 * 60_000, `pttl ${ttl}`);
    assert.equal(await store.get(input.scope, T0 + 10_000), undefined);
    assert.equal(await store.sweep(T0 + 10_000), 0);
    await store.close();
  });

  it("reloads its scripts after SCRIPT FLUSH (NOSCRIPT falls back to EVAL)", async () => {
    const store = redisStore({ url: URL! }, { keyPrefix });
    assert.equal((await store.claim(claimInput(newScope()))).kind, "claimed");
    await admin.script("FLUSH");
    assert.equal((await store.claim(claimInput(newScope()))).kind, "claimed");
    await store.close();
  });

  it("a bucket is a hash under <keyPrefix>rl: that Redis expires a second after its TAT", async () => {
    const store = redisStore({ url: URL! }, { keyPrefix });
    const key = `rl:${newScope()}`;
    const input = { key, limit: 3, windowMs: 10_000, now: T0 };
    assert.deepEqual(await store.consume(input), { allowed: true, remaining: 2 });
    // TAT = T0 + 3333 + 1/3 ms: expires 3334 ms from now, plus the 1 s margin.
    assert.deepEqual(await admin.hgetall(`${keyPrefix}rl:${key}`), {
      tat: String(T0 + 3_333),
      rem: "1",
    });
    const ttl = await admin.pttl(`${keyPrefix}rl:${key}`);
    assert.ok(ttl > 3_334 && ttl <= 4_334, `pttl ${ttl}`);
    assert.equal(await admin.exists(keyPrefix + key), 0, "apart from idempotency records");
    await store.close();
  });

  it("reloads the consume script after SCRIPT FLUSH (NOSCRIPT falls back to EVAL)", async () => {
    const store = redisStore({ url: URL! }, { keyPrefix });
    const input = { key: `rl:${newScope()}`, limit: 2, windowMs: 1_000, now: T0 };
    assert.deepEqual(await store.consume(input), { allowed: true, remaining: 1 });
    await admin.script("FLUSH");
    assert.deepEqual(await store.consume(input), { allowed: true, remaining: 0 });
    assert.deepEqual(await store.consume(input), { allowed: false, retryAfterMs: 500 });
    await store.close();
  });

  it("consume on a closed port fails fast with StoreUnavailable", async () => {
    const store = redisStore({ url: "redis://127.0.0.1:1/15" }, { keyPrefix });
    const started = Date.now();
    const input = { key: "rl:down", limit: 1, windowMs: 1_000, now: T0 };
    await assert.rejects(store.consume(input), StoreUnavailable);
    assert.ok(Date.now() - started < 5_000, `took ${Date.now() - started} ms`);
    await store.close();
  });

  it("a closed port fails fast with StoreUnavailable", async () => {
    const store = redisStore({ url: "redis://127.0.0.1:1/15" }, { keyPrefix });
    for (let i = 0; i < 2; i += 1) {
      const started = Date.now();
      await assert.rejects(store.claim(claimInput(newScope())), StoreUnavailable);
      assert.ok(Date.now() - started < 5_000, `took ${Date.now() - started} ms`);
    }
    await store.close();
  });

  it("CLIENT PAUSE mid-operation: the command times out as StoreUnavailable, then the store works", async () => {
    const store = redisStore({ url: URL! }, { keyPrefix, commandTimeoutMs: 300 });
    assert.equal((await store.claim(claimInput(newScope()))).kind, "claimed");
    const pauser = await adminClient();
    await pauser.client("PAUSE", 1500);
    const input = claimInput(newScope());
    const started = Date.now();
    await assert.rejects(store.claim(input), (err: unknown) => {
      assert.ok(err instanceof StoreUnavailable);
      assert.match(err.message, /timed out/);
      return true;
    });
    assert.ok(Date.now() - started < 1_200, `took ${Date.now() - started} ms`);
    await pauser.quit(); // QUIT waits out the pause
    await sleep(Math.max(0, started + 1_600 - Date.now()));
    assert.equal((await store.claim(claimInput(newScope()))).kind, "claimed");
    // The timed-out claim was still applied once the pause ended: a caller that got
    // StoreUnavailable from claim may free it with an (owner-conditional) release.
    assert.equal(await store.release(input.scope, input.ownerToken), true);
    await store.close();
  });

  it("a connection killed between claim and complete: complete works once it reconnects", async () => {
    const client = new Redis(URL!, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    try {
      const store = redisStore({ client }, { keyPrefix });
      const input = claimInput(newScope());
      assert.equal((await store.claim(input)).kind, "claimed");
      await admin.client("KILL", "ID", String(await client.client("ID")));
      const done = { scope: input.scope, ownerToken: input.ownerToken, result: "{}", now: T0 };
      let ok = false;
      // Until ioredis reconnects, complete fails closed; a retry a moment later succeeds.
      for (let attempt = 0; attempt < 5 && !ok; attempt += 1) {
        try {
          ok = await store.complete({ ...done, retentionMs: 60_000 });
        } catch (err) {
          assert.ok(err instanceof StoreUnavailable, String(err));
          await sleep(200);
        }
      }
      assert.equal(ok, true);
      await store.close();
      assert.equal(client.status, "ready", "close() leaves a caller's client open");
    } finally {
      await client.quit();
    }
  });

  it("validates its options when built", () => {
    assert.throws(() => redisStore({ url: "http://x" }), TypeError);
    assert.throws(() => redisStore({ url: URL! }, { commandTimeoutMs: 0 }), TypeError);
    assert.throws(() => redisStore({ client: {} as Redis }), TypeError);
  });
});
