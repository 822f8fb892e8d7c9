/**
 * What a schema is normalized into before it is compared. A schema's keywords, with those
 * of its `$ref`s and `allOf`, are merged into one conjunction (Conj); its `anyOf`/`oneOf`
 * alternatives are distributed over it; each result becomes a union-free Node per type
 * family, whose subschemas stay raw and are compared lazily, only where both sides have them.
 */
import type { SchemaRefs } from "../../schema/walk.js";

export type Raw = unknown;
export type Atom = "null" | "boolean" | "object" | "array" | "int" | "frac" | "string";
export type Family = "null" | "boolean" | "object" | "array" | "number" | "string";

export const ALL_ATOMS: readonly Atom[] = [
  "null",
  "boolean",
  "object",
  "array",
  "int",
  "frac",
  "string",
];
export const FAMILIES: readonly Family[] = [
  "null",
  "boolean",
  "object",
  "array",
  "number",
  "string",
];

export interface Bound {
  readonly value: number;
  readonly exclusive: boolean;
}

export interface AdditionalConstraint {
  readonly schema: Raw;
  /** Names the subschema's own `properties` (or, for unevaluatedProperties, its evaluation) cover. */
  readonly names: ReadonlySet<string>;
  readonly patterns: readonly string[];
}

export interface UnionGroup {
  readonly kind: "anyOf" | "oneOf";
  readonly branches: readonly Raw[];
}

/** What a subschema evaluated, for `unevaluatedProperties`. */
export interface Evaluated {
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
export class Conj {
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
export interface Node {
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

export type Branches =
  | { readonly kind: "anyOf" | "oneOf"; readonly nodes: readonly Node[] }
  | { readonly opaque: string };

/** What normalizing one side's schemas needs from that side (see side.ts). */
export interface SideKeys {
  readonly refs: SchemaRefs;
  /** Key-order independent JSON (canonical.ts). */
  canonical(value: unknown): string;
  /** Canonical JSON with local $refs expanded, for equality of what is not modeled. */
  semanticKey(raw: Raw): string;
}

export function pushTo(map: Map<string, Raw[]>, key: string, value: Raw): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

export function neverConj(): Conj {
  const conj = new Conj();
  conj.never = true;
  return conj;
}
