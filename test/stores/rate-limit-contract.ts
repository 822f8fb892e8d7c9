// One contract suite for the rate-limit side of every store (memory, SQLite, Redis,
// PostgreSQL): the GCRA of src/ratelimit/store.ts, exactly. Times are a fake clock passed
// as `now`; a fast-check property compares each store with a pure model in exact
// (BigInt) arithmetic.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { StoreUnavailable } from "../../src/idempotency/store.js";
import type { RateLimitInput, RateLimitOutcome } from "../../src/ratelimit/store.js";
import type { ToolgateStore } from "../../src/stores/store-types.js";

export interface RateLimitHarness {
  store: ToolgateStore;
  /** Closes the store and removes what it wrote (tables, keys, file). */
  cleanup(): Promise<void>;
}
export type RateLimitFactory = () => Promise<RateLimitHarness>;

export interface RateLimitContractOptions {
  /** Skip reason (e.g. "set X to enable"), or false to run. */
  skip?: string | false;
  /** Whether sweep() deletes expired buckets and counts them (false for Redis: keys expire). */
  sweeps?: boolean;
}

const T0 = 1_700_000_000_000;

/** A key unique to this test run. */
const newKey = (label = "k") => `rl:test:${label}:${randomUUID()}`;

const allowed = (remaining: number): RateLimitOutcome => ({ allowed: true, remaining });
const refused = (retryAfterMs: number): RateLimitOutcome => ({ allowed: false, retryAfterMs });

export function describeRateLimitContract(
  name: string,
  factory: RateLimitFactory,
  options: RateLimitContractOptions = {},
): void {
  const sweeps = options.sweeps !== false;
  describe(`rate-limit store contract: ${name}`, { skip: options.skip ?? false }, () => {
    let harness: RateLimitHarness;
    let store: ToolgateStore;
    before(async () => {
      harness = await factory();
      store = harness.store;
    });
    after(() => harness?.cleanup());

    /** A consumer of one fresh key with one rate: `at(ms)` consumes at T0 + ms. */
    function bucket(limit: number, windowMs: number, key = newKey()) {
      return (ms: number) => store.consume({ key, limit, windowMs, now: T0 + ms });
    }

    it("a burst of `limit` is allowed at once, counting down `remaining`; the next waits one interval", async () => {
      const at = bucket(5, 1_000); // one call every 200 ms
      for (const remaining of [4, 3, 2, 1, 0]) assert.deepEqual(await at(0), allowed(remaining));
      assert.deepEqual(await at(0), refused(200));
      assert.deepEqual(await at(1), refused(199));
      assert.deepEqual(await at(150), refused(50));
    });

    it("after the burst, the steady rate is one call per interval, to the ms", async () => {
      const at = bucket(5, 1_000);
      for (let i = 0; i < 5; i += 1) assert.equal((await at(0)).allowed, true);
      assert.deepEqual(await at(199), refused(1));
      assert.deepEqual(await at(200), allowed(0));
      assert.deepEqual(await at(399), refused(1));
      assert.deepEqual(await at(400), allowed(0));
      assert.deepEqual(await at(600), allowed(0));
      assert.deepEqual(await at(600), refused(200));
    });

    it("refused calls consume nothing", async () => {
      const at = bucket(3, 300);
      for (let i = 0; i < 3; i += 1) assert.equal((await at(0)).allowed, true);
      for (let i = 0; i < 20; i += 1) assert.deepEqual(await at(50), refused(50));
      assert.deepEqual(await at(100), allowed(0));
      assert.deepEqual(await at(100), refused(100));
    });

    it("`remaining` recovers with time, and an idle window restores the whole burst", async () => {
      const at = bucket(10, 1_000);
      for (let i = 0; i < 10; i += 1) assert.equal((await at(0)).allowed, true);
      // TAT is T0 + 1000; at 500 the new TAT is 1100: (1000 - 600) / 100 = 4 more fit.
      assert.deepEqual(await at(500), allowed(4));
      assert.deepEqual(await at(5_000), allowed(9));
      assert.deepEqual(await at(10_000_000), allowed(9));
    });

    it("an interval that is not a whole number of ms: exactly `limit` per burst, exact retry times", async () => {
      const at = bucket(7, 60_000); // 8571.43 ms
      for (const remaining of [6, 5, 4, 3, 2, 1, 0])
        assert.deepEqual(await at(0), allowed(remaining));
      assert.deepEqual(await at(0), refused(60_000 / 7));
      assert.deepEqual(await at(8_571), refused(3 / 7));
      assert.deepEqual(await at(8_572), allowed(0));
      // The TAT is now T0 + 60 000 + 60 000 / 7; the next is due at T0 + 2 * 60 000 / 7.
      assert.deepEqual(await at(17_142), refused(6 / 7));
      assert.deepEqual(await at(17_143), allowed(0));
      const many = bucket(3, 1_000); // 333.33 ms; after 3 calls at 0 the TAT is 1000
      for (let i = 0; i < 3; i += 1) assert.equal((await many(0)).allowed, true);
      assert.deepEqual(await many(333), refused(1 / 3));
      assert.deepEqual(await many(334), allowed(0));
    });

    it("limit 1: one call per window; a limit above the window (interval below 1 ms)", async () => {
      const one = bucket(1, 5_000);
      assert.deepEqual(await one(0), allowed(0));
      assert.deepEqual(await one(4_999), refused(1));
      assert.deepEqual(await one(5_000), allowed(0));
      const fine = bucket(20, 10); // 0.5 ms each
      for (let i = 0; i < 20; i += 1) assert.equal((await fine(0)).allowed, true, `call ${i}`);
      assert.deepEqual(await fine(0), refused(0.5));
      assert.deepEqual(await fine(1), allowed(1));
    });

    it("keys are independent", async () => {
      const a = bucket(2, 1_000);
      const b = bucket(2, 1_000);
      assert.equal((await a(0)).allowed, true);
      assert.equal((await a(0)).allowed, true);
      assert.equal((await a(0)).allowed, false);
      assert.deepEqual(await b(0), allowed(1));
      assert.deepEqual(await b(0), allowed(0));
      assert.deepEqual(await b(0), refused(500));
    });

    it("the same key with another rate: the stored TAT is read with the new interval", async () => {
      const key = newKey();
      const slow = bucket(1, 10_000, key);
      const fast = bucket(100, 10_000, key);
      assert.deepEqual(await slow(0), allowed(0)); // TAT = T0 + 10 000
      // 100/10 s: the TAT is a whole window ahead, so only the next interval's call waits.
      assert.deepEqual(await fast(0), refused(100));
      assert.deepEqual(await fast(100), allowed(0));
      // A fraction of a ms left by a larger limit is kept within its whole ms.
      const other = newKey();
      assert.deepEqual(await bucket(3, 1_000, other)(0), allowed(2)); // TAT = T0 + 333.33
      assert.deepEqual(await bucket(1, 1_000, other)(0), refused(333));
    });

    it("the caller's clock is the only clock: epoch 0 and far futures work", async () => {
      const key = newKey();
      assert.deepEqual(await store.consume({ key, limit: 2, windowMs: 100, now: 0 }), allowed(1));
      assert.deepEqual(await store.consume({ key, limit: 2, windowMs: 100, now: 0 }), allowed(0));
      assert.deepEqual(await store.consume({ key, limit: 2, windowMs: 100, now: 1 }), refused(49));
      const later = 4_000_000_000_000; // year 2096
      assert.deepEqual(
        await store.consume({ key, limit: 2, windowMs: 100, now: later }),
        allowed(1),
      );
    });

    it("50 concurrent consumes of a fresh key with limit 10: exactly 10 are allowed", async () => {
      for (let round = 0; round < 3; round += 1) {
        const key = newKey(`burst${round}`);
        const input = { key, limit: 10, windowMs: 60_000, now: T0 };
        const outcomes = await Promise.all(Array.from({ length: 50 }, () => store.consume(input)));
        const wins = outcomes.filter((o) => o.allowed);
        assert.equal(wins.length, 10);
        // Each winner saw a distinct state: remaining counts 9 down to 0, once each.
        const remaining = wins.map((o) => (o.allowed ? o.remaining : -1)).sort((x, y) => x - y);
        assert.deepEqual(remaining, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        for (const o of outcomes) if (!o.allowed) assert.equal(o.retryAfterMs, 6_000);
      }
    });

    it("rejects malformed input with a TypeError, as a rejected promise", async () => {
      const good: RateLimitInput = { key: newKey(), limit: 5, windowMs: 1_000, now: T0 };
      const bad: unknown[] = [
        null,
        "key",
        { ...good, key: "" },
        { ...good, key: "x".repeat(256) },
        { ...good, key: "caf\u00e9" },
        { ...good, key: "a\nb" },
        { ...good, key: 42 },
        { ...good, limit: 0 },
        { ...good, limit: 1.5 },
        { ...good, limit: -1 },
        { ...good, limit: Number.NaN },
        { ...good, limit: "5" },
        { ...good, limit: 2 ** 31 },
        { ...good, windowMs: 0 },
        { ...good, windowMs: 0.5 },
        { ...good, windowMs: Number.POSITIVE_INFINITY },
        { ...good, now: -1 },
        { ...good, now: 1.5 },
        { ...good, now: undefined },
        { ...good, now: Number.MAX_SAFE_INTEGER },
      ];
      for (const input of bad) {
        const pending = store.consume(input as RateLimitInput);
        assert.ok(pending instanceof Promise, `returns a promise for ${JSON.stringify(input)}`);
        await assert.rejects(pending, TypeError, `rejects ${JSON.stringify(input)}`);
      }
      assert.deepEqual(await store.consume({ ...good, key: "x".repeat(255) }), allowed(4));
      assert.deepEqual(await store.consume(good), allowed(4));
    });

    it(
      sweeps
        ? "sweep deletes buckets whose TAT has passed (and counts them), never live ones"
        : "sweep is a no-op (the store expires buckets itself); expired buckets are gone anyway",
      async () => {
        const fresh = await factory();
        try {
          const s = fresh.store;
          const gone = newKey("gone"); // TAT T0 + 100
          const frac = newKey("frac"); // TAT T0 + 333.33: expires at T0 + 334
          const live = newKey("live"); // TAT T0 + 10 000
          await s.consume({ key: gone, limit: 1, windowMs: 100, now: T0 });
          await s.consume({ key: frac, limit: 3, windowMs: 1_000, now: T0 });
          await s.consume({ key: live, limit: 1, windowMs: 10_000, now: T0 });
          assert.equal(await s.sweep(T0 + 99), 0);
          assert.equal(await s.sweep(T0 + 100), sweeps ? 1 : 0);
          assert.equal(await s.sweep(T0 + 333), 0);
          assert.equal(await s.sweep(T0 + 334), sweeps ? 1 : 0);
          assert.equal(await s.sweep(T0 + 334), 0);
          // Swept or not, an expired bucket starts afresh and a live one still refuses.
          const at334 = { limit: 1, windowMs: 100, now: T0 + 334 };
          assert.deepEqual(await s.consume({ key: gone, ...at334 }), allowed(0));
          const liveAgain = { key: live, limit: 1, windowMs: 10_000, now: T0 + 334 };
          assert.deepEqual(await s.consume(liveAgain), refused(10_000 - 334));
        } finally {
          await fresh.cleanup();
        }
      },
    );

    it("after close, consume fails with StoreUnavailable", async () => {
      const fresh = await factory();
      await fresh.store.close();
      const input = { key: newKey(), limit: 1, windowMs: 1_000, now: T0 };
      await assert.rejects(fresh.store.consume(input), StoreUnavailable);
      await fresh.cleanup();
    });

    describeRateLimitModel(factory, { sweeps });
  });
}

/** The spec of src/ratelimit/store.ts in exact arithmetic: TATs in units of 1/limit ms. */
class GcraModel {
  private readonly tats = new Map<string, bigint>();
  private readonly limit: bigint;
  private readonly windowMs: bigint;

  constructor(rate: { limit: number; windowMs: number }) {
    this.limit = BigInt(rate.limit);
    this.windowMs = BigInt(rate.windowMs);
  }

  consume(key: string, now: number): RateLimitOutcome {
    const nowS = BigInt(now) * this.limit;
    const interval = this.windowMs; // windowMs / limit, scaled by limit
    const window = this.windowMs * this.limit;
    const stored = this.tats.get(key);
    const tat = stored !== undefined && stored > nowS ? stored : nowS;
    const newTat = tat + interval;
    if (newTat - nowS <= window) {
      this.tats.set(key, newTat);
      return allowed(Number((window - (newTat - nowS)) / interval));
    }
    return refused(Number(newTat - window - nowS) / Number(this.limit));
  }

  /** Deletes the keys whose TAT has passed (expires_at = ceil(TAT) <= now); counts them. */
  sweep(now: number): number {
    const nowS = BigInt(now) * this.limit;
    let removed = 0;
    for (const [key, tat] of this.tats) {
      if (tat <= nowS) {
        this.tats.delete(key);
        removed += 1;
      }
    }
    return removed;
  }
}

type ModelOp = { op: "consume"; key: number; dt: number } | { op: "sweep"; dt: number };

const RATES = [
  { limit: 1, windowMs: 100 },
  { limit: 3, windowMs: 1_000 },
  { limit: 5, windowMs: 1_000 },
  { limit: 7, windowMs: 60_000 },
  { limit: 10, windowMs: 250 },
  { limit: 4, windowMs: 3 },
  { limit: 2, windowMs: 3 },
  { limit: 3, windowMs: 10 },
  { limit: 5, windowMs: 7 },
  { limit: 1_000, windowMs: 1_000 },
] as const;

/** Random sequences of (key, dt) on two keys of one rate, with sweeps where they count. */
const runArb = fc.constantFrom(...RATES).chain((rate) => {
  const interval = Math.max(1, Math.ceil(rate.windowMs / rate.limit));
  // Mostly bursts and steps of about one interval (where the edge cases are), some idling.
  const dt = fc.oneof(
    { weight: 4, arbitrary: fc.constant(0) },
    { weight: 3, arbitrary: fc.integer({ min: 0, max: 2 * interval }) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        Math.floor(rate.windowMs / rate.limit),
        Math.ceil(rate.windowMs / rate.limit),
      ),
    },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 2 * rate.windowMs }) },
  );
  const op: fc.Arbitrary<ModelOp> = fc.oneof(
    {
      weight: 10,
      arbitrary: fc.record({ op: fc.constant("consume" as const), key: fc.nat(1), dt }),
    },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("sweep" as const), dt }) },
  );
  return fc.record({ rate: fc.constant(rate), ops: fc.array(op, { maxLength: 60, size: "max" }) });
});

function describeRateLimitModel(factory: RateLimitFactory, options: { sweeps: boolean }): void {
  it("property: random sequences of (key, dt) match a pure GCRA model", async () => {
    const harness = await factory();
    const store = harness.store;
    let run = 0;
    try {
      const property = fc.asyncProperty(runArb, async ({ rate, ops }) => {
        // Each run starts its clock past everything earlier runs wrote, with its own keys.
        run += 1;
        let now = T0 + run * 1_000_000_000;
        if (options.sweeps) await store.sweep(now);
        const model = new GcraModel(rate);
        const prefix = randomUUID();
        const keys = [0, 1].map((i) => `rl:model:${prefix}:${i}`);
        for (const step of ops) {
          now += step.dt;
          if (step.op === "sweep") {
            const swept = await store.sweep(now);
            const expected = model.sweep(now);
            if (options.sweeps) assert.equal(swept, expected, `sweep at +${now - T0}`);
            continue;
          }
          const key = keys[step.key]!;
          const got = await store.consume({ key, ...rate, now });
          assert.deepEqual(got, model.consume(key, now), `consume ${key} at +${now - T0}`);
        }
      });
      await fc.assert(property, { numRuns: 120, includeErrorInReport: true });
    } finally {
      await harness.cleanup();
    }
  });
}
