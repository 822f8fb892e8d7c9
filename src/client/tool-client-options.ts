// The options of a tool client and of one call, and the settings they resolve to: checked
// once, in createToolClient, so a bad option fails where the client is made, not mid-call.
import { randomUUID } from "node:crypto";

export interface RetryOptions {
  /** `tools/call` requests per operation, the first one included. Default 4. */
  maxAttempts?: number;
  /** The first backoff step, doubled on each retry. Default 200 ms. */
  initialDelayMs?: number;
  /**
   * The cap of one backoff wait (full jitter: a random wait up to the step). A server's
   * `retryAfterMs` is honoured as given, bounded only by the operation's deadline.
   * Default 5 000 ms.
   */
  maxDelayMs?: number;
}

export interface ToolClientOptions {
  retry?: RetryOptions;
  /** The deadline of one operation: every attempt and every wait. Default 60 000 ms. */
  timeoutMs?: number;
  /**
   * How long one attempt may wait for its answer (never past the operation's deadline).
   * Past it, the attempt counts as a transport timeout (it may have been applied).
   * Default 30 000 ms.
   */
  attemptTimeoutMs?: number;
  /** Makes the idempotency key of a new operation. Default `crypto.randomUUID()`. */
  generateKey?: () => string;
  /**
   * Treat `idempotentHint: true` on another server's write tool as retry-safe. Default
   * false: annotations from a server you do not control are hints, not guarantees.
   */
  trustIdempotentHint?: boolean;
  /** The jitter source, a number in [0, 1). For tests. Default `Math.random`. */
  random?: () => number;
}

export interface ToolCallOptions {
  /**
   * The operation's idempotency key (1-255 printable ASCII characters). Pass the
   * `idempotencyKey` of an earlier result to resume that operation: the server replays
   * its result instead of applying it again. Default: a new key per `call`.
   */
  operationId?: string;
  /** Cancels the operation: the attempt in flight and any wait. */
  signal?: AbortSignal;
  /** This operation's deadline instead of the client's `timeoutMs`. */
  timeoutMs?: number;
  /** More `params._meta` for every attempt (e.g. `traceparent`). */
  meta?: Record<string, unknown>;
}

export interface Settings {
  maxAttempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
  timeoutMs: number;
  attemptTimeoutMs: number;
  generateKey: () => string;
  trustIdempotentHint: boolean;
  random: () => number;
}

export function resolveSettings(options: ToolClientOptions): Settings {
  const retry = options.retry ?? {};
  const maxAttempts = retry.maxAttempts ?? 4;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new TypeError("createToolClient: retry.maxAttempts must be an integer >= 1.");
  }
  const initialDelayMs = retry.initialDelayMs ?? 200;
  if (!Number.isFinite(initialDelayMs) || initialDelayMs < 0) {
    throw new TypeError("createToolClient: retry.initialDelayMs must be a number >= 0.");
  }
  return {
    maxAttempts,
    initialDelayMs,
    maxDelayMs: positive(retry.maxDelayMs ?? 5_000, "retry.maxDelayMs"),
    timeoutMs: positive(options.timeoutMs ?? 60_000, "timeoutMs"),
    attemptTimeoutMs: positive(options.attemptTimeoutMs ?? 30_000, "attemptTimeoutMs"),
    generateKey: options.generateKey ?? randomUUID,
    trustIdempotentHint: options.trustIdempotentHint ?? false,
    random: options.random ?? Math.random,
  };
}

export function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new TypeError(`createToolClient: ${name} must be a positive number of milliseconds.`);
  }
  return value;
}
