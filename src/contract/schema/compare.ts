/**
 * The comparison of two schemas, one pair of subschemas at a time: both are normalized
 * (side.ts) into alternatives, matched (compare-unions.ts), and each matched pair compared
 * keyword family by keyword family (compare-*.ts). Recursion is bounded: a pair already
 * being compared is not compared again inside itself (recursive schemas), and past a depth
 * or amount of work what differs is reported as unprovable.
 */
import { CanonicalForms } from "./canonical.js";
import type { SchemaChange, SchemaDirection } from "./change.js";
import { compareAnnotations, compareOpaque } from "./compare-annotations.js";
import { compareArrays } from "./compare-arrays.js";
import { compareNumbers } from "./compare-numbers.js";
import { compareObjects } from "./compare-objects.js";
import { compareStringConstraints, compareTypes, compareValues } from "./compare-scalars.js";
import { compareUnion } from "./compare-unions.js";
import type { Comparison } from "./context.js";
import { relevant } from "./families.js";
import type { Node, Raw } from "./model.js";
import { SchemaSide } from "./side.js";
import { Wording } from "./wording.js";

const DEPTH_LIMIT = 200;
const WORK_LIMIT = 50_000;

export class SchemaComparer extends Wording implements Comparison {
  readonly before: SchemaSide;
  readonly after: SchemaSide;
  private readonly forms = new CanonicalForms();
  private readonly inProgress = new Set<string>();
  private depth = 0;
  private work = 0;

  constructor(
    rootBefore: Raw,
    rootAfter: Raw,
    dir: SchemaDirection,
    readonly tolerantReader: boolean,
  ) {
    super(dir);
    this.before = new SchemaSide(rootBefore, this.forms);
    this.after = new SchemaSide(rootAfter, this.forms);
  }

  canonical(value: unknown): string {
    return this.forms.canonical(value);
  }

  compareRaw(rb: Raw, ra: Raw, path: string): SchemaChange[] {
    const key = `${this.canonical(rb)}\u0000${this.canonical(ra)}`;
    // A pair already being compared further up: a recursive schema came back round. Whatever
    // differs has been (or will be) reported where the pair was first met.
    if (this.inProgress.has(key)) return [];
    if (++this.work > WORK_LIMIT || this.depth >= DEPTH_LIMIT) {
      return this.before.semanticKey(rb) === this.after.semanticKey(ra)
        ? []
        : [this.unprovable(path, "the schema is too large or too deeply nested to compare")];
    }
    this.inProgress.add(key);
    this.depth++;
    try {
      const b = this.before.branches(rb);
      const a = this.after.branches(ra);
      if ("opaque" in b || "opaque" in a) {
        if (this.before.semanticKey(rb) === this.after.semanticKey(ra)) return [];
        const reason = "opaque" in b ? b.opaque : (a as { opaque: string }).opaque;
        return [this.unprovable(path, `the schema changed and ${reason}`)];
      }
      if (b.nodes.length === 1 && a.nodes.length === 1 && b.kind === a.kind) {
        return this.compareNode(b.nodes[0]!, a.nodes[0]!, path);
      }
      return compareUnion(this, b, a, path);
    } finally {
      this.depth--;
      this.inProgress.delete(key);
    }
  }

  compareNode(b: Node, a: Node, path: string): SchemaChange[] {
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
    compareTypes(this, b, a, path, out);
    compareValues(this, b, a, path, out);
    if (relevant(b, "number") && relevant(a, "number")) compareNumbers(this, b, a, path, out);
    if (relevant(b, "string") && relevant(a, "string"))
      compareStringConstraints(this, b, a, path, out);
    if (relevant(b, "array") && relevant(a, "array")) compareArrays(this, b, a, path, out);
    if (relevant(b, "object") && relevant(a, "object")) compareObjects(this, b, a, path, out);
    compareOpaque(this, b, a, path, out);
    compareAnnotations(this, b, a, path, out);
    return out;
  }
}
