import { createHash } from "node:crypto";
import type { Principal } from "./principal.js";

/**
 * Verified principals by token hash, least recently used first out, each until a
 * deadline the verifier chose (never past the token's `exp`). Keyed by the token's
 * SHA-256, so the cache never holds a usable token. Map order is recency order: a hit
 * moves the entry to the end.
 */
export class PrincipalCache {
  readonly #entries = new Map<string, { principal: Principal; until: number }>();
  constructor(readonly maxEntries: number) {}

  static keyOf(token: string): string {
    return createHash("sha256").update(token).digest("base64url");
  }

  get(key: string, now: number): Principal | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    if (entry.until <= now) return undefined;
    this.#entries.set(key, entry);
    return entry.principal;
  }

  set(key: string, principal: Principal, until: number): void {
    this.#entries.delete(key);
    this.#entries.set(key, { principal, until });
    if (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
  }
}
