import { ToolError } from "../../errors/tool-error.js";
import { toCallToolResult } from "../../tool/result.js";
import type { ToolContext, ToolDefinition } from "../../tool/types.js";
import type { CallContext, Stage } from "../types.js";
import type { CallToolResult } from "@modelcontextprotocol/server";
import { requireDeadline, requireTool } from "./require-tool.js";
import { createClientFeatures } from "./client-features.js";
import { LazyAbort, withLazySignal, type Cancellation } from "../../util/lazy-abort.js";
import { CancelledByClient, DeadlineExceeded, settleBy } from "../../util/deadline.js";
import { callCancellation } from "../cancellation.js";
import { markStage } from "../stage-roles.js";
import { attachLateOutcome } from "../late-outcome.js";

export interface ExecuteOptions {
  /** Moved to `resolveTool({ defaultTimeoutMs })`, which fixes the call's one deadline. */
  defaultTimeoutMs?: never;
}

export { DEFAULT_TIMEOUT_MS } from "./resolve-tool.js";

/**
 * A read can simply be retried, and so can an idempotent write with the same key (it runs
 * at most once). A write without keys may still have happened: the model must check.
 */
function timeoutMessage(tool: ToolDefinition, label: string, timeoutMs: number): string {
  const base = `${label} did not finish within ${timeoutMs} ms.`;
  if (tool.sideEffect === "read")
    return `${base} It is safe to retry; if it keeps timing out, try again later.`;
  if (tool.idempotency)
    return `${base} Retry with the same idempotency key: the operation runs at most once.`;
  return `${base} The change may or may not have been made: check its effect before calling again.`;
}

/**
 * Runs the handler under the call's deadline. At the deadline the handler's signal
 * aborts and the caller gets `timeout` at once, even if the handler ignores the
 * signal (unlike a bare promise race, the work is told to stop). The timer and the
 * listeners are always cleared.
 */
export function execute(options: ExecuteOptions = {}): Stage {
  if ((options as { defaultTimeoutMs?: unknown }).defaultTimeoutMs !== undefined) {
    // Not ignored silently: the deadline is fixed once per call, by resolveTool.
    throw new TypeError(
      "execute: defaultTimeoutMs moved to resolveTool({ defaultTimeoutMs }) " +
        "(or defaultStages({ defaultTimeoutMs })), which fixes each call's one deadline.",
    );
  }
  const stage: Stage = async function executeStage(ctx) {
    const tool = requireTool(ctx, "execute");
    if (tool.deprecated) {
      // Once per call that runs: who still depends on it, and where they should move.
      ctx.log.warn(
        {
          tool: tool.name,
          subject: ctx.principal.subject,
          since: tool.deprecated.since,
          useInstead: tool.deprecated.useInstead ?? null,
        },
        "call of deprecated tool",
      );
    }
    const deadline = requireDeadline(ctx, "execute");
    const timeoutMs = deadline - ctx.startedAt;

    // A call cancelled before it starts never runs: its caller is gone, and a write must
    // not happen behind a "timeout" answer that invites a retry.
    const cancellation = callCancellation(ctx);
    if (cancellation.aborted)
      throw new ToolError("timeout", "The call was cancelled before it started.");
    // Earlier stages (a slow store, a wait for a duplicate) may have used up the time: a
    // handler started now could only be cut short, so it is not started at all.
    if (Date.now() >= deadline) {
      throw new ToolError(
        "timeout",
        `${ctx.label ?? tool.name} could not start within its ${timeoutMs} ms deadline; nothing ran. It is safe to retry.`,
      );
    }
    // The handler's signal is created only if the handler (or a feature) reads it.
    const controller = new LazyAbort();
    const client = createClientFeatures(ctx, controller, deadline);
    const fields: Omit<ToolContext, "signal"> = {
      requestId: ctx.requestId,
      principal: ctx.principal,
      log: ctx.log,
      deadline,
      tool: { name: tool.name, version: tool.version },
      idempotencyKey: ctx.idempotencyKey,
      backendCall: (name, run) =>
        ctx.backends
          ? ctx.backends.run(ctx, controller.signal, name, run)
          : Promise.reject(noBackends(tool, name)),
      backend: (name) => {
        if (!ctx.backends) throw noBackends(tool, name);
        return ctx.backends.client(ctx, controller.signal, name);
      },
      progress: client.progress,
      clientLog: client.clientLog,
      sample: client.sample,
      elicit: client.elicit,
    };
    const toolCtx: ToolContext = withLazySignal(fields, controller);
    let value: unknown;
    try {
      value = tool.handler(ctx.args, toolCtx);
    } catch (error) {
      runCleanups(ctx);
      throw error;
    }
    // A handler that finished synchronously cannot be late, cancelled or cut short: no
    // timer, listener or race is needed (they cost more than many such handlers).
    if (!isThenable(value)) {
      try {
        return toCallToolResult(value);
      } finally {
        runCleanups(ctx);
      }
    }
    return settleWithin(
      ctx,
      tool,
      { controller, cancellation },
      Promise.resolve(value),
      deadline,
      timeoutMs,
    );
  };
  return markStage(stage, { role: "execute" });
}

function noBackends(tool: ToolDefinition, name: unknown): Error {
  return new Error(
    `Tool '${tool.name}' asked for backend '${String(name)}', but the server has no backends.`,
  );
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

function runCleanups(ctx: CallContext): void {
  for (const cleanup of ctx.record.cleanups.splice(0)) cleanup();
}

/**
 * Waits for an asynchronous handler until the deadline or the client's cancellation,
 * whichever comes first; on either, the handler's signal aborts and the caller is
 * answered at once (the handler's real outcome travels with the error: late-outcome.ts).
 */
async function settleWithin(
  ctx: CallContext,
  tool: ToolDefinition,
  { controller, cancellation }: { controller: LazyAbort; cancellation: Cancellation },
  work: Promise<unknown>,
  deadline: number,
  timeoutMs: number,
): Promise<CallToolResult> {
  // A handler that ignores its signal settles later; a late failure is worth a log line.
  work.catch((error: unknown) => {
    // Rejecting with the abort reason is the handler honouring its signal, not a failure.
    if (controller.aborted && error !== controller.reason) {
      ctx.log.warn({ err: error }, "tool handler failed after its deadline");
    }
  });
  try {
    const value = await settleBy(work, controller, {
      until: deadline,
      cancellation,
      deadlineMessage: `Deadline of ${timeoutMs} ms passed.`,
    });
    return toCallToolResult(value);
  } catch (error) {
    if (controller.aborted) {
      // The caller is answered now; whatever the handler still does settles here, so
      // the idempotency stage can store the real outcome (a retry then replays it).
      const late = work.then(toCallToolResult);
      if (controller.reason instanceof CancelledByClient) {
        throw attachLateOutcome(
          new ToolError("timeout", "The call was cancelled before it finished."),
          late,
        );
      }
      // The handler's own abort error (e.g. fetch's AbortError) is the same event.
      if (error === controller.reason || controller.reason instanceof DeadlineExceeded) {
        throw attachLateOutcome(
          new ToolError("timeout", timeoutMessage(tool, ctx.label ?? tool.name, timeoutMs), {
            cause: error === controller.reason ? undefined : error,
          }),
          late,
        );
      }
      if (typeof error === "object" && error !== null) attachLateOutcome(error, late);
    }
    throw error;
  } finally {
    runCleanups(ctx);
  }
}
