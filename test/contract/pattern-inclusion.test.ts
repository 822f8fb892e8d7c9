// patternIncludes(wider, narrower): `true` must be a proof (checked against RegExp on
// every short string over a small alphabet), and the loosenings the contract check
// promises to recognise must be proven.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { patternIncludes } from "../../src/contract/pattern-inclusion.js";

const ALPHABET = ["a", "b", "-", "c", "1", "\n"];
const STRINGS: string[] = [""];
for (let length = 1, layer = [""]; length <= 4; length++) {
  layer = layer.flatMap((s) => ALPHABET.map((c) => s + c));
  STRINGS.push(...layer);
}

/** A string matching `narrower` but not `wider`, if any short one exists. */
function counterexample(wider: string, narrower: string): string | undefined {
  const w = new RegExp(wider, "u");
  const n = new RegExp(narrower, "u");
  return STRINGS.find((s) => n.test(s) && !w.test(s));
}

describe("patternIncludes: proves the promised loosenings", () => {
  const proven: [old: string, now: string][] = [
    ["^[a-z]+$", "^[a-z0-9]+$"],
    ["^[a-z]{2,4}$", "^[a-z]{1,8}$"],
    ["^[a-z]{2,4}$", "^[a-z0-9]{1,8}$"],
    ["^ord_[0-9]+$", "ord_[0-9]+"],
    ["^ord_[0-9]+$", "^ord_[0-9]+"],
    ["^ord_[0-9]+$", "^ord_[0-9]+$|^inv_"],
    ["^ord_[0-9]+$", "^(ord|inv)_[0-9]+$"],
    ["^\\d{3}\\d{4}$", "^\\d{3}-?\\d{4}$"],
    ["^[a-z]+$", "^[a-z]+(-[a-z]+)*$"],
    ["^[a-z_]+$", "^\\w+$"],
    ["^[a-w]*$", "^[^x]*$"],
    ["^[a-z]*$", "^.*$"],
    ["^.{1,5}$", "^[\\s\\S]{0,10}$"],
    ["^(ab)+$", "(ab)+"],
    ["^x+", "^x{0,}"],
    ["^abc$", ""],
    ["^(?:a|b)c$", "^[ab]c$"],
    ["^(?<year>\\d{4})-\\d{2}$", "^\\d{4}-\\d{2}"],
  ];
  for (const [old, now] of proven) {
    it(`${JSON.stringify(old)} is within ${JSON.stringify(now)}`, () => {
      assert.equal(patternIncludes(now, old), true);
      assert.equal(counterexample(now, old), undefined);
    });
  }

  const notProven: [old: string, now: string][] = [
    ["^[a-z0-9]+$", "^[a-z]+$"], // narrowed
    ["^[a-z]{1,8}$", "^[a-z]{2,4}$"],
    ["ord_[0-9]+", "^ord_[0-9]+$"], // anchor added
    ["^ord_", "^order_"],
    ["^\\s*$", "^.*$"], // `.` does not match line terminators
    ["^a", "^(?=a)"], // lookaround: outside the subset
    ["^(a)\\1$", "^(a)\\1$|^b$"], // backreference
    ["^[a-z]+$", "^\\p{L}+$"], // unicode property escape
    ["^😀$", "^.$"], // astral characters
    ["^(ab)+$", "^a(ba)*b$"], // equal languages, but not provable by the cheap walk
    ["^a", "^a("], // invalid
  ];
  for (const [old, now] of notProven) {
    it(`${JSON.stringify(old)} is not proven within ${JSON.stringify(now)}`, () => {
      assert.equal(patternIncludes(now, old), false);
    });
  }
});

// --- soundness on random patterns -------------------------------------------------------

const atom = fc.constantFrom("a", "b", "-", "c", ".", "[ab]", "[a-c]", "[^a]", "\\d", "\\w", "\\s");
const quantifier = fc.constantFrom("", "", "?", "*", "+", "{1,2}", "{0,3}", "{2}", "{1,}");
const { seq } = fc.letrec<{ seq: string; item: string }>((tie) => ({
  item: fc.oneof(
    { depthSize: "small" },
    fc.tuple(atom, quantifier).map(([a, q]) => a + q),
    fc
      .tuple(fc.array(tie("seq"), { minLength: 1, maxLength: 2 }), quantifier)
      .map(([alts, q]) => `(?:${alts.join("|")})${q}`),
  ),
  seq: fc.array(tie("item"), { minLength: 0, maxLength: 3 }).map((items) => items.join("")),
}));
const pattern = fc
  .tuple(fc.boolean(), fc.array(seq, { minLength: 1, maxLength: 2 }), fc.boolean())
  .map(([start, alts, end]) =>
    alts.map((s) => `${start ? "^" : ""}${s}${end ? "$" : ""}`).join("|"),
  );

/** A loosening of a pattern: one of the forms the check promises to prove. */
const loosened = (p: string) =>
  fc.constantFrom(
    p.replace(/\[ab\]/g, "[a-c]"),
    p.replace(/\{2\}/g, "{1,3}").replace(/\{1,2\}/g, "{0,4}"),
    p.replace(/\^/g, ""),
    p.replace(/\$/g, ""),
    `${p}|c`,
    p.replace(/a/g, "[ab]"),
  );

describe("patternIncludes: a proof is never wrong", () => {
  it("for random pairs", () => {
    fc.assert(
      fc.property(pattern, pattern, (wider, narrower) => {
        if (patternIncludes(wider, narrower)) {
          assert.equal(counterexample(wider, narrower), undefined, `${narrower} within ${wider}`);
        }
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 300) },
    );
  });

  it("for a pattern and a loosening of it (and the reverse)", () => {
    fc.assert(
      fc.property(
        pattern.chain((p) => fc.tuple(fc.constant(p), loosened(p))),
        ([narrower, wider]) => {
          for (const [w, n] of [
            [wider, narrower],
            [narrower, wider],
          ] as const) {
            if (patternIncludes(w, n)) {
              assert.equal(counterexample(w, n), undefined, `${n} within ${w}`);
            }
          }
        },
      ),
      { numRuns: Number(process.env.FC_RUNS ?? 300) },
    );
  });
});
