// Secrets in free-text arguments (issue 18, defect 9), end to end: a real HTTP server, a
// real SDK client, a real SQLite log and a JSON-lines file. The stored event must hold the
// masked values (user, host and prefixes still readable) and no byte of any secret.
import assert from "node:assert/strict";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import * as z from "zod";
import { createToolServer, defineTool } from "../../src/index.js";
import { silentLogger } from "../../src/server/index.js";
import { memoryStore } from "../../src/stores/index.js";
import {
  fileAuditSink,
  sqliteAuditReader,
  sqliteAuditSink,
  type AuditEvent,
  type AuditOptions,
} from "../../src/audit/index.js";

const dir = mkdtempSync(path.join(tmpdir(), "toolgate-free-text-"));
after(() => rmSync(dir, { recursive: true, force: true }));

// Fresh per run, so a match in the log can only come from this test's call.
const STRIPE = `sk_live_${randomBytes(18).toString("hex")}`;
const DB_PASSWORD = `pw${randomBytes(8).toString("hex")}`;
const NOTE_PASSWORD = `np${randomBytes(8).toString("hex")}`;
const PEM = String(
  generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({
    type: "pkcs8",
    format: "pem",
  }),
);
const PEM_BODY = PEM.split("\n")[1]!;
const EMAIL = "alice@example.com";

const configure = defineTool({
  name: "configure_backend",
  version: "1.0.0",
  description: "Stores a backend's settings.",
  input: z.object({
    note: z.string(),
    dsn: z.string(),
    key: z.string(),
    settings: z.string(),
    owner: z.string(),
  }),
  scopes: [],
  sideEffect: "read",
  handler: () => ({ stored: true }),
});

const ARGS = {
  note: `Charge the card with ${STRIPE} when the invoice is due.`,
  dsn: `postgres://admin:${DB_PASSWORD}@db.internal:5432/app`,
  key: PEM,
  settings: `{"region":"eu","password":"${NOTE_PASSWORD}"}`,
  owner: EMAIL,
};

async function callOverHttp(audit: AuditOptions) {
  const server = createToolServer({
    name: "free-text",
    version: "1.0.0",
    tools: [configure],
    logger: silentLogger(),
    store: memoryStore(),
    audit,
  });
  const { url } = await server.listen({ port: 0 });
  const client = new Client({ name: "free-text-test", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  try {
    const result = await client.callTool({ name: "configure_backend", arguments: ARGS });
    assert.notEqual(result.isError, true, JSON.stringify(result));
  } finally {
    await client.close();
    await server.close(); // flushes every sink
  }
}

function bytesOf(prefix: string): string {
  return readdirSync(dir)
    .filter((f) => f.startsWith(prefix))
    .map((f) => readFileSync(path.join(dir, f)).toString("latin1"))
    .join("");
}

describe("secrets in free text, through a real server", () => {
  it("are stored masked in SQLite and in the file log; the rest stays readable", async () => {
    const sqlite = path.join(dir, "audit.sqlite");
    const jsonl = path.join(dir, "audit.jsonl");
    await callOverHttp({
      sinks: [sqliteAuditSink({ path: sqlite }), fileAuditSink({ path: jsonl })],
      flushIntervalMs: 5,
    });

    const reader = sqliteAuditReader({ path: sqlite });
    const rows = await reader.query({ tool: "configure_backend" });
    await reader.close();
    assert.equal(rows.length, 1);
    const fromFile = readFileSync(jsonl, "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as AuditEvent);
    assert.equal(fromFile.length, 1);
    for (const event of [rows[0]!.event, fromFile[0]!]) {
      assert.equal(event.outcome, "ok");
      assert.deepEqual(event.arguments, {
        note: "Charge the card with sk_live_[REDACTED] when the invoice is due.",
        dsn: "postgres://admin:[REDACTED]@db.internal:5432/app",
        key: "-----BEGIN PRIVATE KEY-----[REDACTED]-----END PRIVATE KEY-----\n",
        settings: '{"region":"eu","password":"[REDACTED]"}',
        owner: EMAIL, // kept by default (audit.redactEmails)
      });
    }

    const everything = { sqlite: bytesOf("audit.sqlite"), file: bytesOf("audit.jsonl") };
    assert.match(everything.sqlite, /configure_backend/, "the SQLite log holds the event");
    for (const [where, text] of Object.entries(everything)) {
      for (const secret of [STRIPE, DB_PASSWORD, NOTE_PASSWORD, PEM_BODY]) {
        assert.equal(
          text.includes(secret),
          false,
          `${where} must not contain ${secret.slice(0, 12)}...`,
        );
      }
    }
  });

  it("masks e-mail addresses too with audit.redactEmails", async () => {
    const jsonl = path.join(dir, "strict.jsonl");
    await callOverHttp({
      sinks: [fileAuditSink({ path: jsonl })],
      redactEmails: true,
      flushIntervalMs: 5,
    });
    const [event] = readFileSync(jsonl, "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as AuditEvent);
    assert.equal((event!.arguments as Record<string, unknown>)["owner"], "[REDACTED]");
    assert.equal(readFileSync(jsonl, "utf8").includes(EMAIL), false);
  });

  it("refuses a redactEmails that is not a boolean", () => {
    assert.throws(
      () =>
        createToolServer({
          name: "x",
          version: "1.0.0",
          tools: [configure],
          audit: { sinks: [], redactEmails: "yes" as unknown as boolean },
        }),
      /audit.redactEmails must be a boolean/,
    );
  });
});
