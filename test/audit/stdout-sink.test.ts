import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough, Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { AuditEvent } from "../../src/audit/event.js";
import { stdoutAuditSink } from "../../src/audit/sinks/stdout-sink.js";

function event(overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    time: "2025-05-01T09:00:00.000Z",
    requestId: randomUUID(),
    server: "refunds",
    transport: "stdio",
    principal: { issuer: "local", subject: "dev", anonymous: true },
    tool: "refund_order",
    toolVersion: "1.0.0",
    arguments: { orderId: "ord_123", note: "two\nlines" },
    outcome: "ok",
    latencyMs: 3,
    backendCalls: [],
    ...overrides,
  };
}

/** A PassThrough that collects what was written to it. */
function capture() {
  const stream = new PassThrough();
  let text = "";
  stream.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
  return {
    stream,
    lines: () => text.split("\n").filter((line) => line !== ""),
    text: () => text,
  };
}

describe("stdoutAuditSink", () => {
  it("writes one pino JSON line per event, with the event's fields at top level", async () => {
    const out = capture();
    const sink = stdoutAuditSink({ destination: out.stream });
    assert.equal(sink.name, "stdout");
    const refused = event({
      tool: null,
      toolVersion: null,
      outcome: "unauthenticated",
      reason: "no token",
    });
    const batch = [event(), refused];
    await sink.write(batch);
    await sink.write([]);
    await sink.close();
    assert.ok(out.text().endsWith("\n"));
    const lines = out.lines().map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.equal(lines.length, 2);
    for (const [i, line] of lines.entries()) {
      const { level, audit, msg: _msg, ...fields } = line;
      assert.equal(level, 30);
      assert.equal(audit, true);
      assert.deepEqual(fields, batch[i]);
      assert.equal("pid" in line || "hostname" in line, false);
    }
    assert.equal(lines[0]!["msg"], "tool call");
    assert.equal(lines[1]!["msg"], "request refused");
  });

  it("flags whether it writes to the process's stdout", () => {
    assert.equal(stdoutAuditSink().writesToStdout, true);
    assert.equal(stdoutAuditSink({ destination: process.stdout }).writesToStdout, true);
    assert.equal(stdoutAuditSink({ destination: new PassThrough() }).writesToStdout, false);
  });

  it("keeps deep and wide (already bounded) arguments intact", async () => {
    const out = capture();
    const sink = stdoutAuditSink({ destination: out.stream });
    let deep: unknown = "leaf";
    for (let i = 0; i < 30; i++) deep = { d: deep };
    const wide = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`k${i}`, i]));
    const e = event({ arguments: { deep, wide, list: Array.from({ length: 100 }, (_, i) => i) } });
    await sink.write([e]);
    const [line] = out.lines();
    assert.deepEqual((JSON.parse(line!) as { arguments: unknown }).arguments, e.arguments);
  });

  it("resolves only after the destination accepted the batch", async () => {
    const chunks: string[] = [];
    let release: (() => void) | undefined;
    const slow = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk.toString("utf8"));
        release = () => callback();
      },
    });
    const sink = stdoutAuditSink({ destination: slow });
    let done = false;
    const writing = sink.write([event(), event()]).then(() => (done = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(chunks.length, 1, "one write call per batch");
    assert.equal(chunks[0]!.split("\n").length, 3);
    assert.equal(done, false);
    release!();
    await writing;
    assert.equal(done, true);
  });

  it("rejects writes after the destination failed", async () => {
    const failing = new Writable({
      write(_chunk, _encoding, callback) {
        callback(Object.assign(new Error("write EPIPE"), { code: "EPIPE" }));
      },
    });
    const sink = stdoutAuditSink({ destination: failing });
    await assert.rejects(
      sink.write([event()]),
      /stdout audit sink: the destination failed: write EPIPE/,
    );
    await assert.rejects(sink.write([event()]), /EPIPE/);

    // An 'error' event on its own (no write in flight) fails the next write too.
    const out = capture();
    const other = stdoutAuditSink({ destination: out.stream });
    await other.write([event()]);
    out.stream.emit("error", new Error("boom"));
    await assert.rejects(other.write([event()]), /boom/);
  });

  it("rejects writes after close, without ending the destination", async () => {
    const out = capture();
    const sink = stdoutAuditSink({ destination: out.stream });
    await sink.close();
    await assert.rejects(sink.write([event()]), /closed/);
    assert.equal(out.stream.writableEnded, false);
  });
});

describe("stdoutAuditSink on the real stdout", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "toolgate-stdout-sink-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("writes JSON lines to fd 1 of a child process", async () => {
    const module = new URL("../../src/audit/sinks/stdout-sink.ts", import.meta.url).href;
    const script = path.join(dir, "child.mts");
    await writeFile(
      script,
      `import { stdoutAuditSink } from ${JSON.stringify(module)};
const sink = stdoutAuditSink();
const events = JSON.parse(process.argv[2]);
await sink.write(events.slice(0, 1));
await sink.write(events.slice(1));
await sink.close();
process.stderr.write("writesToStdout=" + sink.writesToStdout + "\\n");
`,
    );
    const events = [event(), event({ tool: "other" }), event()];
    const child = spawn(process.execPath, ["--import", "tsx", script, JSON.stringify(events)], {
      cwd: fileURLToPath(new URL("../../", import.meta.url)), // where `tsx` resolves
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    assert.equal(code, 0, stderr);
    assert.match(stderr, /writesToStdout=true/);
    const lines = stdout.split("\n");
    assert.equal(lines.pop(), "", "ends with a newline");
    assert.deepEqual(
      lines.map((line) => (JSON.parse(line) as { requestId: string }).requestId),
      events.map((e) => e.requestId),
    );
  });
});
