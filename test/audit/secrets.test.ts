// The promise of the redaction rules, end to end: a secret sent as a tool argument never
// reaches any audit sink (memory, JSON-lines file, SQLite, the server-log fallback) nor the
// server's own log, whatever the call's outcome.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { after, test } from "node:test";
import { pino } from "pino";
import * as z from "zod";
import { createToolServer, defineTool } from "../../src/index.js";
import { memoryStore } from "../../src/stores/index.js";
import {
  fileAuditSink,
  loggerAuditSink,
  memoryAuditSink,
  sqliteAuditSink,
} from "../../src/audit/index.js";

const dir = mkdtempSync(path.join(tmpdir(), "toolgate-secrets-"));
after(() => rmSync(dir, { recursive: true, force: true }));

// Distinct secrets, one per rule: schema-marked, key pattern, card number in free text, JWT.
const SCHEMA_SECRET = `sk_live_${randomUUID()}`;
const KEY_SECRET = `pw-${randomUUID()}`;
const CARD = "4242 4242 4242 4242";
const JWT = `eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ${randomUUID().replaceAll("-", "")}.c2lnbmF0dXJl`;
const SECRETS = [SCHEMA_SECRET, KEY_SECRET, "4242424242424242", CARD, JWT];

test("a secret argument never reaches any sink or the server log", async () => {
  const logLines: string[] = [];
  const logger = pino(
    { level: "trace" },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        logLines.push(chunk.toString("utf8"));
        done();
      },
    }),
  );
  const memory = memoryAuditSink();
  const jsonl = path.join(dir, "audit.jsonl");
  const sqlite = path.join(dir, "audit.sqlite");
  const connect = defineTool({
    name: "connect_account",
    version: "1.0.0",
    description: "Connects a payment account.",
    input: z.object({
      account: z.string(),
      secret_value: z.string().meta({ sensitive: true }),
      settings: z.object({ password: z.string(), region: z.string() }),
      note: z.string(),
      mode: z.enum(["ok", "fail"]),
    }),
    scopes: [],
    sideEffect: "read",
    handler: ({ mode }) => {
      if (mode === "fail") throw new Error("downstream exploded");
      return { connected: true };
    },
  });
  const server = createToolServer({
    name: "secrets",
    version: "1.0.0",
    tools: [connect],
    logger,
    store: memoryStore(),
    audit: {
      sinks: [
        memory,
        fileAuditSink({ path: jsonl }),
        sqliteAuditSink({ path: sqlite }),
        loggerAuditSink(logger),
      ],
      flushIntervalMs: 5,
    },
  });
  const args = (mode: string) => ({
    account: "acct_1",
    secret_value: SCHEMA_SECRET,
    settings: { password: KEY_SECRET, region: "eu" },
    note: `card ${CARD}, token ${JWT}`,
    mode,
  });
  await server.callTool("connect_account", args("ok"));
  await server.callTool("connect_account", args("fail")); // internal: the cause is logged
  await server.callTool("connect_account", { ...args("ok"), mode: "nope" }); // invalid_input
  await server.callTool("connect_account", { ...args("ok"), extra_password: KEY_SECRET }); // unknown field, secret by its name
  await server.close(); // flushes every sink

  assert.equal(memory.events.length, 4);
  const lines = readFileSync(jsonl, "utf8").trim().split("\n");
  assert.equal(lines.length, 4);
  const first = memory.events[0]!.arguments as Record<string, unknown>;
  assert.equal(first["secret_value"], "[REDACTED]");
  assert.equal(
    (first["settings"] as Record<string, unknown>)["region"],
    "eu",
    "non-secret fields are kept",
  );
  assert.equal(first["account"], "acct_1");

  const sqliteBytes = readdirSync(dir)
    .filter((f) => f.startsWith("audit.sqlite"))
    .map((f) => readFileSync(path.join(dir, f)).toString("latin1"))
    .join("");
  assert.ok(existsSync(sqlite));
  assert.match(sqliteBytes, /connect_account/, "the SQLite log holds the events");
  const everything = {
    memory: JSON.stringify(memory.events),
    file: readFileSync(jsonl, "utf8"),
    sqlite: sqliteBytes,
    serverLog: logLines.join(""),
  };
  assert.match(everything.serverLog, /tool call audited/, "the log sink wrote its events");
  for (const [where, text] of Object.entries(everything)) {
    for (const secret of SECRETS) {
      assert.equal(
        text.includes(secret),
        false,
        `${where} must not contain ${secret.slice(0, 12)}...`,
      );
    }
  }
});
