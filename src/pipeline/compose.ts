import type { CallToolResult } from "@modelcontextprotocol/server";
import type { CallContext, Next, Stage } from "./types.js";

const endOfPipeline: Next = () =>
  Promise.reject(new Error("The pipeline ended without a stage that executes the tool."));

/**
 * Composes stages into one: each stage gets a `next` that runs the rest, with the context
 * the stage hands it (`next(withState(ctx, {...}))`) or, without one, the stage's own.
 * Calling `next` twice is a bug in a stage and fails loudly instead of running a tool twice.
 */
export function compose(stages: readonly Stage[]): (ctx: CallContext) => Promise<CallToolResult> {
  for (const [i, stage] of stages.entries()) {
    if (typeof stage !== "function") throw new TypeError(`Pipeline stage ${i} is not a function.`);
  }
  const list = [...stages];
  return function runPipeline(first) {
    let lastIndex = -1;
    const dispatch = (i: number, ctx: CallContext): Promise<CallToolResult> => {
      if (i <= lastIndex) return Promise.reject(new Error(`Stage ${i - 1} called next() twice.`));
      lastIndex = i;
      const stage = list[i];
      if (!stage) return endOfPipeline();
      try {
        return stage(ctx, (derived) => dispatch(i + 1, derived ?? ctx));
      } catch (error) {
        // A stage that throws synchronously still yields a rejected promise, never a throw.
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
    };
    return dispatch(0, first);
  };
}
