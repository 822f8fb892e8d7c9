// How long a retry waits, and the wait itself: cut short when the caller cancels.
import type { Settings } from "./tool-client-options.js";

/** Exponential backoff with full jitter: a random wait up to min(maxDelay, initial * 2^(n-1)). */
export function backoff(settings: Settings, retry: number): number {
  const step = Math.min(settings.maxDelayMs, settings.initialDelayMs * 2 ** (retry - 1));
  return Math.floor(settings.random() * step);
}

/** Waits `ms`; resolves true when `signal` aborted first. */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (aborted: boolean) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      resolve(aborted);
    };
    const onAbort = () => done(true);
    const timer = setTimeout(() => done(false), ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
