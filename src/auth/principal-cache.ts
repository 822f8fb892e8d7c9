import { hash } from "node:crypto";
import type { Principal } from "./principal.js";

/**
 * Verified principals by token hash, each until a deadline the verifier chose (never past
 * the token's `exp`), at most `maxEntries`. Keyed by the token's SHA-256, so the cache
 * never holds a usable token. Eviction is second-chance (CLOCK), an approximation of
 * least recently used: a hit only marks its entry; when the cache is full, marked entries
 * at the old end move to the new end once (unmarked) and the first unmarked one goes.
 * Why not move every hit to the end (delete + set): that churned the Map's hash table on
 * every call, and the tables it left behind were old-generation garbage at full load.
 */
export class PrincipalCache {
  readonly #entries = new Map<string, { principal: Principal; until: number; used: boolean }>();
  constructor(readonly maxEntries: number) {}

  static keyOf(token: string): string {
    // The one-shot hash: no Hash object per call (about half the CPU of createHash, and it
    // runs on every authenticated call).
    return hash("sha256", token, "base64url");
  }

  get(key: string, now: number): Principal | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.until <= now) {
      this.#entries.delete(key);
      return undefined;
    }
    entry.used = true;
    return entry.principal;
  }

  set(key: string, principal: Principal, until: number): void {
    this.#entries.delete(key);
    this.#entries.set(key, { principal, until, used: false });
    while (this.#entries.size > this.maxEntries) this.#evictOne();
  }

  #evictOne(): void {
    // Ends: every entry moved is unmarked, so at worst the second visit evicts it.
    for (const [key, entry] of this.#entries) {
      this.#entries.delete(key);
      if (!entry.used) return;
      entry.used = false;
      this.#entries.set(key, entry);
    }
  }
}
