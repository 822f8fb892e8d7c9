/**
 * Type, value (`enum`/`const`) and string keyword changes. A pattern is compared by
 * inclusion (pattern-inclusion.ts): a replaced pattern is compatible only when the new one
 * provably accepts what matters for the direction.
 */
import { patternIncludes } from "../pattern-inclusion.js";
import { compareStrings } from "./canonical.js";
import type { SchemaChange } from "./change.js";
import type { Comparison } from "./context.js";
import { compareCount } from "./compare-sizes.js";
import { ALL_ATOMS, type Node } from "./model.js";
import { listValues, pick, plural, pluralTypes, typeName } from "./wording.js";

export function compareTypes(
  cx: Comparison,
  b: Node,
  a: Node,
  path: string,
  out: SchemaChange[],
): void {
  const tb = b.atoms ?? new Set(ALL_ATOMS);
  const ta = a.atoms ?? new Set(ALL_ATOMS);
  const lost = ALL_ATOMS.filter((t) => tb.has(t) && !ta.has(t));
  const gained = ALL_ATOMS.filter((t) => ta.has(t) && !tb.has(t));
  if (lost.length === 0 && gained.length === 0) return;
  const verb = lost.length && gained.length ? "changed" : lost.length ? "narrowed" : "widened";
  out.push(
    cx.constraint(
      path,
      `type ${verb} from ${typeName(b.atoms)} to ${typeName(a.atoms)}`,
      lost.length ? pluralTypes(lost) : undefined,
      gained.length ? pluralTypes(gained) : undefined,
    ),
  );
}

export function compareValues(
  cx: Comparison,
  b: Node,
  a: Node,
  path: string,
  out: SchemaChange[],
): void {
  const vb = b.values;
  const va = a.values;
  if (!vb && !va) return;
  if (!vb && va) {
    out.push(
      cx.constraint(path, `now restricted to ${listValues(va)}`, "any other value", undefined),
    );
    return;
  }
  if (vb && !va) {
    out.push(
      cx.constraint(path, `no longer restricted to ${listValues(vb)}`, undefined, "other values"),
    );
    return;
  }
  const removed = [...vb!.keys()].filter((k) => !va!.has(k));
  const added = [...va!.keys()].filter((k) => !vb!.has(k));
  if (removed.length === 0 && added.length === 0) return;
  if (vb!.size === 1 && va!.size === 1) {
    const from = listValues(vb!);
    const to = listValues(va!);
    const word = b.constOnly && a.constOnly ? "const" : "the only allowed value";
    out.push(cx.constraint(path, `${word} changed from ${from} to ${to}`, from, to));
    return;
  }
  if (removed.length > 0) {
    const list = listValues(pick(vb!, removed));
    out.push(cx.constraint(path, `enum value${plural(removed)} ${list} removed`, list, undefined));
  }
  if (added.length > 0) {
    const list = listValues(pick(va!, added));
    out.push(cx.constraint(path, `enum value${plural(added)} ${list} added`, undefined, list));
  }
}

export function compareStringConstraints(
  cx: Comparison,
  b: Node,
  a: Node,
  path: string,
  out: SchemaChange[],
): void {
  compareCount(
    cx,
    path,
    "minLength",
    "maxLength",
    b.minLength,
    a.minLength,
    b.maxLength,
    a.maxLength,
    "strings",
    "characters",
    out,
  );
  comparePatterns(cx, b.patterns, a.patterns, path, out);
  compareSets(
    cx,
    path,
    "format",
    b.formats,
    a.formats,
    (f) => `values that are not a valid ${JSON.stringify(f)}`,
    out,
  );
}

/**
 * A value must match every pattern. A new pattern rejects nothing the old ones accepted
 * when one old pattern provably lies within it (pattern-inclusion.ts); a removed one
 * admits nothing new when a new pattern provably lies within it. A replaced pattern
 * whose inclusion cannot be proven is reported as unprovable (breaking).
 */
export function comparePatterns(
  cx: Comparison,
  b: ReadonlySet<string>,
  a: ReadonlySet<string>,
  path: string,
  out: SchemaChange[],
): void {
  const added = [...a].filter((x) => !b.has(x)).sort(compareStrings);
  const removed = [...b].filter((x) => !a.has(x)).sort(compareStrings);
  if (added.length === 0 && removed.length === 0) return;
  const show = (list: readonly string[]) => list.map((x) => JSON.stringify(x)).join(" and ");
  const failing = (list: readonly string[]) =>
    list.length
      ? list.map((x) => `strings not matching ${JSON.stringify(x)}`).join(" or ")
      : undefined;
  const lost = added.filter((q) => ![...b].some((p) => patternIncludes(q, p)));
  const gained = removed.filter((p) => ![...a].some((q) => patternIncludes(p, q)));
  if (added.length === 0 || removed.length === 0) {
    const what = added.length ? `pattern ${show(added)} added` : `pattern ${show(removed)} removed`;
    out.push(cx.constraint(path, what, failing(lost), failing(gained)));
    return;
  }
  const what = `pattern changed from ${show(removed)} to ${show(added)}`;
  const risky = cx.dir === "input" ? lost : gained;
  if (risky.length > 0) {
    const proves =
      "only simple loosenings are proven: a character class or quantifier range widened, an anchor removed, an alternative or optional part added";
    out.push(cx.unprovable(path, `${what} (${proves})`));
    return;
  }
  const proven =
    cx.dir === "input"
      ? "the new pattern accepts every string the old one accepted"
      : "the new pattern accepts only strings the old one accepted";
  out.push(cx.constraint(path, `${what}; ${proven}`, failing(lost), failing(gained)));
}

export function compareSets(
  cx: Comparison,
  path: string,
  keyword: string,
  b: ReadonlySet<string>,
  a: ReadonlySet<string>,
  failing: (value: string) => string,
  out: SchemaChange[],
): void {
  const added = [...a].filter((x) => !b.has(x)).sort(compareStrings);
  const removed = [...b].filter((x) => !a.has(x)).sort(compareStrings);
  if (added.length === 0 && removed.length === 0) return;
  const show = (list: readonly string[]) => list.map((x) => JSON.stringify(x)).join(" and ");
  const lost = added.length ? added.map(failing).join(" or ") : undefined;
  const gained = removed.length ? removed.map(failing).join(" or ") : undefined;
  const what =
    added.length && removed.length
      ? `${keyword} changed from ${show(removed)} to ${show(added)}`
      : added.length
        ? `${keyword} ${show(added)} added`
        : `${keyword} ${show(removed)} removed`;
  out.push(cx.constraint(path, what, lost, gained));
}
