import type { Logger } from "../log/logger.js";
import type { AuditSink } from "./sink.js";

/**
 * Audit events as lines of the server log (stderr). The fallback when the embedded
 * SQLite sink cannot load (better-sqlite3 not installed), so events are never dropped
 * for want of a sink.
 */
export function loggerAuditSink(log: Logger): AuditSink {
  const audit = log.child({ audit: true });
  return {
    name: "log",
    write(events) {
      for (const event of events) audit.info({ event }, "tool call audited");
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
}
