// The matrix as a plain-text table: one line per server x call, one column per client,
// each cell `ok` or the failure in a few words.
import type { ClientName } from "./clients.js";

export type CellOutcome =
  { state: "ok" } | { state: "failed"; short: string } | { state: "not run"; why: string };

interface Line {
  server: string;
  call: string;
  cells: Partial<Record<ClientName, CellOutcome>>;
}

export class Matrix {
  private readonly lines: Line[] = [];

  constructor(private readonly columns: readonly { name: ClientName; title: string }[]) {}

  /** Declares a row (in the order rows are printed); cells are filled as they finish. */
  row(server: string, call: string): (client: ClientName, outcome: CellOutcome) => void {
    const line: Line = { server, call, cells: {} };
    this.lines.push(line);
    return (client, outcome) => {
      line.cells[client] = outcome;
    };
  }

  /** Whether any cell of `server` failed. */
  failedIn(server: string): boolean {
    return this.lines.some(
      (l) => l.server === server && Object.values(l.cells).some((c) => c.state === "failed"),
    );
  }

  counts(): { cells: number; ok: number; failed: number; notRun: number } {
    const all = this.lines.flatMap((l) => this.columns.map((c) => l.cells[c.name]));
    return {
      cells: all.length,
      ok: all.filter((c) => c?.state === "ok").length,
      failed: all.filter((c) => c?.state === "failed").length,
      notRun: all.filter((c) => c === undefined || c.state === "not run").length,
    };
  }

  render(): string {
    const text = (c: CellOutcome | undefined) =>
      c === undefined
        ? "not run"
        : c.state === "ok"
          ? "ok"
          : c.state === "failed"
            ? `FAIL ${c.short}`
            : `not run: ${c.why}`;
    const header = ["server", "call", ...this.columns.map((c) => c.title)];
    const body = this.lines.map((l, i) => [
      i > 0 && this.lines[i - 1]!.server === l.server ? "" : l.server,
      l.call,
      ...this.columns.map((c) => text(l.cells[c.name])),
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
    const format = (r: string[]) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join("  ")
        .trimEnd();
    const { cells, ok, failed, notRun } = this.counts();
    return [
      `Interop matrix: ${cells} cells, ${ok} ok, ${failed} failed, ${notRun} not run`,
      format(header),
      format(widths.map((w) => "-".repeat(w))),
      ...body.map(format),
    ].join("\n");
  }
}
