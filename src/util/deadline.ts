// The one way toolgate races work against a deadline (outbound HTTP requests need no race:
// they are bounded by aborting the request itself, through undici's signal). Two shapes,
// because there are two kinds of work:
// - `settleBy`: work that can be told to stop (a handler, a verifier, a resource read). At
//   the deadline, or when the caller cancels, its abort fires with a typed reason and the
//   caller is answered at once, even if the work ignores its signal.
// - `within`: work that cannot be stopped (a store call): the caller stops waiting, and
//   decides what happens to the work's late outcome.
// Timers and listeners are always cleared; a rejection after the answer is never unhandled.
import { LazyAbort, type Cancellation } from "./lazy-abort.js";

/** The abort reason when the deadline passed first. */
export class DeadlineExceeded extends Error {
  override readonly name = "DeadlineExceeded";
}

/** The abort reason when the caller cancelled (or went away) first. */
export class CancelledByClient extends Error {
  override readonly name = "CancelledByClient";
}

export interface SettleOptions {
  /** The epoch-ms instant at which the work is cut short. */
  readonly until: number;
  /** The caller's cancellation (client cancel or disconnect), if it has one. */
  readonly cancellation?: Cancellation | undefined;
  /** Words for the DeadlineExceeded reason (default: "Deadline passed."). */
  readonly deadlineMessage?: string;
}

/**
 * Waits for `work` (already started, with `abort` as its abort) until `until` or the
 * caller's cancellation, whichever comes first. Then `abort` fires with a
 * `DeadlineExceeded` or `CancelledByClient` reason and the returned promise rejects with
 * the work's own error if the work honoured the signal first, else with that reason. Read
 * `abort.reason` to tell the cases apart; `work` itself still settles later (its outcome
 * is the caller's to keep or drop).
 */
export async function settleBy<T>(
  work: Promise<T>,
  abort: LazyAbort,
  options: SettleOptions,
): Promise<T> {
  // `stopped` rejects when the work is cut short, so the race answers at once even if the
  // work ignores its signal. Rejected before the abort fires: work that settles inside its
  // abort listener would otherwise win the race, and be answered after the deadline.
  let rejectStopped: (reason: unknown) => void = () => undefined;
  const stopped = new Promise<never>((_, reject) => (rejectStopped = reject));
  const stop = (reason: Error) => {
    rejectStopped(reason);
    abort.abort(reason);
  };
  const offCancel = options.cancellation?.onAbort(() =>
    stop(new CancelledByClient("The client cancelled the call.")),
  );
  const timer = setTimeout(
    () => stop(new DeadlineExceeded(options.deadlineMessage ?? "Deadline passed.")),
    Math.max(0, options.until - Date.now()),
  );
  // The work's own late failure is the caller's to log; it must never be unhandled.
  work.catch(() => undefined);
  try {
    return await Promise.race([work, stopped]);
  } finally {
    clearTimeout(timer);
    offCancel?.();
  }
}

/**
 * `settleBy` for work that is started here: `run` gets a signal that aborts at `until` or
 * on the caller's cancellation.
 */
export function runBy<T>(
  run: (signal: AbortSignal) => T | Promise<T>,
  options: SettleOptions,
): Promise<T> {
  const abort = new LazyAbort();
  const work = Promise.resolve().then(() => run(abort.signal));
  return settleBy(work, abort, options);
}

/** What `within` answers when the time ran out first. */
export const TIMED_OUT: unique symbol = Symbol("timed out");

/**
 * Waits for `work` until the epoch-ms instant `until`, whichever comes first. The work is
 * not cancelled (a store call cannot be): callers that stop waiting decide what happens
 * to its late outcome. A rejection of `work` after the time ran out is never unhandled.
 */
export function within<T>(work: Promise<T>, until: number): Promise<T | typeof TIMED_OUT> {
  const ms = until - Date.now();
  if (ms <= 0) {
    work.catch(() => undefined);
    return Promise.resolve(TIMED_OUT);
  }
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  return Promise.race([work, timedOut]).finally(() => {
    clearTimeout(timer);
    work.catch(() => undefined);
  });
}
