/**
 * Keywords schema-diff.ts does not model (`not`, `if`/`then`/`else`, ...) are compared for
 * equality only. Some of them can still be classified when they are added or removed
 * whole: a keyword that only asserts (it rejects values and produces no annotation another
 * keyword reads) narrows the schema when added and widens it when removed, whatever it
 * says. The others (dependentSchemas, contains, remote $refs, ...) stay unprovable.
 */

/** Separates the semantic keys of one keyword's values (several via allOf/$ref). */
export const OPAQUE_SEPARATOR = "\u0001";

/**
 * Pure assertions: they never produce annotations (`not` drops its subschema's), so
 * unevaluatedProperties/unevaluatedItems do not depend on them.
 * https://json-schema.org/draft/2020-12/json-schema-core#section-10.2.2.4
 */
const PURE_ASSERTIONS = new Set(["not", "propertyNames", "dependentRequired"]);
/**
 * A conditional `(if -> then) and (not if -> else)` only rejects values, but `if`, `then`
 * and `else` produce annotations that unevaluatedProperties/Items read, so it is only
 * classified where no such keyword applies to the same value (schema-diff.ts models an
 * `unevaluatedProperties` next to a conditional only when the conditional evaluates no
 * property the schema does not declare anyway, and leaves it opaque otherwise).
 * https://json-schema.org/draft/2020-12/json-schema-core#section-10.2.2
 */
const CONDITIONAL = ["if", "then", "else"] as const;
const UNEVALUATED = ["unevaluatedProperties", "unevaluatedItems"];

export interface OpaqueChange {
  /** The keyword, or "if/then/else" for a conditional added or removed whole. */
  readonly keyword: string;
  readonly verb: "added" | "removed" | "changed";
  /** widened: accepts more; narrowed: accepts less; unknown: could not be classified. */
  readonly effect: "widened" | "narrowed" | "unknown";
}

/**
 * The changes between two nodes' opaque keywords (keyword -> semantic keys of its values
 * joined by OPAQUE_SEPARATOR), sorted by keyword.
 */
export function opaqueChanges(
  before: ReadonlyMap<string, string>,
  after: ReadonlyMap<string, string>,
): OpaqueChange[] {
  const out: OpaqueChange[] = [];
  const keys = [...new Set([...before.keys(), ...after.keys()])].sort();
  const conditional = conditionalChange(before, after);
  if (conditional) out.push(conditional);
  for (const key of keys) {
    const vb = before.get(key);
    const va = after.get(key);
    if (vb === va) continue;
    if (conditional && (CONDITIONAL as readonly string[]).includes(key)) continue;
    const verb = vb === undefined ? "added" : va === undefined ? "removed" : "changed";
    let effect: OpaqueChange["effect"] = "unknown";
    if (PURE_ASSERTIONS.has(key)) {
      const sb = values(vb);
      const sa = values(va);
      if ([...sa].every((v) => sb.has(v))) effect = "widened";
      else if ([...sb].every((v) => sa.has(v))) effect = "narrowed";
    }
    out.push({ keyword: key, verb, effect });
  }
  return out;
}

/** A conditional added or removed whole, or undefined (then each keyword is unprovable). */
function conditionalChange(
  before: ReadonlyMap<string, string>,
  after: ReadonlyMap<string, string>,
): OpaqueChange | undefined {
  if (CONDITIONAL.every((k) => before.get(k) === after.get(k))) return undefined;
  if (UNEVALUATED.some((k) => before.has(k) || after.has(k))) return undefined;
  // `within(x, y)`: x keeps some of y's keywords unchanged and adds none. One value per
  // keyword, so that `if` and `then` belong to the same conditional.
  const within = (x: ReadonlyMap<string, string>, y: ReadonlyMap<string, string>) =>
    CONDITIONAL.every((k) => {
      const v = y.get(k);
      return (
        (v === undefined || !v.includes(OPAQUE_SEPARATOR)) &&
        (x.get(k) === undefined || x.get(k) === v)
      );
    });
  if (within(after, before)) return { keyword: "if/then/else", verb: "removed", effect: "widened" };
  if (within(before, after)) return { keyword: "if/then/else", verb: "added", effect: "narrowed" };
  return undefined;
}

function values(joined: string | undefined): Set<string> {
  return new Set(joined === undefined ? [] : joined.split(OPAQUE_SEPARATOR));
}
