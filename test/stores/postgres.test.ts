import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { StoreUnavailable } from "../../src/idempotency/store.js";
import { POSTGRES_SCHEMA_VERSION, postgresStore } from "../../src/stores/postgres-store.js";
import { pgConfig, postgresAdmin } from "../helpers/services.js";
import { describeRateLimitContract } from "./rate-limit-contract.js";
import { T0, claimInput, describeStoreContract, newScope } from "./store-contract.js";

const URL = process.env["TOOLGATE_TEST_POSTGRES_URL"];
const SKIP = URL
  ? false
  : "set TOOLGATE_TEST_POSTGRES_URL=postgres://127.0.0.1:5432/test to enable";
const RUN = `${process.pid}_${randomUUID().slice(0, 8)}`;
let tables = 0;
const newTable = () => `toolgate_idem_test_${RUN}_${(tables += 1)}`;

const poolConfig = () => pgConfig(URL!);
const adminPool = () => postgresAdmin(URL!);

async function dropTable(admin: pg.Pool, table: string): Promise<void> {
  await admin.query(`DROP TABLE IF EXISTS "${table}", "${table}_rate_limits"`);
  await admin.query("DELETE FROM toolgate_meta WHERE key = $1", [`${table}.schema_version`]);
}

const factory = async () => {
  const admin = await adminPool();
  const table = newTable();
  const store = postgresStore({ connectionString: URL! }, { table });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await dropTable(admin, table);
      await admin.end();
    },
  };
};

describeStoreContract("postgres", factory, { skip: SKIP });
describeRateLimitContract("postgres", factory, { skip: SKIP });

describe("postgres store", { skip: SKIP }, () => {
  let admin: pg.Pool;
  const created: string[] = [];
  before(async () => {
    admin = await adminPool();
  });
  after(async () => {
    if (!admin) return;
    for (const table of created) await dropTable(admin, table);
    await admin.end();
  });
  const table = () => {
    const name = newTable();
    created.push(name);
    return name;
  };

  it("several stores creating one table at once all succeed, with one schema version row", async () => {
    const name = table();
    const stores = Array.from({ length: 8 }, () =>
      postgresStore({ connectionString: URL! }, { table: name }),
    );
    const outcomes = await Promise.all(stores.map((s) => s.claim(claimInput(newScope()))));
    assert.deepEqual(new Set(outcomes.map((o) => o.kind)), new Set(["claimed"]));
    await Promise.all(stores.map((s) => s.close()));
    const { rows } = await admin.query("SELECT value FROM toolgate_meta WHERE key = $1", [
      `${name}.schema_version`,
    ]);
    assert.deepEqual(rows, [{ value: String(POSTGRES_SCHEMA_VERSION) }]);
  });

  it("refuses a table written by a newer schema version", async () => {
    const name = table();
    const first = postgresStore({ connectionString: URL! }, { table: name });
    await first.get("x", 0);
    await first.close();
    await admin.query("UPDATE toolgate_meta SET value = '99' WHERE key = $1", [
      `${name}.schema_version`,
    ]);
    const store = postgresStore({ connectionString: URL! }, { table: name });
    await assert.rejects(store.get("x", 0), /schema version 99.*upgrade toolgate/);
    await store.close();
  });

  it("rate-limit buckets live in <table>_rate_limits, created with the schema", async () => {
    const name = table();
    const store = postgresStore({ connectionString: URL! }, { table: name });
    const input = { key: "rl:one", limit: 3, windowMs: 1_000, now: 1_000 };
    assert.deepEqual(await store.consume(input), { allowed: true, remaining: 2 });
    await store.close();
    const { rows } = await admin.query(
      `SELECT key, tat::int, tat_rem::int, expires_at::int FROM "${name}_rate_limits"`,
    );
    assert.deepEqual(rows, [{ key: "rl:one", tat: 1_333, tat_rem: 1, expires_at: 1_334 }]);
  });

  it("a database made before rate limits (no bucket table) gains it on open, records intact", async () => {
    const name = table();
    const first = postgresStore({ connectionString: URL! }, { table: name });
    const claim = claimInput(newScope());
    await first.claim(claim);
    await first.close();
    await admin.query(`DROP TABLE "${name}_rate_limits"`);
    const store = postgresStore({ connectionString: URL! }, { table: name });
    const input = { key: "rl:x", limit: 1, windowMs: 1_000, now: claim.now };
    assert.deepEqual(await store.consume(input), { allowed: true, remaining: 0 });
    assert.equal((await store.get(claim.scope, claim.now))?.ownerToken, claim.ownerToken);
    await store.close();
  });

  it("consume on a closed port fails fast with StoreUnavailable", async () => {
    const store = postgresStore({ connectionString: "postgres://127.0.0.1:1/test" });
    const started = Date.now();
    const input = { key: "rl:down", limit: 1, windowMs: 1_000, now: T0 };
    await assert.rejects(store.consume(input), StoreUnavailable);
    assert.ok(Date.now() - started < 5_000, `took ${Date.now() - started} ms`);
    await store.close();
  });

  it("a closed port fails fast with StoreUnavailable", async () => {
    const store = postgresStore({ connectionString: "postgres://127.0.0.1:1/test" });
    for (let i = 0; i < 2; i += 1) {
      const started = Date.now();
      await assert.rejects(store.claim(claimInput(newScope())), StoreUnavailable);
      assert.ok(Date.now() - started < 5_000, `took ${Date.now() - started} ms`);
    }
    await store.close();
  });

  it("backends terminated between claim and complete: complete works on a retry at most", async () => {
    const app = `toolgate_test_${RUN}`;
    const url = new globalThis.URL(URL!);
    url.searchParams.set("application_name", app);
    const store = postgresStore({ connectionString: url.toString() }, { table: table() });
    const input = claimInput(newScope());
    assert.equal((await store.claim(input)).kind, "claimed");
    const killed = await admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
      [app],
    );
    assert.ok(killed.rowCount! >= 1);
    const done = { scope: input.scope, ownerToken: input.ownerToken, result: "{}", now: T0 };
    let ok = false;
    for (let attempt = 0; attempt < 2 && !ok; attempt += 1) {
      try {
        ok = await store.complete({ ...done, retentionMs: 60_000 });
      } catch (err) {
        assert.ok(err instanceof StoreUnavailable, String(err));
      }
    }
    assert.equal(ok, true);
    await store.close();
  });

  it("close() leaves a caller's pool open", async () => {
    const pool = new pg.Pool(poolConfig());
    const store = postgresStore({ pool }, { table: table() });
    assert.equal((await store.claim(claimInput(newScope()))).kind, "claimed");
    await store.close();
    assert.deepEqual((await pool.query("SELECT 1 AS one")).rows, [{ one: 1 }]);
    await pool.end();
  });

  it("validates its options when built", () => {
    assert.throws(
      () => postgresStore({ connectionString: URL! }, { table: "Bad-Name" }),
      TypeError,
    );
    assert.throws(() => postgresStore({ connectionString: URL! }, { table: "x; drop" }), TypeError);
    assert.throws(() => postgresStore({ pool: {} as pg.Pool }), TypeError);
    assert.throws(
      () => postgresStore({ connectionString: URL! }, { queryTimeoutMs: 0 }),
      TypeError,
    );
  });
});
