import type { JsonSchema } from "../validation/json-schema.js";

import type { Deprecation } from "../tool/deprecation.js";

export type { Deprecation };

/**
 * The public contract of one tool: what a model and a client rely on. Everything here is
 * reviewed when it changes; a lock file holds one per tool.
 */
export interface ToolContract {
  readonly name: string;
  /** Semantic version; must change whenever anything else here changes. */
  readonly version: string;
  readonly title?: string;
  readonly description: string;
  readonly inputSchema: JsonSchema;
  readonly outputSchema?: JsonSchema;
  /** MCP tool annotations (readOnlyHint, destructiveHint, idempotentHint, openWorldHint, title). */
  readonly annotations: Readonly<Record<string, unknown>>;
  readonly scopes: readonly string[];
  readonly sideEffect: "read" | "write";
  readonly deprecated?: Deprecation;
}

/** The lock file (`toolgate.lock.json`): every tool's contract, keyed by name. */
export interface ContractLock {
  readonly lockfileVersion: 1;
  readonly tools: Readonly<Record<string, ToolContract>>;
}

export type ChangeKind = "breaking" | "behavioural" | "compatible";

/** One classified difference between the locked and the current contract. */
export interface ContractChange {
  readonly tool: string;
  readonly kind: ChangeKind;
  /**
   * Where: "tool" (added/removed), "version", "description", "title", "annotations.<name>",
   * "scopes", "sideEffect", "deprecated", or "input<pointer>" / "output<pointer>" with a
   * JSON Pointer into the value (e.g. "input/items/0/sku", "input/amount").
   */
  readonly path: string;
  /** A sentence for people: what changed and why it is classified so. */
  readonly message: string;
  /** For description/title changes: a word diff, e.g. "Refund [-part-] {+all+} of an order". */
  readonly wordDiff?: string;
}

/** The verdict of `toolgate contract check`. */
export interface ContractReport {
  readonly changes: readonly ContractChange[];
  /** Tools whose contract changed while their version stayed the same. */
  readonly versionNotBumped: readonly string[];
}
