/**
 * Canonical text of schemas and values, so that the same thing written in another key
 * order compares equal. `semanticKey` also expands local `$ref`s (cycles cut by the shared
 * resolver), for the parts compared only for equality: the same `not` written once inline
 * and once through `$defs` is no change.
 */
import { isSchemaObject, type SchemaRefs } from "../../schema/walk.js";
import type { Raw } from "./model.js";

const CANONICAL_BUDGET = 20_000;

/** Code-unit order, the order canonical JSON sorts keys in; also used to sort messages. */
export function compareStrings(x: string, y: string): number {
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Canonical forms, cached per object: both sides of one comparison share one instance. */
export class CanonicalForms {
  private readonly cache = new WeakMap<object, string>();

  /** Key-order independent JSON. */
  canonical(value: unknown): string {
    if (typeof value !== "object" || value === null) return JSON.stringify(value) ?? "undefined";
    const hit = this.cache.get(value);
    if (hit !== undefined) return hit;
    let text: string;
    if (Array.isArray(value)) text = `[${value.map((v) => this.canonical(v)).join(",")}]`;
    else {
      const record = value as Record<string, unknown>;
      text = `{${Object.keys(record)
        .sort(compareStrings)
        .map((k) => `${JSON.stringify(k)}:${this.canonical(record[k])}`)
        .join(",")}}`;
    }
    this.cache.set(value, text);
    return text;
  }

  /** Canonical JSON with local $refs expanded (cycles cut), for equality of opaque parts. */
  semanticKey(raw: Raw, refs: SchemaRefs): string {
    const budget = { left: CANONICAL_BUDGET };
    try {
      return this.expand(raw, refs, [], budget);
    } catch (error) {
      if (!(error instanceof BudgetExceeded)) throw error;
      const root = isSchemaObject(refs.root) ? refs.root : {};
      return `raw:${this.canonical(raw)}|${this.canonical(root["$defs"])}|${this.canonical(root["definitions"])}`;
    }
  }

  private expand(
    value: unknown,
    refs: SchemaRefs,
    stack: readonly string[],
    budget: { left: number },
  ): string {
    if (--budget.left < 0) throw new BudgetExceeded();
    if (Array.isArray(value))
      return `[${value.map((v) => this.expand(v, refs, stack, budget)).join(",")}]`;
    if (!isSchemaObject(value)) return JSON.stringify(value) ?? "undefined";
    const parts: string[] = [];
    for (const key of Object.keys(value).sort(compareStrings)) {
      const v = value[key];
      let text: string;
      if (key === "$ref" && typeof v === "string") {
        const followed = refs.follow(v, stack);
        text =
          followed === undefined
            ? JSON.stringify(v)
            : this.expand(followed.target, refs, followed.stack, budget);
      } else if (key === "const" || key === "enum" || key === "default" || key === "examples") {
        text = this.canonical(v);
      } else {
        text = this.expand(v, refs, stack, budget);
      }
      parts.push(`${JSON.stringify(key)}:${text}`);
    }
    return `{${parts.join(",")}}`;
  }
}

class BudgetExceeded extends Error {}
