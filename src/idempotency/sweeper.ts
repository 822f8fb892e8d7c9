import type { Logger } from "../log/logger.js";
import { stageProvides } from "../pipeline/stage-roles.js";
import type { Stage } from "../pipeline/types.js";

/** How often expired records are removed from the stores the stages opened. */
export const SWEEP_INTERVAL_MS = 10 * 60_000;

interface Sweepable {
  sweep(now: number): Promise<number>;
}

const isSweepable = (store: unknown): store is Sweepable =>
  typeof (store as Partial<Sweepable> | null | undefined)?.sweep === "function";

/**
 * Rule 8 of the idempotency design: expired records (and rate-limit buckets) are removed
 * by a sweeper (SQL stores; a no-op on Redis). It sweeps the stores the stages have opened,
 * whoever configured them, and never opens one. Returns the function that stops it; the
 * timer is unref'd and keeps no process alive.
 */
export function startSweeper(stages: readonly Stage[], log: Logger): (() => void) | undefined {
  const openers = stages.flatMap((stage) => {
    const opened = stageProvides(stage)?.openedStore;
    return opened ? [opened] : [];
  });
  if (openers.length === 0) return undefined;
  const sweep = async () => {
    const stores = await Promise.all(
      openers.map((opened) => (opened() ?? Promise.resolve(undefined)).catch(() => undefined)),
    );
    // The idempotency and rate-limit stages usually share one store: swept once.
    for (const store of new Set(stores)) {
      if (!isSweepable(store)) continue;
      try {
        const removed = await store.sweep(Date.now());
        if (removed > 0) log.debug({ removed }, "swept expired idempotency records");
      } catch (error) {
        log.warn({ err: error }, "idempotency sweep failed");
      }
    }
  };
  const timer = setInterval(() => void sweep(), SWEEP_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
