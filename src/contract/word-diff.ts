/**
 * A word-level diff for prose that models read (tool descriptions and titles), in the
 * style of `git diff --word-diff=plain`: unchanged words as they are, removed words in
 * `[-…-]`, added words in `{+…+}`. Words are whitespace-separated tokens; the output
 * joins them with single spaces.
 */

export interface WordDiffOptions {
  /**
   * Above this many tokens (on either side, after the common prefix and suffix are taken
   * off) the changed middle is shown as one whole replacement instead of an LCS diff, so
   * the work stays bounded (the LCS table is quadratic). Default 2000.
   */
  readonly maxTokens?: number;
}

interface Op {
  readonly op: "same" | "del" | "ins";
  readonly word: string;
}

/** `wordDiff("Refund part of an order", "Refund all of an order")` → `Refund [-part-] {+all+} of an order`. */
export function wordDiff(before: string, after: string, options: WordDiffOptions = {}): string {
  const maxTokens = options.maxTokens ?? 2000;
  const a = tokens(before);
  const b = tokens(after);

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

  const ops: Op[] = a.slice(0, prefix).map((word) => ({ op: "same", word }));
  if (midA.length > maxTokens || midB.length > maxTokens) {
    for (const word of midA) ops.push({ op: "del", word });
    for (const word of midB) ops.push({ op: "ins", word });
  } else {
    ops.push(...lcsOps(midA, midB));
  }
  for (const word of a.slice(a.length - suffix)) ops.push({ op: "same", word });
  return render(ops);
}

function tokens(text: string): string[] {
  return text.split(/\s+/u).filter((token) => token.length > 0);
}

/** Classic LCS table over the (already trimmed) middles; both are at most maxTokens long. */
function lcsOps(a: readonly string[], b: readonly string[]): Op[] {
  const n = a.length;
  const m = b.length;
  if (n === 0 || m === 0) {
    return [
      ...a.map((word): Op => ({ op: "del", word })),
      ...b.map((word): Op => ({ op: "ins", word })),
    ];
  }
  const width = m + 1;
  // lengths[i * width + j] = LCS length of a[i..] and b[j..]
  const lengths =
    n < 65535 && m < 65535 ? new Uint16Array((n + 1) * width) : new Uint32Array((n + 1) * width);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lengths[i * width + j] =
        a[i] === b[j]
          ? lengths[(i + 1) * width + j + 1]! + 1
          : Math.max(lengths[(i + 1) * width + j]!, lengths[i * width + j + 1]!);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      ops.push({ op: "same", word: a[i]! });
      i++;
      j++;
    } else if (lengths[(i + 1) * width + j]! >= lengths[i * width + j + 1]!) {
      ops.push({ op: "del", word: a[i]! });
      i++;
    } else {
      ops.push({ op: "ins", word: b[j]! });
      j++;
    }
  }
  while (i < n) ops.push({ op: "del", word: a[i++]! });
  while (j < m) ops.push({ op: "ins", word: b[j++]! });
  return ops;
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
  for (const { op, word } of ops) {
    if (op === "del") removed.push(word);
    else if (op === "ins") added.push(word);
    else {
      flush();
      out.push(word);
    }
  }
  flush();
  return out.join(" ");
}
