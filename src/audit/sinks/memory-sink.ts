import type { AuditEvent } from "../event.js";
import type { AuditSink } from "../sink.js";

export interface MemoryAuditSink extends AuditSink {
  /** Every event written, in order. */
  readonly events: readonly AuditEvent[];
  /** Resolves once `count` events have been written (or rejects after `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<readonly AuditEvent[]>;
}

/** Keeps events in memory: for tests of your own tools and for embedding. */
export function memoryAuditSink(): MemoryAuditSink {
  const events: AuditEvent[] = [];
  const waiters = new Set<() => void>();
  return {
    name: "memory",
    events,
    write(batch) {
      events.push(...batch);
      for (const wake of waiters) wake();
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
    waitFor(count, timeoutMs = 5_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (events.length < count) return;
          cleanup();
          resolve(events);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(
              `expected ${count} audit events within ${timeoutMs} ms, got ${events.length}`,
            ),
          );
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
}
