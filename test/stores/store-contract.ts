// One contract suite for every idempotency store (memory, SQLite, Redis, PostgreSQL),
// run against the real server. Times are a fake clock passed as `now`, never Date.now().
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import {
  StoreUnavailable,
  type ClaimInput,
  type ClaimOutcome,
  type IdempotencyRecord,
  type IdempotencyStore,
} from "../../src/idempotency/store.js";
import { describeStoreModel } from "./store-model.js";

export interface StoreHarness {
  store: IdempotencyStore;
  /** Closes the store and removes what it wrote (table, keys, file). */
  cleanup(): Promise<void>;
}
export type StoreFactory = () => Promise<StoreHarness>;

export interface ContractOptions {
  /** Skip reason (e.g. "set X to enable"), or false to run. */
  skip?: string | false;
  /** Whether sweep() deletes rows and counts them (false for Redis, where keys expire). */
  sweeps?: boolean;
}

export const T0 = 1_700_000_000_000;
export const LEASE = 1_000;
export const RETENTION = 60_000;
const FP = "a".repeat(64);
const OTHER_FP = "b".repeat(64);

/** A scope unique to this test run. */
export function newScope(label = "s"): string {
  return `${label}-${randomUUID()}`;
}

export function claimInput(scope: string, over: Partial<ClaimInput> = {}): ClaimInput {
  const base = { fingerprint: FP, ownerToken: randomUUID(), now: T0, leaseMs: LEASE };
  return { scope, ...base, retentionMs: RETENTION, ...over };
}

export function assertExisting(outcome: ClaimOutcome): IdempotencyRecord {
  assert.equal(outcome.kind, "existing", `expected existing, got ${JSON.stringify(outcome)}`);
  return (outcome as { record: IdempotencyRecord }).record;
}

export function describeStoreContract(
  name: string,
  factory: StoreFactory,
  options: ContractOptions = {},
): void {
  describe(`idempotency store contract: ${name}`, { skip: options.skip ?? false }, () => {
    let harness: StoreHarness;
    let store: IdempotencyStore;
    before(async () => {
      harness = await factory();
      store = harness.store;
    });
    after(() => harness?.cleanup());

    /** Claims a fresh scope at T0; returns the scope and the owner's token. */
    async function claimed(over: Partial<ClaimInput> = {}) {
      const input = claimInput(newScope(), over);
      assert.deepEqual(await store.claim(input), { kind: "claimed", takeover: false });
      return input;
    }

    it("claims an empty scope and stores an in_progress record", async () => {
      const a = await claimed();
      assert.deepEqual(await store.get(a.scope, T0), {
        state: "in_progress",
        fingerprint: FP,
        ownerToken: a.ownerToken,
        leaseExpiresAt: T0 + LEASE,
        expiresAt: T0 + RETENTION,
        createdAt: T0,
      });
    });

    it("a second claim while the lease is live gets the first owner's record, unchanged", async () => {
      const a = await claimed();
      const before = await store.get(a.scope, T0);
      const second = await store.claim(claimInput(a.scope, { now: T0 + LEASE - 1 }));
      assert.deepEqual(assertExisting(second), before);
      assert.deepEqual(await store.get(a.scope, T0), before);
    });

    it("a claim with another fingerprint gets the record untouched", async () => {
      const a = await claimed();
      const before = await store.get(a.scope, T0);
      const other = await store.claim(claimInput(a.scope, { fingerprint: OTHER_FP }));
      assert.deepEqual(assertExisting(other), before);
      assert.equal(assertExisting(other).fingerprint, FP);
      assert.deepEqual(await store.get(a.scope, T0), before);
    });

    it("the owner completes: the record holds the exact result and a new retention", async () => {
      const a = await claimed();
      const result = JSON.stringify({ content: [{ type: "text", text: "refund r_1 issued" }] });
      const done = { scope: a.scope, ownerToken: a.ownerToken, result, now: T0 + 10 };
      assert.equal(await store.complete({ ...done, retentionMs: 5_000 }), true);
      assert.deepEqual(await store.get(a.scope, T0 + 10), {
        state: "completed",
        fingerprint: FP,
        ownerToken: a.ownerToken,
        leaseExpiresAt: T0 + LEASE,
        expiresAt: T0 + 10 + 5_000,
        result,
        createdAt: T0,
        completedAt: T0 + 10,
      });
      // Completed once: a second complete or a release by the owner changes nothing.
      assert.equal(await store.complete({ ...done, result: "{}", retentionMs: 5_000 }), false);
      assert.equal(await store.release(a.scope, a.ownerToken), false);
      assert.equal((await store.get(a.scope, T0 + 10))?.result, result);
    });

    it("a non-owner can neither complete nor release", async () => {
      const a = await claimed();
      const before = await store.get(a.scope, T0);
      const done = { scope: a.scope, ownerToken: "intruder", result: "{}", now: T0 + 1 };
      assert.equal(await store.complete({ ...done, retentionMs: RETENTION }), false);
      assert.equal(await store.release(a.scope, "intruder"), false);
      assert.equal(await store.release(newScope(), a.ownerToken), false);
      assert.deepEqual(await store.get(a.scope, T0 + 1), before);
    });

    it("the owner releases: the key is free for any fingerprint", async () => {
      const a = await claimed();
      assert.equal(await store.release(a.scope, a.ownerToken), true);
      assert.equal(await store.get(a.scope, T0), undefined);
      const again = claimInput(a.scope, { fingerprint: OTHER_FP, now: T0 + 1 });
      assert.deepEqual(await store.claim(again), { kind: "claimed", takeover: false });
    });

    it("a claim after completion gets the completed record to replay, even after the lease", async () => {
      const a = await claimed();
      const done = { scope: a.scope, ownerToken: a.ownerToken, result: '{"ok":true}', now: T0 };
      assert.equal(await store.complete({ ...done, retentionMs: RETENTION }), true);
      for (const now of [T0 + 1, T0 + LEASE, T0 + 10 * LEASE]) {
        const record = assertExisting(await store.claim(claimInput(a.scope, { now })));
        assert.equal(record.state, "completed");
        assert.equal(record.result, '{"ok":true}');
        assert.equal(record.ownerToken, a.ownerToken);
      }
    });

    it("a lease that ended is taken over by the same fingerprint; the stale owner changes nothing", async () => {
      const a = await claimed();
      const early = claimInput(a.scope, { now: T0 + LEASE - 1 });
      assert.equal(assertExisting(await store.claim(early)).ownerToken, a.ownerToken);
      const b = claimInput(a.scope, { now: T0 + LEASE });
      assert.deepEqual(await store.claim(b), { kind: "claimed", takeover: true });
      const taken = await store.get(a.scope, b.now);
      assert.equal(taken?.ownerToken, b.ownerToken);
      assert.equal(taken?.leaseExpiresAt, b.now + LEASE);
      // Plan line 9: A's complete and release change nothing.
      const stale = { scope: a.scope, ownerToken: a.ownerToken, result: "{}", now: b.now + 1 };
      assert.equal(await store.complete({ ...stale, retentionMs: RETENTION }), false);
      assert.equal(await store.release(a.scope, a.ownerToken), false);
      assert.deepEqual(await store.get(a.scope, b.now + 1), taken);
      const fresh = { ...stale, ownerToken: b.ownerToken, result: '"b"' };
      assert.equal(await store.complete({ ...fresh, retentionMs: RETENTION }), true);
    });

    it("a lease that ended is not taken over by another fingerprint", async () => {
      const a = await claimed();
      const before = await store.get(a.scope, T0);
      const other = claimInput(a.scope, { fingerprint: OTHER_FP, now: T0 + 5 * LEASE });
      assert.deepEqual(assertExisting(await store.claim(other)), before);
      assert.deepEqual(await store.get(a.scope, T0 + 5 * LEASE), before);
    });

    it("retention boundary (plan 12): expiresAt - 1 replays, expiresAt claims anew", async () => {
      const a = await claimed();
      const done = { scope: a.scope, ownerToken: a.ownerToken, result: '"r"', now: T0 + 5 };
      assert.equal(await store.complete({ ...done, retentionMs: 1_000 }), true);
      const expiresAt = T0 + 5 + 1_000;
      const just = await store.claim(claimInput(a.scope, { now: expiresAt - 1 }));
      assert.equal(assertExisting(just).state, "completed");
      assert.equal((await store.get(a.scope, expiresAt - 1))?.result, '"r"');
      assert.equal(await store.get(a.scope, expiresAt), undefined);
      const anew = claimInput(a.scope, { fingerprint: OTHER_FP, now: expiresAt });
      assert.deepEqual(await store.claim(anew), { kind: "claimed", takeover: false });
      assert.equal((await store.get(a.scope, expiresAt))?.ownerToken, anew.ownerToken);
    });

    it("an in_progress record past retention is claimed fresh; its owner can no longer complete", async () => {
      const a = await claimed({ leaseMs: 100, retentionMs: 500 });
      const late = { scope: a.scope, ownerToken: a.ownerToken, result: "{}", now: T0 + 500 };
      assert.equal(await store.complete({ ...late, retentionMs: RETENTION }), false);
      const b = claimInput(a.scope, { fingerprint: OTHER_FP, now: T0 + 500 });
      assert.deepEqual(await store.claim(b), { kind: "claimed", takeover: false });
      assert.equal(await store.release(a.scope, a.ownerToken), false);
    });

    it("sweep removes records past retention and never live ones", async () => {
      const fresh = await factory();
      try {
        const s = fresh.store;
        const gone = claimInput(newScope(), { retentionMs: 100 });
        const done = claimInput(newScope(), { retentionMs: 100 });
        const live = claimInput(newScope(), { retentionMs: 10_000 });
        for (const input of [gone, done, live])
          assert.equal((await s.claim(input)).kind, "claimed");
        const result = { scope: done.scope, ownerToken: done.ownerToken, result: '"d"', now: T0 };
        assert.equal(await s.complete({ ...result, retentionMs: 200 }), true);
        const liveBefore = await s.get(live.scope, T0 + 200);
        assert.equal(liveBefore?.ownerToken, live.ownerToken);
        assert.equal(await s.sweep(T0 + 99), 0);
        assert.equal((await s.get(gone.scope, T0 + 99))?.ownerToken, gone.ownerToken);
        assert.equal(await s.sweep(T0 + 200), options.sweeps === false ? 0 : 2);
        assert.equal(await s.get(gone.scope, T0 + 100), undefined);
        assert.deepEqual(await s.get(live.scope, T0 + 200), liveBefore);
        assert.equal(await s.get(done.scope, T0 + 200), undefined);
        assert.equal(await s.sweep(T0 + 200), 0);
        // Swept rows are gone, not just hidden: even their owner's release finds nothing.
        if (options.sweeps !== false)
          assert.equal(await s.release(gone.scope, gone.ownerToken), false);
      } finally {
        await fresh.cleanup();
      }
    });

    it("results up to 1 MB and any unicode round-trip byte-identically", async () => {
      const texts = [
        "x".repeat(1024 * 1024),
        "héllo wörld ✓ 日本語 😀🧪 e\u0301 \u200b \t\n",
        JSON.stringify({ lone: "\ud800", nul: "\u0000", quote: '"', slash: "\\" }),
        "€".repeat(300_000),
      ];
      for (const text of texts) {
        const a = await claimed();
        const result = JSON.stringify({ content: [{ type: "text", text }] });
        const done = { scope: a.scope, ownerToken: a.ownerToken, result, now: T0 };
        assert.equal(await store.complete({ ...done, retentionMs: RETENTION }), true);
        const replay = assertExisting(await store.claim(claimInput(a.scope, { now: T0 + 1 })));
        assert.ok(Buffer.from(replay.result ?? "").equals(Buffer.from(result)));
        assert.equal((await store.get(a.scope, T0 + 1))?.result, result);
      }
    });

    it("50 concurrent claims of one scope: exactly one is claimed", async () => {
      for (const fingerprints of [[FP], [FP, OTHER_FP]]) {
        const scope = newScope();
        const inputs = Array.from({ length: 50 }, (_, i) =>
          claimInput(scope, { fingerprint: fingerprints[i % fingerprints.length]! }),
        );
        const outcomes = await Promise.all(inputs.map((input) => store.claim(input)));
        const winners = outcomes.flatMap((o, i) => (o.kind === "claimed" ? [inputs[i]!] : []));
        assert.equal(winners.length, 1);
        for (const o of outcomes) {
          if (o.kind === "existing") assert.equal(o.record.ownerToken, winners[0]!.ownerToken);
        }
        const owner = { scope, ownerToken: winners[0]!.ownerToken, result: "1", now: T0 };
        const completes = Array.from({ length: 10 }, () =>
          store.complete({ ...owner, retentionMs: RETENTION }),
        );
        assert.deepEqual((await Promise.all(completes)).filter(Boolean), [true]);
      }
    });

    it("scopes are independent", async () => {
      const a = await claimed();
      const b = await claimed();
      const done = { scope: a.scope, ownerToken: a.ownerToken, result: '"a"', now: T0 };
      assert.equal(await store.complete({ ...done, retentionMs: RETENTION }), true);
      assert.equal((await store.get(b.scope, T0))?.state, "in_progress");
      assert.equal(await store.release(b.scope, b.ownerToken), true);
      assert.equal((await store.get(a.scope, T0))?.result, '"a"');
      assert.equal(await store.release(a.scope, b.ownerToken), false);
    });

    it("rejects malformed input with a TypeError, as a rejected promise", async () => {
      const input = claimInput(newScope());
      await assert.rejects(store.claim({ ...input, now: 1.5 }), TypeError);
      await assert.rejects(store.claim({ ...input, leaseMs: 0 }), TypeError);
      await assert.rejects(store.claim({ ...input, scope: "" }), TypeError);
      await assert.rejects(store.get(input.scope, Number.NaN), TypeError);
      await assert.rejects(store.sweep(-1), TypeError);
    });

    it("after close, operations fail with StoreUnavailable", async () => {
      const fresh = await factory();
      await fresh.store.close();
      await assert.rejects(fresh.store.claim(claimInput(newScope())), StoreUnavailable);
      await fresh.cleanup();
    });

    describeStoreModel(factory, { sweeps: options.sweeps !== false });
  });
}
