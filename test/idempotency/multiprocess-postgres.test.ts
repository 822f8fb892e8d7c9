// Plan lines 4, 7, 8 and 10 of idempotency.md with three toolgate processes sharing one
// PostgreSQL table; plan line 10 stops and starts the real server between claim and complete.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { it } from "node:test";
import { postgresStore } from "../../src/stores/postgres-store.js";
import {
  charge,
  count,
  expectRetryable,
  ledgerOf,
  newOperation,
  outcomeOf,
  waitForLedger,
  type Outcome,
} from "./fixtures/multiprocess.js";
import { describeMultiprocess, type Suite } from "./fixtures/multiprocess-suite.js";
import { postgresAdmin, postgresService } from "./fixtures/services.js";

const URL = process.env["TOOLGATE_TEST_POSTGRES_URL"];
const SKIP = URL
  ? false
  : "TOOLGATE_TEST_POSTGRES_URL is unset: set TOOLGATE_TEST_POSTGRES_URL=postgres://127.0.0.1:5432/test to enable";
const service = URL ? postgresService(URL) : undefined;
const RESTART_SKIP = SKIP || service!.skip;

describeMultiprocess(
  "postgres",
  async () => {
    const admin = await postgresAdmin(URL!);
    const table = `toolgate_idem_mp_${process.pid}_${randomUUID().slice(0, 8)}`;
    const inspector = postgresStore({ connectionString: URL! }, { table });
    return {
      env: { STORE: "postgres", POSTGRES_URL: URL!, POSTGRES_TABLE: table },
      inspector,
      cleanup: async () => {
        await inspector.close();
        await admin.query(`DROP TABLE IF EXISTS "${table}", "${table}_rate_limits"`);
        await admin.query("DELETE FROM toolgate_meta WHERE key = $1", [`${table}.schema_version`]);
        await admin.end();
      },
    };
  },
  { skip: SKIP, more: restartTests },
);

function restartTests(suite: Suite): void {
  /**
   * Starts a call on the first process whose handler waits for its gate file; once the
   * handler runs (the key is claimed), hands it to `body`. PostgreSQL is up afterwards.
   */
  async function gatedCall(label: string, body: (call: GatedCall) => Promise<void>) {
    const o = newOperation(suite.dir, label);
    const args = { op: o.op, amount: 11, gate: o.gate };
    try {
      const first = charge(suite.pool[0]!, o.key, args).then(outcomeOf);
      first.catch(() => undefined); // awaited by body; a failure must not go unhandled first
      await waitForLedger(suite.ledger, o.op, (l) => count(l, "start") === 1);
      await body({ ...o, args, first });
    } finally {
      o.openGate();
      await service!.ensureUp();
    }
  }

  it(
    "plan 10: PostgreSQL restarted between claim and complete: the result is stored once and replayed",
    { skip: RESTART_SKIP, timeout: 60_000 },
    (t) =>
      gatedCall("pg-restart", async ({ key, op, args, first, openGate }) => {
        const started = Date.now();
        await service!.stop();
        await service!.start();
        t.diagnostic(`PostgreSQL stopped and answering again in ${Date.now() - started} ms`);
        openGate();
        // The server is back before the handler returns: the pool replaces the connections
        // the restart closed, and complete succeeds on a new one.
        const answer = await first;
        assert.equal(answer.kind, "fresh", JSON.stringify(answer));
        const retried = outcomeOf(await charge(suite.pool[1]!, key, args));
        assert.equal(retried.kind, "replay", JSON.stringify(retried));
        const lines = ledgerOf(suite.ledger, op);
        assert.deepEqual(
          lines.map((l) => l.event),
          ["start", "done"],
        );
      }),
  );

  it(
    "plan 10: PostgreSQL down only briefly at complete: the result is persisted once it is back",
    {
      skip: RESTART_SKIP,
      timeout: 60_000,
    },
    () =>
      gatedCall("pg-blip", async ({ key, op, args, first, openGate }) => {
        await service!.stop();
        openGate();
        expectRetryable(await first, "unavailable");
        await service!.start();
        // Rule 4: the caller did not get the unsaved result. toolgate kept trying to save it
        // while the claim was its own, so within the lease (13 s) a retry replays it.
        let retried: Outcome | undefined;
        for (let attempt = 0; attempt < 3 && retried?.kind !== "replay"; attempt += 1) {
          retried = outcomeOf(await charge(suite.pool[1]!, key, args));
        }
        assert.equal(retried?.kind, "replay", JSON.stringify(retried));
        assert.equal(count(ledgerOf(suite.ledger, op), "start"), 1);
      }),
  );
}

interface GatedCall {
  key: string;
  op: string;
  args: { op: string; amount: number; gate: string };
  first: Promise<Outcome>;
  openGate: () => void;
}
