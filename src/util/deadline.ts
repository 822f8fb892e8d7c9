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
