/**
 * A word-level diff for prose that models read (tool descriptions and titles), in the
 * style of `git diff --word-diff=plain`: unchanged words as they are, removed words in
 * `[-…-]`, added words in `{+…+}`. Words are whitespace-separated tokens; the output
 * joins them with single spaces.
 *
 * The diff itself is jsdiff's (`diff`, Myers' O(ND) algorithm) over the tokens, with
 * `diffArrays` rather than `diffWords`: diffWords splits punctuation into tokens of its own
 * and keeps whitespace, while the output here must be whole words joined by single spaces.
 */
import { diffArrays } from "diff";

export interface WordDiffOptions {
  /**
   * Above this many tokens (on either side, after the common prefix and suffix are taken
   * off) the changed middle is shown as one whole replacement instead of a word diff.
   * Default 2000.
   */
  readonly maxTokens?: number;
  /**
   * Above this many removed plus added words the middle is also shown as one whole
   * replacement: Myers' work grows with the number of edits, and a diff of more edits is
   * no easier to read than the replacement. Default 500.
   */
  readonly maxEdits?: number;
}

interface Op {
  readonly op: "same" | "del" | "ins";
  readonly words: readonly string[];
}

/** `wordDiff("Refund part of an order", "Refund all of an order")` → `Refund [-part-] {+all+} of an order`. */
export function wordDiff(before: string, after: string, options: WordDiffOptions = {}): string {
  const maxTokens = options.maxTokens ?? 2000;
  const maxEdits = options.maxEdits ?? 500;
  const a = tokens(before);
  const b = tokens(after);

  // Trimmed here rather than left to jsdiff, so that maxTokens bounds only the changed part.
  let prefix = 0;
  while (prefix < a.length && prefix < b.length && a[prefix] === b[prefix]) prefix++;
  let suffix = 0;
  while (
    suffix < a.length - prefix &&
    suffix < b.length - prefix &&
    a[a.length - 1 - suffix] === b[b.length - 1 - suffix]
  ) {
    suffix++;
  }
  const midA = a.slice(prefix, a.length - suffix);
  const midB = b.slice(prefix, b.length - suffix);

  const ops: Op[] = [{ op: "same", words: a.slice(0, prefix) }];
  const changes =
    midA.length > maxTokens || midB.length > maxTokens || midA.length === 0 || midB.length === 0
      ? undefined
      : diffArrays(midA, midB, { maxEditLength: maxEdits });
  if (changes === undefined) {
    ops.push({ op: "del", words: midA }, { op: "ins", words: midB });
  } else {
    for (const change of changes) {
      ops.push({ op: change.removed ? "del" : change.added ? "ins" : "same", words: change.value });
    }
  }
  ops.push({ op: "same", words: a.slice(a.length - suffix) });
  return render(ops);
}

function tokens(text: string): string[] {
  return text.split(/\s+/u).filter((token) => token.length > 0);
}

/** Each run of changes between unchanged words becomes `[-removed-] {+added+}`. */
function render(ops: readonly Op[]): string {
  const out: string[] = [];
  let removed: string[] = [];
  let added: string[] = [];
  const flush = () => {
    if (removed.length > 0) out.push(`[-${removed.join(" ")}-]`);
    if (added.length > 0) out.push(`{+${added.join(" ")}+}`);
    removed = [];
    added = [];
  };
  for (const { op, words } of ops) {
    if (words.length === 0) continue;
    if (op === "del") removed.push(...words);
    else if (op === "ins") added.push(...words);
    else {
      flush();
      out.push(...words);
    }
  }
  flush();
  return out.join(" ");
}
