/**
 * Compares two lock files tool by tool and classifies every difference (see types.ts for
 * the report, schema-diff.ts for the schema rules). Changes are sorted by tool name, then
 * path, then severity, so the report is stable.
 */
import { diffSchemas, KIND_RANK, type SchemaDiffOptions } from "./schema-diff.js";
import type {
  ChangeKind,
  ContractChange,
  ContractLock,
  ContractReport,
  Deprecation,
  ToolContract,
} from "./types.js";
import { wordDiff } from "./word-diff.js";

const REEVAL = "re-run your evals";

/** MCP's defaults for the hints when a tool does not set them. */
const HINT_DEFAULTS: Readonly<Record<string, boolean>> = {
  readOnlyHint: false,
  destructiveHint: true,
  idempotentHint: false,
  openWorldHint: true,
};

/** `options.tolerantReader`: see SchemaDiffOptions (it only changes output schema rules). */
export function diffLocks(
  before: ContractLock,
  after: ContractLock,
  options: SchemaDiffOptions = {},
): ContractReport {
  const changes: ContractChange[] = [];
  const versionNotBumped: string[] = [];
  const names = [...new Set([...Object.keys(before.tools), ...Object.keys(after.tools)])].sort(
    compareStrings,
  );
  const removed = names.filter((n) => !tool(after, n));
  const added = names.filter((n) => !tool(before, n));

  for (const name of names) {
    const old = tool(before, name);
    const now = tool(after, name);
    if (old && !now) {
      const renamedTo = added.filter((candidate) =>
        sameSchema(old.inputSchema, tool(after, candidate)!.inputSchema),
      );
      const rename =
        renamedTo.length > 0
          ? `; ${renamedTo.map((n) => `"${n}"`).join(" or ")} has an identical input schema, so this is likely a rename to ${renamedTo.length === 1 ? "it" : "one of them"}`
          : "";
      changes.push({
        tool: name,
        kind: "breaking",
        path: "tool",
        message: `tool removed or renamed (callers still calling "${name}" now fail)${rename}`,
      });
    } else if (!old && now) {
      const renamedFrom = removed.filter((candidate) =>
        sameSchema(tool(before, candidate)!.inputSchema, now.inputSchema),
      );
      changes.push({
        tool: name,
        kind: "compatible",
        path: "tool",
        message:
          "tool added" +
          (renamedFrom.length > 0
            ? ` (its input schema is identical to that of removed ${renamedFrom.map((n) => `"${n}"`).join(", ")}: likely a rename)`
            : ""),
      });
    } else if (old && now) {
      const toolChanges = diffTool(name, old, now, options);
      changes.push(...toolChanges);
      if (toolChanges.length > 0 && old.version === now.version) versionNotBumped.push(name);
    }
  }

  changes.sort(
    (x, y) =>
      compareStrings(x.tool, y.tool) ||
      compareStrings(x.path, y.path) ||
      KIND_RANK[x.kind] - KIND_RANK[y.kind] ||
      compareStrings(x.message, y.message),
  );
  return { changes, versionNotBumped };
}

/** Every difference between two versions of one tool, except the version itself. */
function diffTool(
  tool: string,
  old: ToolContract,
  now: ToolContract,
  options: SchemaDiffOptions,
): ContractChange[] {
  const out: ContractChange[] = [];
  const add = (kind: ChangeKind, path: string, message: string, diff?: string) =>
    out.push({ tool, kind, path, message, ...(diff !== undefined ? { wordDiff: diff } : {}) });

  // Prose the model reads.
  for (const field of ["description", "title"] as const) {
    const vb = old[field];
    const va = now[field];
    if (vb === va) continue;
    const diff = wordDiff(vb ?? "", va ?? "");
    const verb = vb === undefined ? "added" : va === undefined ? "removed" : "changed";
    add(
      "behavioural",
      field,
      `${field} ${verb}: the model reads it to decide when and how to call the tool, so ${REEVAL}`,
      diff,
    );
  }

  // Annotations.
  const keys = [
    ...new Set([...Object.keys(old.annotations), ...Object.keys(now.annotations)]),
  ].sort(compareStrings);
  const effective = (annotations: Readonly<Record<string, unknown>>, key: string) =>
    annotations[key] ?? HINT_DEFAULTS[key];
  for (const key of keys) {
    const vb = old.annotations[key];
    const va = now.annotations[key];
    if (canonical(vb) === canonical(va)) continue;
    const path = `annotations.${key}`;
    const change = `${path} changed from ${show(vb)} to ${show(va)}`;
    const eb = effective(old.annotations, key);
    const ea = effective(now.annotations, key);
    if (key === "readOnlyHint" && eb === true && ea !== true) {
      add(
        "breaking",
        path,
        `${change}: the tool no longer declares itself read-only, so it may now write (clients that run read-only tools without confirmation would no longer ask)`,
      );
    } else if (
      key === "destructiveHint" &&
      eb === false &&
      ea !== false &&
      effective(now.annotations, "readOnlyHint") !== true
    ) {
      add(
        "breaking",
        path,
        `${change}: the tool now declares it may destroy data (callers that treated it as non-destructive would no longer ask for confirmation)`,
      );
    } else if (key === "title" && (typeof vb === "string" || typeof va === "string")) {
      add(
        "behavioural",
        path,
        `${change}: clients and models show and read it, so ${REEVAL}`,
        wordDiff(typeof vb === "string" ? vb : "", typeof va === "string" ? va : ""),
      );
    } else {
      add(
        "behavioural",
        path,
        `${change}${eb === ea && eb !== undefined ? ` (the effective value stays ${show(eb)})` : ""}: clients may treat the tool differently`,
      );
    }
  }

  // Scopes.
  const scopesBefore = new Set(old.scopes);
  const scopesAfter = new Set(now.scopes);
  const scopesAdded = [...scopesAfter].filter((s) => !scopesBefore.has(s)).sort(compareStrings);
  const scopesRemoved = [...scopesBefore].filter((s) => !scopesAfter.has(s)).sort(compareStrings);
  if (scopesAdded.length > 0) {
    add(
      "breaking",
      "scopes",
      `scope${plural(scopesAdded)} added: ${scopesAdded.join(", ")} (callers whose tokens lack ${scopesAdded.length === 1 ? "it" : "them"} are now refused)`,
    );
  }
  if (scopesRemoved.length > 0) {
    add(
      "compatible",
      "scopes",
      `scope${plural(scopesRemoved)} no longer required: ${scopesRemoved.join(", ")}`,
    );
  }

  // Side effect.
  if (old.sideEffect !== now.sideEffect) {
    if (now.sideEffect === "write") {
      add(
        "breaking",
        "sideEffect",
        "sideEffect changed from read to write: calling the tool may now change data, so callers that treated it as safe to call freely must not",
      );
    } else {
      add(
        "behavioural",
        "sideEffect",
        "sideEffect changed from write to read: the tool no longer changes data",
      );
    }
  }

  // Deprecation.
  if (canonical(old.deprecated) !== canonical(now.deprecated)) {
    const message =
      old.deprecated === undefined
        ? `tool deprecated: ${describeDeprecation(now.deprecated!)}`
        : now.deprecated === undefined
          ? "deprecation withdrawn: the tool is no longer deprecated"
          : `deprecation changed from (${describeDeprecation(old.deprecated)}) to (${describeDeprecation(now.deprecated)})`;
    add("behavioural", "deprecated", message);
  }

  // Schemas.
  for (const change of diffSchemas(old.inputSchema, now.inputSchema, "input")) {
    add(change.kind, `input${change.path}`, change.message, change.wordDiff);
  }
  if (old.outputSchema && now.outputSchema) {
    for (const change of diffSchemas(old.outputSchema, now.outputSchema, "output", options)) {
      add(change.kind, `output${change.path}`, change.message, change.wordDiff);
    }
  } else if (!old.outputSchema && now.outputSchema) {
    add(
      "compatible",
      "output",
      "output schema added: results now carry declared structured content",
    );
  } else if (old.outputSchema && !now.outputSchema) {
    add(
      "breaking",
      "output",
      "output schema removed: consumers relying on the declared structured content lose it",
    );
  }
  return out;
}

/** A tool by name (own keys only: a tool may be called "constructor"). */
function tool(lock: ContractLock, name: string): ToolContract | undefined {
  return Object.hasOwn(lock.tools, name) ? lock.tools[name] : undefined;
}

function sameSchema(x: Record<string, unknown>, y: Record<string, unknown>): boolean {
  return diffSchemas(x, y, "input").length === 0;
}

function describeDeprecation(d: Deprecation): string {
  const parts = [`since ${d.since}`];
  if (d.useInstead !== undefined) parts.push(`use "${d.useInstead}" instead`);
  if (d.removeAfter !== undefined) parts.push(`may be removed after ${d.removeAfter}`);
  return parts.join("; ");
}

function canonical(value: unknown): string {
  if (typeof value !== "object" || value === null) return JSON.stringify(value) ?? "undefined";
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  const record = value as Record<string, unknown>;
  return `{${Object.keys(record)
    .sort(compareStrings)
    .map((k) => `${JSON.stringify(k)}:${canonical(record[k])}`)
    .join(",")}}`;
}

function show(value: unknown): string {
  return value === undefined ? "(unset)" : (JSON.stringify(value) ?? "(not JSON)");
}

function plural(list: readonly unknown[]): string {
  return list.length === 1 ? "" : "s";
}

function compareStrings(x: string, y: string): number {
  return x < y ? -1 : x > y ? 1 : 0;
}
