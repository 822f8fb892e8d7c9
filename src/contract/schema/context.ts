/**
 * What the keyword-family rules (compare-*.ts) need from the comparison that calls them:
 * its direction and wording, both sides, and the recursion into subschemas. An interface,
 * so the rules do not import compare.ts (which imports them).
 */
import type { SchemaChange } from "./change.js";
import type { Node, Raw } from "./model.js";
import type { SchemaSide } from "./side.js";
import type { Wording } from "./wording.js";

export interface Comparison extends Wording {
  readonly tolerantReader: boolean;
  readonly before: SchemaSide;
  readonly after: SchemaSide;
  /** Compares two subschemas at `path` (a pointer into the value). */
  compareRaw(rb: Raw, ra: Raw, path: string): SchemaChange[];
  /** Compares two union-free alternatives at `path`. */
  compareNode(b: Node, a: Node, path: string): SchemaChange[];
  canonical(value: unknown): string;
}
