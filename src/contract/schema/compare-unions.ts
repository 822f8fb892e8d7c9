/**
 * Alternatives (`anyOf`, `oneOf`, type lists) are matched one to one: unchanged ones
 * first, then each changed one with its closest counterpart of the same type family; a
 * single one left on each side is a type change, the rest were added or removed.
 */
import type { ChangeKind } from "../types.js";
import type { SchemaChange } from "./change.js";
import type { Comparison } from "./context.js";
import { familiesOf, familyKey, isNullOnly } from "./families.js";
import type { Node } from "./model.js";
import type { SchemaSide } from "./side.js";
import { compareStrings } from "./canonical.js";
import { listValues, pluralTypes } from "./wording.js";

const SCORE: Readonly<Record<ChangeKind, number>> = {
  breaking: 100,
  compatible: 10,
  behavioural: 1,
};

export function compareUnion(
  cx: Comparison,
  b: { kind: "anyOf" | "oneOf"; nodes: readonly Node[] },
  a: { kind: "anyOf" | "oneOf"; nodes: readonly Node[] },
  path: string,
): SchemaChange[] {
  const out: SchemaChange[] = [];
  const restB = new Set(b.nodes.keys());
  const restA = new Set(a.nodes.keys());
  const pairs: [number, number, SchemaChange[]][] = [];
  const trial = new Map<string, SchemaChange[]>();
  const diff = (i: number, j: number): SchemaChange[] => {
    const key = `${i},${j}`;
    let result = trial.get(key);
    if (result === undefined) {
      result = cx.compareNode(b.nodes[i]!, a.nodes[j]!, path);
      trial.set(key, result);
    }
    return result;
  };
  const pairable = (i: number, j: number) => {
    const fb = familyKey(b.nodes[i]!);
    const fa = familyKey(a.nodes[j]!);
    return fb === fa || fb === "any" || fa === "any";
  };
  // 1. Alternatives that are unchanged.
  for (const i of [...restB]) {
    for (const j of restA) {
      if (pairable(i, j) && diff(i, j).length === 0) {
        restB.delete(i);
        restA.delete(j);
        break;
      }
    }
  }
  // 2. Changed alternatives of the same type: pair each with its closest counterpart.
  for (const i of [...restB]) {
    let best: number | undefined;
    let bestScore = Infinity;
    for (const j of restA) {
      if (!pairable(i, j)) continue;
      const score = diff(i, j).reduce((sum, c) => sum + SCORE[c.kind], 0);
      if (score < bestScore) {
        best = j;
        bestScore = score;
      }
    }
    if (best !== undefined) {
      pairs.push([i, best, diff(i, best)]);
      restB.delete(i);
      restA.delete(best);
    }
  }
  // 3. One alternative left on each side: a type change.
  if (restB.size === 1 && restA.size === 1) {
    const i = [...restB][0]!;
    const j = [...restA][0]!;
    pairs.push([i, j, diff(i, j)]);
    restB.clear();
    restA.clear();
  }
  for (const [, , changes] of pairs) out.push(...changes);
  for (const i of restB) {
    const node = b.nodes[i]!;
    const what = describe(node, cx.before);
    out.push(
      cx.constraint(
        path,
        isNullOnly(node) ? "no longer nullable" : `alternative removed: ${what}`,
        what,
        undefined,
      ),
    );
  }
  for (const j of restA) {
    const node = a.nodes[j]!;
    const what = describe(node, cx.after);
    out.push(
      cx.constraint(
        path,
        isNullOnly(node) ? "now nullable" : `alternative added: ${what}`,
        undefined,
        what,
      ),
    );
  }
  if (b.kind !== a.kind) {
    const overlapping = "values that match more than one alternative";
    out.push(
      a.kind === "oneOf"
        ? cx.constraint(path, "alternatives changed from anyOf to oneOf", overlapping, undefined)
        : cx.constraint(path, "alternatives changed from oneOf to anyOf", undefined, overlapping),
    );
  } else if (a.kind === "oneOf" && out.some((c) => c.kind !== "behavioural")) {
    out.push(
      cx.unprovable(
        path,
        "the oneOf alternatives changed and may overlap (a value matching two alternatives is rejected)",
      ),
    );
  }
  return out;
}

/** A short name for an alternative added or removed whole, for its message. */
function describe(node: Node, side: SchemaSide): string {
  if (node.never) return "no value";
  if (node.values && node.values.size <= 3) return listValues(node.values);
  if (!node.atoms) return "values of any type";
  const families = familiesOf(node.atoms);
  if (families.length === 1 && families[0] === "object") {
    for (const name of [...node.required].sort(compareStrings)) {
      const values = side.propValues(node, name);
      if (values && values.size === 1) return `objects with ${name} ${listValues(values)}`;
    }
    const names = [...node.props.keys()].sort(compareStrings);
    if (names.length > 0) {
      return `objects with properties ${names.slice(0, 4).join(", ")}${names.length > 4 ? ", ..." : ""}`;
    }
  }
  return pluralTypes([...node.atoms]);
}
