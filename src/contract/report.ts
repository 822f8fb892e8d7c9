// The verdict of `toolgate contract check` for people: changes grouped by tool, each
// marked BREAKING / BEHAVIOURAL / COMPATIBLE, word diffs of the texts the model reads,
// and the tools that changed without a version bump. Plus the exit code rule.
import type { ChangeKind, ContractChange, ContractLock, ContractReport } from "./types.js";

export interface ReportContext {
  /** The lock (what was reviewed). */
  readonly before: ContractLock;
  /** The current contracts. */
  readonly after: ContractLock;
  /** Behavioural changes fail the check too. */
  readonly strict?: boolean | undefined;
  /** Names the lock and the source in the header, e.g. "toolgate.lock.json". */
  readonly lockPath?: string | undefined;
  readonly source?: string | undefined;
  /**
   * Gateway pins (`--config`): upstream tools carry no versions of their own, and any
   * change quarantines the tool, so the verdict names the approve command instead.
   */
  readonly approveCommand?: string | undefined;
}

export type KindCounts = Record<ChangeKind, number>;

export function countKinds(report: ContractReport): KindCounts {
  const counts: KindCounts = { breaking: 0, behavioural: 0, compatible: 0 };
  for (const change of report.changes) counts[change.kind] += 1;
  return counts;
}

/**
 * Whether the check fails (exit 1): breaking changes, a contract changed without a
 * version bump, or (strict) a behavioural change. Compatible changes never fail it.
 */
export function checkFails(report: ContractReport, strict = false): boolean {
  const counts = countKinds(report);
  return (
    counts.breaking > 0 || report.versionNotBumped.length > 0 || (strict && counts.behavioural > 0)
  );
}

const MARKER: Readonly<Record<ChangeKind, string>> = {
  breaking: "BREAKING",
  behavioural: "BEHAVIOURAL",
  compatible: "COMPATIBLE",
};
const RANK: Readonly<Record<ChangeKind, number>> = { breaking: 0, behavioural: 1, compatible: 2 };
const MARK_WIDTH = 13;
const EVALS_HINT = "the model reads this text: re-run your evals";

/** The report as text for a terminal or a CI log. */
export function formatReport(report: ContractReport, context: ReportContext): string {
  const lines: string[] = [];
  const header =
    context.lockPath === undefined
      ? "toolgate contract check"
      : `toolgate contract check: ${context.lockPath}${context.source ? ` against ${context.source}` : ""}`;
  lines.push(header, "");
  const toolCount = Object.keys(context.after.tools).length;
  if (report.changes.length === 0 && report.versionNotBumped.length === 0) {
    lines.push(
      `No contract changes: ${toolCount} tool${toolCount === 1 ? "" : "s"} match the lock.`,
    );
    return `${lines.join("\n")}\n`;
  }

  // Grouped by tool, in the order the changes came.
  const byTool = new Map<string, ContractChange[]>();
  for (const change of report.changes) {
    const group = byTool.get(change.tool) ?? [];
    group.push(change);
    byTool.set(change.tool, group);
  }
  for (const tool of report.versionNotBumped) if (!byTool.has(tool)) byTool.set(tool, []);

  for (const [tool, changes] of byTool) {
    lines.push(`${tool} ${versionLabel(tool, context)}`);
    // Most severe first; otherwise in the order the comparison gave them.
    const ordered = [...changes].sort((a, b) => RANK[a.kind] - RANK[b.kind]);
    for (const change of ordered) {
      const mark = MARKER[change.kind].padEnd(MARK_WIDTH);
      const message = oneLine(change.message);
      const where =
        change.path === "tool" || message.startsWith(change.path) ? "" : `${change.path}: `;
      lines.push(`  ${mark}${where}${message}`);
      const indent = " ".repeat(2 + MARK_WIDTH);
      if (change.wordDiff !== undefined) {
        lines.push(`${indent}${elide(oneLine(change.wordDiff))}`);
      }
      if (readByModel(change) && !/re-run your evals/i.test(change.message)) {
        lines.push(`${indent}(${EVALS_HINT})`);
      }
    }
    if (report.versionNotBumped.includes(tool)) {
      const version = context.after.tools[tool]?.version ?? context.before.tools[tool]?.version;
      lines.push(
        `  ${"VERSION".padEnd(MARK_WIDTH)}the contract changed but the version is still ${version ?? "the same"}: bump its version`,
      );
    }
    lines.push("");
  }

  const counts = countKinds(report);
  const toolsChanged = byTool.size;
  lines.push(
    `${report.changes.length} change${report.changes.length === 1 ? "" : "s"} in ${toolsChanged} tool${toolsChanged === 1 ? "" : "s"}: ` +
      `${counts.breaking} breaking, ${counts.behavioural} behavioural, ${counts.compatible} compatible.`,
  );
  lines.push(
    context.approveCommand === undefined
      ? verdict(report, counts, context.strict === true, context.lockPath ?? "toolgate.lock.json")
      : `FAIL: the gateway quarantines ${toolsChanged === 1 ? "this tool" : "these tools"} until the change is approved.\n` +
          `Review the changes with the upstream's owner, then run: ${context.approveCommand}`,
  );
  return `${lines.join("\n")}\n`;
}

function verdict(
  report: ContractReport,
  counts: KindCounts,
  strict: boolean,
  lockPath: string,
): string {
  const update = `When the changes are intended: bump the versions, run toolgate contract snapshot --out ${lockPath} and commit the lock.`;
  const reasons: string[] = [];
  if (counts.breaking > 0) {
    reasons.push(
      `${counts.breaking} breaking change${counts.breaking === 1 ? "" : "s"} (existing callers will fail: prefer a new tool name and deprecate the old tool)`,
    );
  }
  if (report.versionNotBumped.length > 0) {
    reasons.push(`bump the version of ${report.versionNotBumped.join(", ")}`);
  }
  if (strict && counts.behavioural > 0) reasons.push("behavioural changes (--strict)");
  if (reasons.length > 0) return `FAIL: ${reasons.join("; ")}.\n${update}`;
  if (counts.behavioural > 0) {
    return `OK, with behavioural changes to review (--strict fails on them).\n${update}`;
  }
  return `OK: compatible changes only.\n${update}`;
}

function versionLabel(tool: string, context: ReportContext): string {
  const before = context.before.tools[tool]?.version;
  const after = context.after.tools[tool]?.version;
  if (before === undefined && after !== undefined) return `(new, ${after})`;
  if (after === undefined && before !== undefined) return `(removed, was ${before})`;
  if (before === after) return `(${after ?? "?"})`;
  return `(${before ?? "?"} -> ${after ?? "?"})`;
}

/** Descriptions and titles are what the model decides by. */
function readByModel(change: ContractChange): boolean {
  return (
    change.wordDiff !== undefined ||
    change.path === "description" ||
    change.path === "title" ||
    /\/(description|title)$/.test(change.path)
  );
}

const EDIT = /\[-[\s\S]*?-\]|\{\+[\s\S]*?\+\}/g;
const CONTEXT_WORDS = 8;

/**
 * A word diff of a long text, cut to the edits and a few words around each: "... the
 * order [-part or-] {+all+} of an order to the ...". Short ones are shown whole.
 */
export function elide(diff: string): string {
  const edits = [...diff.matchAll(EDIT)];
  if (edits.length === 0 || diff.length <= 200) return diff;
  // Word boundaries around each edit, merged when their contexts touch.
  const spans: [number, number][] = [];
  for (const edit of edits) {
    const start = startAfterWords(diff, edit.index, CONTEXT_WORDS);
    const end = endAfterWords(diff, edit.index + edit[0].length, CONTEXT_WORDS);
    const last = spans.at(-1);
    if (last && start <= last[1]) last[1] = Math.max(last[1], end);
    else spans.push([start, end]);
  }
  return spans
    .map(([start, end], i) => {
      const lead = start > 0 && i === 0 ? "... " : "";
      const tail = end < diff.length ? " ..." : "";
      return `${lead}${diff.slice(start, end).trim()}${tail}`;
    })
    .join(" ");
}

function startAfterWords(text: string, from: number, words: number): number {
  let i = from;
  for (let seen = 0; i > 0; i--) {
    if (/\s/.test(text[i - 1] ?? "") && !/\s/.test(text[i] ?? "") && ++seen > words) break;
  }
  return i;
}

function endAfterWords(text: string, from: number, words: number): number {
  let i = from;
  for (let seen = 0; i < text.length; i++) {
    if (/\s/.test(text[i] ?? "") && !/\s/.test(text[i - 1] ?? "") && ++seen > words) break;
  }
  return i;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ");
}
