// Counts the AbortControllers made while a describe block's tests run (every AbortSignal
// comes from one): a call that reads no signal must make none (on Node 20 each costs ~1 KB
// of V8's old generation). Call inside `describe`; it swaps the global back after each test.
import { afterEach, beforeEach } from "node:test";

export function countAbortControllers(): { readonly created: number; reset(): void } {
  const Original = globalThis.AbortController;
  let created = 0;
  beforeEach(() => {
    created = 0;
    globalThis.AbortController = class Counted extends Original {
      constructor() {
        super();
        created++;
      }
    };
  });
  afterEach(() => {
    globalThis.AbortController = Original;
  });
  return {
    get created() {
      return created;
    },
    reset() {
      created = 0;
    },
  };
}
