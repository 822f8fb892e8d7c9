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
  /**
   * Lets go of what the stage opened itself (its hold on the default store; never a store
   * it was given). The stage still works afterwards: its next call opens again.
   */
  readonly close?: () => Promise<void>;
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

/**
 * Releases what each stage of a list opened itself, each stage once (a list may hold one
 * stage twice). The server calls it on close for the list it runs, the default one or
 * yours, so a stage factory owns its store's lifetime and the server opens nothing.
 */
export async function closeStages(stages: readonly Stage[]): Promise<void> {
  const closes = [...new Set(stages)].flatMap((stage) => {
    const close = stageProvides(stage)?.close;
    return close ? [close] : [];
  });
  const failed = (await Promise.allSettled(closes.map((close) => close()))).find(
    (outcome): outcome is PromiseRejectedResult => outcome.status === "rejected",
  );
  if (failed) throw failed.reason;
}
