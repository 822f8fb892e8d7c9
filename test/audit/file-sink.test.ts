import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, open, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { AuditEvent } from "../../src/audit/event.js";
import { fileAuditSink } from "../../src/audit/sinks/file-sink.js";

function event(overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    time: new Date().toISOString(),
    requestId: randomUUID(),
    server: "refunds",
    transport: "http",
    principal: { issuer: "https://auth.example.com", subject: "alice", anonymous: false },
    tool: "refund_order",
    toolVersion: "1.0.0",
    arguments: { orderId: "ord_123", note: "line one\nline two \u2028 end" },
    outcome: "ok",
    latencyMs: 12.5,
    backendCalls: [{ name: "payments", status: 200, ms: 9 }],
    ...overrides,
  };
}

async function readLines(file: string): Promise<string[]> {
  const text = await readFile(file, "utf8");
  assert.ok(text === "" || text.endsWith("\n"), "the file ends with a newline");
  return text.split("\n").slice(0, -1);
}

async function readEvents(file: string): Promise<AuditEvent[]> {
  return (await readLines(file)).map((line) => JSON.parse(line) as AuditEvent);
}

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "toolgate-file-sink-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});
const fresh = (name = "audit.jsonl") => path.join(dir, randomUUID(), name);

describe("fileAuditSink", () => {
  it("appends one JSON line per event that parses back to the event", async () => {
    const file = fresh();
    const sink = fileAuditSink({ path: file });
    assert.equal(sink.name, "file");
    assert.equal(sink.path, file);
    const first = [event(), event({ tool: null, toolVersion: null, outcome: "unauthenticated" })];
    const second = [event({ arguments: { deep: [[{ x: "é😀" }]] } })];
    await sink.write(first);
    await sink.write(second);
    await sink.close();
    const lines = await readLines(file);
    assert.equal(lines.length, 3);
    assert.deepEqual(
      lines.map((line) => JSON.parse(line) as unknown),
      [...first, ...second],
    );
  });

  it("creates the file with mode 0600 and missing directories, on the first write only", async () => {
    const file = path.join(dir, randomUUID(), "nested", "deeper", "audit.jsonl");
    const sink = fileAuditSink({ path: file });
    assert.equal(existsSync(path.dirname(file)), false, "nothing is created up front");
    await sink.write([]);
    assert.equal(existsSync(file), false, "an empty batch opens nothing");
    await sink.write([event()]);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((await stat(path.dirname(file))).mode & 0o077, 0, "new directories are private");
    await sink.close();
  });

  it("appends to an existing file", async () => {
    const file = fresh();
    const one = fileAuditSink({ path: file });
    await one.write([event()]);
    await one.close();
    const two = fileAuditSink({ path: file });
    await two.write([event()]);
    await two.close();
    assert.equal((await readEvents(file)).length, 2);
  });

  it("rejects writes after close; close is idempotent", async () => {
    const file = fresh();
    const sink = fileAuditSink({ path: file });
    await sink.write([event()]);
    await sink.close();
    await sink.close();
    await assert.rejects(sink.write([event()]), /is closed/);
    // Closing a sink that never wrote is fine too.
    await fileAuditSink({ path: fresh() }).close();
  });

  it("keeps writing to the open file after a rotation until reopen()", async () => {
    const file = fresh();
    const rotated = `${file}.1`;
    const sink = fileAuditSink({ path: file });
    const a = event();
    const b = event();
    const c = event();
    await sink.write([a]);
    await rename(file, rotated); // what logrotate does
    await sink.write([b]);
    assert.equal(existsSync(file), false);
    await sink.reopen();
    await sink.reopen(); // nothing open: no-op
    await sink.write([c]);
    await sink.close();
    assert.deepEqual(
      (await readEvents(rotated)).map((e) => e.requestId),
      [a.requestId, b.requestId],
    );
    assert.deepEqual(
      (await readEvents(file)).map((e) => e.requestId),
      [c.requestId],
    );
    assert.equal((await stat(file)).mode & 0o777, 0o600);
  });

  it("rejects with a clear error when the path cannot be written, and recovers", async () => {
    const base = path.join(dir, randomUUID());
    const blocker = path.join(base, "not-a-dir");
    await mkdir(base, { recursive: true });
    await writeFile(blocker, "x");
    const sink = fileAuditSink({ path: path.join(blocker, "audit.jsonl") });
    await assert.rejects(sink.write([event()]), (error: Error) => {
      assert.match(error.message, /^file audit sink: cannot open .*not-a-dir\/audit\.jsonl: /);
      assert.match(error.message, /ENOTDIR|EEXIST/);
      assert.ok(error.cause instanceof Error);
      return true;
    });
    // The retry after the operator fixes the path succeeds.
    await rm(blocker);
    const batch = [event()];
    await sink.write(batch);
    await sink.close();
    assert.deepEqual(await readEvents(path.join(blocker, "audit.jsonl")), batch);

    const onDirectory = fileAuditSink({ path: base });
    await assert.rejects(onDirectory.write([event()]), /cannot open .*EISDIR/);
    await onDirectory.close();
    assert.throws(() => fileAuditSink({ path: "" }), TypeError);
  });

  it("fsyncs after each batch when asked", async () => {
    const probe = await open(path.join(dir, "probe"), "w");
    const proto = Object.getPrototypeOf(probe) as { sync: () => Promise<void> };
    await probe.close();
    const original = proto.sync;
    let syncs = 0;
    proto.sync = function (this: unknown) {
      syncs++;
      return original.call(this);
    };
    try {
      const plain = fileAuditSink({ path: fresh() });
      await plain.write([event()]);
      await plain.close();
      assert.equal(syncs, 0);
      const synced = fileAuditSink({ path: fresh(), fsync: true });
      await synced.write([event(), event()]);
      await synced.write([event()]);
      await synced.close();
      assert.equal(syncs, 2);
    } finally {
      proto.sync = original;
    }
  });

  it("after a write that failed halfway, the retry starts on a new line (at least once)", async () => {
    const file = fresh();
    const sink = fileAuditSink({ path: file });
    const before = event();
    await sink.write([before]);

    const probe = await open(path.join(dir, "probe2"), "w");
    type Write = (
      buffer: Buffer,
      offset: number,
      length: number,
    ) => Promise<{ bytesWritten: number }>;
    const proto = Object.getPrototypeOf(probe) as { write: Write };
    await probe.close();
    const original = proto.write;
    let calls = 0;
    proto.write = function (this: unknown, buffer, offset, length) {
      calls++;
      // First call: a short write of 50 bytes. Second call: the disk is full.
      if (calls === 1) return original.call(this, buffer, offset, Math.min(length, 50));
      const error = Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" });
      return Promise.reject(error);
    };
    const batch = [event(), event()];
    try {
      await assert.rejects(sink.write(batch), /cannot write to .*ENOSPC/);
    } finally {
      proto.write = original;
    }
    await sink.write(batch); // the auditor's retry
    await sink.close();

    const lines = await readLines(file);
    const parsed = lines.map((line) => {
      try {
        return JSON.parse(line) as AuditEvent;
      } catch {
        return undefined;
      }
    });
    assert.equal(parsed.filter((e) => e === undefined).length, 1, "exactly one torn line");
    assert.equal(lines[1]!.length, 50);
    assert.deepEqual(
      parsed.filter((e) => e !== undefined).map((e) => e.requestId),
      [before.requestId, ...batch.map((e) => e.requestId)],
    );
  });

  it("serializes overlapping writes and keeps each line whole", async () => {
    const file = fresh();
    const sink = fileAuditSink({ path: file });
    const events = Array.from({ length: 30 }, () =>
      event({ arguments: { pad: "x".repeat(5000) } }),
    );
    await Promise.all(events.map((e) => sink.write([e])));
    await sink.close();
    assert.deepEqual(
      (await readEvents(file)).map((e) => e.requestId),
      events.map((e) => e.requestId),
    );
  });

  it("still logs an event whose arguments cannot be serialized", async () => {
    const file = fresh();
    const sink = fileAuditSink({ path: file });
    const bad = event({ arguments: { n: 1n } });
    await sink.write([bad]);
    await sink.close();
    const [logged] = await readEvents(file);
    assert.equal(logged!.requestId, bad.requestId);
    assert.equal(logged!.arguments, "[Unserializable]");
  });
});
