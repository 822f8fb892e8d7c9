// A real sink outage: two toolgate servers write one PostgreSQL audit log through a local
// TCP proxy that this test cuts and restores (the shared database itself keeps running).
// During the cut, events are buffered, write tools are refused (failClosed) and reads
// still work; afterwards every event of every call arrives, once.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createServer, connect, type Server, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import type pg from "pg";
import * as z from "zod";
import { createToolServer, defineTool } from "../../src/index.js";
import { silentLogger } from "../../src/server/index.js";
import { memoryStore } from "../../src/stores/index.js";
import { postgresAuditSink } from "../../src/audit/sinks/postgres-sink.js";
import { postgresAdmin } from "../helpers/services.js";

const URL_ = process.env["TOOLGATE_TEST_POSTGRES_URL"];
const SKIP = URL_
  ? false
  : "set TOOLGATE_TEST_POSTGRES_URL=postgres://127.0.0.1:5432/test to enable";
const TABLE = `toolgate_audit_outage_${process.pid}`;

/** A TCP proxy to PostgreSQL that can be cut (all connections dropped, port closed) and restored. */
function pgProxy(target: URL) {
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  let port = 0;
  const start = () =>
    new Promise<void>((resolve) => {
      server = createServer((client) => {
        const upstream = connect(Number(target.port || 5432), target.hostname);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on("error", () => undefined);
          s.on("close", () => sockets.delete(s));
        }
        client.pipe(upstream).pipe(client);
      });
      server.listen(port, "127.0.0.1", () => {
        port = (server!.address() as { port: number }).port;
        resolve();
      });
    });
  const cut = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server!.close(() => resolve());
    });
  return { start, cut, url: () => `postgres://127.0.0.1:${port}${target.pathname}` };
}

describe("PostgreSQL audit log outage", { skip: SKIP }, () => {
  let admin: pg.Pool;
  const proxy = pgProxy(new URL(URL_ ?? "postgres://127.0.0.1:5432/test"));
  before(async () => {
    admin = await postgresAdmin(URL_!);
    await proxy.start();
  });
  after(async () => {
    await proxy.cut().catch(() => undefined);
    await admin?.query(`DROP TABLE IF EXISTS "${TABLE}"`);
    await admin?.query("DELETE FROM toolgate_meta WHERE key = $1", [`${TABLE}.schema_version`]);
    await admin?.end();
  });

  it("buffers through the cut, refuses writes while it lasts, then delivers every event once", async () => {
    const ran: string[] = [];
    const tools = [
      defineTool({
        name: "read_thing",
        version: "1.0.0",
        description: "Reads.",
        input: z.object({}),
        scopes: [],
        sideEffect: "read",
        handler: () => "ok",
      }),
      defineTool({
        name: "write_thing",
        version: "1.0.0",
        description: "Writes.",
        input: z.object({ id: z.string() }),
        scopes: [],
        sideEffect: "write",
        handler: ({ id }) => {
          ran.push(id);
          return { id };
        },
      }),
    ];
    const servers = ["a", "b"].map((name) =>
      createToolServer({
        name,
        version: "1.0.0",
        tools,
        logger: silentLogger(),
        store: memoryStore(),
        audit: {
          sinks: [
            postgresAuditSink(
              { connectionString: proxy.url() },
              { table: TABLE, connectTimeoutMs: 500, queryTimeoutMs: 1000 },
            ),
          ],
          failClosed: true,
          flushIntervalMs: 10,
        },
      }),
    );
    const requestIds = new Set<string>();
    let calls = 0;
    const write = async (server: (typeof servers)[number]) => {
      calls++;
      return server.callTool("write_thing", { id: randomUUID(), idempotency_key: randomUUID() });
    };
    try {
      for (const server of servers) {
        assert.equal((await write(server)).isError, undefined);
        calls++;
        await server.callTool("read_thing", {});
      }
      const rows = async () =>
        Number(
          (
            await admin
              .query(`SELECT count(*) AS n FROM "${TABLE}"`)
              .catch(() => ({ rows: [{ n: 0 }] }))
          ).rows[0].n,
        );
      while ((await rows()) < 4) await new Promise((r) => setTimeout(r, 20));

      await proxy.cut();
      // Reads go on; writes are refused once the auditor has seen a failed write.
      const end = Date.now() + 10_000;
      let refused = false;
      while (!refused && Date.now() < end) {
        calls++;
        assert.equal((await servers[0]!.callTool("read_thing", {})).isError, undefined);
        const result = await write(servers[0]!);
        refused = result.isError === true;
        if (refused) {
          const error = (
            result.structuredContent as { error: { type: string; retryable: boolean } }
          ).error;
          assert.deepEqual([error.type, error.retryable], ["unavailable", true]);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok(refused, "a write was refused while the audit log was cut off");
      const ranDuringCut = ran.length;
      await write(servers[0]!);
      assert.equal(ran.length, ranDuringCut, "the refused write did not run");

      await proxy.start();
      // Back: writes resume once the buffered events are written.
      const back = Date.now() + 15_000;
      while (Date.now() < back) {
        const result = await write(servers[0]!);
        if (result.isError === undefined) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(ran.length > ranDuringCut, "writes resumed after the outage");
    } finally {
      await Promise.all(servers.map((s) => s.close()));
    }
    const { rows } = await admin.query<{ request_id: string; server: string }>(
      `SELECT request_id, event->>'server' AS server FROM "${TABLE}"`,
    );
    for (const row of rows) requestIds.add(row.request_id);
    assert.equal(requestIds.size, rows.length, "no event stored twice");
    assert.equal(
      rows.length,
      calls,
      "every call's event arrived, including those made during the cut",
    );
    assert.deepEqual(
      new Set(rows.map((r) => r.server)),
      new Set(["a", "b"]),
      "both instances write one log",
    );
  });
});
