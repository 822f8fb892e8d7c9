// From zod's issues to ConfigIssues: each at the line and column of its value in the file
// (or of its key: unknown keys, and settings that do not belong where they are), one line
// each. Issues about a value whose `${VAR}` failed are dropped (that failure is reported
// already), and so is "is required" for a key that an unknown key was taken for ("did
// you mean 'command'?" says it all).
import type { z } from "zod";
import type { ConfigIssue } from "./config-error.js";
import { UNRESOLVED, isPlainObject } from "./interpolate.js";
import { formatPath, type Path, type YamlSource } from "./yaml-source.js";

/** Collects the issues of one file; resolve.ts reports constructor errors here too. */
export class Reporter {
  readonly issues: ConfigIssue[] = [];

  constructor(
    readonly file: string,
    private readonly source: YamlSource,
  ) {}

  /** Records an issue at the value (or with `at: "key"` the key) at `path`; returns undefined. */
  report(path: Path, message: string, at: "value" | "key" = "value"): undefined {
    const position = this.source.locate(path, at);
    this.issues.push({
      file: this.file,
      ...(position === undefined ? {} : { line: position.line, column: position.column }),
      path: formatPath(path),
      // One line per issue, whatever a constructor's message or a value in it holds.
      message: message.replace(/\s*[\r\n]+\s*/g, " "),
    });
    return undefined;
  }

  /** Reports the issues of a zod parse of `value` (the interpolated file). */
  reportZod(issues: readonly z.core.$ZodIssue[], value: unknown): void {
    const found: { path: Path; message: string; at: "value" | "key" }[] = [];
    const typoFor = new Set<string>();
    for (const issue of issues) {
      const path = issue.path.filter((p): p is string | number => typeof p !== "symbol");
      if (issue.code === "unrecognized_keys") {
        const lines = issue.message.split("\n");
        issue.keys.forEach((key, i) => {
          const message = lines[i] ?? lines[0] ?? "unknown key";
          const suggestion = /did you mean '(.+)'\?$/.exec(message)?.[1];
          if (suggestion !== undefined) typoFor.add(formatPath([...path, suggestion]));
          found.push({ path: [...path, key], message, at: "key" });
        });
        continue;
      }
      const params =
        issue.code === "custom" ? (issue.params as { at?: unknown } | undefined) : undefined;
      found.push({ path, message: issue.message, at: params?.at === "key" ? "key" : "value" });
    }
    for (const { path, message, at } of found) {
      const { target, inside } = valueAt(value, path);
      if (target === UNRESOLVED || inside === UNRESOLVED) continue;
      if (target === undefined && typoFor.has(formatPath(path))) continue;
      this.report(trimToValue(value, path), message, at);
    }
  }
}

/** The value at `path`, and the last one on the way that is not a mapping or list. */
function valueAt(root: unknown, path: Path): { target: unknown; inside: unknown } {
  let node = root;
  for (const part of path) {
    if (Array.isArray(node) && typeof part === "number") node = node[part];
    else if (isPlainObject(node) && typeof part === "string") node = node[part];
    else return { target: undefined, inside: node };
  }
  return { target: node, inside: undefined };
}

/**
 * `path` up to the last part that exists as written: an issue of a list item that was
 * written as one string (`scopes: "a b"`, `issuer: https://...`) is the string's.
 */
function trimToValue(root: unknown, path: Path): Path {
  let node = root;
  for (const [i, part] of path.entries()) {
    if (typeof node === "string" && typeof part === "number") return path.slice(0, i);
    if (Array.isArray(node) && typeof part === "number") node = node[part];
    else if (isPlainObject(node) && typeof part === "string") node = node[part];
    else return path;
  }
  return path;
}
