import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import type { AuditEvent } from "../../src/audit/event.js";
import { postgresAuditReader, postgresAuditSink } from "../../src/audit/sinks/postgres-sink.js";
import { runCli } from "../../src/cli/run.js";
import { pgConfig, postgresAdmin } from "../helpers/services.js";

const URL = process.env["TOOLGATE_TEST_POSTGRES_URL"];
const SKIP = URL
  ? false
  : "set TOOLGATE_TEST_POSTGRES_URL=postgres://127.0.0.1:5432/test to enable";
const RUN = `${process.pid}_${randomUUID().slice(0, 8)}`;
const T0 = Date.parse("2025-05-01T09:00:00.000Z");

type Overrides = { [K in keyof AuditEvent]?: AuditEvent[K] | undefined };

/** A tool call as the auditor records it; `at` is seconds after T0. */
function event(at: number, overrides: Overrides = {}): AuditEvent {
  const made = {
    time: new Date(T0 + at * 1000).toISOString(),
    requestId: randomUUID(),
    server: "refunds",
    transport: "http",
    principal: { issuer: "https://auth.example.com", subject: "alice", anonymous: false },
    tool: "refund_order",
    toolVersion: "1.0.0",
    arguments: { orderId: "ord_123", amountCents: 1299 },
    outcome: "ok",
    idempotency: "executed",
    latencyMs: 42.5,
    backendCalls: [{ name: "payments", status: 200, ms: 30 }],
    ...overrides,
  };
  // An override of `undefined` removes the field, as the auditor leaves it out.
  return JSON.parse(JSON.stringify(made)) as AuditEvent;
}

describe("postgres audit sink", { skip: SKIP }, () => {
  let admin: pg.Pool;
  const created: string[] = [];
  const newTable = () => {
    const name = `toolgate_audit_test_${RUN}_${created.length + 1}`;
    created.push(name);
    return name;
  };
  before(async () => {
    admin = await postgresAdmin(URL!);
  });
  after(async () => {
    if (!admin) return;
    for (const table of created) {
      await admin.query(`DROP TABLE IF EXISTS "${table}"`);
      await admin.query("DELETE FROM toolgate_meta WHERE key = $1", [`${table}.schema_version`]);
    }
    await admin.end();
  });

  it("two instances write one log at once; retried batches are not stored twice", async () => {
    const table = newTable();
    const sinks = [0, 1].map(() => postgresAuditSink({ connectionString: URL! }, { table }));
    assert.equal(sinks[0]!.name, "postgres");
    const written = sinks.map((_, i) =>
      Array.from({ length: 20 }, (_, b) =>
        Array.from({ length: 25 }, (_, k) => event(b * 25 + k, { server: `instance-${i}` })),
      ),
    );
    await Promise.all(
      sinks.map(async (sink, i) => {
        for (const batch of written[i]!) await sink.write(batch);
      }),
    );
    // Each retries a batch it already stored, plus a duplicate within one batch.
    await Promise.all(
      sinks.map((sink, i) => sink.write([...written[i]![3]!, written[i]![3]![0]!, event(999)])),
    );
    await Promise.all(sinks.map((sink) => sink.close()));
    const { rows } = await admin.query<{ n: string; ids: string }>(
      `SELECT count(*) AS n, count(DISTINCT request_id) AS ids FROM "${table}"`,
    );
    assert.deepEqual(rows, [{ n: "1002", ids: "1002" }]);
  });

  it("stores the event as JSONB beside its indexed columns, even with NUL and lone surrogates", async () => {
    const table = newTable();
    const sink = postgresAuditSink({ connectionString: URL! }, { table });
    const ok = event(0, {
      principal: { issuer: "iss", subject: "bob", tenant: "acme", anonymous: false },
    });
    // Caller-controlled text that PostgreSQL refuses as is: it must not poison the batch.
    const hostile = event(1, { tool: "evil\u0000tool", arguments: { "k\u0000": "\ud800x" } });
    await sink.write([ok, hostile]);
    await sink.close();
    const { rows } = await admin.query(
      `SELECT subject, issuer, tenant, tool, outcome, latency_ms, time_ms, event->>'requestId' AS id
       FROM "${table}" ORDER BY seq`,
    );
    assert.deepEqual(rows[0], {
      subject: "bob",
      issuer: "iss",
      tenant: "acme",
      tool: "refund_order",
      outcome: "ok",
      latency_ms: 42.5,
      time_ms: String(T0),
      id: ok.requestId,
    });
    assert.equal(rows[1].tool, "evil\ufffdtool");
  });

  it("readers filter, limit and order like the SQLite one", async () => {
    const table = newTable();
    const sink = postgresAuditSink({ connectionString: URL! }, { table });
    const bob = { issuer: "iss", subject: "bob", anonymous: false };
    const events = [
      event(0),
      event(10, { tool: "get_order" }),
      event(20, { outcome: "conflict" }),
      event(30, { principal: bob }),
      event(40, { tool: "get_order", outcome: "not_found" }),
      event(5, { principal: bob }), // a delayed batch: earlier in time, later in seq
    ];
    await sink.write(events.slice(0, 5));
    await sink.write(events.slice(5));
    await sink.close();
    const reader = postgresAuditReader({ connectionString: URL! }, { table });
    const ids = async (q: Parameters<typeof reader.query>[0]) =>
      (await reader.query(q)).map((r) =>
        events.findIndex((e) => e.requestId === r.event.requestId),
      );
    assert.deepEqual(await ids({}), [0, 5, 1, 2, 3, 4]);
    assert.deepEqual(await ids({ limit: 2 }), [3, 4]);
    assert.deepEqual(await ids({ since: T0 + 10_000, until: T0 + 30_000 }), [1, 2]);
    assert.deepEqual(await ids({ subject: "bob" }), [5, 3]);
    assert.deepEqual(await ids({ tool: "get_order", outcome: "not_found" }), [4]);
    const rows = await reader.query({ outcome: "conflict" });
    assert.deepEqual(rows[0]!.event, events[2]);
    assert.equal(typeof rows[0]!.seq, "number");
    // tail: every seq, the event only where the filter matches.
    const latest = await reader.latestSeq();
    const tail = await reader.tail({ after: latest - 3, limit: 10, subject: "bob" });
    assert.deepEqual(
      tail.map((r) => r.event?.requestId ?? null),
      [events[3]!.requestId, null, events[5]!.requestId],
    );
    const picked = await reader.tail({ seqs: [latest, latest + 5], limit: 10 });
    assert.deepEqual(
      picked.map((r) => r.seq),
      [latest],
    );
    await reader.close();
  });

  it("a reader of a missing table and an unreachable server fail with one clear message", async () => {
    const reader = postgresAuditReader({ connectionString: URL! }, { table: newTable() });
    await assert.rejects(
      reader.query({}),
      /no audit log in that database: table .* does not exist/,
    );
    await reader.close();
    const closed = postgresAuditReader({ connectionString: "postgres://127.0.0.1:1/test" });
    await assert.rejects(closed.query({}), /^Error: postgres audit log: .*ECONNREFUSED/);
    await closed.close();
  });

  it("an unreachable server rejects the write and a later write succeeds on a caller's pool", async () => {
    const down = postgresAuditSink({ connectionString: "postgres://127.0.0.1:1/test" });
    await assert.rejects(down.write([event(0)]), /postgres audit sink: .*ECONNREFUSED/);
    await down.close();
    const pool = new pg.Pool(pgConfig(URL!));
    const table = newTable();
    const sink = postgresAuditSink({ pool }, { table });
    await sink.write([event(0)]);
    await sink.close();
    // close() leaves a caller's pool open.
    assert.deepEqual((await pool.query(`SELECT count(*)::int AS n FROM "${table}"`)).rows, [
      { n: 1 },
    ]);
    await pool.end();
  });

  it("toolgate audit --follow prints a row committed after a higher seq", async () => {
    const table = newTable();
    const sink = postgresAuditSink({ connectionString: URL! }, { table });
    const [first, slow, fast] = [event(0), event(1), event(2)];
    await sink.write([first]);
    // Another instance's insert takes its seq, then commits after a later insert did.
    const client = await admin.connect();
    await client.query("BEGIN");
    const insert = `INSERT INTO "${table}" (request_id, time_ms, outcome, event) VALUES ($1, $2, 'ok', $3)`;
    await client.query(insert, [slow.requestId, T0, JSON.stringify(slow)]);
    let stdout = "";
    const controller = new AbortController();
    const done = runCli(
      ["audit", "--postgres", URL!, "--table", table, "--json", "--follow", "--interval", "100"],
      {
        stdout: (t) => (stdout += t),
        stderr: (t) => (stdout += t),
        env: {},
        signal: controller.signal,
      },
    );
    const wait = async (id: string) => {
      for (const deadline = Date.now() + 10_000; !stdout.includes(id);) {
        if (Date.now() > deadline) assert.fail(`timed out waiting for ${id}; output:\n${stdout}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    try {
      await wait(first.requestId);
      await sink.write([fast]);
      await wait(fast.requestId);
      await client.query("COMMIT");
      await wait(slow.requestId);
    } finally {
      client.release();
      controller.abort();
      await sink.close();
    }
    assert.equal(await done, 0, stdout);
    const ids = stdout
      .trimEnd()
      .split("\n")
      .map((line) => (JSON.parse(line) as AuditEvent).requestId);
    assert.deepEqual(ids, [first.requestId, fast.requestId, slow.requestId]);
  });

  it("validates its options when built", () => {
    assert.throws(() => postgresAuditSink({ connectionString: URL! }, { table: "Bad" }), TypeError);
    assert.throws(() => postgresAuditSink({ pool: {} as pg.Pool }), TypeError);
    assert.throws(
      () => postgresAuditSink({ connectionString: URL! }, { queryTimeoutMs: 0 }),
      TypeError,
    );
  });
});
