import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { StoreUnavailable } from "../../src/idempotency/store.js";
import { SQLITE_SCHEMA_VERSION, sqliteStore } from "../../src/stores/sqlite-store.js";
import { LineCollector, REPO_ROOT, minimalEnv, waitForExit } from "../helpers/process.js";
import { pragmasOfConnectionsOpenedBy } from "../helpers/sqlite.js";
import { describeRateLimitContract } from "./rate-limit-contract.js";
import { claimInput, describeStoreContract, newScope } from "./store-contract.js";

const dir = mkdtempSync(path.join(tmpdir(), "toolgate-sqlite-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const newFile = () => path.join(dir, `store-${(files += 1)}.sqlite`);

const factory = () => {
  const file = newFile();
  const store = sqliteStore({ path: file });
  return Promise.resolve({
    store,
    cleanup: async () => {
      await store.close();
      for (const suffix of ["", "-wal", "-shm"]) rmSync(file + suffix, { force: true });
    },
  });
};

describeStoreContract("sqlite", factory);
describeRateLimitContract("sqlite", factory);

describe("sqlite store", () => {
  it("opens the file in WAL mode and records its schema version", async () => {
    const file = newFile();
    const store = sqliteStore({ path: file });
    await store.claim(claimInput(newScope()));
    await store.close();
    const db = new Database(file);
    try {
      assert.equal(db.pragma("journal_mode", { simple: true }), "wal");
      const meta = db.prepare("SELECT key, value FROM toolgate_meta").all();
      assert.deepEqual(meta, [
        { key: "toolgate_idempotency.schema_version", value: String(SQLITE_SCHEMA_VERSION) },
      ]);
    } finally {
      db.close();
    }
  });

  it("opens its connection in WAL mode with SQLite's 2 MiB page cache, not better-sqlite3's 16 MB", async () => {
    const store = sqliteStore({ path: newFile(), busyTimeoutMs: 1234 });
    try {
      const opened = await pragmasOfConnectionsOpenedBy(() => store.claim(claimInput(newScope())));
      assert.deepEqual(opened, [
        { journalMode: "wal", synchronous: 1, busyTimeout: 1234, cacheSize: -2000 },
      ]);
    } finally {
      await store.close();
    }
  });

  it("refuses a table written by a newer schema version", async () => {
    const file = newFile();
    const first = sqliteStore({ path: file });
    await first.get("x", 0);
    await first.close();
    const db = new Database(file);
    db.prepare("UPDATE toolgate_meta SET value = '99'").run();
    db.close();
    const store = sqliteStore({ path: file });
    await assert.rejects(store.get("x", 0), /schema version 99.*upgrade toolgate/);
    await store.close();
  });

  it("uses a caller's open database and leaves it open on close", async () => {
    const db = new Database(":memory:");
    const store = sqliteStore({ database: db });
    const input = claimInput(newScope());
    assert.equal((await store.claim(input)).kind, "claimed");
    await store.close();
    assert.equal(db.open, true);
    const row = db.prepare("SELECT owner_token FROM toolgate_idempotency").get();
    assert.deepEqual(row, { owner_token: input.ownerToken });
    db.close();
  });

  it("commits the writes of one event-loop turn together; one failing write fails alone", async () => {
    const db = new Database(":memory:");
    const store = sqliteStore({ database: db });
    await store.get("x", 0); // schema in place
    // A write the database refuses, among others asked for in the same turn.
    db.exec(`CREATE TRIGGER refuse_boom BEFORE INSERT ON toolgate_idempotency
      WHEN NEW.scope LIKE 'boom-%' BEGIN SELECT RAISE(ABORT, 'refused by trigger'); END`);
    const scopes = Array.from({ length: 50 }, (_, i) => newScope(i === 17 ? "boom" : "s"));
    const twice = newScope("twice");
    const outcomes = await Promise.allSettled([
      ...scopes.map((scope) => store.claim(claimInput(scope))),
      store.claim(claimInput(twice)),
      store.claim(claimInput(twice)),
    ]);
    const failed = outcomes.flatMap((o, i) => (o.status === "rejected" ? [i] : []));
    assert.deepEqual(failed, [17]);
    assert.match(String((outcomes[17] as PromiseRejectedResult).reason), /refused by trigger/);
    const kinds = outcomes
      .slice(50)
      .map((o) => (o as PromiseFulfilledResult<{ kind: string }>).value.kind);
    assert.deepEqual(kinds, ["claimed", "existing"], "the same scope twice in one group");
    const count = db.prepare("SELECT count(*) AS n FROM toolgate_idempotency").get() as {
      n: number;
    };
    assert.equal(
      count.n,
      50,
      "49 claims + 1 for the twice-claimed scope; the refused one rolled back",
    );
    // Asked for and then closed at once: the queued write is committed before close.
    const last = store.claim(claimInput(newScope()));
    await store.close();
    assert.equal((await last).kind, "claimed");
    db.close();
  });

  it("a lock held past busy_timeout is StoreUnavailable, and the store recovers", async () => {
    const file = newFile();
    const store = sqliteStore({ path: file, busyTimeoutMs: 50 });
    await store.get("x", 0);
    const other = new Database(file);
    other.exec("BEGIN IMMEDIATE");
    try {
      const started = Date.now();
      await assert.rejects(store.claim(claimInput(newScope())), (err: unknown) => {
        assert.ok(err instanceof StoreUnavailable);
        assert.match(err.message, /locked|busy/i);
        return true;
      });
      assert.ok(Date.now() - started < 2_000);
    } finally {
      other.exec("ROLLBACK");
      other.close();
    }
    assert.equal((await store.claim(claimInput(newScope()))).kind, "claimed");
    await store.close();
  });

  it("an unopenable path rejects with a clear error", async () => {
    const store = sqliteStore({ path: path.join(dir, "not-a-dir", "x.sqlite") });
    await assert.rejects(store.get("x", 0), /directory does not exist|unable to open/i);
    await store.close();
  });

  it("validates its options when built", () => {
    assert.throws(() => sqliteStore({ path: "" }), TypeError);
    assert.throws(() => sqliteStore({ path: "x", busyTimeoutMs: -1 }), TypeError);
    assert.throws(() => sqliteStore({ database: {} as Database.Database }), TypeError);
  });

  it("rate-limit buckets live in toolgate_rate_limits, with no new schema version", async () => {
    const file = newFile();
    const store = sqliteStore({ path: file });
    const input = { key: "rl:one", limit: 3, windowMs: 1_000, now: 1_000 };
    assert.deepEqual(await store.consume(input), { allowed: true, remaining: 2 });
    await store.close();
    const db = new Database(file);
    try {
      const rows = db
        .prepare("SELECT key, tat, tat_rem, expires_at FROM toolgate_rate_limits")
        .all();
      // TAT = 1000 + 1000 / 3 = 1333 + 1/3 ms; the row may go at 1334.
      assert.deepEqual(rows, [{ key: "rl:one", tat: 1_333, tat_rem: 1, expires_at: 1_334 }]);
      const meta = db.prepare("SELECT key, value FROM toolgate_meta").all();
      assert.deepEqual(meta, [
        { key: "toolgate_idempotency.schema_version", value: String(SQLITE_SCHEMA_VERSION) },
      ]);
    } finally {
      db.close();
    }
  });

  it("a file made before rate limits (no bucket table) gains it on open, records intact", async () => {
    const file = newFile();
    const first = sqliteStore({ path: file });
    const claim = claimInput(newScope());
    await first.claim(claim);
    await first.close();
    const db = new Database(file);
    db.exec("DROP TABLE toolgate_rate_limits");
    db.close();
    const store = sqliteStore({ path: file });
    const input = { key: "rl:x", limit: 1, windowMs: 1_000, now: claim.now };
    assert.deepEqual(await store.consume(input), { allowed: true, remaining: 0 });
    assert.equal((await store.get(claim.scope, claim.now))?.ownerToken, claim.ownerToken);
    await store.close();
  });

  it("consume under a lock held past busy_timeout is StoreUnavailable, and the store recovers", async () => {
    const file = newFile();
    const store = sqliteStore({ path: file, busyTimeoutMs: 50 });
    const input = { key: "rl:locked", limit: 1, windowMs: 1_000, now: 1_000 };
    await store.get("x", 0);
    const other = new Database(file);
    other.exec("BEGIN IMMEDIATE");
    try {
      await assert.rejects(store.consume(input), StoreUnavailable);
    } finally {
      other.exec("ROLLBACK");
      other.close();
    }
    assert.deepEqual(await store.consume(input), { allowed: true, remaining: 0 });
    await store.close();
  });

  it("3 processes consuming one key on one file: exactly `limit` calls are allowed (10 rounds)", async () => {
    const file = newFile();
    const fixture = path.join(REPO_ROOT, "test/stores/fixtures/sqlite-consumer.ts");
    const children: ChildProcess[] = [];
    try {
      const lines = [0, 1, 2].map(() => {
        const child = spawn(process.execPath, ["--import", "tsx", fixture, file], {
          cwd: REPO_ROOT,
          env: minimalEnv(),
          stdio: ["pipe", "pipe", "inherit"],
        });
        children.push(child);
        return new LineCollector(child.stdout);
      });
      await Promise.all(lines.map((l) => l.waitForLine((x) => x === "ready", 20_000, "ready")));
      for (let round = 0; round < 10; round += 1) {
        const key = `rl:${newScope(`round${round}`)}`;
        children.forEach((child) => child.stdin!.write(`${key} 8\n`));
        const answers = await Promise.all(
          lines.map((l) => l.waitForLine((x) => x.startsWith(`${key} `), 10_000, key)),
        );
        const allowed = answers.map((x) => Number(x.split(" ")[1]));
        assert.equal(
          allowed.reduce((a, b) => a + b, 0),
          10,
          `round ${round}: ${allowed.join(" + ")}`,
        );
      }
    } finally {
      for (const child of children) child.stdin?.end();
      for (const child of children) {
        const { code } = await waitForExit(child);
        assert.equal(code, 0);
      }
    }
  });

  it("3 processes claiming the same scopes on one file: exactly one claims each (20 rounds)", async () => {
    const file = newFile();
    const fixture = path.join(REPO_ROOT, "test/stores/fixtures/sqlite-claimer.ts");
    const children: ChildProcess[] = [];
    try {
      const lines = [0, 1, 2].map(() => {
        const child = spawn(process.execPath, ["--import", "tsx", fixture, file], {
          cwd: REPO_ROOT,
          env: minimalEnv(),
          stdio: ["pipe", "pipe", "inherit"],
        });
        children.push(child);
        return new LineCollector(child.stdout);
      });
      await Promise.all(lines.map((l) => l.waitForLine((x) => x === "ready", 20_000, "ready")));
      for (let round = 0; round < 20; round += 1) {
        const scope = newScope(`round${round}`);
        children.forEach((child, i) => child.stdin!.write(`${scope} owner${i}\n`));
        const outcomes = await Promise.all(
          lines.map((l) => l.waitForLine((x) => x.startsWith(`${scope} `), 10_000, scope)),
        );
        const kinds = outcomes.map((x) => x.split(" ")[1]).sort();
        assert.deepEqual(kinds, ["claimed", "existing", "existing"], `round ${round}`);
      }
    } finally {
      for (const child of children) child.stdin?.end();
      for (const child of children) {
        const { code } = await waitForExit(child);
        assert.equal(code, 0);
      }
    }
  });
});
