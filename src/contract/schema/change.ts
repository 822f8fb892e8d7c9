/** The public shapes of a schema comparison (re-exported by schema-diff.ts and the package). */
import type { ChangeKind } from "../types.js";

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
