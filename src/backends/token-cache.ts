// A small single-flight cache of the tokens the OAuth credential providers get, and how
// long an issued token is reused.
import { abortReason } from "./abort-reason.js";

/** Cache lifetime when the server gives no expires_in. */
const DEFAULT_LIFETIME_MS = 5 * 60_000;
/** A token is refreshed this long before it expires: 10 % of its life, at most 30 s. */
const MAX_MARGIN_MS = 30_000;

/** When a token issued at `now` stops being reused. */
export function reuseUntil(expiresIn: number | undefined, now: number): number {
  if (expiresIn === undefined) return now + DEFAULT_LIFETIME_MS;
  const lifetime = expiresIn * 1000;
  return now + lifetime - Math.min(MAX_MARGIN_MS, lifetime / 10);
}

interface Flight {
  promise: Promise<string>;
  readonly controller: AbortController;
  waiters: number;
}

/**
 * Tokens by key until their `until`, bounded (least recently used goes first), with
 * single flight: concurrent calls for one key share one token request. The shared
 * request stops when every call waiting on it has gone (each call's signal aborts),
 * and is otherwise bounded by the fetcher's own timeout. Failures are not cached.
 */
export class TokenCache {
  readonly #entries = new Map<string, { token: string; until: number }>();
  readonly #flights = new Map<string, Flight>();
  readonly #now: () => number;
  readonly #maxEntries: number;

  constructor(options: { now?: () => number; maxEntries?: number } = {}) {
    this.#now = options.now ?? Date.now;
    this.#maxEntries = options.maxEntries ?? 10_000;
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * The cached token for `key`, or the one `fetcher` gets (joined if already asked for).
   * `fetcher` returns the token and the epoch ms until which it may be reused.
   */
  get(
    key: string,
    fetcher: (signal: AbortSignal) => Promise<{ token: string; until: number }>,
    signal: AbortSignal,
  ): Promise<string> {
    if (signal.aborted) return Promise.reject(abortReason(signal));
    const entry = this.#entries.get(key);
    if (entry !== undefined) {
      this.#entries.delete(key);
      if (entry.until > this.#now()) {
        this.#entries.set(key, entry); // most recently used goes last
        return Promise.resolve(entry.token);
      }
    }
    let flight = this.#flights.get(key);
    if (flight === undefined) flight = this.#start(key, fetcher);
    return this.#wait(key, flight, signal);
  }

  /** Forgets `key`'s token (the backend refused it). A request under way is not stopped. */
  delete(key: string): void {
    this.#entries.delete(key);
  }

  #start(
    key: string,
    fetcher: (signal: AbortSignal) => Promise<{ token: string; until: number }>,
  ): Flight {
    const flight: Flight = {
      promise: Promise.resolve(""),
      controller: new AbortController(),
      waiters: 0,
    };
    flight.promise = (async () => {
      try {
        const { token, until } = await fetcher(flight.controller.signal);
        if (until > this.#now() && this.#flights.get(key) === flight) this.#set(key, token, until);
        return token;
      } finally {
        if (this.#flights.get(key) === flight) this.#flights.delete(key);
      }
    })();
    // Observed by every waiter; when all have gone, nobody else is left to.
    flight.promise.catch(() => undefined);
    this.#flights.set(key, flight);
    return flight;
  }

  #wait(key: string, flight: Flight, signal: AbortSignal): Promise<string> {
    flight.waiters += 1;
    return new Promise<string>((resolve, reject) => {
      let done = false;
      const leave = () => {
        done = true;
        flight.waiters -= 1;
        signal.removeEventListener("abort", onAbort);
      };
      const onAbort = () => {
        if (done) return;
        leave();
        reject(abortReason(signal));
        if (flight.waiters === 0) {
          // Nobody waits any more: stop the request, and let the next call start afresh.
          if (this.#flights.get(key) === flight) this.#flights.delete(key);
          flight.controller.abort(signal.reason);
        }
      };
      signal.addEventListener("abort", onAbort, { once: true });
      flight.promise.then(
        (token) => {
          if (done) return;
          leave();
          resolve(token);
        },
        (error: unknown) => {
          if (done) return;
          leave();
          reject(
            error instanceof Error ? error : new Error("Token request failed.", { cause: error }),
          );
        },
      );
    });
  }

  #set(key: string, token: string, until: number): void {
    this.#entries.delete(key);
    this.#entries.set(key, { token, until });
    if (this.#entries.size > this.#maxEntries) {
      // Expired entries go first, then the least recently used.
      const now = this.#now();
      for (const [k, e] of this.#entries) if (e.until <= now) this.#entries.delete(k);
      while (this.#entries.size > this.#maxEntries) {
        const oldest = this.#entries.keys().next();
        if (oldest.done === true) break;
        this.#entries.delete(oldest.value);
      }
    }
  }
}
