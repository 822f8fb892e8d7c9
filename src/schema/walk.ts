/**
 * JSON Schemas are walked in two places that must agree on what a `$ref` points to: the
 * audit redactor follows a value's schema to find `sensitive: true` (audit/), and the
 * contract differ normalizes schemas before comparing them (contract/). Both use this one
 * resolver and walker, so a reference the differ compares is the one the redactor masks by.
 *
 * Only in-document references are followed: "#", "#/$defs/X", "#/definitions/X" or any
 * local JSON Pointer (RFC 6901, with ~0 ~1 and %-escapes). toolgate publishes
 * self-contained schemas (zod writes its `$defs` into the document), and a remote reference
 * is never fetched: a tool call must not wait on the network, and a contract must not
 * depend on what a URL serves today. Each caller fails safe on what is not resolved.
 *
 * No library: the JSON Schema reference resolvers (json-schema-ref-parser, Ajv's own) are
 * built to fetch and bundle remote documents, are asynchronous or internal, and turn a
 * recursive schema into a cyclic object graph, which both callers would still have to guard
 * against. A local pointer is a few lines; the cycle guards below are what matter.
 *
 * This module is an inner layer: it imports nothing from the rest of toolgate.
 */

export type SchemaObject = Record<string, unknown>;

export function isSchemaObject(value: unknown): value is SchemaObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The value a local reference points to in `root`, or undefined when it is remote, an
 * `$anchor` name, or points at nothing. A segment that is not valid %-encoding is taken
 * as it is: the key it spells is the best guess of what the author meant.
 */
export function resolveLocalRef(root: unknown, ref: string): unknown {
  if (ref === "#") return root;
  if (!ref.startsWith("#/")) return undefined;
  let node: unknown = root;
  for (const encoded of ref.slice(2).split("/")) {
    let segment: string;
    try {
      segment = decodeURIComponent(encoded);
    } catch {
      segment = encoded;
    }
    segment = segment.replaceAll("~1", "/").replaceAll("~0", "~");
    if (Array.isArray(node)) {
      if (!/^\d+$/.test(segment) || Number(segment) >= node.length) return undefined;
      node = node[Number(segment)];
    } else if (isSchemaObject(node) && Object.hasOwn(node, segment)) {
      node = node[segment];
    } else {
      return undefined;
    }
  }
  return node;
}

/** What following a reference from one place in a schema leads to. */
export interface FollowedRef {
  readonly target: unknown;
  /** The references followed to get here, this one last: pass it on to nested follows. */
  readonly stack: readonly string[];
}

/**
 * The references of one schema document, resolved once each (a schema is walked for every
 * tool call and every comparison, and the same `$defs` entry is met again and again).
 */
export class SchemaRefs {
  private readonly resolved = new Map<string, unknown>();

  constructor(readonly root: unknown) {}

  /** The target of a local reference (see `resolveLocalRef`), or undefined. */
  resolve(ref: string): unknown {
    if (this.resolved.has(ref)) return this.resolved.get(ref);
    const target = resolveLocalRef(this.root, ref);
    this.resolved.set(ref, target);
    return target;
  }

  /**
   * Follows `ref` from a place reached through the references in `stack`. Undefined when
   * `ref` is not a string, cannot be resolved, or is already on the stack: a recursive
   * schema came back round, and expanding it again would never end. The same reference in
   * two sibling branches is followed in each (it is on neither's stack).
   */
  follow(ref: unknown, stack: readonly string[] = []): FollowedRef | undefined {
    if (typeof ref !== "string" || stack.includes(ref)) return undefined;
    const target = this.resolve(ref);
    return target === undefined ? undefined : { target, stack: [...stack, ref] };
  }
}

/** Keywords whose subschemas apply to the same instance as the schema that holds them. */
const REFERENCES = ["$ref", "$dynamicRef"] as const;
const LISTS = ["allOf", "anyOf", "oneOf"] as const;
const CONDITIONAL = ["if", "then", "else"] as const;

/**
 * Visits every schema object that applies to the same instance as `starts`: through
 * local references and the in-place applicators (allOf, anyOf, oneOf, if/then/else,
 * dependentSchemas), whether or not the instance would match them. Each object is visited
 * once, which also ends reference cycles, and at most `limit` of them (a pathological
 * schema cannot make one walk unbounded). `visit` returns true to stop the walk.
 *
 * Returns true when `visit` stopped it.
 */
export function walkInPlace(
  starts: readonly unknown[],
  refs: SchemaRefs,
  limit: number,
  visit: (schema: SchemaObject) => boolean | void,
): boolean {
  const seen = new Set<object>();
  const stack = [...starts];
  while (stack.length > 0 && seen.size < limit) {
    const node = stack.pop();
    if (!isSchemaObject(node) || seen.has(node)) continue;
    seen.add(node);
    if (visit(node) === true) return true;
    for (const key of REFERENCES) {
      const ref = node[key];
      if (typeof ref === "string") stack.push(refs.resolve(ref));
    }
    for (const key of LISTS) {
      const list = node[key];
      if (Array.isArray(list)) stack.push(...(list as unknown[]));
    }
    for (const key of CONDITIONAL) stack.push(node[key]);
    const dependent = node["dependentSchemas"];
    if (isSchemaObject(dependent)) stack.push(...Object.values(dependent));
  }
  return false;
}
