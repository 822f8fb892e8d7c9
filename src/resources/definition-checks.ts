// Checks of the options every resource, resource template and prompt definition shares,
// made once when the definition is made: a bad definition is a TypeError at startup.

// RFC 6749 section 3.3 scope-token, as for tools.
const SCOPE = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
export const MAX_TIMEOUT_MS = 2_147_483_647; // setTimeout's limit

/** Checks `scopes` of a definition: an array of scope names, `[]` (the default) for none. */
export function checkScopes(scopes: unknown, where: string): readonly string[] {
  if (scopes === undefined) return Object.freeze([]);
  if (
    !Array.isArray(scopes) ||
    !(scopes as unknown[]).every((s) => typeof s === "string" && SCOPE.test(s))
  ) {
    throw new TypeError(
      `${where}: scopes must be an array of scope names without spaces ([] for none).`,
    );
  }
  return Object.freeze([...new Set(scopes as string[])]);
}

export function checkTimeout(timeoutMs: unknown, where: string): number | undefined {
  if (timeoutMs === undefined) return undefined;
  if (
    typeof timeoutMs !== "number" ||
    !Number.isInteger(timeoutMs) ||
    timeoutMs <= 0 ||
    timeoutMs > MAX_TIMEOUT_MS
  ) {
    throw new TypeError(`${where}: timeoutMs must be a positive integer number of milliseconds.`);
  }
  return timeoutMs;
}

export function checkOptionalString(
  value: unknown,
  field: string,
  where: string,
): asserts value is string | undefined {
  if (value !== undefined && typeof value !== "string")
    throw new TypeError(`${where}: ${field} must be a string.`);
}

/** A typo in an option name is a TypeError, not an option silently ignored. */
export function checkKnownKeys(spec: object, known: readonly string[], where: string): void {
  const unknown = Object.keys(spec).filter((key) => !known.includes(key));
  if (unknown.length > 0) {
    throw new TypeError(`${where}: unknown option '${unknown[0]}' (known: ${known.join(", ")}).`);
  }
}

// MIME type: type "/" subtype, optional parameters (RFC 6838 section 4.2, leniently).
const MIME_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*(\s*;.*)?$/;

export function checkMimeType(value: unknown, where: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !MIME_TYPE.test(value))
    throw new TypeError(`${where}: mimeType must be a MIME type such as "text/plain".`);
  return value;
}
