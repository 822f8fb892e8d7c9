// What the scale curves share: their settings, one measured point (a lead-in, then a
// load run with the server processes' CPU read before and after), and the tables.
import type { DevIssuer } from "../../src/index.js";
import type { Child } from "../children.js";
import {
  cpuOf,
  drive,
  percentile,
  sleep,
  withCpu,
  type DriveOptions,
  type LoadResult,
} from "../drive.js";
import { READ_SCOPE, WRITE_SCOPE } from "../perf-shared.js";

export interface ScaleContext {
  /** Temp dir of this scale run (audit files, stores, key file). */
  readonly dir: string;
  /** The dev issuer whose key file (`keyFile`) the servers load. */
  readonly issuer: DevIssuer;
  readonly keyFile: string;
  /** Measured seconds per point. */
  readonly seconds: number;
  readonly connections: number;
}

/** One curve's outcome: a table (printed, and kept in the results JSON) and notes. */
export interface CurveResult {
  readonly name: string;
  readonly title: string;
  readonly header: readonly string[];
  readonly rows: readonly (readonly string[])[];
  readonly notes: readonly string[];
  /** The figures behind the table, for the results JSON. */
  readonly data: unknown;
}

/** Unrecorded lead-in of every point: fresh connections, a warm code path. */
const LEAD_IN_S = 0.5;
/** The lead-in of a server's first point: its code is not optimized yet (JIT, caches). */
const WARM_UP_S = 2;
const SETTLE_MS = 200;
const QUIESCE_MS = 10_000;

export interface Point {
  calls: number;
  rate: number;
  p50: number;
  p99: number;
  /** CPU (user + system) per call of every server process the call goes through, µs. */
  cpuUsPerCall: number;
  /** The same for the first process only (the gateway's, without its upstream's). */
  ownCpuUsPerCall: number;
  /** RSS of the first process after the run, MB. */
  rssMb: number;
  errors: number;
  firstError?: string;
}

/**
 * A lead-in (longer on a `fresh` server: its first point), then `ctx.seconds` of load
 * measured against `processes`.
 */
export async function measurePoint(
  ctx: ScaleContext,
  processes: readonly Child[],
  load: Omit<DriveOptions, "seconds" | "connections">,
  fresh = false,
): Promise<Point> {
  const options = { ...load, connections: ctx.connections };
  await drive({ ...options, seconds: fresh ? WARM_UP_S : LEAD_IN_S });
  await quiesce(processes);
  const { result, cpuUs, after } = await withCpu(processes, () =>
    drive({ ...options, seconds: ctx.seconds }),
  );
  await quiesce(processes);
  return pointOf(result, cpuUs, (after[0]?.rss ?? Number.NaN) / 2 ** 20);
}

/**
 * Waits until the servers are idle (under 10% of a core over SETTLE_MS), at most
 * QUIESCE_MS: a run's last calls are still being served when autocannon stops (a 1 MiB
 * call takes a while), and their CPU must not be charged to the next run's calls.
 */
async function quiesce(processes: readonly Child[]): Promise<void> {
  const until = performance.now() + QUIESCE_MS;
  let last = await Promise.all(processes.map((p) => p.stats()));
  while (performance.now() < until) {
    await sleep(SETTLE_MS);
    const now = await Promise.all(processes.map((p) => p.stats()));
    const busyUs = now.reduce((sum, s, i) => sum + (cpuOf(s) - cpuOf(last[i])), 0);
    if (!(busyUs > SETTLE_MS * 100)) return; // µs of CPU in SETTLE_MS ms: 10% of a core
    last = now;
  }
}

function pointOf(run: LoadResult, cpuUs: number[], rssMb: number): Point {
  return {
    calls: run.calls,
    rate: run.calls / run.seconds,
    p50: percentile(run.latencies, 0.5),
    p99: percentile(run.latencies, 0.99),
    cpuUsPerCall: cpuUs.reduce((a, b) => a + b, 0) / run.calls,
    ownCpuUsPerCall: (cpuUs[0] ?? Number.NaN) / run.calls,
    rssMb,
    errors: run.errors,
    ...(run.firstError === undefined ? {} : { firstError: run.firstError }),
  };
}

/** A bearer token for a dev-issuer server (it verifies tokens minted for its own URL). */
export async function devToken(ctx: ScaleContext, url: string, write = false): Promise<string> {
  const token = await ctx.issuer.mint({
    sub: "bench",
    scope: write ? [WRITE_SCOPE] : [READ_SCOPE],
    audience: url,
    ttlSec: 900,
  });
  return `Bearer ${token}`;
}

export const callBody = (id: number, tool: string, args = '{"message":"hi"}') =>
  `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"${tool}","arguments":${args}}}`;

export const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : "-");
export const count = (n: number) => n.toLocaleString("en-US");

/** The usual cells of a point: calls/s, p50, p99, CPU µs/call, errors. */
export const pointCells = (p: Point) => [
  fmt(p.rate, p.rate < 100 ? 1 : 0),
  fmt(p.p50, 2),
  fmt(p.p99, 2),
  fmt(p.cpuUsPerCall),
  String(p.errors),
];

/** Notes on a point's errors (the first one's text). */
export function errorNotes(what: string, p: Point | undefined, notes: string[]): void {
  if (p && p.errors > 0) notes.push(`${what}: ${p.errors} errors, first: ${p.firstError ?? "?"}`);
}

/**
 * The table as lines: columns of numbers right-aligned, the others left-aligned; a row
 * with fewer cells (a name and why it did not run) spans the rest of the line.
 */
export function tableLines(header: readonly string[], rows: readonly (readonly string[])[]) {
  const full = rows.filter((r) => r.length === header.length);
  const widths = header.map((h, i) =>
    Math.max(h.length, ...(i === 0 ? rows : full).map((r) => r[i]!.length)),
  );
  const numeric = header.map((_, i) => full.every((r) => /^[-\d.,]+$/.test(r[i]!)));
  const line = (cells: readonly string[]) =>
    cells.length < header.length
      ? cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ")
      : cells
          .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
          .join("  ");
  return [header, widths.map((w) => "-".repeat(w)), ...rows].map((r) => line(r).trimEnd());
}
