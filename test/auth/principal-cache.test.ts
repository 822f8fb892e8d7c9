// PrincipalCache: verified principals by token hash. A cache that is not full, or that is
// not turning over, admits every token (least recently used goes first; see the LRU test
// in verifiers.test.ts); one that turns over completely within a window admits one new
// token in eight, so a working set larger than the cache does not evict a good entry
// (and leave old-generation garbage) on every call.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PrincipalCache } from "../../src/auth/principal-cache.js";
import type { Principal } from "../../src/auth/principal.js";

const NOW = 1_000_000;
const UNTIL = NOW + 60_000;
const principal = (subject: string) =>
  ({ subject, issuer: "https://issuer.test", scopes: [], claims: {} }) as unknown as Principal;
const keys = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const cachedOf = (cache: PrincipalCache, list: string[], now = NOW) =>
  list.filter((key) => cache.get(key, now) !== undefined);

describe("PrincipalCache", () => {
  it("keys by SHA-256, never the token itself", () => {
    const key = PrincipalCache.keyOf("eyJ.secret.token");
    assert.equal(key, "sIVefiwRHP_648EYGeGWN6swKJLtugUtZtlnnHbuGRg");
    assert.equal(key.includes("secret"), false);
  });

  it("admits every new token until the cache has turned over once", () => {
    const cache = new PrincipalCache(4);
    for (const key of keys("a", 4)) cache.set(key, principal(key), UNTIL, NOW);
    // Four more: each evicts one (4 evictions, as many as the cache holds).
    const second = keys("b", 4);
    for (const key of second) cache.set(key, principal(key), UNTIL, NOW);
    assert.deepEqual(cachedOf(cache, second), second);
    assert.deepEqual(cachedOf(cache, keys("a", 4)), []);
  });

  it("once thrashing, admits one new token in eight and keeps the rest", () => {
    const cache = new PrincipalCache(4);
    for (const key of [...keys("a", 4), ...keys("b", 4)])
      cache.set(key, principal(key), UNTIL, NOW);
    const third = keys("c", 16);
    for (const key of third) cache.set(key, principal(key), UNTIL, NOW + 1);
    assert.deepEqual(cachedOf(cache, third), ["c7", "c15"]);
    assert.equal(cachedOf(cache, keys("b", 4)).length, 2, "two good entries made room");
    // A token already cached is still refreshed.
    cache.set("c7", principal("c7-new"), UNTIL, NOW + 2);
    assert.equal(cache.get("c7", NOW + 2)?.subject, "c7-new");
  });

  it("admits every token again after a window without thrashing", () => {
    const cache = new PrincipalCache(4);
    for (const key of [...keys("a", 4), ...keys("b", 4)])
      cache.set(key, principal(key), NOW + 500_000, NOW);
    const later = NOW + 130_000; // more than two windows on: nothing counts any more
    const fresh = keys("d", 3);
    for (const key of fresh) cache.set(key, principal(key), NOW + 500_000, later);
    assert.deepEqual(cachedOf(cache, fresh, later), fresh);
  });

  it("holds its own deep, frozen copy of what it is given (see ownCopy)", () => {
    const claims = JSON.parse(
      '{"sub":"alice","roles":["a","b"],"realm":{"groups":[{"id":1}]},"__proto__":{"x":1}}',
    ) as Record<string, unknown>;
    const given = {
      issuer: "https://issuer.test",
      subject: "alice",
      scopes: ["read"],
      expiresAt: UNTIL,
      claims,
      anonymous: false,
    } as Principal;
    const cache = new PrincipalCache(4);
    cache.set("k", given, UNTIL, NOW);
    const held = cache.get("k", NOW)!;
    assert.deepEqual(held, given);
    assert.notEqual(held, given);
    assert.notEqual(held.claims, given.claims);
    assert.notEqual(held.scopes, given.scopes);
    const objects = [
      held,
      held.scopes,
      held.claims,
      held.claims.roles,
      held.claims.realm,
      (held.claims.realm as { groups: unknown[] }).groups,
      (held.claims.realm as { groups: unknown[] }).groups[0],
    ];
    for (const value of objects) assert.ok(Object.isFrozen(value), JSON.stringify(value));
    // A "__proto__" claim stays a plain own property; the prototype is untouched.
    assert.ok(Object.hasOwn(held.claims, "__proto__"));
    assert.equal(Object.getPrototypeOf(held.claims), Object.prototype);
  });
});
