// The auditor between calls and sinks: batching, a sink outage (events kept and retried,
// then delivered), a full buffer (dropped and counted, never silently), shutdown, and
// fail-closed write tools while the log is down.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import * as z from "zod";
import { createToolServer, defineTool } from "../../src/index.js";
import { silentLogger } from "../../src/server/index.js";
import { memoryStore } from "../../src/stores/index.js";
import { createAuditor, type AuditEvent, type AuditSink } from "../../src/audit/index.js";

function event(n: number): AuditEvent {
  return {
    time: new Date().toISOString(),
    requestId: `req-${n}`,
    server: "t",
    transport: "direct",
    principal: { issuer: "i", subject: "s", anonymous: false },
    tool: "echo",
    toolVersion: "1.0.0",
    arguments: { n },
    outcome: "ok",
    latencyMs: 1,
    backendCalls: [],
  };
}

/** A sink that can be switched off: while down every write rejects, as a dead database would. */
function flakySink() {
  const stored: AuditEvent[] = [];
  const batches: number[] = [];
  let down = false;
  let closed = false;
  const sink: AuditSink & {
    stored: AuditEvent[];
    batches: number[];
    setDown(v: boolean): void;
    closed(): boolean;
  } = {
    name: "flaky",
    stored,
    batches,
    setDown: (v) => void (down = v),
    closed: () => closed,
    write(events) {
      if (down) return Promise.reject(new Error("sink is down"));
      batches.push(events.length);
      stored.push(...events);
      return Promise.resolve();
    },
    close() {
      closed = true;
      return Promise.resolve();
    },
  };
  return sink;
}

const until = async (check: () => boolean, ms = 5_000) => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe("auditor", () => {
  it("batches events and writes each once, in order", async () => {
    const sink = flakySink();
    const auditor = createAuditor({
      sinks: [sink],
      log: silentLogger(),
      batchSize: 10,
      flushIntervalMs: 20,
    });
    for (let i = 0; i < 25; i++) auditor.record(event(i));
    await until(() => sink.stored.length === 25);
    assert.deepEqual(
      sink.stored.map((e) => e.requestId),
      Array.from({ length: 25 }, (_, i) => `req-${i}`),
    );
    assert.ok(Math.max(...sink.batches) <= 10, "no batch larger than batchSize");
    assert.ok(sink.batches.length < 25, "events were batched");
    await auditor.close();
    assert.equal(sink.closed(), true);
  });

  it("keeps events through a sink outage, reports unhealthy, and delivers them after it recovers", async () => {
    const sink = flakySink();
    const auditor = createAuditor({ sinks: [sink], log: silentLogger(), flushIntervalMs: 5 });
    sink.setDown(true);
    for (let i = 0; i < 5; i++) auditor.record(event(i));
    await until(() => !auditor.healthy());
    assert.equal(auditor.status()[0]!.buffered, 5);
    sink.setDown(false);
    await until(() => sink.stored.length === 5);
    assert.equal(auditor.healthy(), true);
    assert.equal(auditor.status()[0]!.dropped, 0);
    await auditor.close();
  });

  it("drops and counts events beyond maxBuffered, never blocking the caller", async () => {
    const sink = flakySink();
    sink.setDown(true);
    const drops: number[] = [];
    const auditor = createAuditor({
      sinks: [sink],
      log: silentLogger(),
      maxBuffered: 3,
      flushIntervalMs: 5,
      onDrop: (_name, n) => drops.push(n),
    });
    for (let i = 0; i < 10; i++) auditor.record(event(i));
    assert.equal(
      drops.reduce((a, b) => a + b, 0),
      7,
    );
    assert.equal(auditor.status()[0]!.dropped, 7);
    assert.equal(auditor.healthy(), false, "a full buffer is unhealthy");
    sink.setDown(false);
    await until(() => sink.stored.length === 3);
    assert.deepEqual(
      sink.stored.map((e) => e.requestId),
      ["req-0", "req-1", "req-2"],
    );
    await auditor.close();
  });

  it("one failing sink does not hold up another", async () => {
    const broken = flakySink();
    broken.setDown(true);
    const good = flakySink();
    const auditor = createAuditor({
      sinks: [broken, good],
      log: silentLogger(),
      flushIntervalMs: 5,
    });
    for (let i = 0; i < 4; i++) auditor.record(event(i));
    await until(() => good.stored.length === 4);
    assert.equal(broken.stored.length, 0);
    await auditor.close(50);
    assert.equal(
      auditor.status()[0]!.dropped,
      4,
      "what a dead sink still held at shutdown is counted",
    );
  });

  it("close() writes what is buffered before closing the sink", async () => {
    const sink = flakySink();
    const auditor = createAuditor({ sinks: [sink], log: silentLogger(), flushIntervalMs: 60_000 });
    for (let i = 0; i < 3; i++) auditor.record(event(i));
    await auditor.close();
    assert.equal(sink.stored.length, 3);
    auditor.record(event(99)); // after close: ignored, not thrown
    assert.equal(sink.stored.length, 3);
  });
});

describe("failClosed", () => {
  const pay = defineTool({
    name: "pay",
    version: "1.0.0",
    description: "Pays.",
    input: z.object({ amount: z.number() }),
    scopes: [],
    sideEffect: "write",
    handler: ({ amount }) => {
      ran.push(amount);
      return { ok: true };
    },
  });
  const look = defineTool({
    name: "look",
    version: "1.0.0",
    description: "Looks.",
    input: z.object({}),
    scopes: [],
    sideEffect: "read",
    handler: () => "fine",
  });
  const ran: number[] = [];

  it("refuses write tools with a retryable unavailable while the audit sink is down, and serves reads", async () => {
    const sink = flakySink();
    const server = createToolServer({
      name: "fc",
      version: "1.0.0",
      tools: [pay, look],
      logger: silentLogger(),
      store: memoryStore(),
      audit: { sinks: [sink], failClosed: true, flushIntervalMs: 5 },
    });
    try {
      const meta = () => ({ "toolgate/idempotency-key": randomUUID() });
      assert.equal(
        (await server.callTool("pay", { amount: 1 }, { meta: meta() })).isError,
        undefined,
      );
      sink.setDown(true);
      await server.callTool("look", {});
      // Keep calling until the auditor has seen the failed write.
      const deadline = Date.now() + 5_000;
      let refused;
      while (Date.now() < deadline) {
        refused = await server.callTool("pay", { amount: 2 }, { meta: meta() });
        if (refused.isError) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.equal(refused?.isError, true);
      const error = (
        refused.structuredContent as {
          error: { type: string; retryable: boolean; message: string };
        }
      ).error;
      assert.equal(error.type, "unavailable");
      assert.equal(error.retryable, true);
      assert.match(error.message, /audit log/);
      const ranBefore = [...ran];
      await server.callTool("pay", { amount: 3 }, { meta: meta() });
      assert.deepEqual(ran, ranBefore, "no write ran while the log was down");
      assert.equal((await server.callTool("look", {})).isError, undefined, "reads still work");
      sink.setDown(false);
      await until(() => sink.stored.some((e) => e.outcome === "unavailable"));
      const ok = await server.callTool("pay", { amount: 4 }, { meta: meta() });
      assert.equal(ok.isError, undefined, "writes resume once the sink writes again");
      assert.ok(ran.includes(4));
    } finally {
      await server.close();
    }
  });
});
