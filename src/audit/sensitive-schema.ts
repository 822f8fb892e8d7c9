/**
 * Which parts of a value its JSON Schema marks `sensitive: true`, for the redactor
 * (redact.ts): the schema is walked alongside the value, one property or item at a time.
 * References and in-place applicators are followed by the walker the contract differ
 * uses too (schema/walk.ts), so both read a `$ref` the same way.
 */
import type { JsonSchema } from "../validation/json-schema.js";
import { isSchemaObject, SchemaRefs, walkInPlace, type SchemaObject } from "../schema/walk.js";

/** The schemas that apply to one value, after following `$ref` and combinators. */
export interface Applied {
  readonly sensitive: boolean;
  readonly schemas: readonly SchemaObject[];
}

const SENSITIVE: Applied = Object.freeze({ sensitive: true, schemas: Object.freeze([]) });
// Bounds the work for one value in a pathological schema (huge allOf chains).
const MAX_SCHEMAS_PER_VALUE = 256;
const hasOwn = (object: object, key: string): boolean =>
  Object.prototype.hasOwnProperty.call(object, key);

// Frozen schemas (every ToolDefinition's, see deepFreeze) are taken as immutable: what is
// learned about them is kept across calls. Other schemas are looked at afresh on each call.
const frozenIndexes = new WeakMap<object, SchemaIndex | null>();

/** The index for `root`, or undefined when nothing in it is marked sensitive (the fast path). */
export function schemaIndex(root: Readonly<JsonSchema>): SchemaIndex | undefined {
  if (!Object.isFrozen(root))
    return mentionsSensitive(root, new Set()) ? new SchemaIndex(root) : undefined;
  let index = frozenIndexes.get(root);
  if (index === undefined) {
    index = mentionsSensitive(root, new Set()) ? new SchemaIndex(root) : null;
    frozenIndexes.set(root, index);
  }
  return index ?? undefined;
}

function mentionsSensitive(node: unknown, seen: Set<object>): boolean {
  if (typeof node !== "object" || node === null || seen.has(node)) return false;
  seen.add(node);
  if (Array.isArray(node)) return node.some((child) => mentionsSensitive(child, seen));
  const record = node as SchemaObject;
  if (record["sensitive"] === true) return true;
  for (const key in record) {
    if (hasOwn(record, key) && mentionsSensitive(record[key], seen)) return true;
  }
  return false;
}

/**
 * Walks the schema alongside the value. Applicators (`allOf`, `anyOf`, `oneOf`, `if`,
 * `then`, `else`, `dependentSchemas`) are all applied, whether or not the value matches
 * the branch: masking is idempotent, so applying every branch only ever masks more.
 * Likewise `contains` is applied to every item. `$ref` and `$dynamicRef` are followed when
 * they are local JSON pointers ("#", "#/$defs/X", "#/definitions/X", with ~0 ~1 and %-escapes),
 * resolved against the root; remote references and `$anchor` names are not followed.
 */
export class SchemaIndex {
  private readonly cache = new Map<object, Applied | undefined>();
  private readonly refs: SchemaRefs;

  constructor(root: Readonly<JsonSchema>) {
    this.refs = new SchemaRefs(root);
  }

  expand(schema: unknown): Applied | undefined {
    if (!isSchemaObject(schema)) return undefined;
    if (this.cache.has(schema)) return this.cache.get(schema);
    const applied = this.expandAll([schema]);
    this.cache.set(schema, applied);
    return applied;
  }

  forProperty(applied: Applied, key: string): Applied | undefined {
    const found: unknown[] = [];
    let evaluated = false;
    for (const schema of applied.schemas) {
      let matched = false;
      const properties = schema["properties"];
      if (isSchemaObject(properties) && hasOwn(properties, key)) {
        found.push(properties[key]);
        matched = true;
      }
      const patterns = schema["patternProperties"];
      if (isSchemaObject(patterns)) {
        for (const pattern of Object.keys(patterns)) {
          if (patternMatches(pattern, key)) {
            found.push(patterns[pattern]);
            matched = true;
          }
        }
      }
      const additional = schema["additionalProperties"];
      if (!matched && additional !== undefined) {
        found.push(additional);
        matched = true;
      }
      evaluated ||= matched;
    }
    if (!evaluated) {
      for (const schema of applied.schemas) {
        if (schema["unevaluatedProperties"] !== undefined)
          found.push(schema["unevaluatedProperties"]);
      }
    }
    return this.expandFound(found);
  }

  forItem(applied: Applied, index: number): Applied | undefined {
    const found: unknown[] = [];
    let evaluated = false;
    for (const schema of applied.schemas) {
      const prefix = schema["prefixItems"];
      const items = schema["items"];
      let matched = true;
      if (Array.isArray(prefix)) {
        if (index < prefix.length) found.push(prefix[index]);
        else if (items !== undefined) found.push(items);
        else matched = false;
      } else if (Array.isArray(items)) {
        // Draft 7 tuples: `items` is a list, `additionalItems` the rest.
        if (index < items.length) found.push(items[index]);
        else if (schema["additionalItems"] !== undefined) found.push(schema["additionalItems"]);
        else matched = false;
      } else if (items !== undefined) {
        found.push(items);
      } else {
        matched = false;
      }
      if (schema["contains"] !== undefined) found.push(schema["contains"]);
      evaluated ||= matched;
    }
    if (!evaluated) {
      for (const schema of applied.schemas) {
        if (schema["unevaluatedItems"] !== undefined) found.push(schema["unevaluatedItems"]);
      }
    }
    return this.expandFound(found);
  }

  private expandFound(found: unknown[]): Applied | undefined {
    if (found.length === 0) return undefined;
    if (found.length === 1) return this.expand(found[0]);
    return this.expandAll(found);
  }

  /** Every schema object reachable from `starts` through references and applicators. */
  private expandAll(starts: readonly unknown[]): Applied | undefined {
    const schemas: SchemaObject[] = [];
    const marked = walkInPlace(starts, this.refs, MAX_SCHEMAS_PER_VALUE, (schema) => {
      if (schema["sensitive"] === true) return true;
      schemas.push(schema);
      return false;
    });
    if (marked) return SENSITIVE;
    return schemas.length === 0 ? undefined : { sensitive: false, schemas };
  }
}

// Compiled `patternProperties` regexes, shared by all redactors (schemas are few and stable).
const compiledPatterns = new Map<string, RegExp | null>();

function patternMatches(pattern: string, key: string): boolean {
  let regex = compiledPatterns.get(pattern);
  if (regex === undefined) {
    regex = compile(pattern, "u") ?? compile(pattern, "");
    if (compiledPatterns.size >= 1024) compiledPatterns.clear();
    compiledPatterns.set(pattern, regex);
  }
  // A pattern JavaScript cannot compile (Ajv would have refused it): treat it as matching,
  // which masks more, never less.
  return regex === null ? true : regex.test(key);
}

function compile(pattern: string, flags: string): RegExp | null {
  try {
    return new RegExp(pattern, flags);
  } catch {
    return null;
  }
}
