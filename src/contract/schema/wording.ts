/**
 * The English of schema changes. Every constraint change is worded from what it means for
 * who is already deployed: for inputs, the callers whose values now fail (breaking) or may
 * now also be sent; for outputs, what consumers may now receive (breaking) or no longer do.
 */
import { familiesOf } from "./families.js";
import { FAMILIES, type Atom } from "./model.js";
import type { SchemaChange, SchemaDirection } from "./change.js";

export class Wording {
  constructor(readonly dir: SchemaDirection) {}

  loc(path: string): string {
    return `${this.dir}${path}`;
  }

  /**
   * A change to what validates. `lost`: values the old schema accepted and the new one
   * rejects; `gained`: the reverse. Input: losing is breaking. Output: gaining is breaking.
   */
  constraint(
    path: string,
    statement: string,
    lost: string | undefined,
    gained: string | undefined,
  ): SchemaChange {
    const loc = this.loc(path);
    if (this.dir === "input") {
      if (lost !== undefined) {
        return {
          kind: "breaking",
          path,
          message: `${loc}: ${statement} (callers sending ${lost} now fail)`,
        };
      }
      return {
        kind: "compatible",
        path,
        message: `${loc}: ${statement} (callers may now also send ${gained ?? "more values"})`,
      };
    }
    if (gained !== undefined) {
      return {
        kind: "breaking",
        path,
        message: `${loc}: ${statement} (consumers may now receive ${gained}, which they may not handle)`,
      };
    }
    return {
      kind: "compatible",
      path,
      message: `${loc}: ${statement} (consumers no longer receive ${lost ?? "some values"})`,
    };
  }

  unprovable(path: string, statement: string): SchemaChange {
    return {
      kind: "breaking",
      path,
      message: `${this.loc(path)}: ${statement}; this could not be proven compatible, so it is treated as breaking`,
    };
  }
}

export function escapePointer(name: string): string {
  return name.replace(/~/g, "~0").replace(/\//g, "~1");
}

export function range(from: number, to: number): string {
  if (from === to) return `${from}`;
  return from >= 0 ? `${from}-${to}` : `${from} to ${to}`;
}

export function typeName(atoms: ReadonlySet<Atom> | undefined): string {
  if (!atoms) return "any type";
  return familiesOf(atoms)
    .map((f) => (f === "number" && !atoms.has("frac") ? "integer" : f))
    .join(" or ");
}

export function pluralTypes(atoms: readonly Atom[]): string {
  const set = new Set(atoms);
  const words: string[] = [];
  for (const family of FAMILIES) {
    if (family === "number") {
      if (set.has("int") && set.has("frac")) words.push("numbers");
      else if (set.has("int")) words.push("integers");
      else if (set.has("frac")) words.push("non-integer numbers");
    } else if (set.has(family)) {
      words.push(family === "null" ? "null" : `${family}s`);
    }
  }
  return words.join(", ");
}

export function pick(
  values: ReadonlyMap<string, unknown>,
  keys: readonly string[],
): Map<string, unknown> {
  return new Map(keys.map((k) => [k, values.get(k)]));
}

export function listValues(values: ReadonlyMap<string, unknown>): string {
  const shown = [...values.values()]
    .slice(0, 5)
    .map((v) => truncate(JSON.stringify(v) ?? "undefined"));
  return shown.join(", ") + (values.size > 5 ? `, ... (${values.size} in all)` : "");
}

export function plural(list: readonly unknown[]): string {
  return list.length === 1 ? "" : "s";
}

export function show(value: unknown): string {
  return value === undefined ? "(none)" : truncate(JSON.stringify(value) ?? "undefined");
}

export function truncate(text: string, max = 80): string {
  return text.length <= max ? text : `${text.slice(0, max - 3)}...`;
}
