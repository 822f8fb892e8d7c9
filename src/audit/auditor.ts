import type { Logger } from "../log/logger.js";
import type { AuditEvent } from "./event.js";
import type { AuditSink } from "./sink.js";

export interface AuditorOptions {
  readonly sinks: readonly AuditSink[];
  readonly log: Logger;
  /** Events held per sink while it is slow or down; beyond this new events are dropped (and counted). Default 10 000. */
  readonly maxBuffered?: number;
  /** Largest batch handed to a sink. Default 64. */
  readonly batchSize?: number;
  /** How long an event may wait to be batched with others. Default 100 ms. */
  readonly flushIntervalMs?: number;
  /** Called for every event a sink had to drop. */
  readonly onDrop?: (sink: string, count: number) => void;
}

export interface SinkStatus {
  readonly name: string;
  /** False from a failed write until a write succeeds again, and while the buffer is full. */
  readonly healthy: boolean;
  readonly buffered: number;
  readonly dropped: number;
}

export interface Auditor {
  /** Queues an event for every sink. Never throws and never waits: a call is not slowed by its audit. */
  record(event: AuditEvent): void;
  /** True when every sink is writing: fail-closed write tools are refused otherwise. */
  healthy(): boolean;
  status(): SinkStatus[];
  /** Writes what is buffered (up to `timeoutMs`), then closes the sinks. */
  close(timeoutMs?: number): Promise<void>;
}

const MAX_BACKOFF_MS = 5_000;
const DROP_LOG_EVERY_MS = 10_000;

/**
 * Delivers audit events to sinks without ever blocking a tool call: each sink has its own
 * bounded queue and one writer, so a slow or failing sink neither delays calls nor holds
 * up the other sinks. A failed batch is retried (with backoff) until it is written; when a
 * queue is full, new events are dropped and counted (`audit_dropped`), never silently lost.
 */
export function createAuditor(options: AuditorOptions): Auditor {
  const maxBuffered = options.maxBuffered ?? 10_000;
  // Small batches: an event lives until its batch is written, and under load a batch
  // that waited long enough to survive two young-generation GCs is promoted, so the
  // heap (and RSS) grows until the next full collection. 64 events are one short write.
  const batchSize = options.batchSize ?? 64;
  const flushIntervalMs = options.flushIntervalMs ?? 100;
  for (const [key, value] of Object.entries({ maxBuffered, batchSize, flushIntervalMs })) {
    if (!Number.isInteger(value) || value <= 0)
      throw new TypeError(`audit.${key} must be a positive integer.`);
  }
  const queues = options.sinks.map(
    (sink) => new SinkQueue(sink, { ...options, maxBuffered, batchSize, flushIntervalMs }),
  );
  let closed = false;
  return {
    record(event) {
      if (closed) return;
      for (const queue of queues) queue.push(event);
    },
    healthy: () => queues.every((q) => q.healthy()),
    status: () => queues.map((q) => q.status()),
    async close(timeoutMs = 5_000) {
      if (closed) return;
      closed = true;
      const deadline = Date.now() + timeoutMs;
      await Promise.all(queues.map((q) => q.drain(deadline)));
    },
  };
}

interface QueueSettings extends AuditorOptions {
  readonly maxBuffered: number;
  readonly batchSize: number;
  readonly flushIntervalMs: number;
}

class SinkQueue {
  private buffer: AuditEvent[] = [];
  /** The batch being written, or the one that failed and is retried first. */
  private pending: AuditEvent[] | undefined;
  private writing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private dropped = 0;
  private droppedSinceLog = 0;
  private lastDropLog = 0;

  constructor(
    private readonly sink: AuditSink,
    private readonly settings: QueueSettings,
  ) {}

  push(event: AuditEvent): void {
    if (this.size() >= this.settings.maxBuffered) return this.drop(1);
    this.buffer.push(event);
    this.schedule(
      this.buffer.length >= this.settings.batchSize ? 0 : this.settings.flushIntervalMs,
    );
  }

  healthy(): boolean {
    return this.failures === 0 && this.size() < this.settings.maxBuffered;
  }

  status(): SinkStatus {
    return {
      name: this.sink.name,
      healthy: this.healthy(),
      buffered: this.size(),
      dropped: this.dropped,
    };
  }

  /** Flushes until empty or the deadline; what is left is dropped (and counted), then the sink closes. */
  async drain(deadline: number): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.size() > 0 && Date.now() < deadline) {
      const before = this.failures;
      await (this.writing ?? this.flush());
      if (this.failures > before) {
        const pause = Math.min(this.backoffMs(), deadline - Date.now());
        if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
      }
    }
    await this.writing;
    clearTimeout(this.timer);
    this.timer = undefined;
    const left = this.size();
    if (left > 0) {
      this.buffer = [];
      this.pending = undefined;
      this.drop(left);
      this.settings.log.error(
        { sink: this.sink.name, dropped: left },
        "audit events could not be written before shutdown",
      );
    }
    await this.sink.close().catch((error: unknown) => {
      this.settings.log.warn({ err: error, sink: this.sink.name }, "closing an audit sink failed");
    });
  }

  private size(): number {
    return this.buffer.length + (this.pending?.length ?? 0);
  }

  private schedule(delayMs: number): void {
    if (this.writing || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, delayMs);
    // A pending flush must not keep a process alive; close() drains explicitly.
    this.timer.unref();
  }

  private flush(): Promise<void> {
    if (this.writing) return this.writing;
    const batch = this.pending ?? this.buffer.splice(0, this.settings.batchSize);
    if (batch.length === 0) return Promise.resolve();
    this.pending = batch;
    this.writing = this.writeBatch(batch).finally(() => {
      this.writing = undefined;
      if (this.size() > 0) this.schedule(this.failures > 0 ? this.backoffMs() : 0);
    });
    return this.writing;
  }

  private async writeBatch(batch: AuditEvent[]): Promise<void> {
    try {
      await this.sink.write(batch);
      this.pending = undefined;
      if (this.failures > 0) {
        this.settings.log.info({ sink: this.sink.name }, "audit sink is writing again");
      }
      this.failures = 0;
    } catch (error) {
      this.failures += 1;
      // The first failure and then every 20th, so an outage does not flood the log.
      if (this.failures === 1 || this.failures % 20 === 0) {
        this.settings.log.error(
          { err: error, sink: this.sink.name, buffered: this.size(), failures: this.failures },
          "audit sink write failed; events are kept and retried",
        );
      }
    }
  }

  private backoffMs(): number {
    return Math.min(MAX_BACKOFF_MS, 100 * 2 ** Math.min(this.failures, 10));
  }

  private drop(count: number): void {
    this.dropped += count;
    this.droppedSinceLog += count;
    this.settings.onDrop?.(this.sink.name, count);
    const now = Date.now();
    if (now - this.lastDropLog >= DROP_LOG_EVERY_MS) {
      this.settings.log.error(
        { sink: this.sink.name, dropped: this.droppedSinceLog, total: this.dropped },
        "audit buffer full: events dropped",
      );
      this.lastDropLog = now;
      this.droppedSinceLog = 0;
    }
  }
}
