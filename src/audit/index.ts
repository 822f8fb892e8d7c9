// `toolgate/audit`: the auditor, its event types, the sinks (memory, file, stdout,
// logger, SQLite) with the SQLite reader, followAudit, and the redactor. The PostgreSQL
// sink and reader are toolgate/audit/postgres (an optional peer).
export { createAuditor } from "./auditor.js";
export type { Auditor, AuditorOptions, SinkStatus } from "./auditor.js";
export type {
  AuditEvent,
  AuditOutcome,
  AuditPrincipal,
  BackendCallRecord,
  IdempotencyDisposition,
} from "./event.js";
export type { AuditQuery, AuditReader, AuditRow, AuditSink } from "./sink.js";
export { DEFAULT_AUDIT_FILE } from "./options.js";
export type { AuditOptions } from "./options.js";
export { auditSinkFromSpec, AUDIT_SINK_SPECS } from "./sink-spec.js";
export { loggerAuditSink } from "./log-sink.js";
export { memoryAuditSink } from "./sinks/memory-sink.js";
export type { MemoryAuditSink } from "./sinks/memory-sink.js";
export { fileAuditSink } from "./sinks/file-sink.js";
export { stdoutAuditSink } from "./sinks/stdout-sink.js";
export { sqliteAuditSink, sqliteAuditReader } from "./sinks/sqlite-sink.js";
export { followAudit } from "./follow.js";
export type { FollowAuditOptions } from "./follow.js";
export type { SqliteAuditReaderOptions, SqliteAuditSinkOptions } from "./sinks/sqlite-sink.js";
export { createRedactor, REDACTED } from "./redact.js";
