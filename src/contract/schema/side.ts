/**
 * One side (before or after) of a comparison: its schema document, normalized lazily into
 * union-free alternatives (Nodes), cached per schema object. `anyOf`/`oneOf` are
 * distributed over the rest of the schema; `oneOf` alternatives that provably cannot
 * overlap mean `anyOf`; alternatives that only list values become one enum.
 */
import { SchemaRefs } from "../../schema/walk.js";
import type { CanonicalForms } from "./canonical.js";
import { collect } from "./collect.js";
import { familyKey, isUnconstrained, relevant, splitByFamily } from "./families.js";
import { finalize } from "./finalize.js";
import {
  ALL_ATOMS,
  Conj,
  neverConj,
  type Branches,
  type Node,
  type Raw,
  type SideKeys,
} from "./model.js";

const MAX_ALTERNATIVES = 64;

export type Shape = "never" | "any" | "schema";

export class SchemaSide implements SideKeys {
  readonly refs: SchemaRefs;
  private readonly cache = new WeakMap<object, Branches>();
  private readonly inProgress = new Set<object>();

  constructor(
    readonly root: Raw,
    private readonly forms: CanonicalForms,
  ) {
    this.refs = new SchemaRefs(root);
  }

  canonical(value: unknown): string {
    return this.forms.canonical(value);
  }

  semanticKey(raw: Raw): string {
    return this.forms.semanticKey(raw, this.refs);
  }

  /** The union-free alternatives a schema accepts (cached per schema object and side). */
  branches(raw: Raw): Branches {
    if (typeof raw !== "object" || raw === null) return this.computeBranches(raw);
    const hit = this.cache.get(raw);
    if (hit) return hit;
    if (this.inProgress.has(raw)) return { opaque: "it refers to itself through its alternatives" };
    this.inProgress.add(raw);
    try {
      const result = this.computeBranches(raw);
      this.cache.set(raw, result);
      return result;
    } finally {
      this.inProgress.delete(raw);
    }
  }

  private computeBranches(raw: Raw): Branches {
    const conj = new Conj();
    collect(raw, conj, this, [], true);
    const distributed = this.distribute(conj, 0);
    if ("opaque" in distributed) return distributed;
    const nodes = distributed.conjs.flatMap((c) => splitByFamily(finalize(c, this)));
    const live = nodes.filter((n) => !n.never);
    if (live.length === 0)
      return { kind: "anyOf", nodes: [nodes[0] ?? finalize(neverConj(), this)] };
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
    depth: number,
  ): { kind: "anyOf" | "oneOf"; conjs: Conj[] } | { opaque: string } {
    if (conj.unions.length === 0) return { kind: "anyOf", conjs: [conj] };
    if (depth > 8) return { opaque: "its alternatives are nested too deeply" };
    const groups = conj.unions.map((group) =>
      group.kind === "oneOf" && this.disjointGroup(group.branches)
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
      for (const branch of combo) collect(branch, c, this, [], false);
      const sub = this.distribute(c, depth + 1);
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
  private disjointGroup(branches: readonly Raw[]): boolean {
    const nodeLists: (readonly Node[])[] = [];
    for (const branch of branches) {
      const result = this.branches(branch);
      if ("opaque" in result) return false;
      nodeLists.push(result.nodes);
    }
    for (let i = 0; i < nodeLists.length; i++) {
      for (let j = i + 1; j < nodeLists.length; j++) {
        for (const x of nodeLists[i]!) {
          for (const y of nodeLists[j]!) if (!this.disjoint(x, y)) return false;
        }
      }
    }
    return true;
  }

  private disjoint(x: Node, y: Node): boolean {
    if (x.never || y.never) return true;
    const tx = x.atoms ?? new Set(ALL_ATOMS);
    const ty = y.atoms ?? new Set(ALL_ATOMS);
    if (![...tx].some((t) => ty.has(t))) return true;
    if (x.values && y.values && ![...x.values.keys()].some((k) => y.values!.has(k))) return true;
    if (relevant(x, "object") && relevant(y, "object")) {
      for (const name of x.required) {
        if (!y.required.has(name)) continue;
        const vx = this.propValues(x, name);
        const vy = this.propValues(y, name);
        if (vx && vy && ![...vx.keys()].some((k) => vy.has(k))) return true;
      }
    }
    return false;
  }

  /** The values a property may take (when an enum or const pins them), else undefined. */
  propValues(node: Node, name: string): Map<string, unknown> | undefined {
    const result = this.branches(node.effective(name));
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
  shape(raw: Raw): Shape {
    if (raw === undefined || raw === true) return "any";
    if (raw === false) return "never";
    const result = this.branches(raw);
    if ("opaque" in result) return "schema";
    if (result.nodes.every((n) => n.never)) return "never";
    if (result.nodes.length === 1 && isUnconstrained(result.nodes[0]!)) return "any";
    return "schema";
  }
}
