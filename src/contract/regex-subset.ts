/**
 * A parser for the small, regular subset of ECMAScript regular expressions that
 * pattern-inclusion.ts can reason about: literals, `.`, character classes and the class
 * escapes (`\d \w \s` and their negations), groups, alternation, the quantifiers
 * `* + ? {n} {n,} {n,m}` (greedy or lazy), and `^`/`$` at the ends of a top-level
 * alternative. Anything else (lookaround, backreferences, `\b`, `\p{...}`, characters
 * outside the Basic Multilingual Plane, ...) throws `UnsupportedPattern`, so callers stay
 * conservative. JSON Schema `pattern` is ECMA-262 and unanchored; Ajv compiles it with the
 * `u` flag, so a pattern this parser accepts is also a valid `u`-mode RegExp.
 * https://json-schema.org/draft/2020-12/json-schema-validation#section-6.3.3
 * https://tc39.es/ecma262/#sec-patterns
 */

/** An inclusive range of code points. */
export type CodeRange = readonly [number, number];
/** Sorted, disjoint and non-adjacent ranges. */
export type CharSet = readonly CodeRange[];

export type Atom = { readonly set: CharSet } | { readonly alts: readonly Seq[] };
export interface Item {
  readonly atom: Atom;
  readonly min: number;
  /** Infinity when unbounded. */
  readonly max: number;
}
export type Seq = readonly Item[];

export class UnsupportedPattern extends Error {}

const MAX_CODE_POINT = 0x10ffff;
export const ANY: CharSet = [[0, MAX_CODE_POINT]];
const DIGIT: CharSet = [[0x30, 0x39]];
const WORD: CharSet = [
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x5f, 0x5f],
  [0x61, 0x7a],
];
// WhiteSpace and LineTerminator: https://tc39.es/ecma262/#sec-white-space (Zs listed out).
const SPACE: CharSet = normalize([
  [0x09, 0x0d],
  [0x20, 0x20],
  [0xa0, 0xa0],
  [0x1680, 0x1680],
  [0x2000, 0x200a],
  [0x2028, 0x2029],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
  [0xfeff, 0xfeff],
]);
// `.` without the `s` flag: anything but a line terminator.
const DOT: CharSet = complement([
  [0x0a, 0x0a],
  [0x0d, 0x0d],
  [0x2028, 0x2029],
]);
const CONTROL: Readonly<Record<string, number>> = { n: 0x0a, r: 0x0d, t: 0x09, f: 0x0c, v: 0x0b };
const CLASS_ESCAPES: Readonly<Record<string, CharSet>> = {
  d: DIGIT,
  D: complement(DIGIT),
  w: WORD,
  W: complement(WORD),
  s: SPACE,
  S: complement(SPACE),
};
const SYNTAX = "^$\\.*+?()[]{}|/";
const MAX_LENGTH = 256;

/**
 * The alternatives of a whole pattern, each a sequence in which an unanchored start or
 * end is an explicit "any characters" item (search semantics made explicit).
 */
export function parsePattern(source: string): Seq[] {
  if (source.length > MAX_LENGTH) throw new UnsupportedPattern("too long");
  try {
    new RegExp(source, "u");
  } catch {
    throw new UnsupportedPattern("not a valid u-mode regular expression");
  }
  const parser = new Parser(source);
  const alts = parser.alternatives(true);
  if (!parser.done()) throw new UnsupportedPattern(`unexpected ${parser.peek()}`);
  return alts;
}

class Parser {
  private pos = 0;
  constructor(private readonly src: string) {}

  done(): boolean {
    return this.pos >= this.src.length;
  }

  peek(): string | undefined {
    return this.src[this.pos];
  }

  alternatives(top: boolean): Seq[] {
    const alts = [this.sequence(top)];
    while (this.peek() === "|") {
      this.pos++;
      alts.push(this.sequence(top));
    }
    return alts;
  }

  private sequence(top: boolean): Seq {
    const items: Item[] = [];
    let start = false;
    let end = false;
    if (top && this.peek() === "^") {
      this.pos++;
      start = true;
    }
    while (!this.done() && this.peek() !== "|" && this.peek() !== ")") {
      if (this.peek() === "$" && top) {
        this.pos++;
        if (!this.done() && this.peek() !== "|") throw new UnsupportedPattern("$ inside");
        end = true;
        break;
      }
      const atom = this.atom();
      const [min, max] = this.quantifier();
      items.push({ atom, min, max });
    }
    if (!top) return items;
    const anything: Item = { atom: { set: ANY }, min: 0, max: Infinity };
    return [...(start ? [] : [anything]), ...items, ...(end ? [] : [anything])];
  }

  private atom(): Atom {
    const c = this.peek()!;
    if (c === "(") {
      this.pos++;
      if (this.src.startsWith("?:", this.pos)) this.pos += 2;
      else if (/^\?<[A-Za-z_$][\w$]*>/.test(this.src.slice(this.pos))) {
        this.pos = this.src.indexOf(">", this.pos) + 1;
      } else if (this.peek() === "?") throw new UnsupportedPattern("lookaround");
      const alts = this.alternatives(false);
      if (this.peek() !== ")") throw new UnsupportedPattern("unclosed group");
      this.pos++;
      return { alts };
    }
    if (c === "[") return { set: this.charClass() };
    if (c === ".") {
      this.pos++;
      return { set: DOT };
    }
    if (c === "\\") {
      const e = this.escape(false);
      return { set: typeof e === "number" ? [[e, e]] : e };
    }
    if (SYNTAX.includes(c) && c !== "/") throw new UnsupportedPattern(`${c} here`);
    const code = this.literal();
    return { set: [[code, code]] };
  }

  /** One BMP character, not a surrogate. */
  private literal(): number {
    const code = this.src.charCodeAt(this.pos);
    if (code >= 0xd800 && code <= 0xdfff) throw new UnsupportedPattern("astral character");
    this.pos++;
    return code;
  }

  private quantifier(): [number, number] {
    let range: [number, number] = [1, 1];
    const c = this.peek();
    if (c === "*") range = [0, Infinity];
    else if (c === "+") range = [1, Infinity];
    else if (c === "?") range = [0, 1];
    else if (c === "{") {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.pos));
      if (!m) throw new UnsupportedPattern("{ without a quantifier");
      const min = Number(m[1]);
      const max = m[2] === undefined ? min : m[3] === "" ? Infinity : Number(m[3]);
      this.pos += m[0].length - 1;
      range = [min, max];
    } else return range;
    this.pos++;
    if (this.peek() === "?") this.pos++; // lazy: the same language
    return range;
  }

  private charClass(): CharSet {
    this.pos++; // [
    const negate = this.peek() === "^";
    if (negate) this.pos++;
    const ranges: CodeRange[] = [];
    while (this.peek() !== "]") {
      if (this.done()) throw new UnsupportedPattern("unclosed class");
      const lo = this.classAtom();
      if (this.peek() === "-" && this.src[this.pos + 1] !== "]") {
        this.pos++;
        const hi = this.classAtom();
        if (typeof lo !== "number" || typeof hi !== "number" || lo > hi) {
          throw new UnsupportedPattern("bad range");
        }
        ranges.push([lo, hi]);
      } else if (typeof lo === "number") ranges.push([lo, lo]);
      else ranges.push(...lo);
    }
    this.pos++; // ]
    const set = normalize(ranges);
    return negate ? complement(set) : set;
  }

  private classAtom(): number | CharSet {
    const c = this.peek();
    if (c === "\\") return this.escape(true);
    if (c === "[") throw new UnsupportedPattern("[ in a class");
    return this.literal();
  }

  private escape(inClass: boolean): number | CharSet {
    this.pos++; // backslash
    const c = this.peek();
    if (c === undefined) throw new UnsupportedPattern("trailing backslash");
    this.pos++;
    const set = CLASS_ESCAPES[c];
    if (set) return set;
    const control = CONTROL[c];
    if (control !== undefined) return control;
    if (c === "0" && !/[0-9]/.test(this.peek() ?? "")) return 0;
    if (c === "x" || c === "u") {
      const digits = c === "x" ? 2 : 4;
      const hex = this.src.slice(this.pos, this.pos + digits);
      if (!new RegExp(`^[0-9A-Fa-f]{${digits}}$`).test(hex)) {
        throw new UnsupportedPattern(`\\${c} form`);
      }
      this.pos += digits;
      const code = parseInt(hex, 16);
      if (code >= 0xd800 && code <= 0xdfff) throw new UnsupportedPattern("surrogate");
      return code;
    }
    if (inClass && c === "b") return 0x08;
    if (inClass && c === "-") return 0x2d;
    if (SYNTAX.includes(c)) return c.charCodeAt(0);
    throw new UnsupportedPattern(`\\${c}`);
  }
}

export function normalize(ranges: readonly CodeRange[]): CharSet {
  const sorted = [...ranges].sort((x, y) => x[0] - y[0]);
  const out: [number, number][] = [];
  for (const [lo, hi] of sorted) {
    const last = out.at(-1);
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

export function complement(set: CharSet): CharSet {
  const out: CodeRange[] = [];
  let next = 0;
  for (const [lo, hi] of set) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= MAX_CODE_POINT) out.push([next, MAX_CODE_POINT]);
  return out;
}

/** Every character of `inner` is in `outer`. */
export function isSubset(inner: CharSet, outer: CharSet): boolean {
  return inner.every(([lo, hi]) => outer.some(([l, h]) => l <= lo && hi <= h));
}
