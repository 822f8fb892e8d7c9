import type { FieldIssue } from "../errors/tool-error.js";

/**
 * The first part of a tool call's arguments that is not plain, portable JSON data (I-JSON,
 * RFC 7493), or undefined. JSON.parse lets through what later steps cannot take:
 * `1e999` parses to Infinity, which JSON Schema's `number` accepts but canonical JSON
 * (the idempotency fingerprint) and JSON.stringify (the audit log) cannot represent; a
 * lone surrogate escape (`"\ud800"`) is not Unicode text; and an own `__proto__` key is
 * dropped by some parsers downstream (the SDK's zod parsing) and turns into a prototype
 * change in naive handler code (`Object.assign`, `for...in` copies). Iterative: the depth
 * of the value is bounded by the transport, not by the stack.
 */
export function nonJsonIssue(value: unknown): FieldIssue | undefined {
  const stack: [unknown, string][] = [[value, ""]];
  while (stack.length > 0) {
    const [node, path] = stack.pop()!;
    switch (typeof node) {
      case "string":
        if (!wellFormed(node)) return { path, message: UNPAIRED };
        continue;
      case "number":
        if (!Number.isFinite(node)) {
          return { path, message: "is not a finite number (JSON has no Infinity or NaN)" };
        }
        continue;
      case "object": {
        if (node === null) continue;
        for (const key of Object.keys(node)) {
          const at = `${path}/${key.replaceAll("~", "~0").replaceAll("/", "~1")}`;
          if (key === "__proto__") {
            return { path: at, message: "is not an accepted key name; rename the field" };
          }
          if (!wellFormed(key)) return { path: at, message: `(the key) ${UNPAIRED}` };
          stack.push([(node as Record<string, unknown>)[key], at]);
        }
        continue;
      }
      default:
        continue;
    }
  }
  return undefined;
}

const UNPAIRED = "contains an unpaired UTF-16 surrogate; send valid Unicode text";

// String.prototype.isWellFormed (ES2024, in Node 20) is not in this build's TS lib yet.
const wellFormed = (text: string) => (text as string & { isWellFormed(): boolean }).isWellFormed();

/** Whether an own `__proto__` key occurs anywhere in `value` (a parsed JSON body). */
export function hasProtoKey(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node !== "object" || node === null) continue;
    for (const key of Object.keys(node)) {
      if (key === "__proto__") return true;
      stack.push((node as Record<string, unknown>)[key]);
    }
  }
  return false;
}
