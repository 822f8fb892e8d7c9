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
  // Each node keeps its parent and key; a JSON Pointer is only built for the one node at
  // fault. Building it for every key cost more than the check itself on large arguments
  // (a 1 MiB argument of small rows is tens of thousands of keys).
  const stack: Node[] = [{ value, parent: undefined, key: "" }];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const item = node.value;
    switch (typeof item) {
      case "string":
        if (!wellFormed(item)) return { path: pointerOf(node), message: UNPAIRED };
        continue;
      case "number":
        if (!Number.isFinite(item)) {
          return {
            path: pointerOf(node),
            message: "is not a finite number (JSON has no Infinity or NaN)",
          };
        }
        continue;
      case "object": {
        if (item === null) continue;
        for (const key of Object.keys(item)) {
          const child: Node = { value: (item as Record<string, unknown>)[key], parent: node, key };
          if (key === "__proto__") {
            return {
              path: pointerOf(child),
              message: "is not an accepted key name; rename the field",
            };
          }
          if (!wellFormed(key)) return { path: pointerOf(child), message: `(the key) ${UNPAIRED}` };
          stack.push(child);
        }
        continue;
      }
      default:
        continue;
    }
  }
  return undefined;
}

interface Node {
  readonly value: unknown;
  readonly parent: Node | undefined;
  readonly key: string;
}

/** The JSON Pointer (RFC 6901) of `node`: "" for the whole value. */
function pointerOf(node: Node): string {
  const keys: string[] = [];
  for (let at: Node | undefined = node; at?.parent !== undefined; at = at.parent) {
    keys.push(at.key.replaceAll("~", "~0").replaceAll("/", "~1"));
  }
  return keys
    .reverse()
    .map((key) => `/${key}`)
    .join("");
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
