// Plan lines 4, 7, 8 and 10 of idempotency.md with three toolgate processes sharing one
// Redis; plan line 10 restarts the real server (run without persistence, as in CI) between
// claim and complete.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { it } from "node:test";
import { redisStore } from "../../src/stores/redis-store.js";
import {
  charge,
  count,
  expectRetryable,
  ledgerOf,
  newOperation,
  outcomeOf,
  scopeOfKey,
  waitForLedger,
} from "./fixtures/multiprocess.js";
import { describeMultiprocess, type Suite } from "./fixtures/multiprocess-suite.js";
import { redisAdmin, redisService } from "./fixtures/services.js";

const URL = process.env["TOOLGATE_TEST_REDIS_URL"];
const SKIP = URL
  ? false
  : "TOOLGATE_TEST_REDIS_URL is unset: set TOOLGATE_TEST_REDIS_URL=redis://127.0.0.1:6379/15 to enable";
const service = URL ? redisService(URL) : undefined;
const RESTART_SKIP = SKIP || service!.skip;

describeMultiprocess(
  "redis",
  async () => {
    // Fails (not skips) when the variable is set but Redis does not answer.
    const admin = await redisAdmin(URL!);
    await admin.quit();
    const keyPrefix = `toolgate:test:mp:${process.pid}:${randomUUID()}:`;
    const inspector = redisStore({ url: URL! }, { keyPrefix });
    return {
      env: { STORE: "redis", REDIS_URL: URL!, REDIS_PREFIX: keyPrefix },
      inspector,
      cleanup: async () => {
        await inspector.close();
        const cleaner = await redisAdmin(URL!);
        let cursor = "0";
        do {
          const [next, keys] = await cleaner.scan(cursor, "MATCH", `${keyPrefix}*`, "COUNT", 1000);
          if (keys.length > 0) await cleaner.del(...keys);
          cursor = next;
        } while (cursor !== "0");
        await cleaner.quit();
      },
    };
  },
  { skip: SKIP, more: restartTests },
);

function restartTests(suite: Suite): void {
  it(
    "plan 10: Redis restarted between claim and complete: unavailable, then at most one more run",
    { skip: RESTART_SKIP, timeout: 60_000 },
    async (t) => {
      const { pool, ledger } = suite;
      const o = newOperation(suite.dir, "redis-restart");
      const args = { op: o.op, amount: 13, gate: o.gate };
      try {
        const first = charge(pool[0]!, o.key, args).then(outcomeOf);
        first.catch(() => undefined); // awaited below
        await waitForLedger(ledger, o.op, (l) => count(l, "start") === 1);
        const started = Date.now();
        await service!.stop();
        await service!.start();
        t.diagnostic(`Redis stopped and answering again in ${Date.now() - started} ms`);
        o.openGate();
        // Without persistence the restart dropped the claim, so complete (owner-conditional)
        // stores nothing: the caller gets `unavailable`, never the unpersisted result.
        expectRetryable(await first, "unavailable");
        assert.equal(await suite.target.inspector.get(scopeOfKey(o.key), Date.now()), undefined);

        // Observed and by design: the record is gone, so the retry finds no claim and runs
        // the operation again: 2 executions at most (never more: the retry's own result is
        // persisted and replayed). Redis with persistence (AOF) would keep the claim, and a
        // backend deduplicating on ctx.idempotencyKey (the demo's backend-derived key; the
        // same for both runs) turns the second run into a no-op.
        const retried = outcomeOf(await charge(pool[1]!, o.key, args));
        assert.equal(retried.kind, "fresh", JSON.stringify(retried));
        const again = outcomeOf(await charge(pool[2]!, o.key, args));
        assert.equal(again.kind, "replay", JSON.stringify(again));
        const lines = ledgerOf(ledger, o.op);
        assert.ok(count(lines, "start") <= 2, JSON.stringify(lines));
        assert.deepEqual(
          lines.map((l) => [l.event, l.pid]),
          [
            ["start", pool[0]!.pid],
            ["done", pool[0]!.pid],
            ["start", pool[1]!.pid],
            ["done", pool[1]!.pid],
          ],
        );
        assert.equal(new Set(lines.map((l) => l.key)).size, 1, "one derived key");
      } finally {
        o.openGate();
        await service!.ensureUp();
      }
    },
  );
}
