// The YAML layer: parses the text with the `yaml` package (node ranges, a LineCounter)
// and maps a setting's path back to a line and column. Everything after this works on
// plain values and paths; this file is the only one that knows about YAML nodes.
import {
  LineCounter,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  parseDocument,
  visit,
  type Document,
  type YAMLError,
} from "yaml";
import type { ConfigIssue } from "./config-error.js";

/** A setting's location: keys of mappings and indexes of lists. */
export type Path = readonly (string | number)[];

/** `upstreams.fs.stdio.args[0]`; keys that are not plain words are quoted: `tools["a.b"]`. */
export function formatPath(path: Path): string {
  let text = "";
  for (const part of path) {
    if (typeof part === "number") text += `[${part}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(part)) text += text === "" ? part : `.${part}`;
    else text += `[${JSON.stringify(part)}]`;
  }
  return text;
}

export interface Position {
  readonly line: number;
  readonly column: number;
}

export interface YamlSource {
  /** The document as plain data (mappings are plain objects). */
  readonly value: unknown;
  /**
   * Where the setting at `path` is written: its value, or with `at: "key"` its key. A
   * path that goes beyond the file (a missing key) gives the deepest part that exists.
   */
  locate(path: Path, at?: "value" | "key"): Position | undefined;
}

export type ParseResult =
  | { readonly ok: true; readonly source: YamlSource }
  | { readonly ok: false; readonly issues: ConfigIssue[] };

/** Aliases expanded into the data at most this often (the "billion laughs" guard). */
const MAX_ALIAS_COUNT = 100;
/** YAML errors reported at most; the rest are counted. */
const MAX_SYNTAX_ISSUES = 10;

export function parseYaml(text: string, file: string): ParseResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    prettyErrors: false,
    uniqueKeys: true,
    merge: false,
  });
  const at = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const issue = (offset: number, message: string): ConfigIssue => ({
    file,
    ...at(offset),
    path: "",
    message,
  });

  // Warnings (an unknown !tag, say) are errors too: a config file means one thing or nothing.
  const errors = [...doc.errors, ...doc.warnings].sort((a, b) => a.pos[0] - b.pos[0]);
  const problems: ConfigIssue[] = errors.map((error) => {
    if (error.code === "DUPLICATE_KEY") {
      const path = duplicatePath(doc, error.pos[0]);
      if (path !== undefined) {
        return {
          ...issue(error.pos[0], "duplicate key: each key may appear only once in a mapping"),
          path: formatPath(path),
        };
      }
    }
    return issue(error.pos[0], `YAML syntax error: ${firstLine(error)}`);
  });
  if (problems.length > MAX_SYNTAX_ISSUES) {
    // Past the first few, syntax errors mostly follow from the earlier ones.
    const shown = problems.slice(0, MAX_SYNTAX_ISSUES);
    const last = shown.at(-1)!;
    const more = problems.length - MAX_SYNTAX_ISSUES;
    shown[shown.length - 1] = {
      ...last,
      message: `${last.message} (and ${more} more YAML errors after this)`,
    };
    return { ok: false, issues: shown };
  }
  if (problems.length > 0) return { ok: false, issues: problems };

  visit(doc, {
    Pair(_, pair) {
      const key = pair.key;
      if (!isScalar(key) || key.value === null || typeof key.value === "object") {
        const offset = (key as { range?: [number, number, number] } | null)?.range?.[0];
        problems.push(issue(offset ?? 0, "a key must be a plain word or string"));
      }
    },
    Alias(_, alias) {
      if (alias.resolve(doc) === undefined) {
        const offset = alias.range?.[0] ?? 0;
        problems.push(
          issue(offset, `alias *${alias.source} has no anchor &${alias.source} before it`),
        );
      }
    },
  });
  if (problems.length > 0) return { ok: false, issues: problems };

  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { ok: false, issues: [{ file, path: "", message: `cannot read the YAML: ${message}` }] };
  }
  return {
    ok: true,
    source: {
      value,
      locate: (path, where = "value") => {
        const offset = offsetOf(doc, path, where);
        return offset === undefined ? undefined : at(offset);
      },
    },
  };
}

/** The library's message without its code excerpt. */
function firstLine(error: YAMLError): string {
  return (error.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "");
}

/** The path of the key that starts at `offset` (a duplicate key the parser found there). */
function duplicatePath(doc: Document, offset: number): Path | undefined {
  let found: Path | undefined;
  visit(doc, {
    Pair(_, pair, ancestors) {
      if (!isScalar(pair.key) || pair.key.range?.[0] !== offset) return undefined;
      const path: (string | number)[] = [];
      ancestors.forEach((node, i) => {
        if (isPair(node) && isScalar(node.key)) path.push(String(node.key.value));
        if (isSeq(node)) path.push(node.items.indexOf(ancestors[i + 1] ?? pair));
      });
      found = [...path, String(pair.key.value)];
      return visit.BREAK;
    },
  });
  return found;
}

type Ranged = { range?: readonly [number, number, number] | null } | null | undefined;

function startOf(node: unknown): number | undefined {
  return (node as Ranged)?.range?.[0] ?? undefined;
}

/** A null written as nothing (`command:`): point at its key instead. */
function isEmptyScalar(node: unknown): boolean {
  if (!isScalar(node)) return false;
  const range = node.range;
  return node.value === null && (range === undefined || range === null || range[0] === range[1]);
}

function offsetOf(doc: Document, path: Path, where: "value" | "key"): number | undefined {
  let node: unknown = doc.contents;
  let keyNode: unknown;
  let matched = 0;
  for (const part of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(part));
      if (pair === undefined) break;
      keyNode = pair.key;
      node = pair.value;
    } else if (isSeq(node) && typeof part === "number" && node.items[part] !== undefined) {
      keyNode = undefined;
      node = node.items[part];
    } else {
      break;
    }
    matched++;
  }
  const complete = matched === path.length;
  const preferKey = where === "key" || !complete || node === null || isEmptyScalar(node);
  return (preferKey ? startOf(keyNode) : undefined) ?? startOf(node) ?? startOf(keyNode);
}
