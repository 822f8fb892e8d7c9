/** Array keywords: sizes, uniqueness, tuple positions and the remaining items. */
import type { SchemaChange } from "./change.js";
import type { Comparison } from "./context.js";
import { compareCount } from "./compare-sizes.js";
import type { Node, Raw } from "./model.js";

export function compareArrays(
  cx: Comparison,
  b: Node,
  a: Node,
  path: string,
  out: SchemaChange[],
): void {
  compareCount(
    cx,
    path,
    "minItems",
    "maxItems",
    b.minItems,
    a.minItems,
    b.maxItems,
    a.maxItems,
    "arrays",
    "items",
    out,
  );
  if (b.uniqueItems !== a.uniqueItems) {
    out.push(
      a.uniqueItems
        ? cx.constraint(path, "uniqueItems added", "arrays with duplicate items", undefined)
        : cx.constraint(path, "uniqueItems removed", undefined, "arrays with duplicate items"),
    );
  }
  const positions = Math.max(b.prefix.length, a.prefix.length);
  for (let i = 0; i < positions; i++) {
    const rb = i < b.prefix.length ? b.prefix[i] : b.items;
    const ra = i < a.prefix.length ? a.prefix[i] : a.items;
    out.push(...compareChild(cx, rb, ra, `${path}/${i}`, `item ${i}`));
  }
  const rest = positions === 0 ? "items" : `items after position ${positions - 1}`;
  out.push(...compareChild(cx, b.items, a.items, `${path}/*`, rest));
}

/** Items and tuple positions: plain sentences when a side allows no value at all (`false`). */
export function compareChild(
  cx: Comparison,
  rb: Raw,
  ra: Raw,
  path: string,
  subject: string,
): SchemaChange[] {
  const sb = cx.before.shape(rb);
  const sa = cx.after.shape(ra);
  if (sb === "never" && sa === "never") return [];
  if (sa === "never") {
    return [
      cx.constraint(path, `${subject} no longer allowed`, `arrays with ${subject}`, undefined),
    ];
  }
  if (sb === "never") {
    return [cx.constraint(path, `${subject} now allowed`, undefined, `arrays with ${subject}`)];
  }
  return cx.compareRaw(rb, ra, path);
}
