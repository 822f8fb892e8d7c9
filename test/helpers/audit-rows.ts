// Writes an audit row by hand with a chosen seq, in the SQLite sink's table: a row whose
// seq was allocated earlier but is committed only now (as concurrent PostgreSQL writers
// commit out of seq order). Used by the follow tests of the library and the CLI.
import Database from "better-sqlite3";
import type { AuditEvent } from "../../src/audit/event.js";

export function insertAuditRowAt(file: string, seq: number, e: AuditEvent): void {
  const raw = new Database(file);
  try {
    raw
      .prepare(
        "INSERT INTO toolgate_audit (seq, request_id, time_ms, subject, tool, outcome, event) VALUES (?, ?, ?, ?, ?, ?, ?)",
      )
      .run(
        seq,
        e.requestId,
        Date.parse(e.time),
        e.principal.subject,
        e.tool,
        e.outcome,
        JSON.stringify(e),
      );
  } finally {
    raw.close();
  }
}
