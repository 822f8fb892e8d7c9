import type { AuditSink } from "./sink.js";
import { fileAuditSink } from "./sinks/file-sink.js";
import { postgresAuditSink } from "./sinks/postgres-sink.js";
import { sqliteAuditSink } from "./sinks/sqlite-sink.js";
import { stdoutAuditSink } from "./sinks/stdout-sink.js";

export const AUDIT_SINK_SPECS =
  "stdout | file:<path> | sqlite:<path> | postgres://<url> (postgresql:// too)";

/**
 * A sink from a one-line spec, for command lines and config files: `stdout`,
 * `file:<path>`, `sqlite:<path>`, or a PostgreSQL URL. Throws a TypeError that lists
 * the accepted forms when the spec is none of them.
 */
export function auditSinkFromSpec(spec: string): AuditSink {
  if (typeof spec !== "string")
    throw new TypeError(`An audit sink must be one of: ${AUDIT_SINK_SPECS}.`);
  const text = spec.trim();
  if (text === "stdout") return stdoutAuditSink();
  if (/^postgres(ql)?:\/\//.test(text)) return postgresAuditSink({ connectionString: text });
  const match = /^(file|sqlite):(.+)$/.exec(text);
  if (match?.[1] === "file") return fileAuditSink({ path: match[2]! });
  if (match?.[1] === "sqlite") return sqliteAuditSink({ path: match[2]! });
  throw new TypeError(`'${spec}' is not an audit sink. Use one of: ${AUDIT_SINK_SPECS}.`);
}
