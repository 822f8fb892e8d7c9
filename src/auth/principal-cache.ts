import { hash } from "node:crypto";
import type { Principal } from "./principal.js";

/** How long evictions are counted to tell a thrashing cache (see PrincipalCache.set). */
const THRASH_WINDOW_MS = 60_000;
/** A thrashing cache admits one new key in this many. */
const ADMIT_ONE_IN = 8;

/**
 * The cache's own copy of a principal, made here and nowhere else. Why: V8 chooses per
 * allocation site whether to allocate straight into the old generation (pretenuring),
 * from how many of that site's objects outlive a young-generation collection. Holding
 * the objects the verifier built for a request made the verifier's sites look
 * long-lived once the cache filled, and from then on every request's principal and
 * claims went to the old generation, admitted or not: ~2 MB/s of old-generation garbage
 * at 5,000 calls/s in the 100,000-principal soak (a third of that with V8's
 * --no-allocation-site-pretenuring). Copied on admission, the verifier's objects die
 * young; the copy's sites are long-lived, as V8 then rightly assumes.
 */
function ownCopy(principal: Principal): Principal {
  return Object.freeze({
    ...principal,
    scopes: Object.freeze([...principal.scopes]),
    claims: copyJson(principal.claims) as Principal["claims"],
  });
}

/** A frozen deep copy of JSON data (claims are parsed JSON: objects, arrays, primitives). */
function copyJson(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) return Object.freeze(value.map(copyJson));
  // fromEntries defines own properties, so a "__proto__" claim stays a plain property.
  return Object.freeze(
    Object.fromEntries(Object.entries(value).map(([key, child]) => [key, copyJson(child)])),
  );
}

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
  // Evictions in the current and the last window (see set), and new keys turned away.
  #windowStart = 0;
  #evictions = 0;
  #lastEvictions = 0;
  #declined = 0;
  constructor(readonly maxEntries: number) {}

  static keyOf(token: string): string {
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

  /**
   * Remembers `principal` until `until`. A cache that turns over completely within a
   * window (more distinct tokens in use than it holds) admits only one new key in
   * ADMIT_ONE_IN: with the working set larger than the cache, admitting every token
   * raised no hit rate (with 100,000 tokens in rotation, 10,000 entries hit ~10% either
   * way) but evicted a still-good entry per call, and every evicted entry had lived long
   * enough to reach V8's old generation: at full load ~1 KB of old-generation garbage per
   * call, a 267 MB peak RSS in the 100,000-principal soak. Keys in the cache stay; a
   * cache that is not thrashing admits everything (least recently used goes first).
   * Returns what the cache now holds for `key` (its own copy, see ownCopy), or
   * `principal` itself when it was not admitted: the verifier answers with that, so a
   * token verified again gets the very object its first call got.
   */
  set(key: string, principal: Principal, until: number, now = Date.now()): Principal {
    if (
      this.#entries.size >= this.maxEntries &&
      !this.#entries.has(key) &&
      this.#thrashing(now) &&
      ++this.#declined % ADMIT_ONE_IN !== 0
    ) {
      return principal;
    }
    const held = ownCopy(principal);
    this.#entries.delete(key);
    this.#entries.set(key, { principal: held, until, used: false });
    while (this.#entries.size > this.maxEntries) this.#evictOne();
    return held;
  }

  /** Whether this or the last window saw as many evictions as the cache holds. */
  #thrashing(now: number): boolean {
    if (now - this.#windowStart >= THRASH_WINDOW_MS) {
      this.#lastEvictions = now - this.#windowStart < 2 * THRASH_WINDOW_MS ? this.#evictions : 0;
      this.#evictions = 0;
      this.#windowStart = now;
    }
    return Math.max(this.#evictions, this.#lastEvictions) >= this.maxEntries;
  }

  #evictOne(): void {
    this.#evictions += 1;
    // Ends: every entry moved is unmarked, so at worst the second visit evicts it.
    for (const [key, entry] of this.#entries) {
      this.#entries.delete(key);
      if (!entry.used) return;
      entry.used = false;
      this.#entries.set(key, entry);
    }
  }
}
