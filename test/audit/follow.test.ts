// followAudit (toolgate/audit) against real SQLite audit logs: the first batch, then what
// is written after, each event once, including rows committed out of seq order (as
// concurrent PostgreSQL writers do), and the ways it ends.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { AuditEvent } from "../../src/audit/index.js";
import { followAudit, sqliteAuditReader, sqliteAuditSink } from "../../src/audit/index.js";
import { insertAuditRowAt } from "../helpers/audit-rows.js";

const bob = { issuer: "https://auth.example.com", subject: "bob", anonymous: false };

/** A tool call as the auditor records it, by alice unless overridden. */
function event(overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    time: new Date().toISOString(),
    requestId: randomUUID(),
    server: "refunds",
    transport: "http",
    principal: { issuer: "https://auth.example.com", subject: "alice", anonymous: false },
    tool: "refund_order",
    toolVersion: "1.0.0",
    arguments: { orderId: "ord_123" },
    outcome: "ok",
    latencyMs: 4,
    backendCalls: [],
    ...overrides,
  };
}

/** The next batch, or a failure instead of a hang. */
async function next(
  batches: AsyncIterator<AuditEvent[], void>,
): Promise<IteratorResult<AuditEvent[], void>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("no batch within 10s")), 10_000);
  });
  try {
    return await Promise.race([batches.next(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The request ids of the batches that follow, up to and including `last`. */
async function idsUntil(batches: AsyncIterator<AuditEvent[], void>, last: AuditEvent) {
  const ids: string[] = [];
  while (!ids.includes(last.requestId)) {
    const result = await next(batches);
    assert.ok(!result.done, "the follow ended early");
    assert.ok(result.value.length > 0, "batches are never empty");
    ids.push(...result.value.map((e) => e.requestId));
  }
  return ids;
}

const ids = (...events: AuditEvent[]) => events.map((e) => e.requestId);

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "toolgate-audit-follow-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("followAudit", () => {
  it("yields the query's matches, then matching events written after, each once", async () => {
    const file = path.join(dir, `${randomUUID()}.sqlite`);
    const sink = sqliteAuditSink({ path: file });
    const [a1, b1, a2] = [event(), event({ principal: bob }), event()];
    await sink.write([a1, b1, a2]);
    const reader = sqliteAuditReader({ path: file });
    const controller = new AbortController();
    const batches = followAudit(reader, {
      query: { subject: "alice", limit: 1 },
      intervalMs: 20,
      signal: controller.signal,
    });
    try {
      const first = await next(batches);
      assert.ok(!first.done);
      assert.deepEqual(ids(...first.value), ids(a2), "the most recent match");
      const [a3, b2, a4] = [event(), event({ principal: bob }), event()];
      await sink.write([a3, b2, a4]);
      await sink.write([a3, b2, a4]); // a retried batch: skipped by the sink
      assert.deepEqual(await idsUntil(batches, a4), ids(a3, a4));
      const marker = event();
      await sink.write([marker]);
      assert.deepEqual(await idsUntil(batches, marker), ids(marker), "nothing twice");
      controller.abort();
      assert.equal((await next(batches)).done, true);
    } finally {
      await reader.close();
      await sink.close();
    }
  });

  it("yields rows committed below the highest seq seen, and skips ones that do not match", async () => {
    const file = path.join(dir, `${randomUUID()}.sqlite`);
    const sink = sqliteAuditSink({ path: file });
    const e1 = event();
    await sink.write([e1]);
    await sink.close();
    // Seqs 2 and 4 are "allocated but not committed yet": write around them by hand.
    const [e2, e3, e4, e5, e6] = [event(), event(), event({ principal: bob }), event(), event()];
    insertAuditRowAt(file, 3, e3);
    const reader = sqliteAuditReader({ path: file });
    const controller = new AbortController();
    const batches = followAudit(reader, {
      query: { subject: "alice" },
      intervalMs: 20,
      signal: controller.signal,
    });
    try {
      assert.deepEqual(await idsUntil(batches, e3), ids(e1, e3));
      insertAuditRowAt(file, 5, e5);
      assert.deepEqual(await idsUntil(batches, e5), ids(e5));
      insertAuditRowAt(file, 2, e2); // below rows already yielded: a tail by "seq > last" skips it
      insertAuditRowAt(file, 4, e4); // bob's: fills the gap, not yielded
      insertAuditRowAt(file, 6, e6);
      const later = await idsUntil(batches, e6);
      assert.deepEqual(later, ids(e2, e6));
    } finally {
      controller.abort();
      await reader.close();
    }
  });

  it("yields an event committed while it starts once, though it was missing then", async () => {
    const file = path.join(dir, `${randomUUID()}.sqlite`);
    const sink = sqliteAuditSink({ path: file });
    await sink.write([event()]);
    const reader = sqliteAuditReader({ path: file });
    const racing = event();
    // A concurrent writer commits between the look for missing seqs and the first query.
    const racy: typeof reader = {
      ...reader,
      async latestSeq() {
        const seq = await reader.latestSeq();
        await sink.write([racing]);
        return seq;
      },
    };
    const controller = new AbortController();
    const batches = followAudit(racy, { intervalMs: 20, signal: controller.signal });
    try {
      const first = await next(batches);
      assert.ok(!first.done);
      assert.ok(first.value.some((e) => e.requestId === racing.requestId));
      const marker = event();
      await sink.write([marker]);
      assert.deepEqual(await idsUntil(batches, marker), ids(marker));
    } finally {
      controller.abort();
      await reader.close();
      await sink.close();
    }
  });

  it("ends at once when the signal aborts while it waits, or has already", async () => {
    const file = path.join(dir, `${randomUUID()}.sqlite`);
    const sink = sqliteAuditSink({ path: file });
    await sink.write([event()]);
    await sink.close();
    const reader = sqliteAuditReader({ path: file });
    const controller = new AbortController();
    const batches = followAudit(reader, { intervalMs: 60_000, signal: controller.signal });
    try {
      assert.equal((await next(batches)).done, false);
      const waiting = next(batches);
      const started = Date.now();
      controller.abort();
      assert.equal((await waiting).done, true);
      assert.ok(Date.now() - started < 5000, "did not sleep out the interval");
    } finally {
      await reader.close();
    }
    // Already aborted: it never reads (this log does not exist, reading would throw).
    const missing = sqliteAuditReader({ path: path.join(dir, "missing.sqlite") });
    const none = followAudit(missing, { signal: AbortSignal.abort() });
    assert.equal((await next(none)).done, true);
  });

  it("refuses an `until` and an interval that is not a positive number", async () => {
    const reader = sqliteAuditReader({ path: path.join(dir, "missing.sqlite") });
    const withUntil = { until: Date.now() } as { limit?: number };
    await assert.rejects(followAudit(reader, { query: withUntil }).next(), {
      name: "TypeError",
      message: /`query\.until` cannot be used/,
    });
    for (const intervalMs of [0, -5, Number.NaN]) {
      await assert.rejects(followAudit(reader, { intervalMs }).next(), {
        name: "TypeError",
        message: /`intervalMs` must be a positive number/,
      });
    }
  });
});
