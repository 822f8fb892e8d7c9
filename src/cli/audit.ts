// `toolgate audit`: reads the audit log (SQLite file or PostgreSQL table) and prints the
// matching events as a table for people or JSON lines for machines; --follow keeps
// printing new ones. Queries live in the readers, following in src/audit/follow.ts; this
// file parses flags and prints.
import { parseArgs } from "node:util";
import type { AuditEvent } from "../audit/event.js";
import { followAudit } from "../audit/follow.js";
import type { AuditQuery } from "../audit/sink.js";
import { postgresAuditReader } from "../audit/sinks/postgres-sink.js";
import { DEFAULT_AUDIT_TABLE, type SqlAuditReader } from "../audit/sinks/sql-schema.js";
import { sqliteAuditReader } from "../audit/sinks/sqlite-sink.js";
import { ERROR_TYPE_NAMES } from "../errors/registry.js";
import { dataFile } from "../util/data-dir.js";
import type { CliIo } from "./command.js";
import { UsageError, parseOrUsage } from "./command.js";

const OUTCOMES: readonly string[] = ["ok", "tool_error", ...ERROR_TYPE_NAMES];
const MAX_LIMIT = 10_000;

export const usage = `Usage: toolgate audit [options]

Shows the audit log: who called which tool, when, and what came of it. Reads the
SQLite log (default $TOOLGATE_DATA_DIR/audit.sqlite, else .toolgate/audit.sqlite)
or a PostgreSQL one.

Options:
  --db PATH          the SQLite audit log file
  --postgres URL     a PostgreSQL audit log (default $TOOLGATE_AUDIT_POSTGRES_URL)
  --table NAME       the audit table (default ${DEFAULT_AUDIT_TABLE})
  --since TIME       events at or after TIME: ISO 8601 (2025-05-01T09:00:00Z) or a
                     duration ago (30s, 15m, 2h, 7d)
  --until TIME       events before TIME (same forms)
  --subject SUBJECT  only calls by this subject
  --tool NAME        only calls to this tool
  --outcome OUTCOME  only this outcome: ok, tool_error (an isError result), or an
                     error type: ${ERROR_TYPE_NAMES.slice(0, 4).join(", ")},
                     ${ERROR_TYPE_NAMES.slice(4).join(", ")}
  --limit N          the N most recent matches, printed oldest first (1-${MAX_LIMIT}, default 100)
  --json             one event per line as JSON (for jq and scripts)
  --follow           then keep printing new events until Ctrl-C
  --interval MS      with --follow: how often to look for new events (default 1000)
  -h, --help         show this help
`;

export async function run(args: string[], io: CliIo): Promise<number> {
  const { values } = parseOrUsage(() =>
    parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        db: { type: "string" },
        postgres: { type: "string" },
        table: { type: "string" },
        since: { type: "string" },
        until: { type: "string" },
        subject: { type: "string" },
        tool: { type: "string" },
        outcome: { type: "string" },
        limit: { type: "string" },
        json: { type: "boolean" },
        follow: { type: "boolean" },
        interval: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }),
  );
  if (values.help) {
    io.stdout(usage);
    return 0;
  }
  const now = Date.now();
  const query: AuditQuery = {
    limit: values.limit === undefined ? 100 : intFlag("--limit", values.limit, 1, MAX_LIMIT),
  };
  if (values.since !== undefined) query.since = parseTime("--since", values.since, now);
  if (values.until !== undefined) query.until = parseTime("--until", values.until, now);
  if (query.since !== undefined && query.until !== undefined && query.since >= query.until) {
    throw new UsageError("--since must be earlier than --until");
  }
  for (const key of ["subject", "tool"] as const) {
    const value = values[key];
    if (value === "") throw new UsageError(`--${key} needs a value`);
    if (value !== undefined) query[key] = value;
  }
  if (values.outcome !== undefined) {
    if (!OUTCOMES.includes(values.outcome)) {
      throw new UsageError(`--outcome '${values.outcome}' is not one of: ${OUTCOMES.join(", ")}`);
    }
    query.outcome = values.outcome;
  }
  if (values.follow && values.until !== undefined) {
    throw new UsageError("--until cannot be used with --follow (new events are never before it)");
  }
  if (!values.follow && values.interval !== undefined) {
    throw new UsageError("--interval only applies with --follow");
  }
  const interval =
    values.interval === undefined ? 1000 : intFlag("--interval", values.interval, 100, 60_000);
  const table = values.table ?? DEFAULT_AUDIT_TABLE;
  if (!/^[a-z_][a-z0-9_]{0,47}$/.test(table)) {
    throw new UsageError(`--table '${table}' is not a table name (lower-case letters, digits, _)`);
  }

  const reader = openReader(values.db, values.postgres, table, io);
  const printer = new Printer(io, values.json === true);
  try {
    if (!values.follow) {
      const rows = await reader.query(query);
      printer.print(rows.map((row) => row.event));
      if (rows.length === 0 && !values.json) io.stderr("no audit events match\n");
      return 0;
    }
    await follow(reader, query, printer, interval, io.signal);
    return 0;
  } catch (err) {
    // A missing default log is the common first-run case: say where else to look.
    if (values.db === undefined && err instanceof Error && /^no audit log at /.test(err.message)) {
      err.message += " (pass --db PATH or --postgres URL, or set TOOLGATE_DATA_DIR)";
    }
    throw err;
  } finally {
    await reader.close().catch(() => undefined);
  }
}

function openReader(
  db: string | undefined,
  postgres: string | undefined,
  table: string,
  io: CliIo,
): SqlAuditReader {
  if (db !== undefined && postgres !== undefined) {
    throw new UsageError("use either --db or --postgres, not both");
  }
  if (db === "") throw new UsageError("--db needs a file path");
  if (postgres === "") throw new UsageError("--postgres needs a URL");
  const url = db === undefined ? (postgres ?? io.env["TOOLGATE_AUDIT_POSTGRES_URL"]) : undefined;
  if (url) {
    if (!/^postgres(ql)?:\/\//.test(url)) {
      throw new UsageError("--postgres needs a postgres:// or postgresql:// URL");
    }
    return postgresAuditReader({ connectionString: url }, { table });
  }
  return sqliteAuditReader({ path: db ?? dataFile("audit.sqlite", io.env), table });
}

function intFlag(flag: string, text: string, min: number, max: number): number {
  const value = /^\d+$/.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, not '${text}'`);
  }
  return value;
}

const UNIT_MS: Readonly<Record<string, number>> = { s: 1e3, m: 60e3, h: 3600e3, d: 86_400e3 };
// Date.parse also takes loose forms ("5", "May 1"); accept only ISO 8601 dates and times.
const ISO_TIME =
  /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

/** `30s`, `15m`, `2h`, `7d` (that long before `now`) or an ISO 8601 time; epoch ms. */
export function parseTime(flag: string, text: string, now: number): number {
  const trimmed = text.trim();
  const relative = /^(\d+)([smhd])$/.exec(trimmed);
  if (relative) return now - Number(relative[1]) * (UNIT_MS[relative[2]!] ?? NaN);
  const parsed = ISO_TIME.test(trimmed) ? Date.parse(trimmed) : NaN;
  if (!Number.isFinite(parsed)) {
    throw new UsageError(
      `${flag} '${text}' is not a time; use ISO 8601 (2025-05-01T09:00:00Z) or a duration ago (30s, 15m, 2h, 7d)`,
    );
  }
  return parsed;
}

/**
 * Prints the matches of `query`, then the events added after (src/audit/follow.ts), until
 * `signal` aborts or on SIGINT/SIGTERM.
 */
async function follow(
  reader: SqlAuditReader,
  query: AuditQuery,
  printer: Printer,
  intervalMs: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  if (signal?.aborted) return;
  signal?.addEventListener("abort", onSignal, { once: true });
  process.once("SIGINT", onSignal).once("SIGTERM", onSignal);
  try {
    // `query` has no `until`: run() refuses --until with --follow.
    for await (const events of followAudit(reader, { query, intervalMs, signal: stop.signal })) {
      printer.print(events);
    }
  } finally {
    signal?.removeEventListener("abort", onSignal);
    process.removeListener("SIGINT", onSignal).removeListener("SIGTERM", onSignal);
  }
}

const COLUMNS = ["TIME", "SUBJECT", "TOOL", "OUTCOME", "IDEMPOTENCY", "MS", "REQUEST ID"];

/** Prints events as JSON lines or as a table whose columns only ever widen (for --follow). */
class Printer {
  private readonly widths = COLUMNS.map((c) => c.length);
  private header = false;

  constructor(
    private readonly io: CliIo,
    private readonly json: boolean,
  ) {
    this.widths[0] = "2025-01-01T00:00:00Z".length;
  }

  print(events: readonly AuditEvent[]): void {
    if (events.length === 0) return;
    if (this.json) {
      this.io.stdout(events.map((event) => `${safeJson(event)}\n`).join(""));
      return;
    }
    const cells = events.map(tableCells);
    for (const row of cells) {
      row.forEach((cell, i) => (this.widths[i] = Math.max(this.widths[i] ?? 0, cell.length)));
    }
    const lines = this.header ? [] : [this.line(COLUMNS)];
    this.header = true;
    for (const row of cells) lines.push(this.line(row));
    this.io.stdout(lines.map((line) => `${line}\n`).join(""));
  }

  private line(cells: readonly string[]): string {
    const last = cells.length - 1;
    return cells
      .map((cell, i) => {
        if (i === last) return cell;
        const width = this.widths[i] ?? 0;
        return COLUMNS[i] === "MS" ? cell.padStart(width) : cell.padEnd(width);
      })
      .join("  ");
  }
}

function tableCells(event: AuditEvent): string[] {
  const time = Date.parse(event.time);
  return [
    Number.isFinite(time) ? new Date(time).toISOString().replace(/\.\d{3}Z$/, "Z") : event.time,
    event.principal?.subject,
    event.tool,
    event.outcome,
    event.idempotency,
    Number.isFinite(event.latencyMs) ? String(Math.round(event.latencyMs)) : undefined,
    event.requestId,
  ].map((cell) => (cell === undefined || cell === null || cell === "" ? "-" : terminalSafe(cell)));
}

// Subjects and tool names come from callers: escape control and bidi-override characters
// so a crafted value cannot move the cursor, recolour the terminal or fake a row.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;
const escape = (ch: string) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`;

function terminalSafe(text: string): string {
  return text.replace(UNSAFE, escape);
}

/** JSON.stringify escapes C0 controls only; the rest of UNSAFE is escaped too (still valid JSON). */
function safeJson(event: AuditEvent): string {
  return JSON.stringify(event).replace(UNSAFE, escape);
}
