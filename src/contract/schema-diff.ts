/**
 * Classifies the differences between two JSON Schemas (2020-12, as toolgate publishes them)
 * by set inclusion, from the point of view of what is already deployed:
 *
 * - an INPUT change is compatible iff every value valid under the old schema is still valid
 *   under the new one (deployed models keep sending old-shaped arguments): a new typed
 *   property on an open object, a required field or a narrower type is breaking;
 * - an OUTPUT change is compatible iff every value valid under the new schema was valid
 *   under the old one (deployed clients validate results against the old published
 *   schema): a new property on a closed object, an object opened to additional properties,
 *   a field no longer always present, a type widened or a new enum value is breaking;
 *   removing an optional field, or narrowing anything, is compatible. The tolerantReader
 *   option relaxes only the first two, for consumers known to ignore unknown fields;
 * - annotations the model reads (description, title, examples, default, deprecated) are
 *   behavioural: validation is unchanged, but the model may now call the tool differently.
 *
 * Schemas are normalized before they are compared, so the same constraints written
 * differently are not a change: `$ref`s to `$defs`/`definitions` are resolved (with a cycle
 * guard), `allOf` is merged into one set of constraints, toolgate's
 * `unevaluatedProperties: false` becomes `additionalProperties: false` once the properties
 * are known, `anyOf`/`oneOf`/type lists become alternatives that are matched one to one,
 * key order does not matter, and keywords that cannot apply to a type are ignored.
 * Patterns are compared with pattern-inclusion.ts (simple loosenings are proven); `not`,
 * `if`/`then`/`else` and other pure assertions added or removed whole narrow or widen
 * (assertion-keywords.ts).
 *
 * What cannot be compared confidently (a changed `not` or `if`/`then`/`else`,
 * `dependentSchemas`, remote `$ref`s, overlapping `oneOf` alternatives, a pattern rewritten
 * beyond the simple loosenings, ...) is reported as breaking whenever it changes, with a
 * message saying it could not be proven compatible: fail safe.
 */
import type { JsonSchema } from "../validation/json-schema.js";
import { OPAQUE_SEPARATOR, opaqueChanges } from "./assertion-keywords.js";
import { patternIncludes } from "./pattern-inclusion.js";
import type { ChangeKind } from "./types.js";
import { wordDiff } from "./word-diff.js";

export type SchemaDirection = "input" | "output";

export interface SchemaChange {
  readonly kind: ChangeKind;
  /**
   * A JSON Pointer into the VALUE the schema describes ("" is the whole value): "/amount",
   * "/items/*\/sku" (`*` stands for any array item or any additional property), "/0" for a
   * tuple position.
   */
  readonly path: string;
  /** A sentence for reviewers: what changed, and what it means for callers or consumers. */
  readonly message: string;
  /** For description and title changes: a word diff of the old and new text. */
  readonly wordDiff?: string;
}

export interface SchemaDiffOptions {
  /**
   * Treat new properties on a closed OUTPUT object, and an output object opened to
   * additional properties, as compatible: right only when every consumer ignores fields it
   * does not know. Off by default, because clients that validate results against the
   * published output schema (the SDK v1 client, the MCP Inspector) reject such results.
   */
  readonly tolerantReader?: boolean | undefined;
}

/**
 * The changes between two versions of a tool's input or output schema, most relevant first
 * within each path and sorted by path. Identical schemas (also when written in a different
 * key order, or with a field moved into `allOf`) give `[]`.
 */
export function diffSchemas(
  before: JsonSchema,
  after: JsonSchema,
  direction: SchemaDirection,
  options: SchemaDiffOptions = {},
): SchemaChange[] {
  const tolerantReader = options.tolerantReader ?? false;
  if (typeof tolerantReader !== "boolean") {
    throw new TypeError("diffSchemas: options.tolerantReader must be a boolean.");
  }
  const differ = new SchemaDiffer(before, after, direction, tolerantReader);
  const changes = differ.compareRaw(before, after, "");
  const seen = new Set<string>();
  const unique = changes.filter((change) => {
    const key = `${change.kind}\u0000${change.path}\u0000${change.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return unique.sort(
    (x, y) =>
      compareStrings(x.path, y.path) ||
      KIND_RANK[x.kind] - KIND_RANK[y.kind] ||
      compareStrings(x.message, y.message),
  );
}

/** Sort rank of a kind: breaking first. */
export const KIND_RANK: Readonly<Record<ChangeKind, number>> = {
  breaking: 0,
  behavioural: 1,
  compatible: 2,
};

/** The most severe kind among some changes, or undefined when there are none. */
export function mostSevere(
  changes: readonly { readonly kind: ChangeKind }[],
): ChangeKind | undefined {
  let worst: ChangeKind | undefined;
  for (const { kind } of changes) {
    if (worst === undefined || KIND_RANK[kind] < KIND_RANK[worst]) worst = kind;
  }
  return worst;
}

function compareStrings(x: string, y: string): number {
  return x < y ? -1 : x > y ? 1 : 0;
}

// ---------------------------------------------------------------------------------------
// Model

type Raw = unknown;
type Atom = "null" | "boolean" | "object" | "array" | "int" | "frac" | "string";
type Family = "null" | "boolean" | "object" | "array" | "number" | "string";

const ALL_ATOMS: readonly Atom[] = ["null", "boolean", "object", "array", "int", "frac", "string"];
const FAMILIES: readonly Family[] = ["null", "boolean", "object", "array", "number", "string"];

interface Bound {
  readonly value: number;
  readonly exclusive: boolean;
}

interface AdditionalConstraint {
  readonly schema: Raw;
  /** Names the subschema's own `properties` (or, for unevaluatedProperties, its evaluation) cover. */
  readonly names: ReadonlySet<string>;
  readonly patterns: readonly string[];
}

interface UnionGroup {
  readonly kind: "anyOf" | "oneOf";
  readonly branches: readonly Raw[];
}

/** What a subschema evaluated, for `unevaluatedProperties`. */
interface Evaluated {
  readonly names: Set<string>;
  readonly patterns: string[];
  all: boolean;
  /**
   * An applicator whose evaluation toolgate does not model (dependentSchemas, a remote
   * $ref, an if/then/else that evaluates more than `properties`, ...).
   */
  unknown: boolean;
  /** Names an if/then/else evaluates through `properties` (only when it passes or applies). */
  readonly conditional: Set<string>;
  union: boolean;
}

/** The conjunction of every keyword that applies to one instance location (allOf and $ref merged). */
class Conj {
  never = false;
  atoms: Set<Atom> | undefined;
  values: Map<string, unknown> | undefined;
  sawConst = false;
  sawEnum = false;
  lower: Bound | undefined;
  upper: Bound | undefined;
  multipleOf: number[] = [];
  minLength: number | undefined;
  maxLength: number | undefined;
  patterns: string[] = [];
  formats: string[] = [];
  prefix: Raw[][] = [];
  itemsFrom: { schema: Raw; from: number }[] = [];
  minItems: number | undefined;
  maxItems: number | undefined;
  uniqueItems = false;
  props = new Map<string, Raw[]>();
  patternProps = new Map<string, Raw[]>();
  required = new Set<string>();
  addConstraints: AdditionalConstraint[] = [];
  evaluatedAll = false;
  deferredUneval: Raw[] = [];
  /** Evaluation not modeled / names of if-then-else, anywhere in this conjunction (for deferredUneval). */
  unknownEvaluation = false;
  conditionalNames = new Set<string>();
  minProperties: number | undefined;
  maxProperties: number | undefined;
  unions: UnionGroup[] = [];
  opaque = new Map<string, Raw[]>();
  /** Annotation keyword -> its values (by canonical JSON), own schema first, then $ref, allOf, alternatives. */
  annotations = new Map<string, Map<string, unknown>>();

  clone(): Conj {
    const copy = new Conj();
    Object.assign(copy, this);
    copy.atoms = this.atoms && new Set(this.atoms);
    copy.values = this.values && new Map(this.values);
    copy.multipleOf = [...this.multipleOf];
    copy.patterns = [...this.patterns];
    copy.formats = [...this.formats];
    copy.prefix = this.prefix.map((list) => [...list]);
    copy.itemsFrom = [...this.itemsFrom];
    copy.props = new Map([...this.props].map(([k, v]) => [k, [...v]]));
    copy.patternProps = new Map([...this.patternProps].map(([k, v]) => [k, [...v]]));
    copy.required = new Set(this.required);
    copy.addConstraints = [...this.addConstraints];
    copy.deferredUneval = [...this.deferredUneval];
    copy.conditionalNames = new Set(this.conditionalNames);
    copy.unions = [...this.unions];
    copy.opaque = new Map([...this.opaque].map(([k, v]) => [k, [...v]]));
    copy.annotations = new Map([...this.annotations].map(([k, v]) => [k, new Map(v)]));
    return copy;
  }
}

/** One union-free alternative, normalized; children are still raw schemas (compared lazily). */
interface Node {
  readonly never: boolean;
  readonly atoms: ReadonlySet<Atom> | undefined;
  readonly values: ReadonlyMap<string, unknown> | undefined;
  readonly constOnly: boolean;
  readonly lower: Bound | undefined;
  readonly upper: Bound | undefined;
  readonly multipleOf: readonly number[];
  readonly minLength: number | undefined;
  readonly maxLength: number | undefined;
  readonly patterns: ReadonlySet<string>;
  readonly formats: ReadonlySet<string>;
  readonly prefix: readonly Raw[];
  readonly items: Raw;
  readonly minItems: number | undefined;
  readonly maxItems: number | undefined;
  readonly uniqueItems: boolean;
  readonly props: ReadonlyMap<string, Raw>;
  readonly required: ReadonlySet<string>;
  readonly additional: Raw;
  readonly patternProps: ReadonlyMap<string, Raw>;
  readonly minProperties: number | undefined;
  readonly maxProperties: number | undefined;
  /** Keywords compared only for equality, as semantic keys. */
  readonly opaque: ReadonlyMap<string, string>;
  readonly annotations: ReadonlyMap<string, readonly unknown[]>;
  /** The schema a property of this name is validated by (declared, pattern or additional). */
  readonly effective: (name: string) => Raw;
}

type Branches =
  | { readonly kind: "anyOf" | "oneOf"; readonly nodes: readonly Node[] }
  | { readonly opaque: string };

interface Side {
  readonly root: Raw;
  readonly cache: WeakMap<object, Branches>;
  readonly inProgress: Set<object>;
}

const IGNORED = new Set([
  "$schema",
  "$id",
  "$anchor",
  "$dynamicAnchor",
  "$comment",
  "$vocabulary",
  "$defs",
  "definitions",
]);
/** Keywords toolgate does not model: compared for equality, and breaking when they differ. */
const OPAQUE = new Set([
  "not",
  "if",
  "then",
  "else",
  "dependentSchemas",
  "dependentRequired",
  "dependencies",
  "propertyNames",
  "contains",
  "minContains",
  "maxContains",
  "unevaluatedItems",
  "$dynamicRef",
  "$recursiveRef",
]);
/** Opaque keywords that evaluate properties in ways unevaluatedProperties would depend on. */
const UNKNOWN_EVALUATION = new Set([
  "if",
  "then",
  "else",
  "dependentSchemas",
  "dependencies",
  "$dynamicRef",
  "$recursiveRef",
]);
const CONDITIONAL = new Set(["if", "then", "else"]);
/** Keywords through which an if/then/else subschema would evaluate more than `properties`. */
const EVALUATING = [
  "patternProperties",
  "additionalProperties",
  "unevaluatedProperties",
  "allOf",
  "anyOf",
  "oneOf",
  "if",
  "then",
  "else",
  "$ref",
  "$dynamicRef",
  "$recursiveRef",
  "dependentSchemas",
  "dependencies",
];
const ARRAY_ONLY_OPAQUE = ["contains", "minContains", "maxContains", "unevaluatedItems"];
const OBJECT_ONLY_OPAQUE = [
  "propertyNames",
  "dependentRequired",
  "dependentSchemas",
  "dependencies",
  "unevaluatedProperties",
];

/** zod writes integer bounds of ±(2^53 - 1); beyond them JSON numbers lose precision anyway. */
const SAFE = Number.MAX_SAFE_INTEGER;
const DEPTH_LIMIT = 200;
const WORK_LIMIT = 50_000;
const CANONICAL_BUDGET = 20_000;
const MAX_ALTERNATIVES = 64;

// ---------------------------------------------------------------------------------------
// Differ

class SchemaDiffer {
  private readonly before: Side;
  private readonly after: Side;
  private readonly canonicalCache = new WeakMap<object, string>();
  private readonly inProgress = new Set<string>();
  private depth = 0;
  private work = 0;

  constructor(
    rootBefore: Raw,
    rootAfter: Raw,
    private readonly dir: SchemaDirection,
    private readonly tolerantReader: boolean,
  ) {
    this.before = { root: rootBefore, cache: new WeakMap(), inProgress: new Set() };
    this.after = { root: rootAfter, cache: new WeakMap(), inProgress: new Set() };
  }

  // ----- comparison -----

  compareRaw(rb: Raw, ra: Raw, path: string): SchemaChange[] {
    const key = `${this.canonical(rb)}\u0000${this.canonical(ra)}`;
    // A pair already being compared further up: a recursive schema came back round. Whatever
    // differs has been (or will be) reported where the pair was first met.
    if (this.inProgress.has(key)) return [];
    if (++this.work > WORK_LIMIT || this.depth >= DEPTH_LIMIT) {
      return this.semanticKey(rb, this.before) === this.semanticKey(ra, this.after)
        ? []
        : [this.unprovable(path, "the schema is too large or too deeply nested to compare")];
    }
    this.inProgress.add(key);
    this.depth++;
    try {
      const b = this.branches(rb, this.before);
      const a = this.branches(ra, this.after);
      if ("opaque" in b || "opaque" in a) {
        if (this.semanticKey(rb, this.before) === this.semanticKey(ra, this.after)) return [];
        const reason = "opaque" in b ? b.opaque : (a as { opaque: string }).opaque;
        return [this.unprovable(path, `the schema changed and ${reason}`)];
      }
      if (b.nodes.length === 1 && a.nodes.length === 1 && b.kind === a.kind) {
        return this.compareNode(b.nodes[0]!, a.nodes[0]!, path);
      }
      return this.compareUnion(b, a, path);
    } finally {
      this.depth--;
      this.inProgress.delete(key);
    }
  }

  private compareUnion(
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
        result = this.compareNode(b.nodes[i]!, a.nodes[j]!, path);
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
      const what = this.describe(node, this.before);
      out.push(
        this.constraint(
          path,
          isNullOnly(node) ? "no longer nullable" : `alternative removed: ${what}`,
          what,
          undefined,
        ),
      );
    }
    for (const j of restA) {
      const node = a.nodes[j]!;
      const what = this.describe(node, this.after);
      out.push(
        this.constraint(
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
          ? this.constraint(
              path,
              "alternatives changed from anyOf to oneOf",
              overlapping,
              undefined,
            )
          : this.constraint(
              path,
              "alternatives changed from oneOf to anyOf",
              undefined,
              overlapping,
            ),
      );
    } else if (a.kind === "oneOf" && out.some((c) => c.kind !== "behavioural")) {
      out.push(
        this.unprovable(
          path,
          "the oneOf alternatives changed and may overlap (a value matching two alternatives is rejected)",
        ),
      );
    }
    return out;
  }

  private compareNode(b: Node, a: Node, path: string): SchemaChange[] {
    const out: SchemaChange[] = [];
    if (b.never || a.never) {
      if (b.never && !a.never) {
        out.push(
          this.constraint(path, "now accepts values (it accepted none)", undefined, "values"),
        );
      } else if (!b.never && a.never) {
        out.push(this.constraint(path, "no longer accepts any value", "any value", undefined));
      }
      return out;
    }
    this.compareTypes(b, a, path, out);
    this.compareValues(b, a, path, out);
    if (relevant(b, "number") && relevant(a, "number")) this.compareNumbers(b, a, path, out);
    if (relevant(b, "string") && relevant(a, "string")) this.compareStrings(b, a, path, out);
    if (relevant(b, "array") && relevant(a, "array")) this.compareArrays(b, a, path, out);
    if (relevant(b, "object") && relevant(a, "object")) this.compareObjects(b, a, path, out);
    this.compareOpaque(b, a, path, out);
    this.compareAnnotations(b, a, path, out);
    return out;
  }

  private compareTypes(b: Node, a: Node, path: string, out: SchemaChange[]): void {
    const tb = b.atoms ?? new Set(ALL_ATOMS);
    const ta = a.atoms ?? new Set(ALL_ATOMS);
    const lost = ALL_ATOMS.filter((t) => tb.has(t) && !ta.has(t));
    const gained = ALL_ATOMS.filter((t) => ta.has(t) && !tb.has(t));
    if (lost.length === 0 && gained.length === 0) return;
    const verb = lost.length && gained.length ? "changed" : lost.length ? "narrowed" : "widened";
    out.push(
      this.constraint(
        path,
        `type ${verb} from ${typeName(b.atoms)} to ${typeName(a.atoms)}`,
        lost.length ? pluralTypes(lost) : undefined,
        gained.length ? pluralTypes(gained) : undefined,
      ),
    );
  }

  private compareValues(b: Node, a: Node, path: string, out: SchemaChange[]): void {
    const vb = b.values;
    const va = a.values;
    if (!vb && !va) return;
    if (!vb && va) {
      out.push(
        this.constraint(path, `now restricted to ${listValues(va)}`, "any other value", undefined),
      );
      return;
    }
    if (vb && !va) {
      out.push(
        this.constraint(
          path,
          `no longer restricted to ${listValues(vb)}`,
          undefined,
          "other values",
        ),
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
      out.push(this.constraint(path, `${word} changed from ${from} to ${to}`, from, to));
      return;
    }
    if (removed.length > 0) {
      const list = listValues(pick(vb!, removed));
      out.push(
        this.constraint(path, `enum value${plural(removed)} ${list} removed`, list, undefined),
      );
    }
    if (added.length > 0) {
      const list = listValues(pick(va!, added));
      out.push(this.constraint(path, `enum value${plural(added)} ${list} added`, undefined, list));
    }
  }

  private compareNumbers(b: Node, a: Node, path: string, out: SchemaChange[]): void {
    const intOnly = isIntOnly(b) && isIntOnly(a);
    const noun = intOnly ? "integers" : "numbers";
    const label = (x: Bound, kind: "min" | "max") =>
      `${kind === "min" ? (x.exclusive ? "exclusiveMinimum" : "minimum") : x.exclusive ? "exclusiveMaximum" : "maximum"} ${x.value}`;
    const sameKeyword = (x: Bound, y: Bound) => x.exclusive === y.exclusive;
    const between = (from: number, to: number) =>
      intOnly ? range(from, to) : `values between ${from} and ${to}`;

    // Lower bound.
    const lb = b.lower;
    const la = a.lower;
    if (lb && !la) {
      out.push(
        this.constraint(
          path,
          `${label(lb, "min")} removed`,
          undefined,
          `${noun} ${lb.exclusive ? "of" : "below"} ${lb.value}${lb.exclusive ? " or less" : ""}`,
        ),
      );
    } else if (!lb && la) {
      out.push(
        this.constraint(
          path,
          `${label(la, "min")} added`,
          `${noun} ${la.exclusive ? "of" : "below"} ${la.value}${la.exclusive ? " or less" : ""}`,
          undefined,
        ),
      );
    } else if (lb && la && (lb.value !== la.value || lb.exclusive !== la.exclusive)) {
      const raised = la.value > lb.value || (la.value === lb.value && la.exclusive);
      const what = sameKeyword(lb, la)
        ? `${label(lb, "min").split(" ")[0]} ${raised ? "raised" : "lowered"} from ${lb.value} to ${la.value}`
        : `lower bound ${raised ? "raised" : "lowered"} from ${label(lb, "min")} to ${label(la, "min")}`;
      if (raised) {
        out.push(
          this.constraint(
            path,
            what,
            between(lb.value, intOnly ? la.value - 1 : la.value),
            undefined,
          ),
        );
      } else {
        out.push(
          this.constraint(
            path,
            what,
            undefined,
            between(la.value, intOnly ? lb.value - 1 : lb.value),
          ),
        );
      }
    }

    // Upper bound.
    const ub = b.upper;
    const ua = a.upper;
    if (ub && !ua) {
      out.push(
        this.constraint(
          path,
          `${label(ub, "max")} removed`,
          undefined,
          `${noun} ${ub.exclusive ? "of" : "above"} ${ub.value}${ub.exclusive ? " or more" : ""}`,
        ),
      );
    } else if (!ub && ua) {
      out.push(
        this.constraint(
          path,
          `${label(ua, "max")} added`,
          `${noun} ${ua.exclusive ? "of" : "above"} ${ua.value}${ua.exclusive ? " or more" : ""}`,
          undefined,
        ),
      );
    } else if (ub && ua && (ub.value !== ua.value || ub.exclusive !== ua.exclusive)) {
      const lowered = ua.value < ub.value || (ua.value === ub.value && ua.exclusive);
      const what = sameKeyword(ub, ua)
        ? `${label(ub, "max").split(" ")[0]} ${lowered ? "lowered" : "raised"} from ${ub.value} to ${ua.value}`
        : `upper bound ${lowered ? "lowered" : "raised"} from ${label(ub, "max")} to ${label(ua, "max")}`;
      if (lowered) {
        out.push(
          this.constraint(
            path,
            what,
            between(intOnly ? ua.value + 1 : ua.value, ub.value),
            undefined,
          ),
        );
      } else {
        out.push(
          this.constraint(
            path,
            what,
            undefined,
            between(intOnly ? ub.value + 1 : ub.value, ua.value),
          ),
        );
      }
    }

    // multipleOf: a constraint m is implied by an old one k when every multiple of k is one of m.
    const implied = (m: number, by: readonly number[]) => by.some((k) => isMultiple(k, m));
    const tighter = a.multipleOf.filter((m) => !implied(m, b.multipleOf));
    const looser = b.multipleOf.filter((m) => !implied(m, a.multipleOf));
    if (tighter.length > 0 || looser.length > 0) {
      const what =
        b.multipleOf.length === 0
          ? `multipleOf ${a.multipleOf.join(", ")} added`
          : a.multipleOf.length === 0
            ? `multipleOf ${b.multipleOf.join(", ")} removed`
            : `multipleOf changed from ${b.multipleOf.join(", ")} to ${a.multipleOf.join(", ")}`;
      out.push(
        this.constraint(
          path,
          what,
          tighter.length ? `numbers that are not multiples of ${tighter.join(" and ")}` : undefined,
          looser.length ? `numbers that are not multiples of ${looser.join(" and ")}` : undefined,
        ),
      );
    }
  }

  private compareStrings(b: Node, a: Node, path: string, out: SchemaChange[]): void {
    this.compareCount(
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
    this.comparePatterns(b.patterns, a.patterns, path, out);
    this.compareSets(
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
  private comparePatterns(
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
      const what = added.length
        ? `pattern ${show(added)} added`
        : `pattern ${show(removed)} removed`;
      out.push(this.constraint(path, what, failing(lost), failing(gained)));
      return;
    }
    const what = `pattern changed from ${show(removed)} to ${show(added)}`;
    const risky = this.dir === "input" ? lost : gained;
    if (risky.length > 0) {
      const proves =
        "only simple loosenings are proven: a character class or quantifier range widened, an anchor removed, an alternative or optional part added";
      out.push(this.unprovable(path, `${what} (${proves})`));
      return;
    }
    const proven =
      this.dir === "input"
        ? "the new pattern accepts every string the old one accepted"
        : "the new pattern accepts only strings the old one accepted";
    out.push(this.constraint(path, `${what}; ${proven}`, failing(lost), failing(gained)));
  }

  private compareArrays(b: Node, a: Node, path: string, out: SchemaChange[]): void {
    this.compareCount(
      path,
      "minItems",
      "maxItems",
      b.minItems,
      a.minItems,
      b.maxItems,
      a.maxItems,
      "arrays",
      "items",
      out,
    );
    if (b.uniqueItems !== a.uniqueItems) {
      out.push(
        a.uniqueItems
          ? this.constraint(path, "uniqueItems added", "arrays with duplicate items", undefined)
          : this.constraint(path, "uniqueItems removed", undefined, "arrays with duplicate items"),
      );
    }
    const positions = Math.max(b.prefix.length, a.prefix.length);
    for (let i = 0; i < positions; i++) {
      const rb = i < b.prefix.length ? b.prefix[i] : b.items;
      const ra = i < a.prefix.length ? a.prefix[i] : a.items;
      out.push(...this.compareChild(rb, ra, `${path}/${i}`, `item ${i}`));
    }
    const rest = positions === 0 ? "items" : `items after position ${positions - 1}`;
    out.push(...this.compareChild(b.items, a.items, `${path}/*`, rest));
  }

  private compareObjects(b: Node, a: Node, path: string, out: SchemaChange[]): void {
    const names = new Set([...b.props.keys(), ...a.props.keys(), ...b.required, ...a.required]);
    const unmodeledExtras = [b, a].some((n) => n.opaque.has("unevaluatedProperties"));
    for (const name of [...names].sort(compareStrings)) {
      const p = `${path}/${escapePointer(name)}`;
      const inB = b.props.has(name);
      const inA = a.props.has(name);
      const reqB = b.required.has(name);
      const reqA = a.required.has(name);
      if (inB && inA) out.push(...this.compareRaw(b.props.get(name), a.props.get(name), p));
      else if ((inB || inA) && unmodeledExtras) {
        // Whether the other side accepts the name depends on what it does not model.
        const verb = inB ? "removed" : "added";
        out.push(this.unprovable(p, `property ${verb} next to an unevaluatedProperties`));
        continue;
      } else if (inB) {
        this.propertyRemoved(b, a, name, p, out);
        // A required output property removed is reported there.
        if (this.dir === "output" && reqB) continue;
      } else if (inA) {
        this.propertyAdded(b, a, name, p, out);
        // Likewise a new required input property, and any on a closed output object.
        if (this.dir === "input" ? reqA : this.shape(b.effective(name), this.before) === "never")
          continue;
      }
      if (reqB === reqA) continue;
      const loc = this.loc(p);
      if (this.dir === "input") {
        out.push(
          reqA
            ? {
                kind: "breaking",
                path: p,
                message: `${loc}: now required (callers omitting it now fail)`,
              }
            : {
                kind: "compatible",
                path: p,
                message: `${loc}: no longer required (callers may now omit it)`,
              },
        );
      } else {
        out.push(
          reqB
            ? {
                kind: "breaking",
                path: p,
                message: `${loc}: no longer required, so no longer always present (consumers reading it may find it missing)`,
              }
            : { kind: "compatible", path: p, message: `${loc}: now always present` },
        );
      }
    }

    // Additional properties.
    const sb = this.shape(b.additional, this.before);
    const sa = this.shape(a.additional, this.after);
    const star = `${path}/*`;
    if (!(sb === "any" && sa === "any") && !(sb === "never" && sa === "never")) {
      if (sa === "never") {
        const declared = [...a.props.keys()].sort(compareStrings);
        out.push(
          this.constraint(
            star,
            "additional properties are no longer allowed",
            declared.length
              ? `objects with properties other than ${declared.join(", ")}`
              : "objects with any properties",
            undefined,
          ),
        );
      } else if (sb === "never") {
        out.push(
          this.dir === "input"
            ? this.constraint(
                star,
                "additional properties are now allowed",
                undefined,
                "properties that are not declared",
              )
            : {
                kind: this.tolerantReader ? "compatible" : "breaking",
                path: star,
                message: this.tolerantReader
                  ? `${this.loc(star)}: additional properties are now allowed (compatible because tolerantReader is on: consumers ignore fields they do not know)`
                  : `${this.loc(star)}: additional properties are now allowed (clients that validate results against the published output schema reject results carrying undeclared properties; use tolerantReader if every consumer ignores unknown fields)`,
              },
        );
      } else {
        out.push(...this.compareRaw(b.additional, a.additional, star));
      }
    }

    // Pattern properties.
    const patterns = new Set([...b.patternProps.keys(), ...a.patternProps.keys()]);
    for (const pattern of [...patterns].sort(compareStrings)) {
      const rb = b.patternProps.get(pattern);
      const ra = a.patternProps.get(pattern);
      if (rb !== undefined && ra !== undefined) out.push(...this.compareRaw(rb, ra, star));
      else {
        out.push(
          this.unprovable(
            star,
            `patternProperties ${JSON.stringify(pattern)} ${rb === undefined ? "added" : "removed"}`,
          ),
        );
      }
    }

    this.compareCount(
      path,
      "minProperties",
      "maxProperties",
      b.minProperties,
      a.minProperties,
      b.maxProperties,
      a.maxProperties,
      "objects",
      "properties",
      out,
    );
  }

  /**
   * A property declared before and not now. What matters is what the new schema does with
   * the name (`effective`: additional or pattern properties): rejects it, allows anything,
   * or checks it against another schema. Inputs: callers still sending it must pass.
   * Outputs: what results may now carry under that name must have been valid before.
   */
  private propertyRemoved(b: Node, a: Node, name: string, p: string, out: SchemaChange[]): void {
    const loc = this.loc(p);
    const now = a.effective(name);
    const shape = this.shape(now, this.after);
    const was = b.props.get(name);
    if (this.dir === "output") {
      if (b.required.has(name) && (shape === "never" || !a.required.has(name))) {
        out.push({
          kind: "breaking",
          path: p,
          message:
            shape === "never"
              ? `${loc}: property removed (consumers reading it will no longer find it)`
              : `${loc}: property removed from the schema, so no longer always present (consumers reading it may find it missing)`,
        });
      }
      if (shape === "never") {
        if (!b.required.has(name)) {
          out.push({
            kind: "compatible",
            path: p,
            message: `${loc}: optional property removed (results no longer carry it; consumers already had to handle its absence)`,
          });
        }
        return;
      }
      out.push(...this.compareRaw(was, now, p));
      out.push({
        kind: "compatible",
        path: p,
        message: `${loc}: property removed from the schema; results may still carry it, checked only against the schema for additional properties`,
      });
      return;
    }
    if (shape === "never") {
      out.push({
        kind: "breaking",
        path: p,
        message: `${loc}: property removed while additional properties are not allowed (callers still sending it now fail)`,
      });
    } else if (shape === "any") {
      out.push({
        kind: "behavioural",
        path: p,
        message: `${loc}: property removed from the schema; additional properties are allowed, so callers sending it still pass validation, but the tool presumably ignores it now`,
      });
    } else {
      out.push(...this.compareRaw(was, now, p));
      out.push({
        kind: "behavioural",
        path: p,
        message: `${loc}: property removed from the schema; it is now only checked against the schema for additional properties`,
      });
    }
  }

  /**
   * A property declared now and not before. When the old schema rejected the name (a
   * closed object), inputs gain a value and outputs may now carry one the old schema
   * rejects; otherwise the old schema already accepted the name (as an additional or
   * pattern property), and its old and new schemas are compared like any other change.
   */
  private propertyAdded(b: Node, a: Node, name: string, p: string, out: SchemaChange[]): void {
    const loc = this.loc(p);
    const now = a.props.get(name);
    const was = b.effective(name);
    const closed = this.shape(was, this.before) === "never";
    const required = a.required.has(name);
    const optional = required ? "" : "optional ";
    if (this.dir === "input") {
      if (required && !b.required.has(name)) {
        out.push({
          kind: "breaking",
          path: p,
          message: `${loc}: new required property (callers omitting it now fail)`,
        });
        if (closed) return;
      }
      if (!closed) out.push(...this.compareRaw(was, now, p));
      out.push({
        kind: "compatible",
        path: p,
        message: closed
          ? `${loc}: new ${optional}property (callers may now send it)`
          : `${loc}: new ${optional}property; the object already accepted it as an additional property, so this schema now applies to callers already sending it`,
      });
      return;
    }
    if (!closed) {
      out.push(...this.compareRaw(was, now, p));
      out.push({
        kind: "compatible",
        path: p,
        message: `${loc}: new ${optional}property (the object already allowed it as an additional property)`,
      });
    } else if (this.shape(now, this.after) === "never") {
      // Declared as `false`: results still cannot carry it.
    } else if (this.tolerantReader) {
      out.push({
        kind: "compatible",
        path: p,
        message: `${loc}: new ${optional}property on an object that did not allow additional properties (compatible because tolerantReader is on: consumers ignore fields they do not know)`,
      });
    } else {
      out.push({
        kind: "breaking",
        path: p,
        message: `${loc}: new ${optional}property on an object that did not allow additional properties (clients that validate results against the published output schema reject results carrying it; use tolerantReader if every consumer ignores unknown fields)`,
      });
    }
  }

  /** Items and tuple positions: plain sentences when a side allows no value at all (`false`). */
  private compareChild(rb: Raw, ra: Raw, path: string, subject: string): SchemaChange[] {
    const sb = this.shape(rb, this.before);
    const sa = this.shape(ra, this.after);
    if (sb === "never" && sa === "never") return [];
    if (sa === "never") {
      return [
        this.constraint(path, `${subject} no longer allowed`, `arrays with ${subject}`, undefined),
      ];
    }
    if (sb === "never") {
      return [this.constraint(path, `${subject} now allowed`, undefined, `arrays with ${subject}`)];
    }
    return this.compareRaw(rb, ra, path);
  }

  private compareCount(
    path: string,
    minKeyword: string,
    maxKeyword: string,
    minB: number | undefined,
    minA: number | undefined,
    maxB: number | undefined,
    maxA: number | undefined,
    noun: string,
    unit: string,
    out: SchemaChange[],
  ): void {
    const lowB = minB ?? 0;
    const lowA = minA ?? 0;
    if (lowB !== lowA) {
      const what =
        minB === undefined
          ? `${minKeyword} ${lowA} added`
          : minA === undefined
            ? `${minKeyword} ${lowB} removed`
            : `${minKeyword} ${lowA > lowB ? "raised" : "lowered"} from ${lowB} to ${lowA}`;
      out.push(
        lowA > lowB
          ? this.constraint(path, what, `${noun} of ${range(lowB, lowA - 1)} ${unit}`, undefined)
          : this.constraint(path, what, undefined, `${noun} of ${range(lowA, lowB - 1)} ${unit}`),
      );
    }
    if (maxB !== maxA) {
      if (maxB === undefined) {
        out.push(
          this.constraint(
            path,
            `${maxKeyword} ${maxA} added`,
            `${noun} with more than ${maxA} ${unit}`,
            undefined,
          ),
        );
      } else if (maxA === undefined) {
        out.push(
          this.constraint(
            path,
            `${maxKeyword} ${maxB} removed`,
            undefined,
            `${noun} with more than ${maxB} ${unit}`,
          ),
        );
      } else if (maxA < maxB) {
        out.push(
          this.constraint(
            path,
            `${maxKeyword} lowered from ${maxB} to ${maxA}`,
            `${noun} of ${range(maxA + 1, maxB)} ${unit}`,
            undefined,
          ),
        );
      } else {
        out.push(
          this.constraint(
            path,
            `${maxKeyword} raised from ${maxB} to ${maxA}`,
            undefined,
            `${noun} of ${range(maxB + 1, maxA)} ${unit}`,
          ),
        );
      }
    }
  }

  private compareSets(
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
    out.push(this.constraint(path, what, lost, gained));
  }

  private compareOpaque(b: Node, a: Node, path: string, out: SchemaChange[]): void {
    for (const { keyword, verb, effect } of opaqueChanges(b.opaque, a.opaque)) {
      const what = keyword === "$ref" ? "a remote or unresolvable $ref" : `"${keyword}"`;
      if (effect === "widened") {
        out.push(
          this.constraint(
            path,
            `${what} ${verb}, which only rejected values`,
            undefined,
            "values it rejected",
          ),
        );
      } else if (effect === "narrowed") {
        out.push(
          this.constraint(
            path,
            `${what} ${verb}, which only rejects values`,
            "values it rejects",
            undefined,
          ),
        );
      } else out.push(this.unprovable(path, `${what} ${verb}`));
    }
  }

  private compareAnnotations(b: Node, a: Node, path: string, out: SchemaChange[]): void {
    const keys = new Set([...b.annotations.keys(), ...a.annotations.keys()]);
    const loc = this.loc(path);
    for (const key of [...keys].sort(compareStrings)) {
      const vb = annotationValue(key, b.annotations.get(key));
      const va = annotationValue(key, a.annotations.get(key));
      if (this.canonical(vb) === this.canonical(va)) continue;
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
            (this.dir === "input" ? " (callers that omit it may now get a different result)" : ""),
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

  // ----- messages -----

  private loc(path: string): string {
    return `${this.dir}${path}`;
  }

  /**
   * A change to what validates. `lost`: values the old schema accepted and the new one
   * rejects; `gained`: the reverse. Input: losing is breaking. Output: gaining is breaking.
   */
  private constraint(
    path: string,
    statement: string,
    lost: string | undefined,
    gained: string | undefined,
  ): SchemaChange {
    const loc = this.loc(path);
    if (this.dir === "input") {
      if (lost !== undefined) {
        return {
          kind: "breaking",
          path,
          message: `${loc}: ${statement} (callers sending ${lost} now fail)`,
        };
      }
      return {
        kind: "compatible",
        path,
        message: `${loc}: ${statement} (callers may now also send ${gained ?? "more values"})`,
      };
    }
    if (gained !== undefined) {
      return {
        kind: "breaking",
        path,
        message: `${loc}: ${statement} (consumers may now receive ${gained}, which they may not handle)`,
      };
    }
    return {
      kind: "compatible",
      path,
      message: `${loc}: ${statement} (consumers no longer receive ${lost ?? "some values"})`,
    };
  }

  private unprovable(path: string, statement: string): SchemaChange {
    return {
      kind: "breaking",
      path,
      message: `${this.loc(path)}: ${statement}; this could not be proven compatible, so it is treated as breaking`,
    };
  }

  private describe(node: Node, side: Side): string {
    if (node.never) return "no value";
    if (node.values && node.values.size <= 3) return listValues(node.values);
    if (!node.atoms) return "values of any type";
    const families = familiesOf(node.atoms);
    if (families.length === 1 && families[0] === "object") {
      for (const name of [...node.required].sort(compareStrings)) {
        const values = this.propValues(node, name, side);
        if (values && values.size === 1) return `objects with ${name} ${listValues(values)}`;
      }
      const names = [...node.props.keys()].sort(compareStrings);
      if (names.length > 0) {
        return `objects with properties ${names.slice(0, 4).join(", ")}${names.length > 4 ? ", ..." : ""}`;
      }
    }
    return pluralTypes([...node.atoms]);
  }

  // ----- normalization -----

  /** The union-free alternatives a schema accepts (cached per schema object and side). */
  private branches(raw: Raw, side: Side): Branches {
    if (typeof raw !== "object" || raw === null) return this.computeBranches(raw, side);
    const hit = side.cache.get(raw);
    if (hit) return hit;
    if (side.inProgress.has(raw)) return { opaque: "it refers to itself through its alternatives" };
    side.inProgress.add(raw);
    try {
      const result = this.computeBranches(raw, side);
      side.cache.set(raw, result);
      return result;
    } finally {
      side.inProgress.delete(raw);
    }
  }

  private computeBranches(raw: Raw, side: Side): Branches {
    const conj = new Conj();
    this.collect(raw, conj, side, [], true);
    const distributed = this.distribute(conj, side, 0);
    if ("opaque" in distributed) return distributed;
    const nodes = distributed.conjs.flatMap((c) => splitByFamily(this.finalize(c, side)));
    const live = nodes.filter((n) => !n.never);
    if (live.length === 0)
      return { kind: "anyOf", nodes: [nodes[0] ?? this.finalize(neverConj(), side)] };
    const merged = distributed.kind === "anyOf" ? this.coalesce(live) : live;
    return { kind: merged.length > 1 ? distributed.kind : "anyOf", nodes: merged };
  }

  /**
   * anyOf alternatives that only list values (`{ "const": "a" }`, `{ "enum": [...] }`) become
   * one enum per type, so `anyOf: [{const: "a"}, {const: "b"}]` equals `enum: ["a", "b"]`.
   */
  private coalesce(nodes: readonly Node[]): Node[] {
    const out: Node[] = [];
    const groups = new Map<string, number>();
    for (const node of nodes) {
      if (!node.values || !node.atoms || !isUnconstrained(node, true)) {
        out.push(node);
        continue;
      }
      const key = `${familyKey(node)}\u0000${this.canonical(Object.fromEntries(node.annotations))}`;
      const at = groups.get(key);
      if (at === undefined) {
        groups.set(key, out.length);
        out.push(node);
        continue;
      }
      const prev = out[at]!;
      out[at] = {
        ...prev,
        atoms: new Set([...prev.atoms!, ...node.atoms]),
        values: new Map([...prev.values!, ...node.values]),
        constOnly: false,
      };
    }
    return out;
  }

  /** Rewrites base ∧ anyOf(g1..gn) as anyOf(base ∧ g1, ..., base ∧ gn), recursively. */
  private distribute(
    conj: Conj,
    side: Side,
    depth: number,
  ): { kind: "anyOf" | "oneOf"; conjs: Conj[] } | { opaque: string } {
    if (conj.unions.length === 0) return { kind: "anyOf", conjs: [conj] };
    if (depth > 8) return { opaque: "its alternatives are nested too deeply" };
    const groups = conj.unions.map((group) =>
      group.kind === "oneOf" && this.disjointGroup(group.branches, side)
        ? { kind: "anyOf" as const, branches: group.branches }
        : group,
    );
    const overlapping = groups.filter((g) => g.kind === "oneOf").length;
    if (overlapping > 0 && groups.length > 1) {
      return { opaque: "it combines oneOf alternatives that may overlap with other alternatives" };
    }
    let combos: Raw[][] = [[]];
    for (const group of groups) {
      combos = combos.flatMap((combo) => group.branches.map((branch) => [...combo, branch]));
      if (combos.length > MAX_ALTERNATIVES) return { opaque: "it has too many alternatives" };
    }
    let kind: "anyOf" | "oneOf" = overlapping > 0 ? "oneOf" : "anyOf";
    const base = conj.clone();
    base.unions = [];
    const conjs: Conj[] = [];
    for (const combo of combos) {
      const c = base.clone();
      for (const branch of combo) this.collect(branch, c, side, [], false);
      const sub = this.distribute(c, side, depth + 1);
      if ("opaque" in sub) return sub;
      if (sub.conjs.length > 1 && (kind === "oneOf" || sub.kind === "oneOf") && combos.length > 1) {
        return { opaque: "it nests alternatives inside oneOf alternatives" };
      }
      if (combos.length === 1) kind = sub.kind;
      conjs.push(...sub.conjs);
    }
    return { kind, conjs };
  }

  /** True when no value can match two of these alternatives, so oneOf means anyOf. */
  private disjointGroup(branches: readonly Raw[], side: Side): boolean {
    const nodeLists: (readonly Node[])[] = [];
    for (const branch of branches) {
      const result = this.branches(branch, side);
      if ("opaque" in result) return false;
      nodeLists.push(result.nodes);
    }
    for (let i = 0; i < nodeLists.length; i++) {
      for (let j = i + 1; j < nodeLists.length; j++) {
        for (const x of nodeLists[i]!) {
          for (const y of nodeLists[j]!) if (!this.disjoint(x, y, side)) return false;
        }
      }
    }
    return true;
  }

  private disjoint(x: Node, y: Node, side: Side): boolean {
    if (x.never || y.never) return true;
    const tx = x.atoms ?? new Set(ALL_ATOMS);
    const ty = y.atoms ?? new Set(ALL_ATOMS);
    if (![...tx].some((t) => ty.has(t))) return true;
    if (x.values && y.values && ![...x.values.keys()].some((k) => y.values!.has(k))) return true;
    if (relevant(x, "object") && relevant(y, "object")) {
      for (const name of x.required) {
        if (!y.required.has(name)) continue;
        const vx = this.propValues(x, name, side);
        const vy = this.propValues(y, name, side);
        if (vx && vy && ![...vx.keys()].some((k) => vy.has(k))) return true;
      }
    }
    return false;
  }

  /** The values a property may take (when an enum or const pins them), else undefined. */
  private propValues(node: Node, name: string, side: Side): Map<string, unknown> | undefined {
    const result = this.branches(node.effective(name), side);
    if ("opaque" in result) return undefined;
    const values = new Map<string, unknown>();
    for (const n of result.nodes) {
      if (n.never) continue;
      if (!n.values) return undefined;
      for (const [k, v] of n.values) values.set(k, v);
    }
    return values;
  }

  /** "never" (false), "any" (no constraint) or "schema". */
  private shape(raw: Raw, side: Side): "never" | "any" | "schema" {
    if (raw === undefined || raw === true) return "any";
    if (raw === false) return "never";
    const result = this.branches(raw, side);
    if ("opaque" in result) return "schema";
    if (result.nodes.every((n) => n.never)) return "never";
    if (result.nodes.length === 1 && isUnconstrained(result.nodes[0]!)) return "any";
    return "schema";
  }

  /** Adds one schema object's keywords (and, through $ref and allOf, its subschemas') to conj. */
  private collect(
    raw: Raw,
    conj: Conj,
    side: Side,
    refStack: readonly string[],
    top: boolean,
  ): Evaluated {
    const ev: Evaluated = {
      names: new Set(),
      patterns: [],
      all: false,
      unknown: false,
      conditional: new Set(),
      union: false,
    };
    if (raw === true || raw === undefined) return ev;
    if (raw === false) {
      conj.never = true;
      return ev;
    }
    if (!isObject(raw)) {
      addOpaque(conj, "(invalid schema)", raw);
      return ev;
    }
    // Own keywords first, so this object's annotations win over those of its $ref and allOf.
    for (const [key, value] of Object.entries(raw)) {
      if (IGNORED.has(key)) continue;
      switch (key) {
        case "type": {
          const names =
            typeof value === "string" ? [value] : Array.isArray(value) ? value : undefined;
          if (!names || !names.every((n) => typeof n === "string" && isTypeName(n))) {
            addOpaque(conj, key, value);
            break;
          }
          const atoms = new Set<Atom>((names as string[]).flatMap(atomsOfType));
          conj.atoms = conj.atoms ? new Set([...conj.atoms].filter((t) => atoms.has(t))) : atoms;
          break;
        }
        case "enum":
        case "const": {
          if (key === "enum" && !Array.isArray(value)) {
            addOpaque(conj, key, value);
            break;
          }
          const list = key === "enum" ? (value as unknown[]) : [value];
          const values = new Map(list.map((v) => [this.canonical(v), v] as const));
          conj.values = conj.values
            ? new Map([...conj.values].filter(([k]) => values.has(k)))
            : values;
          if (key === "enum") conj.sawEnum = true;
          else conj.sawConst = true;
          break;
        }
        case "minimum":
        case "exclusiveMinimum":
        case "maximum":
        case "exclusiveMaximum": {
          if (typeof value !== "number") {
            addOpaque(conj, key, value);
            break;
          }
          const bound = { value, exclusive: key.startsWith("exclusive") };
          if (key.endsWith("inimum")) {
            if (!conj.lower || stricterLower(bound, conj.lower)) conj.lower = bound;
          } else if (!conj.upper || stricterUpper(bound, conj.upper)) conj.upper = bound;
          break;
        }
        case "multipleOf":
          if (typeof value === "number" && value > 0) conj.multipleOf.push(value);
          else addOpaque(conj, key, value);
          break;
        case "minLength":
        case "minItems":
        case "minProperties":
          if (typeof value === "number") conj[key] = Math.max(conj[key] ?? 0, value);
          else addOpaque(conj, key, value);
          break;
        case "maxLength":
        case "maxItems":
        case "maxProperties":
          if (typeof value === "number") conj[key] = Math.min(conj[key] ?? Infinity, value);
          else addOpaque(conj, key, value);
          break;
        case "pattern":
        case "format":
          if (typeof value === "string")
            (key === "pattern" ? conj.patterns : conj.formats).push(value);
          else addOpaque(conj, key, value);
          break;
        case "uniqueItems":
          if (value === true) conj.uniqueItems = true;
          else if (value !== false) addOpaque(conj, key, value);
          break;
        case "prefixItems":
          if (Array.isArray(value)) addPrefix(conj, value);
          else addOpaque(conj, key, value);
          break;
        case "items":
          if (Array.isArray(value)) {
            // draft-07 tuple form: items[] are positions, additionalItems the rest.
            addPrefix(conj, value);
            if ("additionalItems" in raw)
              conj.itemsFrom.push({ schema: raw["additionalItems"], from: value.length });
          } else {
            const from = Array.isArray(raw["prefixItems"]) ? raw["prefixItems"].length : 0;
            conj.itemsFrom.push({ schema: value, from });
          }
          break;
        case "additionalItems":
          if (!Array.isArray(raw["items"])) addOpaque(conj, key, value);
          break;
        case "properties":
          if (isObject(value)) {
            for (const [name, schema] of Object.entries(value)) {
              pushTo(conj.props, name, schema);
              ev.names.add(name);
            }
          } else addOpaque(conj, key, value);
          break;
        case "patternProperties":
          if (isObject(value)) {
            for (const [pattern, schema] of Object.entries(value)) {
              pushTo(conj.patternProps, pattern, schema);
              ev.patterns.push(pattern);
            }
          } else addOpaque(conj, key, value);
          break;
        case "required":
          if (Array.isArray(value) && value.every((n): n is string => typeof n === "string")) {
            for (const name of value) conj.required.add(name);
          } else addOpaque(conj, key, value);
          break;
        case "$ref":
        case "allOf":
        case "anyOf":
        case "oneOf":
        case "additionalProperties":
        case "unevaluatedProperties":
          break; // below, once the own keywords are known
        default:
          if (OPAQUE.has(key)) {
            addOpaque(conj, key, value);
            const names = CONDITIONAL.has(key) ? conditionalNames(value) : undefined;
            if (names) {
              for (const name of names) ev.conditional.add(name);
              for (const name of names) conj.conditionalNames.add(name);
            } else if (UNKNOWN_EVALUATION.has(key)) {
              ev.unknown = true;
              conj.unknownEvaluation = true;
            }
          } else {
            let values = conj.annotations.get(key);
            if (!values) conj.annotations.set(key, (values = new Map<string, unknown>()));
            values.set(this.canonical(value), value);
          }
      }
    }
    const merge = (sub: Evaluated) => {
      for (const name of sub.names) ev.names.add(name);
      ev.patterns.push(...sub.patterns);
      for (const name of sub.conditional) ev.conditional.add(name);
      ev.all ||= sub.all;
      ev.unknown ||= sub.unknown;
      ev.union ||= sub.union;
    };
    const ref = raw["$ref"];
    if (ref !== undefined) {
      const target =
        typeof ref === "string" && !refStack.includes(ref) ? resolveRef(side.root, ref) : undefined;
      if (target === undefined) {
        addOpaque(conj, "$ref", ref);
        ev.unknown = true;
        conj.unknownEvaluation = true;
      } else {
        merge(this.collect(target, conj, side, [...refStack, ref as string], false));
      }
    }
    const allOf = raw["allOf"];
    if (allOf !== undefined) {
      if (Array.isArray(allOf))
        for (const sub of allOf) merge(this.collect(sub, conj, side, refStack, false));
      else addOpaque(conj, "allOf", allOf);
    }
    for (const kind of ["anyOf", "oneOf"] as const) {
      const list = raw[kind];
      if (list === undefined) continue;
      if (!Array.isArray(list) || list.length === 0) {
        addOpaque(conj, kind, list);
        continue;
      }
      if (list.length === 1) merge(this.collect(list[0], conj, side, refStack, false));
      else {
        conj.unions.push({ kind, branches: list });
        ev.union = true;
      }
    }
    const additional = raw["additionalProperties"];
    if (additional !== undefined && additional !== true) {
      conj.addConstraints.push({
        schema: additional,
        names: new Set(isObject(raw["properties"]) ? Object.keys(raw["properties"]) : []),
        patterns: isObject(raw["patternProperties"]) ? Object.keys(raw["patternProperties"]) : [],
      });
    }
    if (additional !== undefined) {
      ev.all = true;
      conj.evaluatedAll = true;
    }
    const unevaluated = raw["unevaluatedProperties"];
    if (unevaluated !== undefined && unevaluated !== true && !ev.all) {
      if (ev.unknown) addOpaque(conj, "unevaluatedProperties", unevaluated);
      else if (ev.union) {
        // Which properties the alternatives evaluate is known once they are distributed.
        if (top) conj.deferredUneval.push(unevaluated);
        else addOpaque(conj, "unevaluatedProperties", unevaluated);
      } else if ([...ev.conditional].some((name) => !ev.names.has(name))) {
        // A conditional evaluates a property only when it passes: not modeled.
        addOpaque(conj, "unevaluatedProperties", unevaluated);
      } else {
        conj.addConstraints.push({
          schema: unevaluated,
          names: new Set(ev.names),
          patterns: [...ev.patterns],
        });
      }
    }
    if (unevaluated !== undefined) {
      const deferred = unevaluated !== true && !ev.all && !ev.unknown && ev.union && top;
      ev.all = true;
      if (!deferred) conj.evaluatedAll = true;
    }
    return ev;
  }

  private finalize(c: Conj, side: Side): Node {
    let atoms = c.atoms && new Set(c.atoms);
    let values = c.values && new Map(c.values);
    if (values) {
      const valueAtoms = new Set([...values.values()].map(atomOf));
      const allowed = new Set([...(atoms ?? ALL_ATOMS)].filter((t) => valueAtoms.has(t)));
      atoms = allowed;
      values = new Map([...values].filter(([, v]) => allowed.has(atomOf(v))));
    }
    const never = c.never || atoms?.size === 0 || values?.size === 0;

    const constraints = [...c.addConstraints];
    const opaqueRaw = new Map([...c.opaque].map(([k, v]) => [k, [...v]]));
    if (c.deferredUneval.length > 0 && !c.evaluatedAll) {
      const names = new Set(c.props.keys());
      const patterns = [...c.patternProps.keys()];
      const modeled =
        !c.unknownEvaluation && [...c.conditionalNames].every((name) => names.has(name));
      for (const schema of c.deferredUneval) {
        if (modeled) constraints.push({ schema, names, patterns });
        else pushTo(opaqueRaw, "unevaluatedProperties", schema);
      }
    }
    const regexes = new Map<string, RegExp | undefined>();
    const matches = (pattern: string, name: string): boolean => {
      if (!regexes.has(pattern)) {
        let re: RegExp | undefined;
        try {
          re = new RegExp(pattern, "u");
        } catch {
          re = undefined;
        }
        regexes.set(pattern, re);
      }
      return regexes.get(pattern)?.test(name) ?? false;
    };
    const effectiveCache = new Map<string, Raw>();
    const effective = (name: string): Raw => {
      const hit = effectiveCache.get(name);
      if (hit !== undefined || effectiveCache.has(name)) return hit;
      const raws = [...(c.props.get(name) ?? [])];
      for (const [pattern, list] of c.patternProps) if (matches(pattern, name)) raws.push(...list);
      for (const k of constraints) {
        if (!k.names.has(name) && !k.patterns.some((p) => matches(p, name))) raws.push(k.schema);
      }
      const result = this.combine(raws);
      effectiveCache.set(name, result);
      return result;
    };
    const props = new Map<string, Raw>();
    for (const name of [...c.props.keys()].sort(compareStrings)) props.set(name, effective(name));
    const patternProps = new Map<string, Raw>();
    for (const [pattern, list] of c.patternProps) patternProps.set(pattern, this.combine(list));

    const prefix: Raw[] = c.prefix.map((list, i) =>
      this.combine([...list, ...c.itemsFrom.filter((f) => f.from <= i).map((f) => f.schema)]),
    );

    const opaque = new Map<string, string>();
    for (const [key, list] of opaqueRaw) {
      opaque.set(
        key,
        list
          .map((v) => this.semanticKey(v, side))
          .sort(compareStrings)
          .join(OPAQUE_SEPARATOR),
      );
    }

    let lower = c.lower;
    let upper = c.upper;
    if (lower && lower.value <= -SAFE && !lower.exclusive) lower = undefined;
    if (upper && upper.value >= SAFE && !upper.exclusive) upper = undefined;

    return {
      never,
      atoms,
      values,
      constOnly: c.sawConst && !c.sawEnum,
      lower,
      upper,
      multipleOf: [...new Set(c.multipleOf)].sort((x, y) => x - y),
      minLength: c.minLength || undefined,
      maxLength: c.maxLength,
      patterns: new Set(c.patterns),
      formats: new Set(c.formats),
      prefix,
      items: this.combine(c.itemsFrom.map((f) => f.schema)),
      minItems: c.minItems || undefined,
      maxItems: c.maxItems,
      uniqueItems: c.uniqueItems,
      props,
      required: new Set(c.required),
      additional: this.combine(constraints.map((k) => k.schema)),
      patternProps,
      minProperties: c.minProperties || undefined,
      maxProperties: c.maxProperties,
      opaque,
      annotations: new Map([...c.annotations].map(([k, v]) => [k, [...v.values()]])),
      effective,
    };
  }

  /** allOf of some raw schemas, without duplicates; `true` when there is none. */
  private combine(raws: readonly Raw[]): Raw {
    const seen = new Map<string, Raw>();
    for (const raw of raws) {
      if (raw === true || raw === undefined || (isObject(raw) && Object.keys(raw).length === 0))
        continue;
      if (raw === false) return false;
      const key = this.canonical(raw);
      if (!seen.has(key)) seen.set(key, raw);
    }
    const list = [...seen.values()];
    if (list.length === 0) return true;
    if (list.length === 1) return list[0];
    return { allOf: list };
  }

  // ----- canonical forms -----

  /** Key-order independent JSON. */
  private canonical(value: unknown): string {
    if (typeof value !== "object" || value === null) return JSON.stringify(value) ?? "undefined";
    const hit = this.canonicalCache.get(value);
    if (hit !== undefined) return hit;
    let text: string;
    if (Array.isArray(value)) text = `[${value.map((v) => this.canonical(v)).join(",")}]`;
    else {
      const record = value as Record<string, unknown>;
      text = `{${Object.keys(record)
        .sort(compareStrings)
        .map((k) => `${JSON.stringify(k)}:${this.canonical(record[k])}`)
        .join(",")}}`;
    }
    this.canonicalCache.set(value, text);
    return text;
  }

  /** Canonical JSON with local $refs expanded (cycles cut), for equality of opaque parts. */
  private semanticKey(raw: Raw, side: Side): string {
    const budget = { left: CANONICAL_BUDGET };
    try {
      return this.expand(raw, side, [], budget);
    } catch (error) {
      if (!(error instanceof BudgetExceeded)) throw error;
      const root = isObject(side.root) ? side.root : {};
      return `raw:${this.canonical(raw)}|${this.canonical(root["$defs"])}|${this.canonical(root["definitions"])}`;
    }
  }

  private expand(
    value: unknown,
    side: Side,
    stack: readonly string[],
    budget: { left: number },
  ): string {
    if (--budget.left < 0) throw new BudgetExceeded();
    if (Array.isArray(value))
      return `[${value.map((v) => this.expand(v, side, stack, budget)).join(",")}]`;
    if (!isObject(value)) return JSON.stringify(value) ?? "undefined";
    const parts: string[] = [];
    for (const key of Object.keys(value).sort(compareStrings)) {
      const v = value[key];
      let text: string;
      if (key === "$ref" && typeof v === "string") {
        const target = stack.includes(v) ? undefined : resolveRef(side.root, v);
        text =
          target === undefined
            ? JSON.stringify(v)
            : this.expand(target, side, [...stack, v], budget);
      } else if (key === "const" || key === "enum" || key === "default" || key === "examples") {
        text = this.canonical(v);
      } else {
        text = this.expand(v, side, stack, budget);
      }
      parts.push(`${JSON.stringify(key)}:${text}`);
    }
    return `{${parts.join(",")}}`;
  }
}

class BudgetExceeded extends Error {}

const SCORE: Readonly<Record<ChangeKind, number>> = {
  breaking: 100,
  compatible: 10,
  behavioural: 1,
};

// ---------------------------------------------------------------------------------------
// Helpers

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function pushTo(map: Map<string, Raw[]>, key: string, value: Raw): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/**
 * The property names an if/then/else subschema evaluates when it evaluates them only
 * through `properties`; undefined when it may evaluate others.
 */
function conditionalNames(schema: Raw): string[] | undefined {
  if (typeof schema === "boolean") return [];
  if (!isObject(schema) || EVALUATING.some((key) => key in schema)) return undefined;
  const properties = schema["properties"];
  if (properties === undefined) return [];
  return isObject(properties) ? Object.keys(properties) : undefined;
}

function addOpaque(conj: Conj, key: string, value: unknown): void {
  pushTo(conj.opaque, key, value);
}

function addPrefix(conj: Conj, list: readonly Raw[]): void {
  list.forEach((schema, i) => {
    while (conj.prefix.length <= i) conj.prefix.push([]);
    conj.prefix[i]!.push(schema);
  });
}

function neverConj(): Conj {
  const conj = new Conj();
  conj.never = true;
  return conj;
}

/** Resolves "#", "#/$defs/x", "#/definitions/x" or any local JSON Pointer; undefined otherwise. */
function resolveRef(root: Raw, ref: string): Raw {
  if (ref === "#") return root;
  if (!ref.startsWith("#/")) return undefined;
  let node: Raw = root;
  for (const encoded of ref.slice(2).split("/")) {
    let segment: string;
    try {
      segment = decodeURIComponent(encoded).replace(/~1/g, "/").replace(/~0/g, "~");
    } catch {
      return undefined;
    }
    if (Array.isArray(node) && /^\d+$/.test(segment) && Number(segment) < node.length) {
      node = node[Number(segment)];
    } else if (isObject(node) && Object.hasOwn(node, segment)) {
      node = node[segment];
    } else {
      return undefined;
    }
  }
  return node;
}

function escapePointer(name: string): string {
  return name.replace(/~/g, "~0").replace(/\//g, "~1");
}

function isTypeName(name: string): boolean {
  return ["null", "boolean", "object", "array", "number", "integer", "string"].includes(name);
}

function atomsOfType(name: string): Atom[] {
  if (name === "number") return ["int", "frac"];
  if (name === "integer") return ["int"];
  return [name as Atom];
}

function atomOf(value: unknown): Atom {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  switch (typeof value) {
    case "boolean":
      return "boolean";
    case "number":
      return Number.isInteger(value) ? "int" : "frac";
    case "string":
      return "string";
    default:
      return "object";
  }
}

function familyOf(atom: Atom): Family {
  return atom === "int" || atom === "frac" ? "number" : atom;
}

function familiesOf(atoms: ReadonlySet<Atom>): Family[] {
  return FAMILIES.filter((f) => [...atoms].some((t) => familyOf(t) === f));
}

function familyKey(node: Node): string {
  if (!node.atoms) return "any";
  return familiesOf(node.atoms).join("|");
}

function relevant(node: Node, family: Family): boolean {
  return !node.atoms || [...node.atoms].some((t) => familyOf(t) === family);
}

function isIntOnly(node: Node): boolean {
  return node.atoms !== undefined && node.atoms.has("int") && !node.atoms.has("frac");
}

function isNullOnly(node: Node): boolean {
  return node.atoms !== undefined && node.atoms.size === 1 && node.atoms.has("null");
}

/** No constraint at all (annotations aside); with `exceptValues`, none but type and values. */
function isUnconstrained(node: Node, exceptValues = false): boolean {
  return (
    !node.never &&
    (exceptValues || (!node.atoms && !node.values)) &&
    !node.lower &&
    !node.upper &&
    node.multipleOf.length === 0 &&
    node.minLength === undefined &&
    node.maxLength === undefined &&
    node.patterns.size === 0 &&
    node.formats.size === 0 &&
    node.prefix.length === 0 &&
    node.items === true &&
    node.minItems === undefined &&
    node.maxItems === undefined &&
    !node.uniqueItems &&
    node.props.size === 0 &&
    node.required.size === 0 &&
    node.additional === true &&
    node.patternProps.size === 0 &&
    node.minProperties === undefined &&
    node.maxProperties === undefined &&
    node.opaque.size === 0
  );
}

/** One alternative per type family, each without the keywords that cannot apply to it. */
function splitByFamily(node: Node): Node[] {
  if (node.never || !node.atoms) return [node];
  return familiesOf(node.atoms).map((family) => prune(node, family));
}

function prune(node: Node, family: Family): Node {
  const atoms = new Set([...node.atoms!].filter((t) => familyOf(t) === family));
  const values = node.values && new Map([...node.values].filter(([, v]) => atoms.has(atomOf(v))));
  const opaque = new Map(node.opaque);
  const n: { -readonly [K in keyof Node]: Node[K] } = {
    ...node,
    atoms,
    values,
    never: node.never || values?.size === 0,
    opaque,
  };
  if (family === "number") {
    if (atoms.has("int") && !atoms.has("frac")) {
      // For integers, exclusiveMinimum 0 is minimum 1 and minimum 0.5 is minimum 1.
      if (n.lower)
        n.lower = {
          value: n.lower.exclusive ? Math.floor(n.lower.value) + 1 : Math.ceil(n.lower.value),
          exclusive: false,
        };
      if (n.upper)
        n.upper = {
          value: n.upper.exclusive ? Math.ceil(n.upper.value) - 1 : Math.floor(n.upper.value),
          exclusive: false,
        };
    }
  } else {
    n.lower = undefined;
    n.upper = undefined;
    n.multipleOf = [];
  }
  if (family !== "string") {
    n.minLength = undefined;
    n.maxLength = undefined;
    n.patterns = new Set();
    if (family !== "number") n.formats = new Set();
  }
  if (family !== "array") {
    n.prefix = [];
    n.items = true;
    n.minItems = undefined;
    n.maxItems = undefined;
    n.uniqueItems = false;
    for (const key of ARRAY_ONLY_OPAQUE) opaque.delete(key);
    opaque.delete("additionalItems");
  }
  if (family !== "object") {
    n.props = new Map();
    n.required = new Set();
    n.additional = true;
    n.patternProps = new Map();
    n.minProperties = undefined;
    n.maxProperties = undefined;
    for (const key of OBJECT_ONLY_OPAQUE) opaque.delete(key);
  }
  return n;
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

function stricterLower(x: Bound, y: Bound): boolean {
  return x.value > y.value || (x.value === y.value && x.exclusive && !y.exclusive);
}

function stricterUpper(x: Bound, y: Bound): boolean {
  return x.value < y.value || (x.value === y.value && x.exclusive && !y.exclusive);
}

function isMultiple(k: number, m: number): boolean {
  const q = k / m;
  return Math.abs(q - Math.round(q)) < 1e-9;
}

function range(from: number, to: number): string {
  if (from === to) return `${from}`;
  return from >= 0 ? `${from}-${to}` : `${from} to ${to}`;
}

function typeName(atoms: ReadonlySet<Atom> | undefined): string {
  if (!atoms) return "any type";
  return familiesOf(atoms)
    .map((f) => (f === "number" && !atoms.has("frac") ? "integer" : f))
    .join(" or ");
}

function pluralTypes(atoms: readonly Atom[]): string {
  const set = new Set(atoms);
  const words: string[] = [];
  for (const family of FAMILIES) {
    if (family === "number") {
      if (set.has("int") && set.has("frac")) words.push("numbers");
      else if (set.has("int")) words.push("integers");
      else if (set.has("frac")) words.push("non-integer numbers");
    } else if (set.has(family)) {
      words.push(family === "null" ? "null" : `${family}s`);
    }
  }
  return words.join(", ");
}

function pick(values: ReadonlyMap<string, unknown>, keys: readonly string[]): Map<string, unknown> {
  return new Map(keys.map((k) => [k, values.get(k)]));
}

function listValues(values: ReadonlyMap<string, unknown>): string {
  const shown = [...values.values()]
    .slice(0, 5)
    .map((v) => truncate(JSON.stringify(v) ?? "undefined"));
  return shown.join(", ") + (values.size > 5 ? `, ... (${values.size} in all)` : "");
}

function plural(list: readonly unknown[]): string {
  return list.length === 1 ? "" : "s";
}

function show(value: unknown): string {
  return value === undefined ? "(none)" : truncate(JSON.stringify(value) ?? "undefined");
}

function truncate(text: string, max = 80): string {
  return text.length <= max ? text : `${text.slice(0, max - 3)}...`;
}
