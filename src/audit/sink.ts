import type { AuditEvent } from "./event.js";

/**
 * Where audit events go. The auditor batches events per sink and calls `write` with one
 * batch at a time, never concurrently. A rejected `write` is retried with the same batch
 * (with backoff), so a sink must tolerate a batch it already stored in part: SQL sinks
 * skip rows whose `requestId` they already have.
 */
export interface AuditSink {
  /** Short name for logs and metrics labels, e.g. `sqlite`, `postgres`, `file`. */
  readonly name: string;
  /** Stores a batch; resolves once stored as durably as the sink promises. */
  write(events: readonly AuditEvent[]): Promise<void>;
  /** True for sinks writing to this process's stdout (not allowed while serving stdio). */
  readonly writesToStdout?: boolean;
  /** Releases resources; called once, after the last write. */
  close(): Promise<void>;
}

/** A query against an audit log kept in a database (SQLite or PostgreSQL). */
export interface AuditQuery {
  /** Epoch ms, inclusive. */
  since?: number;
  /** Epoch ms, exclusive. */
  until?: number;
  subject?: string;
  tool?: string;
  outcome?: string;
  /** Most recent `limit` matches, returned oldest first. */
  limit?: number;
}

export interface AuditRow {
  /** Insertion order within one log (not a global clock across instances). */
  readonly seq: number;
  readonly event: AuditEvent;
}

/** Reads an audit log back (the `toolgate audit` command). */
export interface AuditReader {
  query(query: AuditQuery): Promise<AuditRow[]>;
  close(): Promise<void>;
}
