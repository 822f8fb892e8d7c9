// Reading into untyped JSON (parsed responses, CLI output) without `any`.

/** The value at `path` inside `value` (object keys or array indexes), or undefined. */
export function dig(value: unknown, ...path: (string | number)[]): unknown {
  let node = value;
  for (const key of path) {
    if (typeof node !== "object" || node === null) return undefined;
    node = (node as Record<string | number, unknown>)[key];
  }
  return node;
}

/** `dig` for a value that must be an array. */
export function digArray(value: unknown, ...path: (string | number)[]): unknown[] {
  const found = dig(value, ...path);
  if (!Array.isArray(found)) {
    throw new Error(`expected an array at ${path.join(".")}, got ${JSON.stringify(found)}`);
  }
  return found;
}

/** `dig` for a value that must be a string. */
export function digString(value: unknown, ...path: (string | number)[]): string {
  const found = dig(value, ...path);
  if (typeof found !== "string") {
    throw new Error(`expected a string at ${path.join(".")}, got ${JSON.stringify(found)}`);
  }
  return found;
}
