/**
 * An AbortController whose AbortSignal is created only when something reads `signal`.
 *
 * Why: every call has two cancellations (the client going away, the handler's deadline),
 * and most calls end without anyone looking at either signal. On Node 20 each AbortSignal
 * costs about 1 KB in V8's old generation (its internal construction gives every signal
 * fresh hidden classes), so two signals per call filled the old space with garbage at
 * full load: ~10 MB/s, a full collection every second or so, and a peak RSS of 210 MB
 * in the first seconds before V8's first full collection. `aborted`, `reason` and
 * `onAbort` answer without a signal.
 */
export class LazyAbort {
  #controller: AbortController | undefined;
  #aborted = false;
  #reason: unknown;
  #listeners: (() => void)[] | undefined;

  /** The AbortSignal, created on first read (already aborted if `abort` came first). */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  /** The abort reason; undefined until aborted. */
  get reason(): unknown {
    return this.#reason;
  }

  /** Aborts once (later calls do nothing): the signal if it exists, then the listeners. */
  abort(reason?: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason ?? new DOMException("This operation was aborted", "AbortError");
    this.#controller?.abort(this.#reason);
    const listeners = this.#listeners;
    this.#listeners = undefined;
    if (listeners) for (const listener of listeners) listener();
  }

  /**
   * Runs `listener` once on abort (at once if already aborted) without creating the
   * signal; returns a function that removes it.
   */
  onAbort(listener: () => void): () => void {
    if (this.#aborted) {
      listener();
      return noop;
    }
    (this.#listeners ??= []).push(listener);
    return () => {
      const index = this.#listeners?.indexOf(listener) ?? -1;
      if (index >= 0) this.#listeners!.splice(index, 1);
    };
  }
}

const noop = (): void => undefined;

const ABORT = Symbol("toolgate.lazyAbort");

function readLazySignal(this: { [ABORT]: LazyAbort }): AbortSignal {
  return this[ABORT].signal;
}

/**
 * Gives `target` an enumerable `signal` property that reads `abort.signal` (creating it on
 * first read). Installed with defineProperty and one shared getter on purpose: a getter
 * written in an object literal is a new closure per object, and V8 then gives every such
 * object its own hidden class (old-generation memory per call, like the signals).
 */
export function withLazySignal<T extends object>(
  target: T,
  abort: LazyAbort,
): T & { readonly signal: AbortSignal } {
  Object.defineProperty(target, ABORT, { value: abort });
  Object.defineProperty(target, "signal", {
    get: readLazySignal,
    enumerable: true,
    configurable: true,
  });
  return target as T & { readonly signal: AbortSignal };
}

/**
 * A cancellation as stages read it: a LazyAbort, or a caller's AbortSignal (in-process
 * `callTool`, the SDK's request signal) behind the same three members.
 */
export interface Cancellation {
  readonly aborted: boolean;
  readonly reason: unknown;
  onAbort(listener: () => void): () => void;
}

/** A Cancellation that also hands out an AbortSignal, for code that needs one (created on first read by a LazyAbort). */
export interface SignalSource extends Cancellation {
  readonly signal: AbortSignal;
}

/**
 * What a value made by `withLazySignal` (a tool handler's context) cancels with, without
 * creating its signal: its LazyAbort. Any other holder: its signal's Cancellation.
 */
export function signalSourceOf(holder: { readonly signal: AbortSignal }): SignalSource {
  return (holder as { [ABORT]?: LazyAbort })[ABORT] ?? cancellationOf(holder.signal);
}

/** `signal` as a Cancellation (one small object; the signal already exists). */
export function cancellationOf(signal: AbortSignal): SignalSource {
  return {
    signal,
    get aborted() {
      return signal.aborted;
    },
    get reason() {
      return signal.reason as unknown;
    },
    onAbort(listener) {
      if (signal.aborted) {
        listener();
        return noop;
      }
      signal.addEventListener("abort", listener, { once: true });
      return () => signal.removeEventListener("abort", listener);
    },
  };
}
