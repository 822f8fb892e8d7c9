import type { Stage } from "./types.js";

/** What a built-in stage does, as far as the server's start-up check is concerned. */
export type StageRole =
  | "requestId"
  | "mapErrors"
  | "resolveTool"
  | "authorize"
  | "rateLimit"
  | "validateInput"
  | "idempotency"
  | "validateOutput"
  | "execute";

export interface StageProvides {
  readonly role: StageRole;
  /** `authorize` only: whether it refuses anonymous callers and enforces tool scopes. */
  readonly enforcesScopes?: boolean;
  /**
   * Stages with a store (`idempotency`, `rateLimit`): the store, once the stage has opened
   * it (never opens it), so the server running the stage can sweep expired records.
   */
  readonly openedStore?: () => Promise<unknown> | undefined;
}

// Symbol.for: a stage built by another copy of toolgate in the same process still counts.
const PROVIDES = Symbol.for("toolgate.stageProvides");

/**
 * Marks a stage with what it provides: a non-enumerable property set by each built-in
 * factory. A stage of your own (an unmarked function) provides nothing the check knows of.
 */
export function markStage<S extends Stage>(stage: S, provides: StageProvides): S {
  Object.defineProperty(stage, PROVIDES, { value: Object.freeze({ ...provides }) });
  return stage;
}

/** What a stage provides, if a built-in factory made it. */
export function stageProvides(stage: Stage): StageProvides | undefined {
  return (stage as unknown as Record<symbol, StageProvides | undefined>)[PROVIDES];
}
