import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { AuditEvent } from "../../src/audit/event.js";
import { sqliteAuditSink } from "../../src/audit/sinks/sqlite-sink.js";
import { runCli } from "../../src/cli/run.js";
import { insertAuditRowAt } from "../helpers/audit-rows.js";

const NOW = Date.now();
const MIN = 60_000;

type Overrides = { [K in keyof AuditEvent]?: AuditEvent[K] | undefined };

/** A tool call as the auditor records it, `ago` ms before the test started. */
function event(ago: number, overrides: Overrides = {}): AuditEvent {
  const made = {
    time: new Date(NOW - ago).toISOString(),
    requestId: randomUUID(),
    server: "refunds",
    transport: "http",
    principal: { issuer: "https://auth.example.com", subject: "alice", anonymous: false },
    tool: "refund_order",
    toolVersion: "1.0.0",
    arguments: { orderId: "ord_123", amountCents: 1299 },
    outcome: "ok",
    idempotency: "executed",
    latencyMs: 42.4,
    backendCalls: [{ name: "payments", status: 200, ms: 30 }],
    ...overrides,
  };
  // An override of `undefined` removes the field, as the auditor leaves it out.
  return JSON.parse(JSON.stringify(made)) as AuditEvent;
}

const bob = { issuer: "https://auth.example.com", subject: "bob", anonymous: false };
const EVENTS = [
  event(3 * 24 * 60 * MIN, { tool: "get_order", idempotency: undefined, latencyMs: 3 }),
  event(2 * 60 * MIN, { principal: bob, outcome: "conflict", retryable: false }),
  event(30 * MIN, { idempotency: "replayed", latencyMs: 1.2 }),
  event(5 * MIN, { tool: "get_order", outcome: "not_found", idempotency: undefined }),
  event(MIN, { principal: bob, outcome: "unavailable", retryable: true, latencyMs: 5012 }),
];

interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

async function audit(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Captured> {
  let stdout = "";
  let stderr = "";
  const code = await runCli(["audit", ...args], {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    env,
  });
  return { code, stdout, stderr };
}

const jsonIds = (out: string) =>
  out
    .trimEnd()
    .split("\n")
    .filter(Boolean)
    .map((line) =>
      EVENTS.findIndex((e) => e.requestId === (JSON.parse(line) as AuditEvent).requestId),
    );

let dir: string;
let db: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "toolgate-audit-cli-"));
  db = path.join(dir, "audit.sqlite");
  const sink = sqliteAuditSink({ path: db });
  await sink.write(EVENTS);
  await sink.close();
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("toolgate audit", () => {
  it("prints a padded table for people, oldest first, '-' for what is missing", async () => {
    const run = await audit(["--db", db]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, "");
    const lines = run.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 6);
    assert.match(lines[0]!, /^TIME {18}SUBJECT +TOOL +OUTCOME +IDEMPOTENCY +MS {2}REQUEST ID$/);
    const cells = lines.map((line) => line.split(/ {2,}/));
    assert.deepEqual(cells[1], [
      new Date(Date.parse(EVENTS[0]!.time)).toISOString().replace(/\.\d{3}Z$/, "Z"),
      "alice",
      "get_order",
      "ok",
      "-",
      "3",
      EVENTS[0]!.requestId,
    ]);
    assert.deepEqual(cells[5]!.slice(1, 6), [
      "bob",
      "refund_order",
      "unavailable",
      "executed",
      "5012",
    ]);
    // Columns line up: every REQUEST ID starts where the header's does.
    const at = lines[0]!.indexOf("REQUEST ID");
    for (const [i, line] of lines.slice(1).entries()) {
      assert.equal(line.slice(at), EVENTS[i]!.requestId);
    }
  });

  it("prints one AuditEvent per line with --json", async () => {
    const run = await audit(["--db", db, "--json"]);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trimEnd().split("\n");
    assert.deepEqual(
      lines.map((line) => JSON.parse(line) as unknown),
      EVENTS,
    );
  });

  it("filters by subject, tool, outcome, time and limit", async () => {
    const ids = async (...args: string[]) => {
      const run = await audit(["--db", db, "--json", ...args]);
      assert.equal(run.code, 0, run.stderr);
      return jsonIds(run.stdout);
    };
    assert.deepEqual(await ids("--subject", "bob"), [1, 4]);
    assert.deepEqual(await ids("--tool", "get_order"), [0, 3]);
    assert.deepEqual(await ids("--outcome", "conflict"), [1]);
    assert.deepEqual(await ids("--since", "1h"), [2, 3, 4]);
    assert.deepEqual(await ids("--since", "7d", "--until", "10m"), [0, 1, 2]);
    assert.deepEqual(
      await ids("--since", new Date(NOW - 3 * 60 * MIN).toISOString()),
      [1, 2, 3, 4],
    );
    assert.deepEqual(await ids("--limit", "2"), [3, 4]);
    assert.deepEqual(await ids("--subject", "alice", "--tool", "refund_order"), [2]);
  });

  it("reads the default log under TOOLGATE_DATA_DIR", async () => {
    const run = await audit(["--json", "--outcome", "not_found"], { TOOLGATE_DATA_DIR: dir });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(jsonIds(run.stdout), [3]);
  });

  it("says so on stderr when nothing matches", async () => {
    const run = await audit(["--db", db, "--subject", "carol"]);
    assert.equal(run.code, 0);
    assert.equal(run.stdout, "");
    assert.match(run.stderr, /no audit events match/);
  });

  it("escapes control characters from callers in the table", async () => {
    const file = path.join(dir, `${randomUUID()}.sqlite`);
    const sink = sqliteAuditSink({ path: file });
    await sink.write([event(0, { tool: "x\u001b[2J\nfake row" })]);
    await sink.close();
    const run = await audit(["--db", file]);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(!run.stdout.includes("\u001b"), "the escape character is printed escaped");
    assert.match(run.stdout, /x\\u001b\[2J\\u000afake row/);
    assert.equal(run.stdout.trimEnd().split("\n").length, 2);
  });

  for (const [args, message] of [
    [["--limit", "0"], /--limit must be a whole number from 1 to 10000/],
    [["--limit", "many"], /--limit must be a whole number/],
    [["--since", "yesterday"], /--since 'yesterday' is not a time; use ISO 8601/],
    [["--until", "5x"], /--until '5x' is not a time/],
    [["--since", "1h", "--until", "2h"], /--since must be earlier than --until/],
    [["--outcome", "boom"], /--outcome 'boom' is not one of: ok, tool_error, invalid_input/],
    [["--table", "Audit-Log"], /--table 'Audit-Log' is not a table name/],
    [["--postgres", "postgres://x/y"], /use either --db or --postgres/],
    [["--follow", "--until", "1h"], /--until cannot be used with --follow/],
    [["--interval", "500"], /--interval only applies with --follow/],
    [["--follow", "--interval", "5"], /--interval must be a whole number from 100/],
    [["--bogus"], /Unknown option '--bogus'/],
  ] as const) {
    it(`refuses ${args.join(" ")} with exit 2 and what to fix`, async () => {
      const run = await audit(["--db", db, ...args]);
      assert.equal(run.code, 2, run.stderr);
      assert.equal(run.stdout, "");
      assert.match(run.stderr, message);
      assert.match(run.stderr, /Usage: toolgate audit/);
    });
  }

  it("a missing log file exits 1 with one line, no stack trace", async () => {
    const missing = path.join(dir, "nope", "audit.sqlite");
    const run = await audit(["--db", missing]);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, "");
    assert.equal(
      run.stderr,
      `toolgate audit: no audit log at ${missing}: the file does not exist\n`,
    );
    const byDefault = await audit([], { TOOLGATE_DATA_DIR: path.join(dir, "empty") });
    assert.equal(byDefault.code, 1);
    assert.match(
      byDefault.stderr,
      /no audit log at .*empty.audit\.sqlite.*pass --db PATH or --postgres URL/,
    );
    assert.equal(byDefault.stderr.split("\n").length, 2);
  });

  it("an unreachable database exits 1 with one line", async () => {
    const run = await audit([], { TOOLGATE_AUDIT_POSTGRES_URL: "postgres://127.0.0.1:1/audit" });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^toolgate audit: postgres audit log: .*ECONNREFUSED.*\n$/);
  });
});

describe("toolgate audit --follow", () => {
  /** Starts `audit --follow` with a signal; `wait` resolves once stdout matches. */
  function follow(args: string[]) {
    const controller = new AbortController();
    let stdout = "";
    let stderr = "";
    const done = runCli(["audit", "--follow", "--interval", "100", ...args], {
      stdout: (text) => (stdout += text),
      stderr: (text) => (stderr += text),
      env: {},
      signal: controller.signal,
    });
    const wait = async (predicate: (out: string) => boolean) => {
      const deadline = Date.now() + 10_000;
      while (!predicate(stdout)) {
        if (Date.now() > deadline) assert.fail(`timed out; stdout:\n${stdout}\nstderr:\n${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    return { done, wait, stop: () => controller.abort(), out: () => stdout, err: () => stderr };
  }

  it("prints the matches, then rows written after it started, until aborted", async () => {
    const file = path.join(dir, `${randomUUID()}.sqlite`);
    const sink = sqliteAuditSink({ path: file });
    await sink.write(EVENTS.slice(0, 3));
    const run = follow(["--db", file, "--json", "--subject", "alice"]);
    await run.wait((out) => out.split("\n").length > 2);
    const later = [event(0), event(0, { principal: bob }), event(0, { tool: "get_order" })];
    await sink.write(later);
    await sink.write(later); // a retried batch: skipped by the sink, and never printed twice
    await run.wait((out) => out.includes(later[2]!.requestId));
    run.stop();
    assert.equal(await run.done, 0, run.err());
    const printed = run
      .out()
      .trimEnd()
      .split("\n")
      .map((line) => (JSON.parse(line) as AuditEvent).requestId);
    assert.deepEqual(
      printed,
      [EVENTS[0], EVENTS[2], later[0], later[2]].map((e) => e!.requestId),
    );
    await sink.close();
  });

  it("picks up a row committed after a higher seq (as concurrent PostgreSQL writers do)", async () => {
    const file = path.join(dir, `${randomUUID()}.sqlite`);
    const sink = sqliteAuditSink({ path: file });
    await sink.write([EVENTS[0]!]);
    await sink.close();
    // Seqs 2 and 4 are "allocated but not committed yet": write around them by hand.
    const insert = (seq: number, e: AuditEvent) => insertAuditRowAt(file, seq, e);
    const [a, b, c, d] = [event(0), event(0), event(0), event(0)];
    insert(3, a);
    const run = follow(["--db", file]);
    await run.wait((out) => out.includes(a.requestId));
    insert(5, c);
    await run.wait((out) => out.includes(c.requestId));
    insert(2, b); // below rows already printed: a tail by "seq > last" would skip it
    insert(4, d);
    await run.wait((out) => out.includes(b.requestId) && out.includes(d.requestId));
    run.stop();
    assert.equal(await run.done, 0, run.err());
    const lines = run.out().trimEnd().split("\n");
    assert.match(lines[0]!, /^TIME/);
    assert.equal(lines.filter((line) => line.startsWith("TIME")).length, 1);
    assert.equal(lines.length, 6);
  });

  it("ends at once when the signal is already aborted", async () => {
    const controller = new AbortController();
    controller.abort();
    const code = await runCli(["audit", "--db", db, "--follow"], {
      stdout: () => undefined,
      stderr: () => undefined,
      env: {},
      signal: controller.signal,
    });
    assert.equal(code, 0);
  });
});
