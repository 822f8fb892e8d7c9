/**
 * What toolgate does not model (opaque keywords, compared for equality and classified by
 * assertion-keywords.ts), and annotations the model reads: behavioural changes, with a
 * word diff of descriptions and titles.
 */
import { opaqueChanges } from "../assertion-keywords.js";
import { wordDiff } from "../word-diff.js";
import { compareStrings } from "./canonical.js";
import type { SchemaChange } from "./change.js";
import type { Comparison } from "./context.js";
import type { Node } from "./model.js";
import { show } from "./wording.js";

export function compareOpaque(
  cx: Comparison,
  b: Node,
  a: Node,
  path: string,
  out: SchemaChange[],
): void {
  for (const { keyword, verb, effect } of opaqueChanges(b.opaque, a.opaque)) {
    const what = keyword === "$ref" ? "a remote or unresolvable $ref" : `"${keyword}"`;
    if (effect === "widened") {
      out.push(
        cx.constraint(
          path,
          `${what} ${verb}, which only rejected values`,
          undefined,
          "values it rejected",
        ),
      );
    } else if (effect === "narrowed") {
      out.push(
        cx.constraint(
          path,
          `${what} ${verb}, which only rejects values`,
          "values it rejects",
          undefined,
        ),
      );
    } else out.push(cx.unprovable(path, `${what} ${verb}`));
  }
}

export function compareAnnotations(
  cx: Comparison,
  b: Node,
  a: Node,
  path: string,
  out: SchemaChange[],
): void {
  const keys = new Set([...b.annotations.keys(), ...a.annotations.keys()]);
  const loc = cx.loc(path);
  for (const key of [...keys].sort(compareStrings)) {
    const vb = annotationValue(key, b.annotations.get(key));
    const va = annotationValue(key, a.annotations.get(key));
    if (cx.canonical(vb) === cx.canonical(va)) continue;
    if (
      (key === "description" || key === "title") &&
      typeof vb === "string" &&
      typeof va === "string"
    ) {
      const diff = wordDiff(vb, va);
      out.push({
        kind: "behavioural",
        path,
        message: `${loc}: ${key} changed (the model reads it): ${diff}`,
        wordDiff: diff,
      });
    } else if (key === "description" || key === "title") {
      const verb = vb === undefined ? "added" : va === undefined ? "removed" : "changed";
      const diff = wordDiff(typeof vb === "string" ? vb : "", typeof va === "string" ? va : "");
      out.push({
        kind: "behavioural",
        path,
        message: `${loc}: ${key} ${verb} (the model reads it)${diff ? `: ${diff}` : ""}`,
        ...(diff ? { wordDiff: diff } : {}),
      });
    } else if (key === "default") {
      out.push({
        kind: "behavioural",
        path,
        message:
          `${loc}: default changed from ${show(vb)} to ${show(va)}` +
          (cx.dir === "input" ? " (callers that omit it may now get a different result)" : ""),
      });
    } else if (key === "deprecated") {
      out.push({
        kind: "behavioural",
        path,
        message: `${loc}: deprecated changed from ${show(vb ?? false)} to ${show(va ?? false)}`,
      });
    } else if (key === "examples") {
      out.push({
        kind: "behavioural",
        path,
        message: `${loc}: examples changed from ${show(vb)} to ${show(va)} (the model reads them)`,
      });
    } else {
      out.push({
        kind: "behavioural",
        path,
        message: `${loc}: annotation "${key}" changed from ${show(vb)} to ${show(va)}`,
      });
    }
  }
}

/** One value for an annotation: the value, or (from several subschemas) all of them. */
function annotationValue(key: string, values: readonly unknown[] | undefined): unknown {
  if (values === undefined || values.length === 0) return undefined;
  if (values.length === 1) return values[0];
  if ((key === "description" || key === "title") && values.every((v) => typeof v === "string")) {
    return values.join(" / ");
  }
  return values;
}
