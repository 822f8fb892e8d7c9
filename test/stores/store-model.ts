// Plan line 16: random interleavings of claim, complete, release, clock advances, get and
// sweep by several owners on a few scopes, run against a store and a tiny reference model.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { it } from "node:test";
import fc from "fast-check";
import type { ClaimOutcome, IdempotencyRecord } from "../../src/idempotency/store.js";
import type { StoreFactory } from "./store-contract.js";

const LEASE = 100;
type Op =
  | { op: "claim"; scope: number; actor: number; fp: number; retention: number }
  | { op: "complete"; scope: number; actor: number; retention: number }
  | { op: "release"; scope: number; actor: number }
  | { op: "advance"; ms: number }
  | { op: "get"; scope: number }
  | { op: "sweep" };

const scope = fc.integer({ min: 0, max: 2 });
const actor = fc.integer({ min: 0, max: 2 });
const retention = fc.constantFrom(LEASE, 250, 1_000);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant("claim" as const), scope, actor, fp: fc.nat(1), retention }),
  fc.record({ op: fc.constant("complete" as const), scope, actor, retention }),
  fc.record({ op: fc.constant("release" as const), scope, actor }),
  fc.record({
    op: fc.constant("advance" as const),
    ms: fc.oneof(fc.constantFrom(1, LEASE - 1, LEASE, 250, 1_000), fc.nat(300)),
  }),
  fc.record({ op: fc.constant("get" as const), scope }),
  fc.record({ op: fc.constant("sweep" as const) }),
);

type Rec = { -readonly [K in keyof IdempotencyRecord]: IdempotencyRecord[K] };

/** The reference: the contract in a dozen lines. Holds rows as a store does (expired ones too). */
class Model {
  rows = new Map<string, Rec>();
  live(scope: string, now: number): Rec | undefined {
    const row = this.rows.get(scope);
    return row && row.expiresAt > now ? row : undefined;
  }
  claim(scope: string, fp: string, owner: string, now: number, retention: number): ClaimOutcome {
    const row = this.live(scope, now);
    const takeover = !!row && row.state === "in_progress" && row.leaseExpiresAt <= now;
    if (row && !(takeover && row.fingerprint === fp)) return { kind: "existing", record: row };
    this.rows.set(scope, {
      state: "in_progress",
      fingerprint: fp,
      ownerToken: owner,
      leaseExpiresAt: now + LEASE,
      expiresAt: now + retention,
      createdAt: now,
    });
    return { kind: "claimed", takeover: !!row };
  }
  complete(scope: string, owner: string, result: string, now: number, retention: number) {
    const row = this.live(scope, now);
    if (row?.state !== "in_progress" || row.ownerToken !== owner) return false;
    Object.assign(row, {
      state: "completed",
      result,
      completedAt: now,
      expiresAt: now + retention,
    });
    return true;
  }
}

export function describeStoreModel(factory: StoreFactory, options: { sweeps: boolean }): void {
  it("property: random interleavings match the reference model (plan 16)", async () => {
    const harness = await factory();
    const store = harness.store;
    let run = 0;
    try {
      const property = fc.asyncProperty(fc.array(opArb, { maxLength: 30 }), async (ops) => {
        // Each run starts its clock past everything earlier runs wrote, and sweeps it.
        run += 1;
        let now = 1_700_000_000_000 + run * 1_000_000_000;
        if (options.sweeps) await store.sweep(now);
        const model = new Model();
        const prefix = randomUUID();
        const scopes = [0, 1, 2].map((i) => `${prefix}-${i}`);
        const tokens = new Map<string, string>(); // `${actor}/${scope}` -> last token
        const holders = new Map<string, { token: string; lease: number; exp: number }[]>();
        const completed = new Map<string, { result: string; exp: number }>();
        let n = 0;

        for (const op of ops) {
          if (op.op === "advance") now += op.ms;
          else if (op.op === "sweep") {
            const swept = await store.sweep(now);
            if (options.sweeps) {
              let expected = 0;
              for (const [s, row] of model.rows) {
                if (row.expiresAt > now) continue;
                model.rows.delete(s);
                expected += 1;
              }
              assert.equal(swept, expected, "sweep count");
            }
          } else if (op.op === "get") {
            const s = scopes[op.scope]!;
            assert.deepEqual(await store.get(s, now), model.live(s, now), "get");
          } else if (op.op === "claim") {
            const s = scopes[op.scope]!;
            const token = `${op.actor}:${(n += 1)}`;
            tokens.set(`${op.actor}/${s}`, token);
            const fp = `fp${op.fp}`;
            const input = { scope: s, fingerprint: fp, ownerToken: token, now, leaseMs: LEASE };
            const got = await store.claim({ ...input, retentionMs: op.retention });
            assert.deepEqual(got, model.claim(s, fp, token, now, op.retention), "claim");
            const kept = completed.get(s);
            if (kept && now < kept.exp) {
              // A completed record is never overwritten within its retention.
              assert.equal(got.kind === "existing" && got.record.result, kept.result);
            } else completed.delete(s);
            if (got.kind === "claimed") {
              const list = holders.get(s) ?? [];
              list.push({ token, lease: now + LEASE, exp: now + op.retention });
              holders.set(s, list);
            }
          } else {
            const s = scopes[op.scope]!;
            const token = tokens.get(`${op.actor}/${s}`) ?? `${op.actor}:none`;
            let ok: boolean;
            if (op.op === "complete") {
              const result = JSON.stringify({ by: token, at: now });
              const input = { scope: s, ownerToken: token, result, now };
              ok = await store.complete({ ...input, retentionMs: op.retention });
              assert.equal(ok, model.complete(s, token, result, now, op.retention), "complete");
              if (ok) completed.set(s, { result, exp: now + op.retention });
            } else {
              ok = await store.release(s, token);
              const row = model.rows.get(s);
              const physical = row?.state === "in_progress" && row.ownerToken === token;
              // Releasing one's own row past retention may or may not find it (a store
              // may have dropped it already); either way the key is free.
              if (!(physical && row.expiresAt <= now)) assert.equal(ok, physical, "release");
              if (ok) model.rows.delete(s);
            }
            if (ok)
              holders.set(
                s,
                (holders.get(s) ?? []).filter((h) => h.token !== token),
              );
          }
          // At most one live owner per scope: claimed, not finished, lease and retention live.
          for (const [s, list] of holders) {
            const live = list.filter((h) => h.lease > now && h.exp > now);
            assert.ok(live.length <= 1, `two live owners of ${s}: ${JSON.stringify(live)}`);
          }
        }
      });
      await fc.assert(property, { numRuns: 60, includeErrorInReport: true });
    } finally {
      await harness.cleanup();
    }
  });
}
