import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import type { AuditEvent } from "../../src/audit/event.js";
import { sqliteAuditReader, sqliteAuditSink } from "../../src/audit/sinks/sqlite-sink.js";
import { pragmasOfConnectionsOpenedBy } from "../helpers/sqlite.js";

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
    arguments: { orderId: "ord_123", amountCents: 1299, note: "***" },
    outcome: "ok",
    idempotency: "executed",
    latencyMs: 42.5,
    backendCalls: [{ name: "payments", status: 200, ms: 30 }],
    ...overrides,
  };
  // An override of `undefined` removes the field, as the auditor leaves it out.
  return JSON.parse(JSON.stringify(made)) as AuditEvent;
}

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "toolgate-audit-sqlite-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});
const logFile = () => path.join(dir, randomUUID(), "nested", "audit.sqlite");

describe("sqlite audit sink", () => {
  it("touches no disk until the first write, then creates its folder private to the user", async () => {
    const file = logFile();
    const sink = sqliteAuditSink({ path: file });
    assert.equal(sink.name, "sqlite");
    await assert.rejects(stat(path.dirname(file)), { code: "ENOENT" });
    await sink.write([]);
    await assert.rejects(stat(path.dirname(file)), { code: "ENOENT" });
    await sink.write([event(0)]);
    if (process.platform !== "win32") {
      assert.equal((await stat(path.dirname(file))).mode & 0o777, 0o700);
      assert.equal((await stat(file)).mode & 0o777, 0o600);
    }
    await sink.close();
    const db = new Database(file, { readonly: true });
    assert.equal(db.pragma("journal_mode", { simple: true }), "wal");
    db.close();
  });

  it("writes through a WAL connection with SQLite's 2 MiB page cache, not better-sqlite3's 16 MB", async () => {
    const sink = sqliteAuditSink({ path: logFile() });
    try {
      const opened = await pragmasOfConnectionsOpenedBy(() => sink.write([event(0)]));
      assert.deepEqual(opened, [
        { journalMode: "wal", synchronous: 1, busyTimeout: 5000, cacheSize: -2000 },
      ]);
    } finally {
      await sink.close();
    }
  });

  it("stores a batch and skips request ids it already has (a retried batch)", async () => {
    const file = logFile();
    const sink = sqliteAuditSink({ path: file });
    const batch = [event(1), event(2), event(3)];
    await sink.write(batch.slice(0, 2));
    await sink.write(batch); // the auditor retrying after a partial failure
    await sink.write([batch[2]!, batch[2]!]); // and a duplicate inside one batch
    await sink.close();
    const reader = sqliteAuditReader({ path: file });
    const rows = await reader.query({});
    assert.deepEqual(
      rows.map((r) => r.event),
      batch,
    );
    // Seqs increase in write order (a skipped duplicate may use one up: AUTOINCREMENT).
    const seqs = rows.map((r) => r.seq);
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => a - b),
    );
    await reader.close();
  });

  it("writes a large batch in short transactions, letting the event loop run between them", async () => {
    const file = logFile();
    const sink = sqliteAuditSink({ path: file });
    await sink.write([event(0)]); // opened
    const batch = Array.from({ length: 200 }, (_, i) => event(i + 1));
    const written = sink.write(batch);
    // Work scheduled after the write began gets its turn before the batch is done (one
    // synchronous transaction of 200 rows would finish first).
    let otherWorkRan = false;
    setImmediate(() => (otherWorkRan = true));
    await written;
    assert.ok(otherWorkRan, "the event loop turned while the batch was written");
    await sink.close();
    const reader = sqliteAuditReader({ path: file });
    const rows = await reader.query({ limit: 1000 });
    assert.equal(rows.length, 201);
    assert.deepEqual(
      rows.slice(1).map((r) => r.event.requestId),
      batch.map((e) => e.requestId),
    );
    await reader.close();
  });

  it("two sinks (as two processes would) write one file concurrently without losing rows", async () => {
    const file = logFile();
    const sinks = [sqliteAuditSink({ path: file }), sqliteAuditSink({ path: file })];
    const written = sinks.map((_, i) =>
      Array.from({ length: 20 }, (_, b) =>
        Array.from({ length: 10 }, (_, k) => event(b * 10 + k, { server: `instance-${i}` })),
      ),
    );
    await Promise.all(
      sinks.map(async (sink, i) => {
        for (const batch of written[i]!) await sink.write(batch);
      }),
    );
    // Both retry their last batch: nothing is stored twice.
    await Promise.all(sinks.map((sink, i) => sink.write(written[i]!.at(-1)!)));
    await Promise.all(sinks.map((sink) => sink.close()));
    const reader = sqliteAuditReader({ path: file });
    const rows = await reader.query({ limit: 1000 });
    assert.equal(rows.length, 400);
    assert.equal(new Set(rows.map((r) => r.event.requestId)).size, 400);
    await reader.close();
  });

  it("rejects a write it cannot open, and opens on a later write once it can", async () => {
    const blocker = path.join(dir, `${randomUUID()}-file`);
    const sink = sqliteAuditSink({ path: path.join(blocker, "audit.sqlite") });
    // A file where the folder should be: mkdir fails.
    new Database(blocker).close();
    await assert.rejects(sink.write([event(0)]), /sqlite audit sink/);
    await rm(blocker);
    await sink.write([event(0)]);
    await sink.close();
    await assert.rejects(sink.write([event(1)]), /closed/);
  });

  it("validates its options and events", async () => {
    assert.throws(() => sqliteAuditSink({ path: "" }), TypeError);
    assert.throws(() => sqliteAuditSink({ path: logFile(), busyTimeoutMs: -1 }), TypeError);
    assert.throws(() => sqliteAuditSink({ path: logFile(), table: "Audit; drop" }), TypeError);
    const sink = sqliteAuditSink({ path: logFile() });
    await assert.rejects(sink.write([event(0, { requestId: "" })]), TypeError);
    await sink.close();
  });
});

describe("sqlite audit reader", () => {
  let file: string;
  const events = [
    event(0, { principal: { issuer: "iss", subject: "alice", anonymous: false } }),
    event(10, { tool: "get_order", outcome: "ok", idempotency: undefined }),
    event(20, { outcome: "conflict", retryable: false }),
    event(30, { principal: { issuer: "iss", subject: "bob", anonymous: false } }),
    event(40, { tool: "get_order", outcome: "not_found" }),
    // Written later but earlier in time (a delayed batch): sorted by time, not seq.
    event(5, { principal: { issuer: "iss", subject: "bob", anonymous: false } }),
  ];
  before(async () => {
    file = logFile();
    const sink = sqliteAuditSink({ path: file });
    await sink.write(events.slice(0, 5));
    await sink.write(events.slice(5));
    await sink.close();
  });

  it("returns the most recent N matches oldest first, ordered by time", async () => {
    const reader = sqliteAuditReader({ path: file });
    const all = await reader.query({});
    assert.deepEqual(
      all.map((r) => r.event.requestId),
      [0, 5, 1, 2, 3, 4].map((i) => events[i]!.requestId),
    );
    const last2 = await reader.query({ limit: 2 });
    assert.deepEqual(
      last2.map((r) => r.event),
      [events[3], events[4]],
    );
    await reader.close();
  });

  it("filters by time range (since inclusive, until exclusive), subject, tool and outcome", async () => {
    const reader = sqliteAuditReader({ path: file });
    const ids = async (q: Parameters<typeof reader.query>[0]) =>
      (await reader.query(q)).map((r) =>
        events.findIndex((e) => e.requestId === r.event.requestId),
      );
    assert.deepEqual(await ids({ since: T0 + 10_000, until: T0 + 30_000 }), [1, 2]);
    assert.deepEqual(await ids({ subject: "bob" }), [5, 3]);
    assert.deepEqual(await ids({ tool: "get_order" }), [1, 4]);
    assert.deepEqual(await ids({ outcome: "conflict" }), [2]);
    assert.deepEqual(await ids({ tool: "get_order", outcome: "not_found", since: T0 }), [4]);
    assert.deepEqual(await ids({ subject: "carol" }), []);
    await reader.close();
  });

  it("tails by seq, marking rows that do not match the filters", async () => {
    const reader = sqliteAuditReader({ path: file });
    assert.equal(await reader.latestSeq(), 6);
    const tail = await reader.tail({ after: 3, limit: 10, subject: "bob" });
    assert.deepEqual(
      tail.map((r) => [r.seq, r.event?.requestId ?? null]),
      [
        [4, events[3]!.requestId],
        [5, null],
        [6, events[5]!.requestId],
      ],
    );
    const picked = await reader.tail({ seqs: [2, 6, 99], limit: 10 });
    assert.deepEqual(
      picked.map((r) => r.seq),
      [2, 6],
    );
    await reader.close();
  });

  it("says there is no audit log when the file does not exist, and does not create it", async () => {
    const missing = path.join(dir, "missing", "audit.sqlite");
    const reader = sqliteAuditReader({ path: missing });
    await assert.rejects(reader.query({}), {
      message: `no audit log at ${missing}: the file does not exist`,
    });
    await reader.close();
    await assert.rejects(stat(missing), { code: "ENOENT" });
  });

  it("says so when the file holds no audit table", async () => {
    const other = path.join(dir, `${randomUUID()}.sqlite`);
    new Database(other).close();
    const reader = sqliteAuditReader({ path: other });
    await assert.rejects(reader.query({}), /no audit log at .*has no table toolgate_audit/);
    await reader.close();
  });
});
