/**
 * Whether one JSON Schema `pattern` provably accepts every string another one accepts,
 * decided cheaply and conservatively: `true` is a proof, `false` only means "not proven".
 * It proves the common loosenings: a character class widened (`[a-z]` -> `[a-z0-9]`), a
 * quantifier range widened (`{2,4}` -> `{1,8}`), an anchor removed (`^ab$` -> `^ab`),
 * an alternative added (`old` -> `old|other`), an optional part added (`^a$` -> `^a-?$`),
 * and any combination of those. Patterns outside the subset regex-subset.ts parses are
 * never proven. No automaton is built: the proof walks both patterns side by side.
 */
import {
  isSubset,
  parsePattern,
  UnsupportedPattern,
  type Atom,
  type CharSet,
  type Item,
  type Seq,
} from "./regex-subset.js";

const WORK_LIMIT = 20_000;

/** True when every string that matches `narrower` provably also matches `wider`. */
export function patternIncludes(wider: string, narrower: string): boolean {
  if (wider === narrower) return true;
  try {
    const work = { left: WORK_LIMIT };
    return altsIncluded(parsePattern(narrower), parsePattern(wider), work);
  } catch (error) {
    if (error instanceof UnsupportedPattern) return false;
    throw error;
  }
}

interface Work {
  left: number;
}

/** Every alternative of x lies within one alternative of y (sufficient, not necessary). */
function altsIncluded(x: readonly Seq[], y: readonly Seq[], work: Work): boolean {
  return x.every((sx) => y.some((sy) => seqIncluded(sx, sy, work)));
}

function atomIncluded(a: Atom, b: Atom, work: Work): boolean {
  if ("set" in a && "set" in b) return isSubset(a.set, b.set);
  return altsIncluded(altsOf(a), altsOf(b), work);
}

function altsOf(atom: Atom): readonly Seq[] {
  return "set" in atom ? [[{ atom, min: 1, max: 1 }]] : atom.alts;
}

/**
 * L(x) ⊆ L(y) for two sequences of quantified items, by covering x's items, left to
 * right, with y's: an item of y with `min` 0 may cover nothing; otherwise it covers one or
 * more consecutive items of x when each of them lies within it and, together, they repeat
 * it a number of times its quantifier allows, or (a group) when they lie within one of its
 * alternatives. Concatenation is monotone, so each covering is a proof.
 */
function seqIncluded(x: Seq, y: Seq, work: Work): boolean {
  const memo = new Map<number, boolean>();
  const cover = (i: number, j: number): boolean => {
    if (--work.left < 0) throw new UnsupportedPattern("too much work");
    const key = i * (y.length + 1) + j;
    const hit = memo.get(key);
    if (hit !== undefined) return hit;
    let ok: boolean;
    if (j === y.length) ok = i === x.length;
    else {
      const target = y[j]!;
      ok = target.min === 0 && cover(i, j + 1);
      let min = 0;
      let max = 0;
      for (let k = i; !ok && k < x.length; k++) {
        const span = within(x[k]!, target.atom, work);
        if (span === undefined) break;
        min += span[0];
        max += span[1];
        if (max > target.max) break;
        if (min >= target.min) ok = cover(k + 1, j + 1);
      }
      // A group taken once covers a run of x that lies within one of its alternatives:
      // `ord_` within `(ord|inv)_`.
      if (!ok && "alts" in target.atom && target.min <= 1 && target.max >= 1) {
        const alts = target.atom.alts;
        for (let k = i; !ok && k <= x.length; k++) {
          ok = altsIncluded([x.slice(i, k)], alts, work) && cover(k, j + 1);
        }
      }
    }
    memo.set(key, ok);
    return ok;
  };
  return cover(0, 0);
}

/**
 * How many repetitions of `target` one item stands for (a range), or undefined when the
 * item does not provably lie within repetitions of it. Against a character set, an item
 * whose characters all belong to the set stands for as many repetitions as its strings
 * have characters; against a group, for its own repetition count when its atom lies
 * within the group.
 */
function within(item: Item, target: Atom, work: Work): [number, number] | undefined {
  if ("set" in target) {
    const length = lengthOver(item.atom, target.set);
    if (length === undefined) return undefined;
    return [times(item.min, length[0]), times(item.max, length[1])];
  }
  return atomIncluded(item.atom, target, work) ? [item.min, item.max] : undefined;
}

/** The length range of the atom's strings when all their characters are in `set`. */
function lengthOver(atom: Atom, set: CharSet): [number, number] | undefined {
  if ("set" in atom) return isSubset(atom.set, set) ? [1, 1] : undefined;
  let low = Infinity;
  let high = 0;
  for (const seq of atom.alts) {
    let min = 0;
    let max = 0;
    for (const item of seq) {
      const length = lengthOver(item.atom, set);
      if (length === undefined) return undefined;
      min += times(item.min, length[0]);
      max += times(item.max, length[1]);
    }
    low = Math.min(low, min);
    high = Math.max(high, max);
  }
  return [low === Infinity ? 0 : low, high];
}

/** Multiplication where zero times unbounded is zero (`(){0,}` matches only ""). */
function times(count: number, length: number): number {
  return count === 0 || length === 0 ? 0 : count * length;
}
