/**
 * Whether a parsed JSON value nests deeper than `max` levels. Iterative on purpose: a
 * hostile body nested 10 000 levels deep must not overflow the stack here, nor reach
 * the SDK's recursive parser, where it would.
 */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== "object" || node === null) continue;
    if (depth >= max) return true;
    for (const child of Object.values(node)) {
      if (typeof child === "object" && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}
