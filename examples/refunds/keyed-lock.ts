// Serializes work per key inside this process. issue_refund checks "how much is still
// refundable" and then awaits the payments provider; without this, two concurrent calls
// for one order could both pass the check and together refund more than was paid.
// (Several server processes would need a database-level guard instead.)
/** Runs tasks with the same key one after another (in this process). */
export function createKeyedLock() {
  const tails = new Map<string, Promise<void>>();
  return async function withLock<T>(
    key: string,
    signal: AbortSignal,
    task: () => Promise<T>,
  ): Promise<T> {
    const previous = tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => done);
    tails.set(key, tail);
    try {
      await previous;
      signal.throwIfAborted(); // The deadline passed while waiting: do not start the refund.
      return await task();
    } finally {
      release();
      if (tails.get(key) === tail) tails.delete(key);
    }
  };
}
