/**
 * Runs at most one task per slot at a time; a task gets its slot's value (e.g. a HOME
 * directory of its own). Tasks wait in arrival order.
 */
export class Limiter<T> {
  private readonly free: T[];
  private readonly waiting: ((slot: T) => void)[] = [];

  constructor(slots: readonly T[]) {
    if (slots.length === 0) throw new TypeError("Limiter needs at least one slot");
    this.free = [...slots];
  }

  async run<R>(task: (slot: T) => Promise<R>): Promise<R> {
    const slot = await this.acquire();
    try {
      return await task(slot);
    } finally {
      const next = this.waiting.shift();
      if (next) next(slot);
      else this.free.push(slot);
    }
  }

  private acquire(): Promise<T> {
    const slot = this.free.pop();
    if (slot !== undefined) return Promise.resolve(slot);
    return new Promise((resolve) => this.waiting.push(resolve));
  }
}
