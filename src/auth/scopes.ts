/** The scopes of `required` that `granted` lacks (least privilege: all are needed). */
export function missingScopes(required: readonly string[], granted: readonly string[]): string[] {
  if (required.length === 0) return [];
  const have = new Set(granted);
  return required.filter((scope) => !have.has(scope));
}

/** Scopes from an OAuth `scope` value: a space-separated string (RFC 6749 §3.3) or an array. */
export function parseScopes(value: unknown): string[] {
  if (typeof value === "string") return value.split(" ").filter((s) => s !== "");
  if (Array.isArray(value))
    return value.filter((s): s is string => typeof s === "string" && s !== "");
  return [];
}
